"""A Markdown table of trained models next to their baselines, from their folders (as `dsr-nb train` leaves them).

    python tools/results_table.py runs/weave-s0,runs/weave-s1 runs/wood-s0,runs/wood-s1 ...

Each argument is one row: one model folder, or the folders of several seeds of one recipe joined by commas (the row
then gives their mean and, in brackets, each run). Columns: test images; DSR's image AUROC and pixel AP; the two
trivial baselines' image AUROC and pixel AP (nearest neighbour / z-score, same test split, seed-independent); the
F1 at the stored threshold and the rule that chose it; the training time per run (2 CPU cores unless said).
"""
import json, sys
from pathlib import Path


def pct(v): return "–" if v is None else f"{100 * v:.1f}"


def meta_of(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())["meta"]


RULES = {"validation-f1": "validation F1", "held-out-normal-max": "held-out normals", "test-f1": "test F1"}


def cell(values: list) -> str:
    "Mean of the runs' values in %, each run in brackets when there are several; '–' if none."
    vals = [v for v in values if v is not None]
    if not vals: return "–"
    mean = pct(sum(vals) / len(vals))
    return mean if len(vals) == 1 else f"**{mean}** ({' / '.join(pct(v) for v in vals)})"


def row(folders: list[Path]) -> str:
    metas = [meta_of(f) for f in folders]
    m0 = metas[0]
    name = f"{Path(str(m0.get('data'))).name}/{m0.get('category')}"
    get = lambda key: [m.get("metrics", {}).get(key) for m in metas]
    b = m0.get("baselines", {})
    base = lambda key: " / ".join(pct(b.get(k, {}).get(key)) for k in ("nn", "zscore"))
    rule = RULES.get(m0.get("threshold_rule"), "–")
    minutes = " / ".join(f"{m.get('train_seconds', 0) / 60:.1f}" for m in metas)
    return (f"| {name} | {m0.get('test_images')} | {cell(get('image_auroc'))} | {cell(get('pixel_ap'))} | {base('image_auroc')} | "
            f"{base('pixel_ap')} | {cell(get('image_f1_at_threshold'))} ({rule}) | {minutes} min |")


HEADER = ("| data | test images | image AUROC | pixel AP | baselines' image AUROC (nn / z-score) | baselines' pixel AP | "
          "F1 at the stored threshold | training |\n|---|---:|---|---|---|---|---|---|")


if __name__ == "__main__":
    if not sys.argv[1:]: sys.exit(__doc__)
    print(HEADER)
    for arg in sys.argv[1:]: print(row([Path(p) for p in arg.split(",")]))
