"""Compare stage-1 VQ-VAEs on images none of them trained on. Run by hand:

    python benchmarks/vq_stage1.py bundled runs/vq_broad [more checkpoint folders]

For each model and each held-out set (32 images each: the validation splits of ELPV mono and poly, and of the
three synthetic textures, whose images no stage-1 corpus contains), prints `dsr_nb.pretrain.vq_report`:
PSNR, PSNR with every lo code replaced by the mean lo code, and per-level code usage and perplexity.
"""
import argparse, json
import torch
from dsr_nb.data import open_dataset
from dsr_nb.pretrain import bundled_vqvae, load_vqvae, vq_report

SETS = [("elpv", "mono"), ("elpv", "poly"), ("synthetic", "weave"), ("synthetic", "wood"), ("synthetic", "noise")]


def held_out(data, category, n=32, img_size=128):
    "n validation images spread over the split (RGB, img_size px)."
    ds = open_dataset(data, category, "val", img_size=img_size)
    return torch.stack([ds[int(i)]["image"] for i in torch.linspace(0, len(ds) - 1, n).long()])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", help="checkpoint folders, or 'bundled'")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    torch.set_num_threads(2)
    sets = {f"{d} {c}": held_out(d, c) for d, c in SETS}
    rows = []
    print("| model | held-out set | PSNR | PSNR, lo codes → mean | lo used | lo perplexity | hi used | hi perplexity |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for m in a.models:
        vq = bundled_vqvae("tiny") if m == "bundled" else load_vqvae(m)
        for name, x in sets.items():
            r = vq_report(vq, x)
            rows.append({"model": m, "set": name, **r})
            print(f"| {m} | {name} | {r['psnr']:.1f} | {r['psnr_without_lo']:.1f} | {r['lo_used']:.2f} | "
                  f"{r['lo_perplexity']:.0f} | {r['hi_used']:.2f} | {r['hi_perplexity']:.0f} |")
    if a.json:
        with open(a.json, "w") as f: json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
