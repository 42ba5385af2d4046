"""Which image-score kernel should a model use? Chosen on the validation split, reported once on the test split.

    python benchmarks/score_kernel.py dsr_nb/weights/models/elpv-mono --data elpv --category mono

DSR scores an image by the maximum of its coarse anomaly map M after a k×k mean filter (`image_score`). The
tiny preset uses k = 11 at 128×128 (the paper: 21 at 256×256). This script runs the model once on the
validation and the test split, then scores both with every kernel of `--kernels` (and with the map's mean,
"mean"), and prints one Markdown table: image AUROC per kernel on each split, the kernel the validation
split picks, and the stored kernel. Only the validation column may choose; the test column is read once.
"""
import torch
import numpy as np
from dsr_nb.metrics import roc_auc
from splits import labelled_images, model_command_line, peak_score     # benchmarks/splits.py


def scores(m1: torch.Tensor, kernel) -> np.ndarray:
    "Image scores from M[:, 1] (N×S×S): the max of the k×k mean, or the plain mean for kernel 'mean'."
    return m1.mean((1, 2)).numpy() if kernel == "mean" else peak_score(m1, kernel)


def main():
    a, model = model_command_line(__doc__, extra=lambda p: p.add_argument("--kernels", default="1,3,5,7,11,15,21,31,45,63"))
    kernels = [int(k) for k in a.kernels.split(",")] + ["mean"]
    auc = {}
    for split in ("val", "test"):
        images, y = labelled_images(a.data, a.category, split, model.cfg.img_size)
        m1 = model.predict(images, batch_size=16).coarse_map                      # N×S×S: M[:, 1] of every image
        auc[split] = {k: roc_auc(y, scores(m1, k)) for k in kernels}
    pick = max(kernels, key=lambda k: auc["val"][k])
    print(f"# {a.model} on {a.data}/{a.category or ''}: stored kernel {model.cfg.score_kernel}, validation picks {pick}")
    print("| kernel | val image AUROC | test image AUROC |\n|---|---:|---:|")
    for k in kernels:
        mark = " (picked)" if k == pick else (" (stored)" if k == model.cfg.score_kernel else "")
        print(f"| {k}{mark} | {100 * auc['val'][k]:.1f} | {100 * auc['test'][k]:.1f} |")


if __name__ == "__main__":
    main()
