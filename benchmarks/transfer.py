"""A transfer suite: four more surfaces and four more defect kinds, to choose recipes for data nobody tuned on.

    python benchmarks/transfer.py                        # writes ~/.cache/dsr_nb/transfer (about 20 s)
    python benchmarks/transfer.py --out DIR --show sheet.png
    dsr-nb train --data ~/.cache/dsr_nb/transfer --category tiles --out runs/transfer-tiles

The held-out suite (`benchmarks/heldout.py`) measures whether a recipe generalises and is never tuned on. A recipe
that gains there and loses on the synthetic data's validation draw needs a third opinion that is allowed to decide:
this suite. It is built like the held-out suite (MVTec layout, 256×256, 80 normal training images, 30 normal and 32
defective test images, exact masks) from surfaces and defects that neither the held-out suite, nor the synthetic
data set (weave, wood, noise; scratches, stains, holes, swirls), nor any training corpus of dsr_nb draws:

- surfaces: `tiles` (square tiles of jittered colour between grout lines), `fibres` (paper or felt: many thin curved
  strands), `perforated` (sheet metal with a hexagonal lattice of round holes), `ripples` (wind ripples in sand);
- defects: `hair` (a long, smooth, thin strand lying on the surface), `scaled` (a region where the surface appears
  magnified), `dent` (a shallow dent, lit from one side), `glyph` (a few stamped characters).

Its figures may choose between recipes, so they say nothing about data nobody tuned on once they have.
"""
import numpy as np
from scipy.ndimage import gaussian_filter
from PIL import Image, ImageDraw, ImageFont
from heldout import S, _blob, _colour, _jit, contact_sheet, main as _main, write  # noqa: F401 (re-exported)

CATEGORIES = ("tiles", "fibres", "perforated", "ripples")
DEFECTS = ("hair", "scaled", "dent", "glyph")
VERSION = 1
SEED_BASE = 2000     # the held-out suite's streams start at 1000


def surface(rng, category):
    "One normal S×S×3 image of `category`, float32 in [0, 1]."
    y, x = np.mgrid[0:S, 0:S].astype(np.float32)
    if category == "tiles":
        pitch, grout = rng.uniform(S / 8, S / 5), rng.uniform(2.5, 4.0)
        a = np.deg2rad(rng.uniform(-3, 3))
        u, v = np.cos(a) * x + np.sin(a) * y + rng.uniform(0, pitch), -np.sin(a) * x + np.cos(a) * y + rng.uniform(0, pitch)
        iu, iv = np.floor(u / pitch).astype(int), np.floor(v / pitch).astype(int)
        base = _jit(rng, (0.62, 0.45, 0.32), 0.08)
        shades = rng.normal(0, 0.06, (64, 64))                                    # one shade per tile
        img = base + shades[iu % 64, iv % 64][..., None] + rng.normal(0, 0.012, (S, S, 3))
        line = (np.minimum(u % pitch, pitch - u % pitch) < grout / 2) | (np.minimum(v % pitch, pitch - v % pitch) < grout / 2)
        img[line] = _jit(rng, (0.80, 0.78, 0.72), 0.03)
        return np.clip(img, 0, 1).astype(np.float32)
    if category == "fibres":
        canvas = Image.new("L", (2 * S, 2 * S), 128)
        draw = ImageDraw.Draw(canvas)
        for _ in range(int(rng.integers(350, 450))):
            p, ang = rng.uniform(-20, 2 * S + 20, 2), rng.uniform(0, 2 * np.pi)
            pts = [tuple(p)]
            for _ in range(int(rng.integers(6, 14))):
                ang += rng.normal(0, 0.25)
                p = p + 8 * np.array([np.cos(ang), np.sin(ang)]); pts.append(tuple(p))
            draw.line(pts, fill=int(rng.integers(60, 230)), width=int(rng.integers(1, 3)))
        val = np.asarray(canvas.resize((S, S), Image.LANCZOS), np.float32) / 255
        return _colour(val, _jit(rng, (0.55, 0.50, 0.42), 0.05), _jit(rng, (0.97, 0.95, 0.88), 0.02), rng, 0.01)
    if category == "perforated":
        pitch = rng.uniform(14, 20); r = pitch * rng.uniform(0.26, 0.34)
        a = np.deg2rad(rng.uniform(-4, 4))
        u, v = np.cos(a) * x + np.sin(a) * y + rng.uniform(0, pitch), -np.sin(a) * x + np.cos(a) * y + rng.uniform(0, pitch)
        row = np.round(v / (pitch * np.sqrt(3) / 2))                               # hexagonal lattice: rows shifted by half
        cu = (np.round(u / pitch - 0.5 * (row % 2)) + 0.5 * (row % 2)) * pitch
        hole = np.hypot(u - cu, v - row * pitch * np.sqrt(3) / 2) < r
        sheen = 0.5 + 0.2 * np.sin(np.pi * (x / S * rng.uniform(0.5, 1.2) + rng.uniform(0, 1)))
        val = np.where(hole, 0.08, sheen + 0.03 * rng.normal(size=(S, S)))
        return _colour(val, _jit(rng, (0.12, 0.12, 0.14), 0.02), _jit(rng, (0.86, 0.86, 0.84), 0.03), rng, 0.008)
    if category == "ripples":
        a = rng.uniform(0, np.pi)
        u = np.cos(a) * x + np.sin(a) * y
        warp = gaussian_filter(rng.normal(size=(S, S)), 24)                        # float: 8-bit blurs would terrace it
        phase = u / rng.uniform(14, 20) + 1.2 * warp / (np.abs(warp).max() + 1e-6)
        ridge = (0.5 + 0.5 * np.sin(2 * np.pi * phase)) ** 2.5                     # sharp crests, wide troughs
        grain = gaussian_filter(rng.normal(size=(S, S)), 0.7)
        val = np.clip(0.25 + 0.6 * ridge + 0.12 * grain / (grain.std() + 1e-6), 0, 1)
        return _colour(val, _jit(rng, (0.55, 0.42, 0.25), 0.04), _jit(rng, (0.95, 0.86, 0.66), 0.03), rng, 0.01)
    raise ValueError(f"unknown category {category!r}; choose one of {', '.join(CATEGORIES)}")


def defect(rng, img, kind):
    "Damage an S×S×3 image with one defect of `kind`: (image, S×S bool mask)."
    img = img.copy()
    if kind == "hair":
        ctrl = rng.uniform(0.1 * S, 0.9 * S, (4, 2))
        t = np.linspace(0, 1, 80)[:, None]
        pts = ((1 - t) ** 3 * ctrl[0] + 3 * (1 - t) ** 2 * t * ctrl[1] + 3 * (1 - t) * t ** 2 * ctrl[2] + t ** 3 * ctrl[3])
        canvas = Image.new("L", (S, S), 0)
        ImageDraw.Draw(canvas).line([tuple(p) for p in pts], fill=255, width=int(rng.integers(2, 4)))
        mask = np.asarray(canvas) > 127
        colour = np.array((0.08, 0.06, 0.05)) if rng.random() < 0.5 else np.array((0.98, 0.97, 0.95))
        img[mask] = 0.2 * img[mask] + 0.8 * colour
    elif kind == "scaled":
        mask = _blob(rng, rng.uniform(0.10, 0.16) * S)
        cy, cx = np.argwhere(mask).mean(0)
        z = rng.uniform(1.6, 2.2)
        yy, xx = np.mgrid[0:S, 0:S]
        sy = np.clip(np.round(cy + (yy - cy) / z), 0, S - 1).astype(int)
        sx = np.clip(np.round(cx + (xx - cx) / z), 0, S - 1).astype(int)
        img[mask] = img[sy, sx][mask]
    elif kind == "dent":
        r = rng.uniform(0.08, 0.13) * S
        cy, cx = rng.uniform(r + 8, S - r - 8, 2)
        yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
        d = np.hypot(yy - cy, xx - cx) / r
        depth = np.clip(1 - d ** 2, 0, None)                                        # a paraboloid bowl
        gy, gx = np.gradient(depth)
        light = rng.uniform(0, 2 * np.pi)
        shade = 1 + 6 * (np.cos(light) * gx + np.sin(light) * gy)                  # one side lit, the other in shadow
        img = img * shade[..., None]
        mask = d < 0.9
    elif kind == "glyph":
        text = "".join(rng.choice(list("ABCDEFGHJKLMNPRSTUVWXYZ0123456789"), int(rng.integers(2, 5))))
        size = int(rng.integers(26, 40))
        canvas = Image.new("L", (S, S), 0)
        draw = ImageDraw.Draw(canvas)
        font = ImageFont.load_default(size=size)
        w, h = draw.textbbox((0, 0), text, font=font)[2:]
        draw.text((rng.uniform(8, S - w - 8), rng.uniform(8, S - h - 8)), text, fill=255, font=font)
        canvas = canvas.rotate(rng.uniform(-25, 25), resample=Image.BILINEAR)
        mask = np.asarray(canvas) > 100
        ink = rng.uniform(0.0, 0.5, 3) if rng.random() < 0.7 else np.array((0.75, 0.1, 0.1))
        img[mask] = 0.15 * img[mask] + 0.85 * ink
    else:
        raise ValueError(f"unknown defect {kind!r}; choose one of {', '.join(DEFECTS)}")
    return np.clip(img, 0, 1).astype(np.float32), mask


if __name__ == "__main__":
    import sys
    _main(suite=sys.modules[__name__], default_out="~/.cache/dsr_nb/transfer")
