"""A Markdown table of trained models next to their baselines, from their folders (as `dsr-nb train` leaves them).

    python tools/results_table.py runs/weave runs/elpv-mono ...

Columns: test images, DSR's image AUROC / pixel AP / AUPRO, the two baselines' image AUROC (and pixel AP), the
honest F1 (at the validation threshold), the last diagnostics (I_spc error ratio, hi codes restored, detector AP
on injected anomalies) and the training time.
"""
import json, sys
from pathlib import Path
from dsr_nb.diagnostics import read_csv


def pct(v): return "–" if v is None else f"{100 * v:.1f}"


def row(folder: Path) -> str:
    meta = json.loads((folder / "config.json").read_text())["meta"]
    m, b = meta.get("metrics", {}), meta.get("baselines", {})
    d = read_csv(folder / "diagnostics.csv")[-1] if (folder / "diagnostics.csv").is_file() else {}
    name = f"{meta.get('data')}/{meta.get('category')}"
    img = lambda k: pct(b.get(k, {}).get("image_auroc"))
    px = lambda k: pct(b.get(k, {}).get("pixel_ap"))
    best = max((b.get(k, {}).get("image_auroc") or 0) for k in ("nn", "zscore"))
    verdict = "beats both" if (m.get("image_auroc") or 0) > best else f"{100 * (best - (m.get('image_auroc') or 0)):.1f} below the best"
    return (f"| {name} | {meta.get('test_images')} | **{pct(m.get('image_auroc'))}** | {pct(m.get('pixel_ap'))} | {pct(m.get('aupro'))} | "
            f"{img('nn')} / {img('zscore')} | {px('nn')} / {px('zscore')} | {verdict} | {pct(m.get('image_f1_at_threshold'))} | "
            f"{d.get('spc_ratio', float('nan')):.2f} | {pct(d.get('restore_hi'))} | {pct(d.get('adm_ap'))} | {meta.get('train_seconds', 0) / 60:.1f} min |")


if __name__ == "__main__":
    print("| data | test images | image AUROC | pixel AP | AUPRO | baselines image AUROC (nn / z-score) | baselines pixel AP | vs baselines | "
          "F1 at val threshold | I_spc / flat error | hi codes restored | detector AP (injected) | training |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for f in sys.argv[1:]: print(row(Path(f)))
