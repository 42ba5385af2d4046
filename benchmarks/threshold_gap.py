"""Where in the gap should the stored image threshold lie? The two rules side by side on one model.

    python benchmarks/threshold_gap.py synthetic-weave --data synthetic --category weave   # a bundled name or a model folder

Both rules take the best F1 on the validation split. "At the score": the lowest validation score called anomalous
there (scikit-learn's precision-recall thresholds, anomalib's adaptive threshold; dsr_nb's rule until 2026-12-05).
"Mid-gap": halfway between that score and the next lower one (`dsr_nb.metrics.f1_optimal_threshold` now). Both
make the same calls on the validation split; the table shows the F1 each gives on the test split, read once.
"""
from dsr_nb.metrics import f1_optimal_threshold, f1_at
from splits import labelled_images, model_command_line          # benchmarks/splits.py


def main():
    a, model = model_command_line(__doc__)
    y, s = {}, {}
    for split in ("val", "test"):
        images, y[split] = labelled_images(a.data, a.category, split, model.cfg.img_size)
        s[split] = model.predict(images, batch_size=16).score.numpy()
    mid, f1_val = f1_optimal_threshold(y["val"], s["val"])
    at_score = float(s["val"][s["val"] >= mid].min())                   # the lowest validation score called anomalous
    gap = s["val"][s["val"] < mid]
    print(f"# {a.model} on {a.data}/{a.category or ''}: best validation F1 {f1_val:.3f}; "
          f"gap from {gap.max() if gap.size else float('nan'):.4f} to {at_score:.4f}")
    print("| rule | image threshold | validation F1 | test F1 at it |\n|---|---:|---:|---:|")
    for name, t in (("at the score", at_score), ("mid-gap", mid)):
        print(f"| {name} | {t:.4f} | {f1_at(y['val'], s['val'], t):.3f} | {f1_at(y['test'], s['test'], t):.3f} |")


if __name__ == "__main__":
    main()
