"""Probe: the tiny preset with some settings changed, trained and evaluated as `dsr-nb train` does.

    python benchmarks/probe_full.py --data elpv --category poly --model '{"img_size": 64}' --iters2 2000 --iters3 400 --out runs/poly64
    python benchmarks/probe_full.py --data elpv --category mono --train '{"rot_prob2": 0, "rot_prob3": 0}' --out runs/mono-norot
    python benchmarks/probe_full.py --data elpv --category mono --train '{"anomalies": "image"}' --max-beta 0 --out runs/mono-opaque
    python benchmarks/probe_full.py --data elpv --category mono --train '{"anomalies": "latent"}' --model '{"strength_min": 0.05}' --strength-max 0.3 --out runs/mono-near
    python benchmarks/probe_full.py --data elpv --category mono --train '{"anomalies": "texture"}' --blend-beta 0.8 --out runs/mono-blend
    python benchmarks/probe_full.py --data elpv --category poly --vq runs/vq_k64 --model '{"num_codes": 64}' --out runs/poly-k64
    python benchmarks/probe_full.py --data elpv --category poly --train '{"anomalies": "image"}' --colour-pastes --out runs/poly-colour

Trains stages 2 and 3 with `DSRConfig.tiny()` and `TrainConfig.tiny()` changed by the JSON of `--model` and
`--train` (what `dsr-nb train --set KEY=VALUE` reaches too; the options below patch the library, which the CLI
does not), chooses the thresholds on the validation split, evaluates once
on the test split next to the trivial baselines, and prints the table. At another `img_size` (a multiple of
32) the bundled stage-1 VQ-VAE still serves: it is convolutional. The score kernel stays the preset's (11)
unless `--model` changes it. `--max-beta` changes how transparent image-space anomalies may be (the pasted
picture's opacity is 1 − β, β ~ U[0, MAX_BETA); the library's 0.8 is the authors'). `--strength-max` narrows the
rank window of latent anomalies to near codes (strength s ~ U[strength_min, STRENGTH_MAX) instead of
U[strength_min, 1); the window is ranks [λ_s K, s K] of the codes nearest the original). `--blend-beta` makes
a foreign picture's codes (texture anomalies) faint in the latent space: each cell under the mask takes the code
nearest to β q + (1 − β) q_foreign, β ~ U[0, BLEND_BETA) per image, as image-space anomalies blend pixels.
`--colour-pastes` pastes a solid random colour instead of a picture crop (DSR's own image-space anomalies, which the
authors use for stage 3: `image_anomalies`, same masks and opacities). `--vq` trains on another stage-1 VQ-VAE than
the bundled one (a checkpoint folder of `dsr-nb pretrain` or `benchmarks/vq_codes.py`; `--model` must give its sizes
where they differ from the tiny preset's).
`--resume` continues a run from the checkpoint in --out with the settings given now (the averaging probe of
section 15 copies a run's checkpoint aside and ends the copy with `--iters3 0` and no `ema`, which leaves the raw
stage-2 weights of the same trajectory). Run one probe at a time on an idle machine; results go to
benchmarks/probes/README.md by hand.
"""
import argparse, time
from functools import partial
from pathlib import Path
import torch
import dsr_nb.anomalies, dsr_nb.train
from dsr_nb.train import train_dsr
from dsr_nb.anomalies import draw_plan, image_anomalies
from dsr_nb.data import open_dataset
from dsr_nb.pretrain import load_vqvae
from dsr_nb.evaluate import labelled_test_split, choose_thresholds, evaluate_and_store, comparison_table
from overrides import add_override_args, tiny_configs                      # benchmarks/overrides.py


def narrowed_plan(batch, generator=None, p_anomalous=0.5, strength_min=0.2, *, top=1.0):
    "`draw_plan` with strengths mapped affinely from [strength_min, 1) onto [strength_min, top)."
    plan = draw_plan(batch, generator, p_anomalous, strength_min)
    squeeze = lambda s: strength_min + (s - strength_min) * (top - strength_min) / (1 - strength_min)
    plan.strength_lo, plan.strength_hi = squeeze(plan.strength_lo), squeeze(plan.strength_hi)
    return plan


def colour_paste(x, masks, textures, generator, p_anomalous=0.5, max_beta=0.8):
    "`texture_anomalies` with a solid random colour instead of a crop of `textures` (unused): DSR's stage-3 anomalies."
    return image_anomalies(x, masks, generator, p_anomalous, max_beta)


class BlendedPaste:
    "`paste_codes` that snaps β q + (1 − β) q_foreign to the nearest code of the level, β ~ U[0, max_beta) per image."
    def __init__(self, max_beta: float, img_size: int, seed: int):
        self.max_beta, self.lo_size, self.vq = max_beta, img_size // 8, None
        self.gen = torch.Generator().manual_seed(1000 + seed)

    def wrap(self, sample):                                   # remembers the VQ-VAE that sample_latent_anomalies is given
        def sample_and_remember(vq, *args, **kw):
            self.vq = vq
            return sample(vq, *args, **kw)
        return sample_and_remember

    def __call__(self, q: torch.Tensor, mask: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        vq = self.vq.vq_lo if q.shape[-1] == self.lo_size else self.vq.vq_hi
        beta = (torch.rand(q.shape[0], 1, 1, 1, generator=self.gen) * self.max_beta).to(q.device, q.dtype)
        blend = beta * q + (1 - beta) * source.to(q.dtype)                          # N×D×h×w
        snapped = vq.lookup(vq.indices(blend)).to(q.dtype)                           # nearest codes, N×D×h×w
        return torch.where(mask.bool(), snapped, q)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="elpv"); p.add_argument("--category", default="poly")
    add_override_args(p)
    p.add_argument("--iters2", type=int, default=800); p.add_argument("--iters3", type=int, default=150)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-beta", type=float, help="image-space anomalies: beta ~ U[0, MAX_BETA) (default: 0.8); 0: fully opaque")
    p.add_argument("--strength-max", type=float, help="latent anomalies: strength s ~ U[strength_min, STRENGTH_MAX) (default: 1)")
    p.add_argument("--blend-beta", type=float, help="texture anomalies: codes nearest to β q + (1 − β) q_foreign, β ~ U[0, BLEND_BETA)")
    p.add_argument("--colour-pastes", action="store_true", help="image-space anomalies: a solid random colour instead of a picture crop")
    p.add_argument("--vq", help="stage-1 VQ-VAE checkpoint folder (default: the bundled one)")
    p.add_argument("--out", required=True)
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out (any of its checkpoints, copied aside), "
                   "with the settings given now: e.g. --iters3 0 and no ema to end a copy of an averaging run at its raw stage-2 weights")
    a = p.parse_args(argv)
    cfg, tcfg = tiny_configs(p, a, stage2_iters=a.iters2, stage3_iters=a.iters3)
    if a.max_beta is not None or a.colour_pastes:
        if tcfg.anomalies != "image": p.error("--max-beta and --colour-pastes act on image-space anomalies: add --train '{\"anomalies\": \"image\"}'")
        if a.max_beta is not None and not 0 <= a.max_beta <= 1: p.error(f"--max-beta must lie in [0, 1], got {a.max_beta}")
        paste = colour_paste if a.colour_pastes else dsr_nb.train.texture_anomalies
        kw = {} if a.max_beta is None else {"max_beta": a.max_beta}
        dsr_nb.train.texture_anomalies = partial(paste, **kw)                                  # what stage2_step calls
    if a.strength_max is not None:
        if tcfg.anomalies not in ("latent", "mixed"): p.error("--strength-max acts on the rank window: add --train '{\"anomalies\": \"latent\"}'")
        if not cfg.strength_min < a.strength_max <= 1: p.error(f"--strength-max must lie in ({cfg.strength_min}, 1], got {a.strength_max}")
        dsr_nb.train.draw_plan = partial(narrowed_plan, top=a.strength_max)                 # what stage2_step calls
    if a.blend_beta is not None:
        if tcfg.anomalies != "texture": p.error("--blend-beta acts on a foreign picture's codes: add --train '{\"anomalies\": \"texture\"}'")
        if not 0 <= a.blend_beta <= 1: p.error(f"--blend-beta must lie in [0, 1], got {a.blend_beta}")
        blend = BlendedPaste(a.blend_beta, cfg.img_size, a.seed)
        dsr_nb.anomalies.paste_codes = blend                                              # what sample_latent_anomalies calls
        dsr_nb.train.sample_latent_anomalies = blend.wrap(dsr_nb.train.sample_latent_anomalies)   # what stage2_step calls
    vq = None
    if a.vq is not None:
        vq = load_vqvae(a.vq)
        if differ := vq.cfg.same_model(cfg, vq_only=True):
            p.error(f"--vq {a.vq} does not fit the model: {differ} differ; give them in --model")
    out, t0 = Path(a.out), time.time()
    train = open_dataset(a.data, a.category, "train", cfg.img_size)
    meta = {"category": a.category, "data": a.data, "data_category": a.category, "preset": "tiny"}
    if a.max_beta is not None: meta["max_beta"] = a.max_beta
    if a.strength_max is not None: meta["strength_max"] = a.strength_max
    if a.blend_beta is not None: meta["blend_beta"] = a.blend_beta
    if a.vq is not None: meta["vq"] = a.vq
    if a.colour_pastes: meta["colour_pastes"] = True
    model, log = train_dsr(train, cfg, tcfg, out=out, progress=False, meta=meta, seed=a.seed, resume=a.resume, vq=vq)
    print(f"training: {time.time() - t0:.0f} s")
    test, why = labelled_test_split(a.data, a.category, cfg.img_size)
    if test is None: raise SystemExit(f"no test split: {why}")
    _, table = evaluate_and_store(model, test, out, progress=False, name=a.category, train_ds=train, files=log.files(a.category),
                                  thresholds=choose_thresholds(model, a.data, a.category, train, progress=False))
    print(comparison_table(table))


if __name__ == "__main__":
    main()
