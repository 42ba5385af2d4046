"""How much of a run's score is the seed's luck, and would averaging seeds buy it back?

    python benchmarks/seed_ensemble.py /work/runs/poly-4000-image /work/runs/poly-4000-image-seed1 \\
        --data elpv --category poly

Every model (a run folder or a bundled name, all trained on the same data) scores the validation and the test
split once. The script prints one Markdown table: each model's image AUROC and AP on both splits, and those of
the ensemble whose image score is the mean of the models' image scores (each model's score is the peak of its
smoothed anomaly map, a probability, so the scales agree). Nothing is chosen here; the table only says whether
the seeds' disagreement is noise that averaging removes (the ensemble above every member) or not.
"""
import argparse
import numpy as np
import torch
from tqdm import tqdm
from splits import labelled_images, val_test_table                                    # benchmarks/splits.py
from dsr_nb.model import DSR


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="two or more model folders or bundled names")
    p.add_argument("--data", required=True); p.add_argument("--category")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    if len(a.models) < 2: p.error("give at least two models to average")
    torch.set_num_threads(a.threads)
    models = [DSR.load(m) for m in a.models]
    sizes = {m.cfg.img_size for m in models}
    if len(sizes) > 1: p.error(f"the models take different input sizes {sorted(sizes)}; average models of one preset")
    size = sizes.pop()
    splits = {s: labelled_images(a.data, a.category, s, size) for s in ("val", "test")}     # loaded once
    images, labels = {s: v[0] for s, v in splits.items()}, {s: v[1] for s, v in splits.items()}
    scores = {name: {s: m.predict(images[s], batch_size=16).score.numpy() for s in splits}  # (N,) per split
              for name, m in tqdm(zip(a.models, models), total=len(models), desc="models")}
    scores["mean of the models' scores"] = {s: np.mean([v[s] for v in scores.values()], 0) for s in splits}
    print(f"# seeds and their average on {a.data}/{a.category or ''} "
          f"({len(labels['val'])} validation, {len(labels['test'])} test images)\n")
    print(val_test_table(scores, labels, "model"))


if __name__ == "__main__":
    main()
