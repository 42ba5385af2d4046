"""Short stage-2 probes: which settings make the object-specific path learn within a CPU budget?

Trains stage 2 only for --iters iterations with the tiny preset and the given changes, and prints the
diagnostics of chapter 11a (codes kept and restored by the SRMs, I_spc error against a mean-colour patch,
the detector's pixel AP on injected anomalies) on the run's held-out probe batch every --every iterations.

    python benchmarks/probe_training.py --data synthetic --category weave --iters 300 \
        --model '{"srm_pools": 2}' --train '{"lr": 2e-4, "decoder_init": "authors"}'

With --srm-only it trains one hi-level subspace restriction module alone to reproduce the hi codes of
normal images (no anomalies, no decoder, no detector) and prints how much of their variance it explains
and the fraction of codes it keeps: the cheapest test of whether an SRM layout can learn in the budget.

    python benchmarks/probe_training.py --srm-only --model '{"srm_pools": 2}' --train '{"lr": 1e-3}'

Run one probe at a time on an idle machine; results go to docs/records.md by hand.
"""
import argparse, sys, time
import torch
import torch.nn.functional as F
from dsr_nb.subspace import SubspaceRestriction
from dsr_nb.pretrain import bundled_vqvae
from dsr_nb.data import open_dataset
from dsr_nb.train import train_dsr, load_train_images, draw_batch
from dsr_nb.streams import Streams
from overrides import add_override_args, tiny_configs                      # benchmarks/overrides.py

KEYS = ("keep_lo", "keep_hi", "restore_lo", "restore_hi", "spc_ratio", "adm_ap", "anomalous_frac")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="synthetic"); p.add_argument("--category", default="weave")
    p.add_argument("--iters", type=int, default=300); p.add_argument("--every", type=int, default=100)
    add_override_args(p)
    p.add_argument("--threads", type=int, default=2); p.add_argument("--seed", type=int, default=0)
    p.add_argument("--srm-only", action="store_true", help="train one hi SRM alone on normal codes (see above)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    cfg, tcfg = tiny_configs(p, a, stage2_iters=a.iters, stage3_iters=0, diag_every=a.every)
    images = load_train_images(open_dataset(a.data, a.category, "train", cfg.img_size), progress=False)
    if a.srm_only: return srm_only(images, cfg, tcfg, a)
    t0 = time.time()
    _, log = train_dsr(images, cfg, tcfg, seed=a.seed, device="cpu", progress=False)
    sec = (time.time() - t0) / max(1, a.iters)
    print(f"# {' '.join(sys.argv)}\n# {sec:.3f} s per iteration")
    print("| iteration | " + " | ".join(KEYS) + " |\n|---|" + "---:|" * len(KEYS))
    for d in log.diagnostics:
        print(f"| {d['iteration']} | " + " | ".join(f"{d[k]:.3f}" for k in KEYS) + " |")


@torch.no_grad()
def _score(srm, vq, enc) -> tuple[float, float]:
    "(fraction of the hi codes' variance explained, fraction of hi codes kept) on the held-out encoding."
    f = srm(enc.q_hi)
    var = enc.q_hi.var((0, 2, 3)).sum()
    return 1 - float(((f - enc.q_hi) ** 2).mean((0, 2, 3)).sum() / var), float((vq.vq_hi.indices(f) == enc.idx_hi).float().mean())


def srm_only(images, cfg, tcfg, a):
    "Train one hi SRM to reproduce normal hi codes; print variance explained and codes kept on 16 held-out images."
    torch.manual_seed(a.seed)
    vq = bundled_vqvae("tiny")
    held, train = images[-16:], images[:-16]
    with torch.no_grad(): enc = vq.encode(vq.to_model_order(held.float() / 255))
    srm = SubspaceRestriction(cfg)
    opt = torch.optim.Adam(srm.parameters(), lr=tcfg.lr)
    t0 = time.time()
    print(f"# {' '.join(sys.argv)}")
    print("| iteration | variance explained | hi codes kept |\n|---|---:|---:|")
    for it in range(a.iters):
        rng = Streams.for_batch(a.seed, it, range(tcfg.batch_size))
        x = vq.to_model_order(draw_batch(train, rng, tcfg.rot_prob2))
        with torch.no_grad(): q = vq.encode(x).q_hi
        loss = F.mse_loss(srm(q), q)
        opt.zero_grad(); loss.backward(); opt.step()
        if (it + 1) % a.every == 0:
            ve, kept = _score(srm, vq, enc)
            print(f"| {it + 1} | {ve:.3f} | {kept:.3f} |", flush=True)
    print(f"# {(time.time() - t0) / a.iters:.3f} s per iteration")


if __name__ == "__main__":
    main()
