"""Where a tiny stage-2 training step spends its time, part by part. Run by hand on a quiet machine:

    python benchmarks/step_parts.py [--iters 12] [--threads 2]

Prints the median seconds (after two warm-up steps) of: Perlin masks, VQ-VAE encoding, latent anomalies,
the general decoder, the SRMs + object-specific decoder, the detector's forward pass, the losses, the
backward pass and the Adam step, at the tiny preset and batch 8 (random images; the costs do not depend on
the content).
"""
import argparse, statistics, time
import torch
import torch.nn.functional as F
from dsr_nb.config import DSRConfig
from dsr_nb.model import DSR, keep_large_blocks
from dsr_nb.pretrain import bundled_vqvae
from dsr_nb.train import TrainConfig
from dsr_nb.streams import Streams
from dsr_nb.perlin import perlin_masks
from dsr_nb.anomalies import sample_latent_anomalies, draw_plan
from dsr_nb.detection import focal_loss


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iters", type=int, default=12); ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads); keep_large_blocks()
    cfg, tcfg = DSRConfig.tiny(), TrainConfig.tiny()
    model = DSR(cfg, bundled_vqvae("tiny")).train()
    opt = torch.optim.Adam([p for m in (model.srm_lo, model.srm_hi, model.decoder, model.adm) for p in m.parameters()], tcfg.lr)
    x = torch.rand(tcfg.batch_size, 3, cfg.img_size, cfg.img_size, generator=torch.Generator().manual_seed(0))
    T = {}

    def timed(name, fn):
        t = time.perf_counter(); r = fn(); T.setdefault(name, []).append(time.perf_counter() - t); return r

    for i in range(a.iters):
        rng = Streams.for_batch(0, i, range(tcfg.batch_size))
        masks = timed("Perlin masks", lambda: perlin_masks(tcfg.batch_size, cfg.img_size, rng))
        with torch.no_grad():
            enc = timed("VQ-VAE encode", lambda: model.vq.encode(x))
            la = timed("latent anomalies", lambda: sample_latent_anomalies(
                model.vq, enc, masks, draw_plan(tcfg.batch_size, rng, tcfg.p_anomalous, cfg.strength_min), rng, cfg.exclude_frac))
            q_lo, q_hi, m_gt = la.q_lo, la.q_hi, la.mask
            i_gen = timed("general decoder (I_gen)", lambda: model.vq.decode(q_lo, q_hi))
        i_spc, r_lo, r_hi = timed("SRMs + object-specific decoder", lambda: model.specific(q_lo, q_hi))
        m = timed("detector forward", lambda: model.adm(i_spc.detach(), i_gen))
        loss = timed("losses", lambda: focal_loss(torch.softmax(m, 1), m_gt, cfg.focal_gamma) + F.mse_loss(i_spc, x)
                     + F.mse_loss(r_lo.f, enc.q_lo) + F.mse_loss(r_hi.f, enc.q_hi))
        timed("backward", loss.backward)
        timed("Adam step", lambda: (opt.step(), opt.zero_grad()))
    print("| part | seconds |\n|---|---:|")
    for k, v in T.items(): print(f"| {k} | {statistics.median(v[2:]):.3f} |")
    print(f"| total | {sum(statistics.median(v[2:]) for v in T.values()):.3f} |")


if __name__ == "__main__":
    main()
