"""Assemble a self-contained Hugging Face Space folder: app.py, README.md (the Space's YAML), requirements.txt
and a copy of the dsr_nb package with its bundled models and examples, so that the Space needs nothing else.

    python demo/build_space.py OUT [--models DIR] [--examples DIR] [--force]
    hf upload <user>/<space> OUT . --repo-type space

--models DIR adds the DSR checkpoints in DIR (one per subfolder, as `dsr-nb demo --models`) to the bundled
models; --examples DIR adds example images from DIR/<model name>/*.png. Only model.safetensors, config.json
and README.md of a checkpoint are copied (never a training state).
"""
from __future__ import annotations
import argparse, shutil, sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SPACE_FILES = ["app.py", "README.md", "requirements.txt"]
MODEL_FILES = ["model.safetensors", "config.json", "README.md"]
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def _copy_model(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for f in MODEL_FILES:
        if (src / f).is_file(): shutil.copy2(src / f, dst / f)


def _copy_examples(src: Path, dst: Path) -> int:
    n = 0
    for d in sorted(p for p in src.iterdir() if p.is_dir()):
        for img in sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_EXTS):
            (dst / d.name).mkdir(parents=True, exist_ok=True)
            shutil.copy2(img, dst / d.name / img.name)
            n += 1
    return n


def build_space(out, models=None, examples=None, force: bool = False) -> Path:
    "Write the Space folder `out`; returns it. `out` must be new or empty unless `force`."
    sys.path.insert(0, str(REPO))
    from dsr_nb.registry import checkpoint_folders
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not force: raise FileExistsError(f"{out} is not empty; pass --force to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    for f in SPACE_FILES: shutil.copy2(HERE / f, out / f)
    pkg, dst = REPO / "dsr_nb", out / "dsr_nb"
    dst.mkdir()
    for py in sorted(pkg.glob("*.py")): shutil.copy2(py, dst / py.name)
    weights = pkg / "weights"
    for p in sorted(weights.glob("*")) if weights.is_dir() else []:   # stage-1 VQ-VAEs shipped with the package
        if p.is_dir() and (p / "config.json").is_file() and (p / "model.safetensors").is_file():
            _copy_model(p, dst / "weights" / p.name)
    if (weights / "models").is_dir():
        for name, path in checkpoint_folders(weights / "models").items(): _copy_model(path, dst / "weights" / "models" / name)
    if (weights / "examples").is_dir(): _copy_examples(weights / "examples", dst / "weights" / "examples")
    if models:
        for name, path in checkpoint_folders(models).items(): _copy_model(path, dst / "weights" / "models" / name)
    if examples: _copy_examples(Path(examples), dst / "weights" / "examples")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="Assemble a self-contained Hugging Face Space folder for the dsr_nb demo.")
    ap.add_argument("out", help="the folder to write")
    ap.add_argument("--models", metavar="DIR", help="extra DSR checkpoints to bundle (one per subfolder)")
    ap.add_argument("--examples", metavar="DIR", help="extra example images, DIR/<model name>/*.png")
    ap.add_argument("--force", action="store_true", help="replace a non-empty OUT")
    args = ap.parse_args(argv)
    try: out = build_space(args.out, args.models, args.examples, args.force)
    except (FileExistsError, FileNotFoundError) as e: ap.exit(2, f"error: {e}\n")
    models = sorted(p.name for p in (out / "dsr_nb" / "weights" / "models").glob("*") if p.is_dir())
    n_ex = len([p for p in (out / "dsr_nb" / "weights" / "examples").rglob("*") if p.is_file()])
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    print(f"wrote {out}: {len(models)} model(s) {models}, {n_ex} example(s), {size:.1f} MB")
    if not models: print("warning: no models bundled; the Space would need --models at launch", file=sys.stderr)
    print(f"upload: hf upload <user>/<space> {out} . --repo-type space")


if __name__ == "__main__":
    main()
