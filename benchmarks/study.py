"""Studies of trained models: one tool, one command line, one Markdown table per study. Run by hand:

    python benchmarks/study.py STUDY MODEL [MODEL ...] --data D [--category C] [options]

    python benchmarks/study.py kernel elpv-mono --data elpv --category mono
    python benchmarks/study.py thresholds runs/weave --data synthetic --category weave
    python benchmarks/study.py thresholds runs/ho-marble --data ~/.cache/dsr_nb/heldout --category marble
    python benchmarks/study.py seeds runs/poly-s0 runs/poly-s1 --data elpv --category poly
    python benchmarks/study.py memorisation runs/C-noise-s0 runs/H2-noise-s0 --data synthetic --category noise

MODEL is a model folder or a bundled name. Every study scores whole splits with `DSR.predict` and chooses nothing
on a test split: where something is chosen, only the validation column may choose, and the test column is read
once. The studies:

- `kernel`: image AUROC on the validation and test splits for every image-score kernel (`--kernels`) and the
  map's mean; the kernel the validation split picks, next to the stored one.
- `flips`: image AUROC / AP under each of the 8 flips and transposes of the square, and of their mean and max
  (test-time augmentation).
- `position`: whether the map raises false alarms at fixed places of aligned images: DSR's score against the map
  scored relative to its per-pixel mean and spread on the normal training images.
- `thresholds`: the rules for the stored image and pixel thresholds side by side (validation F1 at the lowest
  anomalous score and mid-gap, the held-out normal images' maximum, and the test split's own F1 as the optimistic
  ceiling), each read once on the test split.
- `reconstructions`: whether defects show in the two reconstructions: image AUROC on the test split of
  abs(I_gen − I_spc), abs(x − I_spc) and abs(x − I_gen) next to DSR's score; `--figure` saves the defective test
  images DSR scores lowest with their reconstructions and maps.
- `diagnose`: chapter 11a's diagnostics on the probe batch `train_dsr` would hold out for the data (`--seed`).
- `colour`: the chroma of I_gen inside and outside the training anomalies of each anomaly source, next to the
  defective test images' (does a source tint I_gen where real defects never are tinted?).
- `seeds`: two or more models of one recipe (different seeds), and the mean of their image scores.
- `defects`: image AUROC and pixel AP per defect kind of an MVTec-layout test split (each kind against the normal
  test images), for one or more models: which kinds a recipe finds.
- `combined`: DSR's map plus stage 1's reconstruction error abs(x − I_gen), each standardised by its pixels on the
  model's held-out normal training images (from `--norm-data`, default `--data`), summed; image AUROC and pixel AP
  of DSR, of the error alone and of the sum, on the validation and test splits that exist (draw a third split with
  `make_synthetic(..., seed=2)` and give it as `--data`, the model's own data as `--norm-data`).
- `memorisation`: whether a model scores the normal images it trained on lower than normal images it never saw
  (its held-out training images and the validation split's normal images, or the test split's where there is no
  validation split): the AUROC of unseen against trained-on normals is 50 for a model that learned the surface, not
  its training set.
"""
from __future__ import annotations
import argparse, sys
import numpy as np
import torch
from dsr_nb.data import open_dataset
from dsr_nb.detection import image_score
from dsr_nb.images import DataError
from dsr_nb.metrics import roc_auc, average_precision, f1_optimal_threshold, f1_at
from dsr_nb.model import DSR


# ---------------------------------------------------------------- shared: splits, scores, tables
def labelled_images(data: str, category: str | None, split: str, size: int) -> tuple[list[torch.Tensor], np.ndarray]:
    "Every image of the split (each 3×S×S in [0, 1], RGB) and its labels (N,: 1 defective, 0 normal)."
    ds = open_dataset(data, category, split, size)
    return [ds[i]["image"] for i in range(len(ds))], np.asarray(ds.labels)


def peak_score(m1: torch.Tensor, kernel: int) -> np.ndarray:
    "DSR's image score of any one-channel map (N×S×S): the peak of its k×k mean → (N,)."
    return image_score(torch.stack([1 - m1, m1], 1), kernel).numpy()           # image_score reads channel 1 of N×2×S×S


def val_test_table(scores: dict[str, dict[str, np.ndarray]], labels: dict[str, np.ndarray], first: str) -> str:
    "One row per entry of `scores` (name → {\"val\": (N,), \"test\": (M,)}): image AUROC and AP in % on both splits."
    lines = [f"| {first} | val image AUROC | val image AP | test image AUROC | test image AP |", "|---|---:|---:|---:|---:|"]
    for name, sc in scores.items():
        cells = [f"{100 * f(labels[s], sc[s]):.1f}" for s in ("val", "test") for f in (roc_auc, average_precision)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def title(a, what: str) -> str: return f"# {a.models[0]} on {a.data}/{a.category or ''}: {what}\n"


# ---------------------------------------------------------------- the studies (each: (args, models) → printed table)
def kernel(a, models):
    model = models[0]
    kernels = [int(k) for k in a.kernels.split(",")] + ["mean"]
    auc = {}
    for split in ("val", "test"):
        images, y = labelled_images(a.data, a.category, split, model.cfg.img_size)
        m1 = model.predict(images, batch_size=16).coarse_map                      # N×S×S: M[:, 1] of every image
        auc[split] = {k: roc_auc(y, m1.mean((1, 2)).numpy() if k == "mean" else peak_score(m1, k)) for k in kernels}
    pick = max(kernels, key=lambda k: auc["val"][k])
    print(title(a, f"stored kernel {model.cfg.score_kernel}, validation picks {pick}"))
    print("| kernel | val image AUROC | test image AUROC |\n|---|---:|---:|")
    for k in kernels:
        mark = " (picked)" if k == pick else (" (stored)" if k == model.cfg.score_kernel else "")
        print(f"| {k}{mark} | {100 * auc['val'][k]:.1f} | {100 * auc['test'][k]:.1f} |")


VIEWS = {   # name → the view of a C×H×W image
    "as is": lambda t: t, "flip left-right": lambda t: t.flip(-1), "flip up-down": lambda t: t.flip(-2),
    "rotate 180°": lambda t: t.flip(-1, -2), "transpose": lambda t: t.transpose(-1, -2),
    "rotate 90°": lambda t: t.transpose(-1, -2).flip(-1), "rotate 270°": lambda t: t.transpose(-1, -2).flip(-2),
    "anti-transpose": lambda t: t.transpose(-1, -2).flip(-1, -2)}
FLIPS = ("as is", "flip left-right", "flip up-down", "rotate 180°")


def flips(a, models):
    model, rows, labels = models[0], {}, {}
    for split in ("val", "test"):
        images, labels[split] = labelled_images(a.data, a.category, split, model.cfg.img_size)
        for name, view in VIEWS.items():
            rows.setdefault(name, {})[split] = model.predict([view(t) for t in images], batch_size=16).score.numpy()
        rows.setdefault("mean of the 4 flips", {})[split] = np.mean([rows[v][split] for v in FLIPS], 0)
        rows.setdefault("max of the 4 flips", {})[split] = np.max([rows[v][split] for v in FLIPS], 0)
        rows.setdefault("mean of all 8 views", {})[split] = np.mean([rows[v][split] for v in VIEWS], 0)
    print(title(a, f"image scores of flipped views ({len(labels['val'])} validation, {len(labels['test'])} test images)"))
    print(val_test_table(rows, labels, "view"))


def position(a, models):
    model = models[0]
    size, k = model.cfg.img_size, model.cfg.score_kernel
    train, y_train = labelled_images(a.data, a.category, "train", size)
    m_train = model.predict([im for im, y in zip(train, y_train) if y == 0], batch_size=16).coarse_map   # N×S×S
    mean, std = m_train.mean(0), m_train.std(0)                                                          # S×S each
    variants = {"DSR": lambda m: m, "M − mean": lambda m: m - mean,
                "z, eps 0.05": lambda m: (m - mean) / (std + 0.05), "z, eps 0.01": lambda m: (m - mean) / (std + 0.01)}
    scores, labels = {name: {} for name in variants}, {}
    for split in ("val", "test"):
        images, labels[split] = labelled_images(a.data, a.category, split, size)
        m1 = model.predict(images, batch_size=16).coarse_map
        for name, f in variants.items(): scores[name][split] = peak_score(f(m1), k)
    print(title(a, f"statistics from {len(m_train)} normal training images, kernel {k}"))
    print(val_test_table(scores, labels, "score"))


def _split(data, category, split, size) -> tuple[torch.Tensor, np.ndarray, np.ndarray | None]:
    "One split's images (N×3×S×S), labels (N,) and pixel labels (N·S·S,; None without masks)."
    ds = open_dataset(data, category, split, size)
    items = [ds[i] for i in range(len(ds))]
    masks = (np.stack([it["mask"][0].numpy() > 0.5 for it in items]).ravel() if getattr(ds, "has_masks", False) else None)
    return torch.stack([it["image"] for it in items]), np.asarray(ds.labels), masks


def _scored(model, data, category, split):
    "(labels, image scores, pixel labels or None, map values) of one split."
    x, y, masks = _split(data, category, split, model.cfg.img_size)
    pred = model.predict(x, batch_size=16)
    return y, pred.score.numpy(), masks, pred.anomaly_map.numpy().ravel()


def thresholds(a, models):
    from dsr_nb.evaluate import normal_thresholds, held_out_images
    model = models[0]
    y, s, py, ps = _scored(model, a.data, a.category, "test")
    rules = {}
    try:
        vy, vs, vpy, vps = _scored(model, a.data, a.category, "val")
        mid = f1_optimal_threshold(vy, vs)[0]
        pix = f1_optimal_threshold(vpy, vps)[0] if vpy is not None else None
        rules["validation F1, at the lowest anomalous score"] = (float(vs[vs >= mid].min()), pix)
        rules["validation F1, mid-gap (stored)"] = (mid, pix)
    except DataError as e: print(f"no validation split: {e}")
    held = held_out_images(model, open_dataset(a.data, a.category, "train", model.cfg.img_size))
    if held is not None:
        t = normal_thresholds(model, held)
        rules[f"held-out normals ({len(held)} images)"] = (t["image_threshold"], t["pixel_threshold"])
    else: print("the model held out no training image")
    rules["test F1 (optimistic, reference)"] = (f1_optimal_threshold(y, s)[0], f1_optimal_threshold(py, ps)[0] if py is not None else None)
    print(title(a, f"{len(y)} test images, {int(y.sum())} anomalous"))
    print("| rule | image threshold | test image F1 | pixel threshold | test pixel F1 |\n|---|---:|---:|---:|---:|")
    for name, (ti, tp) in rules.items():
        pf = f"{f1_at(py, ps, tp):.3f}" if py is not None and tp is not None else "–"
        print(f"| {name} | {ti:.4f} | {f1_at(y, s, ti):.3f} | {'–' if tp is None else f'{tp:.4f}'} | {pf} |")


def reconstructions(a, models):
    model = models[0]
    images, y = labelled_images(a.data, a.category, "test", model.cfg.img_size)
    k, x = model.cfg.score_kernel, torch.stack(images)                          # N×3×S×S in [0, 1]
    p = model.predict(images, batch_size=16)
    diffs = {"abs(I_gen − I_spc)": (p.recon_general - p.recon_specific).abs().mean(1),   # N×S×S, mean over RGB
             "abs(x − I_spc)": (x - p.recon_specific).abs().mean(1), "abs(x − I_gen)": (x - p.recon_general).abs().mean(1)}
    scores = {"DSR": p.score.numpy(), **{n: peak_score(d, k) for n, d in diffs.items()}}
    print(title(a, f"test split, {len(y)} images ({int(y.sum())} defective), score kernel {k}"))
    print("| score | image AUROC | mean difference, normal | mean difference, defective |\n|---|---:|---:|---:|")
    for n, s in scores.items():
        m = diffs[n].mean((1, 2)).numpy() if n in diffs else None
        cells = f"{m[y == 0].mean():.4f} | {m[y == 1].mean():.4f}" if m is not None else " | "
        print(f"| {n} | {100 * roc_auc(y, s):.1f} | {cells} |")
    if a.figure: _gap_figure(model, images, scores["DSR"], y, a.figure)


def _gap_figure(model, images, scores, y, path, n: int = 5):
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
    fig.tight_layout(); fig.savefig(path, dpi=80)


def diagnose(a, models):
    from dsr_nb.train import TrainConfig, load_train_images
    from dsr_nb.diagnostics import make_probe, diagnose as run_diagnostics
    model = models[0]
    images = load_train_images(open_dataset(a.data, a.category, "train", model.cfg.img_size), progress=False)
    n = min(TrainConfig.tiny().probe_size, images.shape[0] // 10)              # as train_dsr chooses its probe
    perm = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(a.seed))
    probe = make_probe(model.vq, images[perm[:n].sort().values], a.seed)   # the authors' strength floor and exclusion, as training's default
    d = run_diagnostics(model, probe)
    print("| model | keep lo / hi | restore lo / hi | I_spc / flat error | I_gen / flat error | detector AP (random map) |")
    print("|---|---|---|---|---|---|")
    print(f"| {a.models[0]} | {d['keep_lo']:.3f} / {d['keep_hi']:.3f} | {d['restore_lo']:.3f} / {d['restore_hi']:.3f} | "
          f"{d['spc_ratio']:.2f} | {d['gen_mse'] / d['mean_mse']:.2f} | {d['adm_ap']:.3f} ({d['anomalous_frac']:.3f}) |")


def colour(a, models):
    from dsr_nb.anomalies import draw_plan, image_anomalies, sample_latent_anomalies, foreign_pictures, texture_anomalies
    from dsr_nb.perlin import perlin_masks
    from dsr_nb.streams import Streams
    model = models[0]
    cfg, vq = model.cfg, model.vq
    chroma = lambda im: im.std(1)                                               # B×3×S×S → B×S×S; 0 on a grey image
    train = open_dataset(a.data, a.category, "train", cfg.img_size)
    x = vq.to_model_order(torch.stack([train[i]["image"] for i in range(min(a.n, len(train)))]))   # B×3×S×S
    B, S = x.shape[0], x.shape[-1]
    rng = Streams.for_batch(a.seed, 0, range(B))
    masks = perlin_masks(B, S, rng)                                             # B×1×S×S
    enc = vq.encode(x)
    decode = lambda e: vq.decode(e.q_lo, e.q_hi)
    rows = [("input x, normal", None, chroma(x).mean().item()), ("I_gen, normal", None, chroma(decode(enc)).mean().item())]
    def row(name, i_gen, mask):
        c, m = chroma(i_gen), mask[:, 0] > 0.5
        rows.append((name, c[m].mean().item(), c[~m].mean().item()))
    for mode in ("latent", "uniform"):
        la = sample_latent_anomalies(vq, enc, masks, draw_plan(B, rng, 1.0), rng, mode=mode)
        row(f"I_gen, latent codes '{mode}'", vq.decode(la.q_lo, la.q_hi), la.mask)
    for grey in (False, True):
        xa, m_gt = texture_anomalies(x, masks, foreign_pictures(vq, grey=grey), rng, 1.0)
        row(f"I_gen, pasted pictures 'image'{', grey' if grey else ''}", decode(vq.encode(xa)), m_gt)
    xa, m_gt = image_anomalies(x, masks, rng, 1.0)                             # DSR's stage-3 anomalies
    row("I_gen, pasted solid colours (stage 3's)", decode(vq.encode(xa)), m_gt)
    test = open_dataset(a.data, a.category, "test", cfg.img_size)
    bad = [i for i, label in enumerate(test.labels) if label == 1][:a.n]
    if bad:
        xt = vq.to_model_order(torch.stack([test[i]["image"] for i in bad]))
        rows.append((f"I_gen, defective test images ({len(bad)})", None, chroma(decode(vq.encode(xt))).mean().item()))
    print(title(a, f"chroma (mean over pixels of the std of the 3 channels), {B} training images"))
    print("| image | inside the anomaly mask | outside (or the whole image) |\n|---|---:|---:|")
    for name, inside, outside in rows:
        print(f"| {name} | {'' if inside is None else f'{inside:.4f}'} | {outside:.4f} |")


def seeds(a, models):
    if len(models) < 2: raise SystemExit("seeds: give at least two models to average")
    sizes = {m.cfg.img_size for m in models}
    if len(sizes) > 1: raise SystemExit(f"seeds: the models take different input sizes {sorted(sizes)}")
    size = sizes.pop()
    splits = {s: labelled_images(a.data, a.category, s, size) for s in ("val", "test")}     # loaded once
    images, labels = {s: v[0] for s, v in splits.items()}, {s: v[1] for s, v in splits.items()}
    scores = {name: {s: m.predict(images[s], batch_size=16).score.numpy() for s in splits} for name, m in zip(a.models, models)}
    scores["mean of the models' scores"] = {s: np.mean([v[s] for v in scores.values()], 0) for s in splits}
    print(title(a, f"seeds and their average ({len(labels['val'])} validation, {len(labels['test'])} test images)"))
    print(val_test_table(scores, labels, "model"))


def defects(a, models):
    "Image AUROC and pixel AP per defect kind of the test split, each kind against the normal test images."
    ds = open_dataset(a.data, a.category, "test", models[0].cfg.img_size)
    kinds = np.asarray(getattr(ds, "defects", []))                                # per image: 'good' or its defect's folder
    if not len(kinds) or not ds.has_masks:
        raise SystemExit("defects: needs an MVTec-layout test split (one folder per defect kind, with masks)")
    names = sorted(set(kinds) - {"good"})
    print(title(a, f"per defect kind: image AUROC / pixel AP in %, each kind against the {int((kinds == 'good').sum())} normal test images"))
    print("| model | " + " | ".join(f"{k} ({int((kinds == k).sum())})" for k in names) + " |\n|---|" + "---:|" * len(names))
    for name, m in zip(a.models, models):
        _, s, truth, maps = _scored(m, a.data, a.category, "test")
        truth, maps = truth.reshape(len(kinds), -1), maps.reshape(len(kinds), -1)     # N×(S·S)
        cells = []
        for k in names:
            sel = (kinds == "good") | (kinds == k)
            cells.append(f"{100 * roc_auc((kinds[sel] == k).astype(int), s[sel]):.1f} / "
                         f"{100 * average_precision(truth[sel].ravel(), maps[sel].ravel()):.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


def memorisation(a, models):
    "Scores of the normal images each model trained on against normal images it never saw, and its validation image AUROC."
    size = models[0].cfg.img_size
    ds = open_dataset(a.data, a.category, "train", size)
    try: open_dataset(a.data, a.category, "val", size); split = "val"                  # as evaluate.validation_metrics asks
    except DataError: split = "test"
    print(title(a, f"trained-on normal images against unseen ones (held out of training, and the {split} split's normal images)"))
    print(f"| model | trained on | unseen | mean score, trained on / unseen | AUROC, unseen against trained on | {split} image AUROC |")
    print("|---|---:|---:|---|---:|---:|")
    for name, m in zip(a.models, models):
        held = set(m.meta.get("held_out") or [])                                  # training images train_dsr never trained on
        if not held: raise SystemExit(f"memorisation: {name} keeps no held-out training images in its config.json")
        score = lambda idx: m.predict([ds[i]["image"] for i in idx], batch_size=16).score.numpy()
        seen = score([i for i in range(len(ds)) if i not in held])
        y, s, _, _ = _scored(m, a.data, a.category, split)
        unseen = np.r_[score(sorted(held)), s[y == 0]]
        auc = roc_auc(np.r_[np.zeros(len(seen)), np.ones(len(unseen))].astype(int), np.r_[seen, unseen])
        print(f"| {name} | {len(seen)} | {len(unseen)} | {seen.mean():.3f} / {unseen.mean():.3f} | {100 * auc:.1f} | "
              f"{100 * roc_auc(y, s):.1f} |")


def _two_maps(model, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    "DSR's anomaly map, stage 1's error abs(x − I_gen) (the mean over RGB), both N×S×S, and DSR's image scores (N,)."
    p = model.predict(images, batch_size=16)
    return p.anomaly_map, (images - p.recon_general).abs().mean(1), p.score.numpy()


def combined(a, models):
    from dsr_nb.evaluate import held_out_images
    model, k = models[0], models[0].cfg.score_kernel
    size = model.cfg.img_size
    held = held_out_images(model, open_dataset(a.norm_data or a.data, a.category, "train", size))
    if held is None: raise SystemExit("combined: the model held out no training image to standardise with")
    stats = [(m.mean(), m.std()) for m in _two_maps(model, held)[:2]]             # per map: its pixels on held-out normals
    print(title(a, f"DSR's map + stage 1's error, standardised on {len(held)} held-out normal training images"))
    print("| split | images | score | image AUROC | pixel AP |\n|---|---:|---|---:|---:|")
    for split in ("val", "test"):
        try: x, y, truth = _split(a.data, a.category, split, size)
        except DataError: continue
        dsr, rec, dsr_score = _two_maps(model, x)                                   # N×S×S, N×S×S, (N,)
        both = (dsr - stats[0][0]) / stats[0][1] + (rec - stats[1][0]) / stats[1][1]
        for name, m, s_img in (("DSR", dsr, dsr_score), ("stage-1 error", rec, peak_score(rec, k)),
                               ("DSR + stage-1 error (M)", both, peak_score(both, k))):
            ap = f"{100 * average_precision(truth, m.numpy().ravel()):.1f}" if truth is not None else "–"
            print(f"| {split} | {len(y)} | {name} | {100 * roc_auc(y, s_img):.1f} | {ap} |")

STUDIES = {f.__name__: f for f in (kernel, flips, position, thresholds, reconstructions, diagnose, colour, seeds, defects,
                                   memorisation, combined)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("study", choices=list(STUDIES))
    p.add_argument("models", nargs="+", help="model folders or bundled names (seeds: two or more; defects, memorisation: one or more)")
    p.add_argument("--data", required=True); p.add_argument("--category")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--kernels", default="1,3,5,7,11,15,21,31,45,63", help="kernel: the kernels to try")
    p.add_argument("--figure", help="reconstructions: save the lowest-scored defective images here")
    p.add_argument("--seed", type=int, default=0, help="diagnose, colour: the probe's or the anomalies' seed")
    p.add_argument("--n", type=int, default=64, help="colour: training images to draw anomalies on")
    p.add_argument("--norm-data", help="combined: the data whose train split the model held normal images out of (default: --data)")
    a = p.parse_args(argv)
    if a.study not in ("seeds", "defects", "memorisation") and len(a.models) != 1: p.error(f"{a.study} studies one model")
    torch.set_num_threads(a.threads); torch.set_grad_enabled(False)
    STUDIES[a.study](a, [DSR.load(m).eval() for m in a.models])


if __name__ == "__main__":
    sys.exit(main())
