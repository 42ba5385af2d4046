"""A held-out suite: four surfaces and four defect kinds that no corpus of dsr_nb draws, in the MVTec layout.

    python benchmarks/heldout.py                         # writes ~/.cache/dsr_nb/heldout (about 20 s)
    python benchmarks/heldout.py --out DIR --show sheet.png
    dsr-nb train --data ~/.cache/dsr_nb/heldout --category marble --out runs/heldout-marble

It exists to measure whether a recipe generalises, so it is never tuned on: no setting of the library is chosen
by its figures, and a recipe change reports them as they come. Nothing here is used in training: the stage-1 and
paste corpora are scikit-image's photographs and `procedural_textures` (gratings, value noise, blobs, cells), the
synthetic data set draws weave, wood and noise with scratches, stains, holes and swirls. Here instead:

- surfaces: `labyrinth` (band-pass noise, a Turing-like maze of two colours), `brushed` (brushed metal: long
  streaks along one direction), `terrain` (a real elevation model, hill-shaded: matplotlib's Jacksboro fault
  sample), `marble` (veins of a sine warped by turbulence);
- defects: `crack` (a jagged, branching dark line), `smudge` (a blob where the texture is blurred away),
  `particles` (a cluster of small specks), `misplaced` (a patch of the same surface, turned, pasted elsewhere).

Images are 256×256 (a model resizes them); train/good holds 80 normal images, test 30 normal and 32 defective
(8 of each kind), with exact masks. There is no validation split: thresholds come from held-out training images.
"""
import argparse, json, shutil, sys
from pathlib import Path
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CATEGORIES = ("labyrinth", "brushed", "terrain", "marble")
DEFECTS = ("crack", "smudge", "particles", "misplaced")
VERSION = 1
SEED_BASE = 1000     # the random streams of category i start from [seed, SEED_BASE + i]
S = 256


def _rotated(rng, size):
    "Pixel coordinates rotated by a random angle and shifted: (v, u), each size×size."
    a = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    return (np.sin(a) * x + np.cos(a) * y + rng.uniform(0, 500), np.cos(a) * x - np.sin(a) * y + rng.uniform(0, 500))


def _blur(a, radius):
    "Gaussian blur of a 2-D float array."
    lo, hi = float(a.min()), float(a.max())
    im = Image.fromarray(((a - lo) / (hi - lo + 1e-9) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(radius))
    return np.asarray(im, np.float32) / 255 * (hi - lo) + lo


def _colour(val, dark, light, rng, grain=0.015):
    img = np.asarray(dark) + val[..., None] * (np.asarray(light) - np.asarray(dark))
    return np.clip(img + rng.normal(0, grain, img.shape), 0, 1).astype(np.float32)


def _jit(rng, c, a=0.05): return np.clip(np.asarray(c) + rng.uniform(-a, a, 3), 0, 1)


_DEM = None
def _dem():
    global _DEM
    if _DEM is None:
        import matplotlib.cbook as cbook
        from matplotlib.colors import LightSource
        z = np.load(cbook.get_sample_data("jacksboro_fault_dem.npz", asfileobj=False))["elevation"].astype(np.float32)
        _DEM = (z, LightSource)
    return _DEM


def surface(rng, category):
    "One normal S×S×3 image of `category`, float32 in [0, 1]."
    if category == "labyrinth":
        f = np.fft.fftfreq(S)[:, None] ** 2 + np.fft.fftfreq(S)[None] ** 2
        k0 = rng.uniform(0.045, 0.055)
        ring = np.exp(-((np.sqrt(f) - k0) ** 2) / (2 * 0.006 ** 2))
        val = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(S, S))) * ring))
        val = 0.5 + 0.5 * np.tanh(3 * val / val.std())
        return _colour(val, _jit(rng, (0.35, 0.22, 0.10)), _jit(rng, (0.93, 0.80, 0.52)), rng)
    if category == "brushed":
        n = rng.normal(size=(2 * S, S // 12)).astype(np.float32)                  # smooth along x, sharp along y
        streak = np.asarray(Image.fromarray(n).resize((2 * S, 2 * S), Image.BICUBIC))
        streak = streak + 0.5 * rng.normal(size=streak.shape).astype(np.float32) * 0.3
        streak = np.asarray(Image.fromarray(streak).rotate(rng.uniform(-8, 8), resample=Image.BILINEAR))
        streak = streak[S // 2:S // 2 + S, S // 2:S // 2 + S]                      # the centre: no corner left unfilled
        y, x = np.mgrid[0:S, 0:S] / S
        sheen = 0.15 * np.sin(np.pi * (x * rng.uniform(0.5, 1.5) + rng.uniform(0, 1)))
        val = np.clip(0.55 + 0.12 * streak / (streak.std() + 1e-6) + sheen, 0, 1)
        return _colour(val, _jit(rng, (0.25, 0.27, 0.30), 0.03), _jit(rng, (0.85, 0.87, 0.90), 0.03), rng, 0.01)
    if category == "terrain":
        z, LightSource = _dem()
        side = int(rng.integers(140, 200))
        y0, x0 = rng.integers(0, z.shape[0] - side), rng.integers(0, z.shape[1] - side)
        crop = z[y0:y0 + side, x0:x0 + side]
        crop = np.rot90(crop, int(rng.integers(4)))
        ls = LightSource(azdeg=315 + rng.uniform(-15, 15), altdeg=45)
        shade = ls.hillshade(crop, vert_exag=0.3, dx=10, dy=10)
        shade = np.asarray(Image.fromarray(shade.astype(np.float32)).resize((S, S), Image.BICUBIC))
        return _colour(np.clip(shade, 0, 1), _jit(rng, (0.20, 0.24, 0.16), 0.03), _jit(rng, (0.86, 0.82, 0.70), 0.03), rng, 0.01)
    if category == "marble":
        v, u = _rotated(rng, S)
        turb = sum(_blur(rng.normal(size=(S, S)).astype(np.float32), r) * (r / 8) for r in (2, 4, 8, 16))
        turb = turb / (np.abs(turb).max() + 1e-6)
        val = np.abs(np.sin(u / rng.uniform(20, 30) + rng.uniform(4, 7) * turb)) ** 0.35
        return _colour(val, _jit(rng, (0.30, 0.36, 0.32), 0.04), _jit(rng, (0.95, 0.94, 0.90), 0.02), rng, 0.01)
    raise ValueError(f"unknown category {category!r}; choose one of {', '.join(CATEGORIES)}")


def _disk(shape, cy, cx, r):
    y, x = np.ogrid[:shape[0], :shape[1]]
    return (y - cy) ** 2 + (x - cx) ** 2 <= r * r


def _blob(rng, r):
    "A random smooth blob mask of radius about r."
    cy, cx = rng.uniform(r + 8, S - r - 8, 2)
    y, x = np.mgrid[0:S, 0:S].astype(np.float32)
    ang = np.arctan2(y - cy, x - cx)
    wob = 1 + sum(rng.uniform(-0.2, 0.2) * np.cos(k * ang + rng.uniform(0, 6.3)) for k in (2, 3, 5))
    return np.hypot(y - cy, x - cx) <= r * wob


def defect(rng, img, kind):
    "Damage an S×S×3 image with one defect of `kind`: (image, S×S bool mask)."
    img = img.copy()
    if kind == "crack":
        canvas = Image.new("L", (S, S), 0)
        draw = ImageDraw.Draw(canvas)
        def walk(p, ang, n, w):
            pts = [tuple(p)]
            for _ in range(n):
                ang += rng.uniform(-0.7, 0.7)
                p = np.clip(p + rng.uniform(4, 9) * np.array([np.cos(ang), np.sin(ang)]), 3, S - 4)
                pts.append(tuple(p))
                if w > 1 and rng.random() < 0.08: walk(p, ang + rng.choice([-1, 1]) * rng.uniform(0.6, 1.2), int(n * 0.4), w - 1)
            draw.line(pts, fill=255, width=w)
        walk(rng.uniform(0.25 * S, 0.75 * S, 2), rng.uniform(0, 2 * np.pi), int(rng.integers(10, 18)), int(rng.integers(2, 4)))
        mask = np.asarray(canvas) > 127
        img[mask] = img[mask] * 0.25
    elif kind == "smudge":
        mask = _blob(rng, rng.uniform(0.08, 0.14) * S)
        soft = np.stack([_blur(img[..., c], 7) for c in range(3)], -1)
        img[mask] = soft[mask]
    elif kind == "particles":
        cy, cx = rng.uniform(0.2 * S, 0.8 * S, 2)
        spread = rng.uniform(10, 22)
        mask = np.zeros((S, S), bool)
        colour = np.array((0.05, 0.05, 0.05)) if rng.random() < 0.5 else rng.uniform(0.6, 1.0, 3)
        for _ in range(int(rng.integers(10, 25))):
            py, px = np.clip(rng.normal((cy, cx), spread), 4, S - 5)
            d = _disk((S, S), py, px, rng.uniform(1.5, 3.5))
            img[d] = 0.15 * img[d] + 0.85 * colour
            mask |= d
    elif kind == "misplaced":
        h, w = (int(v) for v in rng.uniform(0.18, 0.28, 2) * S)
        sy, sx = rng.integers(0, S - max(h, w), 2)
        patch = img[sy:sy + max(h, w), sx:sx + max(h, w)]
        patch = np.rot90(patch, int(rng.integers(1, 4)))[:h, :w]
        ty, tx = rng.integers(4, S - h - 4), rng.integers(4, S - w - 4)
        img[ty:ty + h, tx:tx + w] = patch
        mask = np.zeros((S, S), bool); mask[ty:ty + h, tx:tx + w] = True
    else:
        raise ValueError(f"unknown defect {kind!r}; choose one of {', '.join(DEFECTS)}")
    return np.clip(img, 0, 1).astype(np.float32), mask


def _png(a, path):
    Image.fromarray(np.round(a * 255).astype(np.uint8)).save(path, compress_level=1)


def write(root, category, n_train=80, n_good=30, n_per_defect=8, seed=0, suite=None) -> Path:
    "Write one category in the MVTec layout under root/category (reused if already written with these settings)."
    suite = suite or sys.modules[__name__]           # or another suite module with the same names (benchmarks/transfer.py)
    params = dict(category=category, n_train=n_train, n_good=n_good, n_per_defect=n_per_defect, seed=seed,
                  version=suite.VERSION, size=S)
    out = Path(root).expanduser() / category
    marker = out / ".heldout.json"
    if marker.is_file() and json.loads(marker.read_text()) == params: return out
    shutil.rmtree(out, ignore_errors=True)
    cid = suite.CATEGORIES.index(category)
    rng_for = lambda *ids: np.random.default_rng([seed, suite.SEED_BASE + cid, *ids])
    (out / "train" / "good").mkdir(parents=True); (out / "test" / "good").mkdir(parents=True)
    for i in range(n_train): _png(suite.surface(rng_for(0, i), category), out / "train" / "good" / f"{i:03d}.png")
    for i in range(n_good): _png(suite.surface(rng_for(1, i), category), out / "test" / "good" / f"{i:03d}.png")
    for k, kind in enumerate(suite.DEFECTS):
        for sub in ("test", "ground_truth"): (out / sub / kind).mkdir(parents=True)
        for i in range(n_per_defect):
            rng = rng_for(2 + k, i)
            bad, mask = suite.defect(rng, suite.surface(rng, category), kind)
            _png(bad, out / "test" / kind / f"{i:03d}.png")
            _png(mask.astype(np.float32), out / "ground_truth" / kind / f"{i:03d}_mask.png")
    marker.write_text(json.dumps(params, indent=1) + "\n")
    return out


def contact_sheet(root, path, suite=None):
    "One row per category: two normal images, then one of each defect with its mask outlined."
    suite = suite or sys.modules[__name__]
    CATEGORIES, DEFECTS = suite.CATEGORIES, suite.DEFECTS
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(len(CATEGORIES), 6, figsize=(12, 2.1 * len(CATEGORIES)))
    for r, c in enumerate(CATEGORIES):
        files = [root / c / "train" / "good" / "000.png", root / c / "train" / "good" / "001.png"]
        files += [root / c / "test" / d / "000.png" for d in DEFECTS]
        for j, (ax, f) in enumerate(zip(axs[r], files)):
            ax.imshow(Image.open(f)); ax.set_xticks([]); ax.set_yticks([])
            if j >= 2:
                m = np.asarray(Image.open(root / c / "ground_truth" / DEFECTS[j - 2] / "000_mask.png")) > 127
                ax.contour(m, levels=[0.5], colors="red", linewidths=0.8)
            ax.set_title(("normal" if j < 2 else DEFECTS[j - 2]) if r == 0 else "", fontsize=9)
        axs[r, 0].set_ylabel(c)
    fig.tight_layout(); fig.savefig(path, dpi=80); plt.close(fig)


def main(argv=None, suite=None, default_out="~/.cache/dsr_nb/heldout"):
    suite = suite or sys.modules[__name__]
    p = argparse.ArgumentParser(description=suite.__doc__.split("\n\n")[0])
    p.add_argument("--out", default=default_out, help=f"root folder (default: {default_out})")
    p.add_argument("--categories", nargs="+", default=list(suite.CATEGORIES), choices=suite.CATEGORIES)
    p.add_argument("--show", metavar="PNG", help="also write a contact sheet of the suite")
    a = p.parse_args(argv)
    root = Path(a.out).expanduser()
    for c in a.categories: print(write(root, c, suite=suite))
    if a.show: contact_sheet(root, a.show, suite); print("contact sheet:", a.show)


if __name__ == "__main__":
    main()
