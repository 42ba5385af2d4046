"""Probe: the tiny preset with some settings changed, trained and evaluated as `dsr-nb train` does.

    python benchmarks/probe_full.py --data elpv --category poly --model '{"img_size": 64}' --iters2 2000 --iters3 400 --out runs/poly64
    python benchmarks/probe_full.py --data elpv --category mono --train '{"rot_prob2": 0, "rot_prob3": 0}' --out runs/mono-norot

Trains stages 2 and 3 with `DSRConfig.tiny()` and `TrainConfig.tiny()` changed by the JSON of `--model` and
`--train` (settings the CLI has no flag for), chooses the thresholds on the validation split, evaluates once
on the test split next to the trivial baselines, and prints the table. At another `img_size` (a multiple of
32) the bundled stage-1 VQ-VAE still serves: it is convolutional. The score kernel stays the preset's (11)
unless `--model` changes it. Run one probe at a time on an idle machine; results go to
benchmarks/probes/README.md by hand.
"""
import argparse, time
from pathlib import Path
from dsr_nb.train import train_dsr
from dsr_nb.data import open_dataset
from dsr_nb.evaluate import labelled_test_split, validation_metrics, evaluate_and_store, comparison_table
from overrides import add_override_args, tiny_configs                      # benchmarks/overrides.py


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="elpv"); p.add_argument("--category", default="poly")
    add_override_args(p)
    p.add_argument("--iters2", type=int, default=800); p.add_argument("--iters3", type=int, default=150)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    cfg, tcfg = tiny_configs(p, a, stage2_iters=a.iters2, stage3_iters=a.iters3)
    out, t0 = Path(a.out), time.time()
    train = open_dataset(a.data, a.category, "train", cfg.img_size)
    meta = {"category": a.category, "data": a.data, "data_category": a.category, "preset": "tiny"}
    model, log = train_dsr(train, cfg, tcfg, out=out, progress=False, meta=meta, seed=a.seed)
    print(f"training: {time.time() - t0:.0f} s")
    test, why = labelled_test_split(a.data, a.category, cfg.img_size)
    if test is None: raise SystemExit(f"no test split: {why}")
    val, _ = validation_metrics(model, a.data, a.category, progress=False)
    _, table = evaluate_and_store(model, test, out, progress=False, name=a.category, train_ds=train,
                                  files=log.files(a.category), val_metrics=val)
    print(comparison_table(table))


if __name__ == "__main__":
    main()
