"""Probe: the tiny preset at another input size, trained and evaluated as `dsr-nb train` does.

    python benchmarks/probe_input_size.py --data elpv --category poly --size 64 --iters2 2000 --iters3 400 --out runs/poly64

Trains stages 2 and 3 with `DSRConfig.tiny()` at `--size`×`--size` (the bundled stage-1 VQ-VAE is convolutional,
so it serves any size that 8 divides), chooses the thresholds on the validation split, evaluates once on the
test split next to the trivial baselines, and prints the table. The score kernel stays the preset's (11).
Run one probe at a time on an idle machine; results go to benchmarks/probes/README.md by hand.
"""
import argparse, time
from pathlib import Path
from dsr_nb.config import DSRConfig
from dsr_nb.train import TrainConfig, train_dsr
from dsr_nb.data import open_dataset
from dsr_nb.evaluate import labelled_test_split, validation_metrics, evaluate_and_store, comparison_table


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="elpv"); p.add_argument("--category", default="poly")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--iters2", type=int, default=2000); p.add_argument("--iters3", type=int, default=400)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    if a.size % 8: p.error(f"--size must be a multiple of 8 (the lo level is 1/8 of the input), got {a.size}")
    cfg = DSRConfig.tiny().replace(img_size=a.size)
    tcfg = TrainConfig.tiny().replace(stage2_iters=a.iters2, stage3_iters=a.iters3)
    out, t0 = Path(a.out), time.time()
    train = open_dataset(a.data, a.category, "train", a.size)
    meta = {"category": a.category, "data": a.data, "data_category": a.category, "preset": "tiny"}
    model, log = train_dsr(train, cfg, tcfg, out=out, progress=False, meta=meta)
    print(f"training: {time.time() - t0:.0f} s")
    test, why = labelled_test_split(a.data, a.category, a.size)
    if test is None: raise SystemExit(f"no test split: {why}")
    val, _ = validation_metrics(model, a.data, a.category, progress=False)
    _, table = evaluate_and_store(model, test, out, progress=False, name=a.category, train_ds=train,
                                  files=log.files(a.category), val_metrics=val)
    print(comparison_table(table))


if __name__ == "__main__":
    main()
