"""Probe: the tiny preset with some settings changed, trained and evaluated as `dsr-nb train` does.

    python benchmarks/probe_full.py --data elpv --category poly --model '{"img_size": 64}' --iters2 2000 --iters3 400 --out runs/poly64
    python benchmarks/probe_full.py --data elpv --category mono --train '{"rot_prob2": 0, "rot_prob3": 0}' --out runs/mono-norot
    python benchmarks/probe_full.py --data synthetic --category noise --train '{"paste_procedural": 48}' --out runs/noise-proc
    python benchmarks/probe_full.py --data elpv --category poly --vq runs/vq_k64 --model '{"num_codes": 64}' --out runs/poly-k64

Trains stages 2 and 3 with `DSRConfig.tiny()` and `TrainConfig.tiny()` changed by the JSON of `--model` and
`--train`: the library's public settings, the same that `dsr-nb train --set KEY=VALUE` reaches; nothing of the
library is patched. Chooses the thresholds as `dsr-nb train` does, evaluates once on the test split next to the
trivial baselines, and prints the table. At another `img_size` (a multiple of 32) the bundled stage-1 VQ-VAE still
serves: it is convolutional. `--vq` trains on another stage-1 VQ-VAE than the bundled one (a checkpoint folder of
`dsr-nb pretrain` or `benchmarks/vq_codes.py`; `--model` must give its sizes where they differ from the tiny
preset's). `--resume` continues a run from the checkpoint in --out with the settings given now. Run one probe at a
time on an idle machine; results go to docs/records.md by hand. (Earlier probes of the records also changed the
pastes' opacity, the rank window's upper end, blended foreign codes and solid-colour pastes by patching the library;
those settings were not adopted and are not settings of the library, so this script no longer offers them.)
"""
import argparse, time
from pathlib import Path
from dsr_nb.train import TrainConfig, train_dsr
from dsr_nb.data import open_dataset
from dsr_nb.pretrain import load_vqvae
from dsr_nb.evaluate import labelled_test_split, choose_thresholds, evaluate_and_store, comparison_table
from overrides import add_override_args, tiny_configs                      # benchmarks/overrides.py


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="elpv"); p.add_argument("--category", default="poly")
    add_override_args(p)
    p.add_argument("--iters2", type=int, default=TrainConfig.tiny().stage2_iters)
    p.add_argument("--iters3", type=int, default=TrainConfig.tiny().stage3_iters)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vq", help="stage-1 VQ-VAE checkpoint folder (default: the bundled one)")
    p.add_argument("--out", required=True)
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out (any of its checkpoints, copied aside), "
                   "with the settings given now: e.g. --iters3 0 and no ema to end a copy of an averaging run at its raw stage-2 weights")
    a = p.parse_args(argv)
    cfg, tcfg = tiny_configs(p, a, stage2_iters=a.iters2, stage3_iters=a.iters3)
    vq = None
    if a.vq is not None:
        vq = load_vqvae(a.vq)
        if differ := vq.cfg.size_differences(cfg, vq_only=True):
            p.error(f"--vq {a.vq} does not fit the model: {differ} differ; give them in --model")
    out, t0 = Path(a.out), time.time()
    train = open_dataset(a.data, a.category, "train", cfg.img_size)
    meta = {"category": a.category, "data": a.data, "data_category": a.category, "preset": "tiny"}
    if a.vq is not None: meta["vq"] = a.vq
    model, log = train_dsr(train, cfg, tcfg, out=out, progress=False, meta=meta, seed=a.seed, resume=a.resume, vq=vq)
    print(f"training: {time.time() - t0:.0f} s")
    test, why = labelled_test_split(a.data, a.category, cfg.img_size)
    if test is None: raise SystemExit(f"no test split: {why}")
    _, table = evaluate_and_store(model, test, out, progress=False, name=a.category, train_ds=train, files=log.files(a.category),
                                  thresholds=choose_thresholds(model, a.data, a.category, train, progress=False))
    print(comparison_table(table))


if __name__ == "__main__":
    main()
