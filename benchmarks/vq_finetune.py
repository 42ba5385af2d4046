"""Candidate Q's screen (docs/records.md): does fine-tuning the bundled stage 1 on one category's normal training
images help it draw that category's defects? Run by hand:

    python benchmarks/vq_finetune.py [--steps 300]

For each set (the validation splits of synthetic weave, wood and noise; the test splits of the transfer suite,
written by `python benchmarks/transfer.py` into `--transfer`), fine-tunes the bundled tiny stage 1 on the set's
normal training images (`dsr_nb.pretrain.pretrain`: batch 16, hi-dropout 0.25, seed 0) twice: Q restarts dead codes as `dsr-nb pretrain`
does, Q0 does not (restart threshold 0). Prints PSNR over the normal images and over the defect pixels of the
defective images (squared errors pooled over the set), bundled / Q / Q0, and Q's fine-tuning time.
"""
import argparse, json, math, time
import torch
from pathlib import Path
from dsr_nb.data import open_dataset
from dsr_nb.pretrain import bundled_vqvae, pretrain

SETS = [("synthetic", "weave", "val"), ("synthetic", "wood", "val"), ("synthetic", "noise", "val"),
        ("transfer", "tiles", "test"), ("transfer", "fibres", "test"), ("transfer", "perforated", "test"),
        ("transfer", "ripples", "test")]


def fidelity(vq, ds) -> tuple[float, float]:
    "PSNR (dB) of `vq`'s reconstructions over the normal images of `ds`, and over the defect pixels of its defective ones."
    se_n = n_n = se_d = n_d = 0.0
    with torch.no_grad():
        for i in range(len(ds)):
            it = ds[i]
            x = vq.to_model_order(it["image"][None])
            e = vq.encode(x)
            err = (vq.decode(e.q_lo, e.q_hi).clamp(0, 1) - x).pow(2).mean(1)[0]    # H×W, the mean over channels
            if it["label"] == 0: se_n += err.sum().item(); n_n += err.numel()
            else:
                m = it["mask"][0] > 0.5
                se_d += err[m].sum().item(); n_d += m.sum().item()
    psnr = lambda se, n: 10 * math.log10(n / max(se, 1e-12))
    return psnr(se_n, n_n), psnr(se_d, n_d)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300, help="fine-tuning steps (default: 300)")
    ap.add_argument("--transfer", default="~/.cache/dsr_nb/transfer", help="the transfer suite's folder (transfer.py's default)")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    torch.set_num_threads(2)
    rows, base = [], bundled_vqvae("tiny")
    print("| set | bundled: normal / defect PSNR | Q | Q0 | Q's fine-tuning |\n|---|---|---|---|---:|")
    for data, cat, split in SETS:
        root = "synthetic" if data == "synthetic" else str(Path(a.transfer).expanduser())
        ev = open_dataset(root, cat, split, img_size=128)
        tr = open_dataset(root, cat, "train", img_size=128)
        images = [tr[i]["image"] for i in range(len(tr))]
        r = {"set": cat, "bundled": fidelity(base, ev)}
        for name, threshold in (("Q", 1.0), ("Q0", 0.0)):
            t = time.time()
            vq, _ = pretrain(base.cfg, images, a.steps, init=base, hi_dropout=0.25,        # `init` is copied, not changed
                             restart_threshold=threshold, progress=False)
            r[name], r[name + "_s"] = fidelity(vq, ev), time.time() - t
        rows.append(r)
        f = lambda p: f"{p[0]:.2f} / {p[1]:.2f}"
        print(f"| {cat} | {f(r['bundled'])} | {f(r['Q'])} | {f(r['Q0'])} | {r['Q_s']:.0f} s |", flush=True)
    if a.json:
        with open(a.json, "w") as fh: json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
