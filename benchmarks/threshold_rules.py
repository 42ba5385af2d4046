"""Which rule should set a model's stored thresholds? The rules side by side on one trained model, read on its test split.

    python benchmarks/threshold_rules.py runs/weave --data synthetic --category weave
    python benchmarks/threshold_rules.py runs/ho-marble --data ~/.cache/dsr_nb/heldout --category marble

- "validation F1": F1-optimal on the labelled validation split (mid-gap; `dsr_nb.metrics.f1_optimal_threshold`),
  where the data has one (synthetic, elpv);
- "held-out normal max": the highest image score and map value among the normal training images the run held out
  (`dsr_nb.evaluate.normal_thresholds`), which needs no anomaly at all;
- "test F1": F1-optimal on the test split itself, for reference only: optimistic by construction, the ceiling a
  threshold can reach there.

For each, the image and pixel thresholds and the F1 they give on the test split (image F1 over images, pixel F1 over
all pixels; pixel figures only where the data has masks).
"""
import numpy as np
import torch
from dsr_nb.data import open_dataset
from dsr_nb.images import DataError
from dsr_nb.metrics import f1_optimal_threshold, f1_at
from dsr_nb.evaluate import normal_thresholds, held_out_images
from splits import model_command_line                               # benchmarks/splits.py


def scored(model, data, category, split):
    "(labels, image scores, pixel labels or None, map values) of one split."
    ds = open_dataset(data, category, split, model.cfg.img_size)
    items = [ds[i] for i in range(len(ds))]
    pred = model.predict([it["image"] for it in items], batch_size=16)
    masks = (np.stack([it["mask"][0].numpy() > 0.5 for it in items]).ravel() if getattr(ds, "has_masks", False) else None)
    return np.asarray(ds.labels), pred.score.numpy(), masks, pred.anomaly_map.numpy().ravel()


def main():
    a, model = model_command_line(__doc__)
    y, s, py, ps = scored(model, a.data, a.category, "test")
    rules = {}
    try:
        vy, vs, vpy, vps = scored(model, a.data, a.category, "val")
        rules["validation F1"] = (f1_optimal_threshold(vy, vs)[0], f1_optimal_threshold(vpy, vps)[0] if vpy is not None else None)
    except DataError as e: print(f"no validation split: {e}")
    held = held_out_images(model, open_dataset(a.data, a.category, "train", model.cfg.img_size))
    if held is not None:
        t = normal_thresholds(model, held)
        rules[f"held-out normal max ({len(held)} images)"] = (t["image_threshold"], t["pixel_threshold"])
    else: print("the model held out no training image")
    rules["test F1 (optimistic, reference)"] = (f1_optimal_threshold(y, s)[0], f1_optimal_threshold(py, ps)[0] if py is not None else None)
    print(f"# {a.model} on {a.data}/{a.category or ''}: {len(y)} test images, {int(y.sum())} anomalous")
    print("| rule | image threshold | test image F1 | pixel threshold | test pixel F1 |\n|---|---:|---:|---:|---:|")
    for name, (ti, tp) in rules.items():
        pf = f"{f1_at(py, ps, tp):.3f}" if py is not None and tp is not None else "–"
        print(f"| {name} | {ti:.4f} | {f1_at(y, s, ti):.3f} | {'–' if tp is None else f'{tp:.4f}'} | {pf} |")


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
