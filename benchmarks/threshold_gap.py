"""Where in the gap should the stored image threshold lie? The two rules side by side on one model.

    python benchmarks/threshold_gap.py synthetic-weave     # a bundled name or a model folder

Both rules take the best F1 on the validation split. "At the score": the lowest validation score called anomalous
there (scikit-learn's precision-recall thresholds, anomalib's adaptive threshold; dsr_nb's rule until 2026-12-05).
"Mid-gap": halfway between that score and the next lower one (`dsr_nb.metrics.f1_optimal_threshold` now). Both
make the same calls on the validation split; the table shows the F1 each gives on the test split, read once.
"""
import argparse
import numpy as np
from dsr_nb import DSR
from dsr_nb.metrics import f1_optimal_threshold, f1_at
from splits import labelled_images          # benchmarks/splits.py


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a model folder or a bundled name")
    a = p.parse_args()
    model = DSR.load(a.model)
    data, category = model.meta["data"], model.meta.get("data_category")
    y, s = {}, {}
    for split in ("val", "test"):
        images, labels = labelled_images(data, category, split, model.cfg.img_size)
        y[split], s[split] = np.asarray(labels), model.predict(images, batch_size=16).score.numpy()
    mid, f1_val = f1_optimal_threshold(y["val"], s["val"])
    at_score = float(s["val"][s["val"] >= mid].min())                   # the lowest validation score called anomalous
    gap = s["val"][s["val"] < mid]
    print(f"# {a.model} on {data}/{category or ''}: best validation F1 {f1_val:.3f}; "
          f"gap from {gap.max() if gap.size else float('nan'):.4f} to {at_score:.4f}")
    print("| rule | image threshold | validation F1 | test F1 at it |\n|---|---:|---:|---:|")
    for name, t in (("at the score", at_score), ("mid-gap", mid)):
        print(f"| {name} | {t:.4f} | {f1_at(y['val'], s['val'], t):.3f} | {f1_at(y['test'], s['test'], t):.3f} |")


if __name__ == "__main__":
    main()
