"""Evaluate a trained model again with the current protocol, as `dsr-nb train` does at its end: thresholds from
the validation split (where the data has one; else the normal training images the run held out), the test split
measured once, the trivial baselines on the same
split; the model folder is re-saved with the results in its metadata and the report in MODEL/eval.

    python tools/reevaluate.py runs/models/elpv-mono [--logs DIR]

--logs: a folder holding the run's losses.csv, diagnostics.csv and training.png, to put back into the model
folder (a model evaluated by an older version lost them when it was re-saved).
"""
import argparse
from pathlib import Path
from dsr_nb.model import DSR
from dsr_nb.data import open_dataset
from dsr_nb.evaluate import evaluate_and_store, choose_thresholds, threshold_rule, comparison_table
from dsr_nb.report import metrics_table

LOG_FILES = ("losses.csv", "diagnostics.csv", "training.png")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model"); p.add_argument("--logs")
    a = p.parse_args()
    out = Path(a.model)
    model = DSR.load(out)
    data, category, size = model.meta["data"], model.meta.get("data_category"), model.cfg.img_size
    logs = Path(a.logs) if a.logs else out
    files = {f: (logs / f).read_bytes() for f in LOG_FILES if (logs / f).is_file()}
    train_ds = open_dataset(data, category, "train", size)
    thresholds = choose_thresholds(model, data, category, train_ds, progress=False)
    if thresholds is None: print("no thresholds: no validation split, and the run held out no normal image")
    m, table = evaluate_and_store(model, open_dataset(data, category, "test", size), out, progress=False,
                                  name=model.meta.get("category"), train_ds=train_ds, files=files, thresholds=thresholds)
    print(metrics_table(m, model.meta.get("category") or "DSR"))
    if table: print(comparison_table(table))
    print(f"stored: image threshold {model.meta.get('image_threshold')} ({threshold_rule(model.meta)}); files: {sorted(files)}")


if __name__ == "__main__":
    main()
