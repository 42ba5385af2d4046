"""Is a defect visible in DSR's two reconstructions, and does the detector use what is there?

    python benchmarks/recon_gap.py dsr_nb/weights/models/elpv-poly --figure docs/results/poly-gap.jpg

DSR's detector sees only I_gen (the general decoder's picture) and I_spc (the object-specific one) and must
flag where they disagree because of a defect. This script runs a model on its own test split (from its
metadata) and scores every image four ways, each the maximum of a k×k mean over the image (k = the
model's score kernel), like DSR's own image score:

- `DSR`: the model's score (its detector's map M);
- `abs(I_gen − I_spc)`: the disagreement of the two reconstructions, which is what the detector is given;
- `abs(x − I_spc)`: the input against the object-specific reconstruction (a reconstruction-error detector);
- `abs(x − I_gen)`: the input against the general reconstruction (how much of the image the codes lose).

It prints one Markdown table: image AUROC of each score on the test split, and each difference's mean over
the normal and over the defective test images. If a plain difference beats DSR's score, the defects are
visible in the reconstructions and the detector is what misses them; if the normal images' mean is as high
as the defective ones', the reconstructions disagree everywhere (for example on grain that I_spc does not
reproduce) and no detector of their difference can separate them. `--figure` saves the defective test
images DSR scores lowest, with I_gen, I_spc, |I_gen − I_spc| and M.
"""
import argparse
import numpy as np
import torch
from dsr_nb.model import DSR
from splits import labelled_images, peak_score                         # benchmarks/splits.py
from dsr_nb.metrics import roc_auc


def run(model: DSR, images: list[torch.Tensor]):
    "Per image: the four scores (dict of N arrays) and the mean differences (dict of N arrays)."
    k = model.cfg.score_kernel
    x = torch.stack(images)                                                                  # N×3×S×S in [0, 1]
    p = model.predict(images, batch_size=16)
    diffs = {"abs(I_gen − I_spc)": (p.recon_general - p.recon_specific).abs().mean(1),           # N×S×S, mean over RGB
             "abs(x − I_spc)": (x - p.recon_specific).abs().mean(1),
             "abs(x − I_gen)": (x - p.recon_general).abs().mean(1)}
    scores = {"DSR": p.score.numpy(), **{n: peak_score(d, k) for n, d in diffs.items()}}
    return scores, {n: d.mean((1, 2)).numpy() for n, d in diffs.items()}


def figure(model: DSR, images: list[torch.Tensor], scores: np.ndarray, y: np.ndarray, path: str, n: int = 5):
    "The n defective test images DSR scores lowest, then the highest-scored normal one: x, I_gen, I_spc, |I_gen − I_spc|, M."
    import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
    order = np.argsort(scores)
    idx = [i for i in order if y[i] == 1][:n] + [i for i in order[::-1] if y[i] == 0][:1]
    x = torch.stack([images[i] for i in idx])
    p = model.predict(x)
    rows = [("input x", lambda j: x[j].permute(1, 2, 0)), ("I_gen", lambda j: p.recon_general[j].permute(1, 2, 0)),
            ("I_spc", lambda j: p.recon_specific[j].permute(1, 2, 0)),
            ("abs(I_gen − I_spc)", lambda j: (p.recon_general[j] - p.recon_specific[j]).abs().mean(0)),
            ("M (detector)", lambda j: p.coarse_map[j])]
    fig, ax = plt.subplots(len(rows), len(idx), figsize=(2.2 * len(idx), 2.2 * len(rows)))
    for c, i in enumerate(idx):
        for r, (name, get) in enumerate(rows):
            im = get(c).clamp(0, 1).numpy()
            ax[r, c].imshow(im, cmap="magma" if im.ndim == 2 else None, vmin=0, vmax=0.3 if r == 3 else 1)
            ax[r, c].set_xticks([]); ax[r, c].set_yticks([])
            if c == 0: ax[r, c].set_ylabel(name)
        ax[0, c].set_title(f"{'defective' if y[i] else 'normal'}, score {scores[i]:.3f}", fontsize=8)
    fig.suptitle(f"{model.meta.get('data')} / {model.meta.get('category')}: the defective test images DSR scores lowest, "
                 f"and its highest-scored normal one", fontsize=9)
    fig.tight_layout(); fig.savefig(path, dpi=80)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model"); ap.add_argument("--figure", default=None); ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    model = DSR.load(a.model).eval()
    meta = model.meta
    images, y = labelled_images(meta["data"], meta["category"], "test", model.cfg.img_size)
    scores, means = run(model, images)
    print(f"# {a.model}: test split of {meta['data']} / {meta['category']}, {len(y)} images ({int(y.sum())} defective), "
          f"score kernel {model.cfg.score_kernel}")
    print("| score | image AUROC | mean difference, normal | mean difference, defective |\n|---|---:|---:|---:|")
    for n, s in scores.items():
        m = means.get(n)
        cells = f"{m[y == 0].mean():.4f} | {m[y == 1].mean():.4f}" if m is not None else " | "
        print(f"| {n} | {100 * roc_auc(y, s):.1f} | {cells} |")
    if a.figure: figure(model, images, scores["DSR"], y, a.figure)


if __name__ == "__main__":
    main()
