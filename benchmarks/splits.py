"""The labelled images of one split, loaded once, for the scripts that score whole splits with `DSR.predict`,
and the table of image AUROC and AP on the validation and test splits that several of them print.

    images, y = labelled_images("elpv", "poly", "val", 128)

`DSR.predict` batches on its own, so the scripts hand it a split's whole list of images (seed_ensemble.py,
score_kernel.py, recon_gap.py, flip_average.py, position_norm.py, threshold_gap.py). `model_command_line` is the
command line the scripts that study one model on one data set share, `peak_score` DSR's image score of any
one-channel map.
"""
import argparse
import numpy as np
import torch
from dsr_nb.data import open_dataset
from dsr_nb.detection import image_score
from dsr_nb.model import DSR
from dsr_nb.metrics import roc_auc, average_precision


def labelled_images(data: str, category: str | None, split: str, size: int) -> tuple[list[torch.Tensor], np.ndarray]:
    "Every image of the split (each 3×S×S in [0, 1], RGB) and its labels (N,: 1 defective, 0 normal)."
    ds = open_dataset(data, category, split, size)
    return [ds[i]["image"] for i in range(len(ds))], np.asarray(ds.labels)


def val_test_table(scores: dict[str, dict[str, np.ndarray]], labels: dict[str, np.ndarray], first: str = "model") -> str:
    "A Markdown table, one row per entry of `scores` (name → {\"val\": (N,), \"test\": (M,)}): image AUROC and AP in % on both splits."
    lines = [f"| {first} | val image AUROC | val image AP | test image AUROC | test image AP |", "|---|---:|---:|---:|---:|"]
    for name, sc in scores.items():
        cells = [f"{100 * f(labels[s], sc[s]):.1f}" for s in ("val", "test") for f in (roc_auc, average_precision)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def peak_score(m1: torch.Tensor, kernel: int) -> np.ndarray:
    "DSR's image score of a one-channel map (N×S×S: M[:, 1] or a difference): the peak of its k×k mean → (N,)."
    return image_score(torch.stack([1 - m1, m1], 1), kernel).numpy()           # image_score reads channel 1 of N×2×S×S


def model_command_line(doc: str, argv: list[str] | None = None, extra=None) -> tuple[argparse.Namespace, DSR]:
    "Parse `MODEL --data D [--category C] [--threads 2]` (and the options `extra(parser)` adds), set torch's threads, load the model."
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a model folder or a bundled name")
    p.add_argument("--data", required=True); p.add_argument("--category")
    p.add_argument("--threads", type=int, default=2)
    if extra is not None: extra(p)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    return a, DSR.load(a.model)
