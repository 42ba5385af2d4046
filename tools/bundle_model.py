"""Copy a trained model into the package (dsr_nb/weights/models/NAME) with a model card and example images.

    python tools/bundle_model.py RUN NAME      # e.g. runs/elpv-mono elpv-mono
    python tools/bundle_model.py --card NAME   # rewrite the card of a bundled model from its metadata
    python tools/bundle_model.py --check       # fail if a bundled card differs from the one this tool writes

`DSR.save(fp16=True)` (object-specific decoder and upsampler in fp16) is used when every test-set image score of the
fp16 model equals the fp32 one to 3 decimals, i.e. differs by less than 5e-4 (checked here, on the model's own test
split); otherwise everything is stored in fp32.

The card is written only from the model's metadata, its `diagnostics.csv` and `tools/card_notes/NAME.md`: what a
person has to say about one model (why this recipe, how it compares, warnings) goes in that notes file, which is
inserted under the card's title, so that re-bundling never loses it.
"""
import json, re, shutil, sys
from pathlib import Path
import numpy as np
import torch
from PIL import Image
from dsr_nb.model import DSR
from dsr_nb.data import open_dataset
from dsr_nb.diagnostics import read_csv
from dsr_nb.pretrain import load_vqvae, weights_licence
from dsr_nb.evaluate import threshold_rule
from dsr_nb.train import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
MODELS, NOTES = ROOT / "dsr_nb/weights/models", ROOT / "tools/card_notes"

SPLITS = {"elpv": ("Functional cells (defect probability 0) of this cell type split 2/3 train, 1/3 held out by a hash of "
                   "the file name (seed 0); the held-out normal cells and the cells with defect probability ≥ 2/3 are "
                   "divided by a second hash into validation (a third of each label) and test (the rest); cells with "
                   "probability 1/3 are left out (`dsr_nb.data.elpv_split`)."),
          "synthetic": "`make_synthetic(category, n_train=80, n_test=40, img_size=128, seed=0)`: 80 normal training "
                       "images; test = 20 normal + 20 with scratches, stains, holes or distortions, with pixel masks; "
                       "validation = the 40 test images of a second draw with seed 1 (`open_dataset(..., 'val')`)."}


MACHINE = "2 CPU cores, no GPU"

ANOMALIES = {   # what each --anomalies source does, for the card (chapter 07 and the probes README, section 13)
    "latent": "DSR's latent anomalies (`--anomalies latent`): under a Perlin mask, each code is replaced by a codebook "
              "vector from the paper's rank window, neither too near the original nor too far",
    "uniform": "latent anomalies with uniform replacement codes (`--anomalies uniform`): under a Perlin mask, each code "
               "is replaced by a codebook vector drawn uniformly",
    "mixed": "latent anomalies, per image either the paper's rank window or uniform replacement codes (`--anomalies mixed`)",
    "texture": "a foreign picture's codes (`--anomalies texture`): under a Perlin mask, the codes of a crop of the general "
               "corpus's textures replace the image's own",
    "image": "image space (`--anomalies image`): in each anomalous training image, a crop of the general corpus's "
             "textures is pasted under a Perlin mask at opacity 1 − β, and the result is encoded. These are DRÆM-style "
             "anomalies, the alternative the paper's Table 6 measures DSR's latent anomalies against",
}


def anomaly_text(meta: dict) -> str:
    "The card's stage-2 anomaly bullet, from the run's TrainConfig; says when the source is not the preset's default."
    src = meta["train"].get("anomalies", "latent")
    default = TrainConfig.for_preset(meta.get("preset", "tiny")).anomalies
    text = ANOMALIES[src] + "."
    if src != default:
        text += f" Not the `{meta.get('preset', 'tiny')}` preset's default (`{default}`)."
    if src in ("texture", "image"):
        text += " The diagnostics below inject latent anomalies, which this model's detector was not trained on."
    return text


def read_notes(name: str) -> tuple[str, str]:
    """The hand-written parts of a card, from tools/card_notes/NAME.md: what goes under the title, and what stands
    in for the training diagnostics of a run that recorded none (the text after a line `<!-- diagnostics -->`)."""
    p = NOTES / f"{name}.md"
    text = p.read_text() if p.is_file() else ""
    parts = re.split(r"^[ \t]*<!-- diagnostics -->[ \t]*$", text, maxsplit=1, flags=re.M)   # a line of its own,
    top, diag = (parts + [""])[:2]                                                        # even the file's last one
    return (top.strip() + "\n\n" if top.strip() else ""), " ".join(diag.split())


def wrap(text: str, width: int = 118, indent: str = "  ") -> str:
    "Break a bullet's text into lines of at most `width` characters, continuation lines indented."
    lines, line = [], ""
    for w in text.split():
        if line and len(line) + 1 + len(w) > width - (len(indent) if lines else 0):   # a line: at most `width`
            lines.append(line); line = w
        else: line = f"{line} {w}" if line else w
    return ("\n" + indent).join(lines + [line])


def card(name: str, model: DSR, folder: Path) -> str:
    "The model card of bundled model `name`, from `model.meta`, `folder/diagnostics.csv` and the notes file."
    meta = model.meta
    m = meta.get("metrics", {})
    base = meta.get("baselines", {})
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"
    keys = ("image_auroc", "image_ap", "image_f1_at_threshold", "image_f1", "pixel_auroc", "pixel_ap", "aupro", "pixel_f1_at_threshold")
    fmt_thr = lambda v: "none (no pixel masks)" if v is None else f"{v:.4g}"
    val_note = ("; `image_f1_at_threshold` is the F1 at the stored threshold, `image_f1` the best F1 over all "
                "thresholds of the test split (optimistic, for comparison)")
    rows = "\n".join(f"| {k} | {fmt(m.get(k))} | " + " | ".join(fmt(base.get(b, {}).get(k)) for b in ("nn", "zscore")) + " |"
                     for k in keys)
    notes, diag_notes = read_notes(name)
    diag = read_csv(folder / "diagnostics.csv") if (folder / "diagnostics.csv").is_file() else []
    last = diag[-1] if diag else None
    diag_text = ((diag_notes or "no diagnostics were recorded") if last is None else
                 f"at iteration {int(last['iteration'])}, on {meta.get('probe_images')} held-out normal training images with injected latent anomalies: "
                 f"the subspace modules keep {last['keep_hi']:.1%} (hi) and {last['keep_lo']:.1%} (lo) of the codes of normal images "
                 f"and restore {last['restore_hi']:.1%} (hi) and {last['restore_lo']:.1%} (lo) of the codes an anomaly replaced; "
                 f"I_spc's error on normal images is {last['spc_ratio']:.2f}× that of a flat patch of their mean colour (at most 0.5× is the goal) "
                 f"(I_gen's: {last['gen_mse'] / last['mean_mse']:.2f}×); the detector's pixel AP on the injected anomalies is "
                 f"{last['adm_ap']:.3f} (a random map: {last['anomalous_frac']:.3f}). Curves: `training.png`; numbers: `diagnostics.csv`, `losses.csv`")
    data = meta["data"]
    stage1 = next((s for s in ("vqvae_tiny", "vqvae_tiny_elpv") if (ROOT / "dsr_nb/weights" / s).is_dir()
                   and all(torch.equal(v, model.vq.state_dict()[k]) for k, v in load_vqvae(ROOT / "dsr_nb/weights" / s).state_dict().items())), None)
    vq_text = (f"the bundled stage-1 VQ-VAE `{stage1}` (card: `dsr_nb/weights/{stage1}/README.md`"
               + (", given to the run by path" if str(meta.get("vq", "")).startswith("/") else "") + ")") if stage1 else \
              "a stage-1 VQ-VAE that dsr_nb no longer bundles"
    licence = meta.get("licence") or (weights_licence(data, stage1) if stage1 else
                                      "that of the stage-1 VQ-VAE it was trained on and of its training data")
    fp16 = meta.get("weights_dtype") == "mixed fp16/fp32"
    return f"""# dsr_nb bundled model: `{name}`

{notes}A `tiny`-preset DSR (128×128 input) trained with dsr_nb on {data} / {meta['category']}.

- **Data:** {data}, category `{meta['category']}`; {meta.get('train_images')} normal training images.
- **Split:** {SPLITS.get(data, 'see the data set')}
- **Licence of the weights:** {licence}.
- **Training command:** `{meta.get('command')}`
  ({meta['train']['stage2_iters']} stage-2 + {meta['train']['stage3_iters']} stage-3 iterations, batch
  {meta['train']['batch_size']}, seed {meta.get('seed')}, {vq_text}; {meta.get('train_seconds')} s of
  training on {MACHINE}).
{wrap('- **Anomalies (stage 2):** ' + anomaly_text(meta))}
- **Thresholds ({threshold_rule(meta)}):** image {meta.get('image_threshold'):.4g}, pixel {fmt_thr(meta.get('pixel_threshold'))}.
  Every metric below is measured once on the test split, which no setting and no threshold was chosen on{val_note}.
- **Weights:** {'object-specific decoder and upsampler in float16, the rest in float32' if fp16 else 'float32'}
  (the fp16 storage changes test image scores by at most {meta.get('fp16_max_score_diff', 0.0):.1e}).

| metric (test split, {meta.get('test_images')} images) | DSR | baseline: nearest neighbour | baseline: pixel z-score |
|---|---|---|---|
{rows}

The baselines (chapter 12b) see the same normal training images, grey at 64×64, and are scored on the same
test split; they are what a model has to beat to be worth running.

**Training diagnostics** (chapter 11a): {diag_text}.
"""


def bundled(name: str) -> DSR:
    "A bundled model, by name, with a clear error for a wrong one."
    if not (MODELS / name).is_dir():
        sys.exit(f"no bundled model {name!r}; there are: {', '.join(sorted(p.name for p in MODELS.iterdir()))}")
    return DSR.load(MODELS / name)


def check() -> int:
    "1 (and which) if the card of any bundled model differs from the one `card` writes now."
    stale = [p.name for p in sorted(MODELS.iterdir()) if (p / "README.md").read_text() != card(p.name, bundled(p.name), p)]
    for n in stale: print(f"card of {n} is not the one tools/bundle_model.py writes: run `python tools/bundle_model.py --card {n}`")
    print("model cards: " + ("stale" if stale else "current"))
    return 1 if stale else 0


def main(src, name):
    src, dst = Path(src), MODELS / name
    if dst.exists() and src.resolve() == dst.resolve():
        sys.exit(f"{src} is the bundled model itself: to rewrite its card, run `python tools/bundle_model.py --card {name}`")
    model = DSR.load(src)
    meta = model.meta
    if not meta.get("finished"): sys.exit(f"{src} is not a finished training run")
    test = open_dataset(meta["data"], meta["category"], "test", model.cfg.img_size)
    x = torch.stack([test[i]["image"] for i in range(len(test))])
    s32 = model.predict(x).score
    tmp = Path("/tmp/bundle_fp16"); shutil.rmtree(tmp, ignore_errors=True)
    model.save(tmp, fp16=True)
    s16 = DSR.load(tmp).predict(x).score
    dmax = float((s32 - s16).abs().max())
    same = dmax < 5e-4
    print(f"fp16 vs fp32 scores: max |diff| {dmax:.2e}; equal to 3 decimals: {same}")
    shutil.rmtree(dst, ignore_errors=True)
    model.meta = {**meta, "weights_dtype": "mixed fp16/fp32" if same else "float32", "fp16_max_score_diff": dmax}
    model.save(dst, fp16=same)
    for f in ("losses.csv", "diagnostics.csv", "training.png"):          # the run's history travels with the model
        if (src / f).is_file(): shutil.copy(src / f, dst / f)
    (dst / "README.md").write_text(card(name, model, dst))
    ex = ROOT / "dsr_nb/weights/examples" / name
    shutil.rmtree(ex, ignore_errors=True); ex.mkdir(parents=True)
    labels = np.array(test.labels); scores = s32.numpy()
    picks = [int(np.argmax(np.where(labels == 1, scores, -1))), int(np.argmin(np.where(labels == 0, scores, 9)))]
    picks += [int(np.flatnonzero(labels == 1)[len(np.flatnonzero(labels == 1)) // 2])]
    for i in picks:
        src_path = Path(test.paths[i])
        kind = "anomalous" if labels[i] else "normal"
        img = Image.open(src_path); img.thumbnail((256, 256))
        img.save(ex / f"{kind}_{src_path.parent.name}_{src_path.stem}.png")
    print("bundled", dst, "examples:", sorted(p.name for p in ex.iterdir()))


if __name__ == "__main__":
    args = sys.argv[1:]
    if args == ["--check"]: sys.exit(check())
    elif len(args) == 2 and args[0] == "--card": (MODELS / args[1] / "README.md").write_text(card(args[1], bundled(args[1]), MODELS / args[1]))
    elif len(args) == 2 and not args[0].startswith("-"): main(*args)
    else: sys.exit(__doc__)
