"""Would scoring flipped copies of each image, and averaging, steady a model's image score?

    python benchmarks/flip_average.py elpv-poly --data elpv --category poly

Averaging the scores of several models trained with different seeds gains points on ELPV poly (seed_ensemble.py):
much of one model's error is noise. Test-time augmentation is the free version of that average: the one model
scores the image as it is and as the flips and transposes of the square (the dihedral group of 8) show it, and
the image score is the mean (or the max) of those scores. The training's rotations (±90°, chapter 11) show the
detector rotated cells, so a flipped cell is not wholly foreign to it. The script scores the validation and the
test split under each of the 8 views and prints one Markdown table: image AUROC / AP of each view alone, of the
mean over the 4 flips (no transpose), of their max, and of the mean over all 8. Nothing is chosen here; only the
validation column may choose, and the test column is read once.
"""
import numpy as np
from splits import labelled_images, model_command_line, val_test_table                # benchmarks/splits.py

VIEWS = {   # name → the view of a C×H×W image
    "as is": lambda t: t, "flip left-right": lambda t: t.flip(-1), "flip up-down": lambda t: t.flip(-2),
    "rotate 180°": lambda t: t.flip(-1, -2), "transpose": lambda t: t.transpose(-1, -2),
    "rotate 90°": lambda t: t.transpose(-1, -2).flip(-1), "rotate 270°": lambda t: t.transpose(-1, -2).flip(-2),
    "anti-transpose": lambda t: t.transpose(-1, -2).flip(-1, -2)}
FLIPS = ("as is", "flip left-right", "flip up-down", "rotate 180°")


def main(argv=None):
    a, model = model_command_line(__doc__, argv)
    rows = {}                                                          # row name → {split: (N,) scores}
    labels = {}
    for split in ("val", "test"):
        images, labels[split] = labelled_images(a.data, a.category, split, model.cfg.img_size)
        for name, view in VIEWS.items():
            rows.setdefault(name, {})[split] = model.predict([view(t) for t in images], batch_size=16).score.numpy()
        rows.setdefault("mean of the 4 flips", {})[split] = np.mean([rows[v][split] for v in FLIPS], 0)
        rows.setdefault("max of the 4 flips", {})[split] = np.max([rows[v][split] for v in FLIPS], 0)
        rows.setdefault("mean of all 8 views", {})[split] = np.mean([rows[v][split] for v in VIEWS], 0)
    print(f"# {a.model} on {a.data}/{a.category or ''}: image scores of flipped views "
          f"({len(labels['val'])} validation, {len(labels['test'])} test images)\n")
    print(val_test_table(rows, labels, "view"))


if __name__ == "__main__":
    main()
