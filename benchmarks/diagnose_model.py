"""The diagnostics of chapter 11a for a saved model, on the probe batch `train_dsr` would hold out for its data.

    python benchmarks/diagnose_model.py dsr_nb/weights/models/synthetic-weave --data synthetic --category weave

Prints one Markdown row: codes kept and restored per level, I_spc's error against a flat patch of the mean
colour, I_gen's, and the detector's pixel AP on injected latent anomalies (with a random map's AP). For a model
trained before the probe existed, those images were part of its training set.
"""
import torch
from splits import model_command_line                                               # benchmarks/splits.py
from dsr_nb.data import open_dataset
from dsr_nb.train import TrainConfig, load_train_images
from dsr_nb.diagnostics import make_probe, diagnose


def main():
    a, model = model_command_line(__doc__, extra=lambda p: p.add_argument("--seed", type=int, default=0))
    images = load_train_images(open_dataset(a.data, a.category, "train", model.cfg.img_size), progress=False)
    n = min(TrainConfig.tiny().probe_size, images.shape[0] // 10)              # as train_dsr chooses its probe
    perm = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(a.seed))
    probe = make_probe(model.vq, images[perm[:n].sort().values], a.seed, model.cfg.exclude_frac, model.cfg.strength_min)
    d = diagnose(model, probe)
    print("| model | keep lo / hi | restore lo / hi | I_spc / flat error | I_gen / flat error | detector AP (random map) |")
    print("|---|---|---|---|---|---|")
    print(f"| {a.model} | {d['keep_lo']:.3f} / {d['keep_hi']:.3f} | {d['restore_lo']:.3f} / {d['restore_hi']:.3f} | "
          f"{d['spc_ratio']:.2f} | {d['gen_mse'] / d['mean_mse']:.2f} | {d['adm_ap']:.3f} ({d['anomalous_frac']:.3f}) |")


if __name__ == "__main__":
    main()
