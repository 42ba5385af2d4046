"""A stage-1 VQ-VAE with fewer codes per level, made from the bundled one. Run by hand:

    python benchmarks/vq_codes.py --codes 64 --steps 800 --out runs/vq_k64

Probe of `docs/records.md` (section 19): the tiny codebook's 512 codes lie so close together that a
subspace restriction module's output near the right code often snaps to a neighbour (section 1). This builds a
`DSRConfig.tiny()` VQ-VAE with `--codes` codes per level: the encoder and decoders are the bundled model's, each
codebook starts as a usage-weighted k-means of the bundled codebook (its EMA cluster sizes are the weights), and
the whole model then trains for `--steps` steps as the bundled model's second run did (the broad corpus with
ELPV's train cells, a quarter of the crops decoded from the lo level alone). Measure it with
`python benchmarks/vq_stage1.py bundled OUT` and train on it with `python benchmarks/probe_full.py --vq OUT
--model '{"num_codes": K}' ...`.
"""
import argparse, time
import torch
from dsr_nb.data import open_dataset
from dsr_nb.pretrain import bundled_vqvae, pretrain
from dsr_nb.corpora import broad_corpus
from dsr_nb.quantize import VectorQuantizer, nearest_code
from dsr_nb.vqvae import VQVAE


def weighted_kmeans(x: torch.Tensor, w: torch.Tensor, k: int, iters: int = 50, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    "k centres of the rows of `x` (N×D) weighted by `w` (N), k-means++ start; returns centres (k×D) and their weights (k)."
    g = torch.Generator().manual_seed(seed)
    centres = x[torch.multinomial(w, 1, generator=g)]                                   # 1×D
    while len(centres) < k:                                                            # k-means++: far, heavy rows first
        d2 = (x - centres[nearest_code(x, centres)]).pow(2).sum(1)                     # N, to the nearest centre
        centres = torch.cat([centres, x[torch.multinomial(w * d2 + 1e-12, 1, generator=g)]])
    for _ in range(iters):
        assign = nearest_code(x, centres)                                              # N
        mass = torch.zeros(k).index_add_(0, assign, w)                                  # k
        sums = torch.zeros_like(centres).index_add_(0, assign, x * w[:, None])          # k×D
        centres = torch.where(mass[:, None] > 0, sums / mass.clamp_min(1e-12)[:, None], centres)
    return centres, mass


def shrink_codebook(vq: VectorQuantizer, k: int, seed: int = 0) -> VectorQuantizer:
    "A `k`-code quantizer whose codes are the usage-weighted k-means of `vq`'s, with consistent EMA state."
    sizes = vq.ema_cluster_size.clamp_min(1e-6)
    centres, mass = weighted_kmeans(vq.embedding.float(), sizes.float(), k, seed=seed)
    new = VectorQuantizer(k, vq.dim, vq.commitment, vq.decay, vq.eps)
    mass = mass.clamp_min(1e-3)
    new.embedding.copy_(centres); new.ema_cluster_size.copy_(mass); new.ema_w.copy_(centres * mass[:, None])
    return new


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--codes", type=int, default=64, help="codes per level (the tiny preset has 512)")
    ap.add_argument("--steps", type=int, default=800, help="training steps after the k-means start")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.steps < 1: ap.error(f"--steps must be positive, got {a.steps}")
    if not 2 <= a.codes <= 512: ap.error(f"--codes must lie in [2, 512] (it shrinks the bundled 512), got {a.codes}")
    torch.set_num_threads(2)
    t0 = time.time()
    bundled = bundled_vqvae("tiny")
    cfg = bundled.cfg.replace(num_codes=a.codes)
    vq = VQVAE(cfg)
    own = {k: v for k, v in bundled.state_dict().items() if not k.startswith(("vq_lo.", "vq_hi."))}
    missing, unexpected = vq.load_state_dict(own, strict=False)
    assert not unexpected and all(k.startswith(("vq_lo.", "vq_hi.")) for k in missing), (missing, unexpected)
    vq.vq_lo = shrink_codebook(bundled.vq_lo, a.codes, a.seed)
    vq.vq_hi = shrink_codebook(bundled.vq_hi, a.codes, a.seed + 1)
    ds = open_dataset("elpv", "all", "train", cfg.img_size)                            # what --with-train elpv:all adds
    extra = [ds[i]["image"] for i in range(len(ds))]
    images, weights = broad_corpus(extra)
    meta = {"corpus": "the broad corpus + elpv:all (train split)", "hi_dropout": 0.25,
            "init": f"bundled, codebooks k-means to {a.codes}"}
    vq, log = pretrain(cfg, images, a.steps, 16, out=a.out, seed=a.seed, meta=meta, weights=weights,
                       init=vq, hi_dropout=0.25)
    print(f"{a.codes} codes per level, {a.steps} steps, final loss {log.loss[-1]:.4f}, "
          f"perplexity lo {log.perplexity_lo[-1]:.0f} hi {log.perplexity_hi[-1]:.0f}; {time.time() - t0:.0f} s; saved to {a.out}")


if __name__ == "__main__":
    main()
