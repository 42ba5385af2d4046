"""The training sampler, image by image against the whole batch at once. By hand, on a quiet machine:

    python benchmarks/sampler_speed.py [--preset tiny] [--batch 8] [--iters 30] [--threads 2] [--device cpu]

"per image": what dsr_nb did until 2026-12-01, a `torch.Generator` per image and one call per image (Perlin mask,
anomaly plan, latent anomalies; stage 3: mask and pasted colour; the training image and its rotation).
"batched": one `Streams` for the batch and one call for all its images (chapter 03a). Both draw one image's
numbers independently of the others; only the way they are drawn differs. Prints the median seconds per batch
of each part. At the paper preset the VQ-VAE has random weights (4,096 codes per level; the cost does not depend
on the weights).
"""
import argparse, statistics, time
import torch
from dsr_nb.config import DSRConfig
from dsr_nb.vqvae import VQVAE
from dsr_nb.pretrain import bundled_vqvae
from dsr_nb.streams import Streams, sample_seed
from dsr_nb.perlin import perlin_masks
from dsr_nb.anomalies import draw_plan, sample_latent_anomalies, select_images, image_anomalies
from dsr_nb.train import draw_batch, random_rotate


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="tiny"); ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--iters", type=int, default=30); ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    cfg = DSRConfig.preset(a.preset)
    torch.manual_seed(0)
    vq = (bundled_vqvae("tiny") if a.preset == "tiny" else VQVAE(cfg)).to(dev).eval()
    B, S = a.batch, cfg.img_size
    x = torch.rand(B, 3, S, S, device=dev)
    images = (torch.rand(64, 3, S, S) * 255).to(torch.uint8)
    with torch.no_grad(): enc = vq.encode(x)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)

    def gens(i):
        "The former pair of generators per image: host (CPU) and device."
        return ([torch.Generator().manual_seed(sample_seed(0, i, j, 0)) for j in range(B)],
                [torch.Generator(device=dev).manual_seed(sample_seed(0, i, j, 1)) for j in range(B)])

    def per_image(i):
        host, devg = gens(i)
        t = {}
        t0 = time.perf_counter()
        idx = torch.cat([torch.randint(images.shape[0], (1,), generator=g) for g in host])
        xb = images[idx].to(dev).float() / 255
        torch.cat([random_rotate(xb[j:j + 1], 0.4, g) for j, g in enumerate(host)]); sync()
        t["training images"] = time.perf_counter() - t0; t0 = time.perf_counter()
        masks = torch.cat([perlin_masks(1, S, g, device=dev) for g in devg]); sync()
        t["Perlin masks"] = time.perf_counter() - t0; t0 = time.perf_counter()
        with torch.no_grad():
            [sample_latent_anomalies(vq, select_images(enc, slice(j, j + 1)), masks[j:j + 1], draw_plan(1, g, 0.5, cfg.strength_min),
                                     gd, cfg.exclude_frac) for j, (g, gd) in enumerate(zip(host, devg))]
        sync(); t["latent anomalies"] = time.perf_counter() - t0; t0 = time.perf_counter()
        [image_anomalies(x[j:j + 1], perlin_masks(1, S, g, device=dev), g, 0.5) for j, g in enumerate(devg)]
        sync(); t["stage 3: masks + colours"] = time.perf_counter() - t0
        return t

    def batched(i):
        rng = Streams.for_batch(0, i, range(B), dev)
        t = {}
        t0 = time.perf_counter()
        draw_batch(images, rng, 0.4, dev); sync()
        t["training images"] = time.perf_counter() - t0; t0 = time.perf_counter()
        masks = perlin_masks(B, S, rng, device=dev); sync()
        t["Perlin masks"] = time.perf_counter() - t0; t0 = time.perf_counter()
        with torch.no_grad():
            sample_latent_anomalies(vq, enc, masks, draw_plan(B, rng, 0.5, cfg.strength_min), rng, cfg.exclude_frac)
        sync(); t["latent anomalies"] = time.perf_counter() - t0; t0 = time.perf_counter()
        image_anomalies(x, perlin_masks(B, S, rng, device=dev), rng, 0.5)
        sync(); t["stage 3: masks + colours"] = time.perf_counter() - t0
        return t

    res = {}
    for name, fn in (("per image", per_image), ("batched", batched)):
        runs = [fn(i) for i in range(a.iters + 3)][3:]
        res[name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"preset {a.preset}, batch {B}, {a.threads} threads, {dev}, median of {a.iters} batches (s)\n")
    print("| part | per image | batched | speed-up |\n|---|---:|---:|---:|")
    for k in res["batched"]:
        p, b = res["per image"][k], res["batched"][k]
        print(f"| {k} | {p:.4f} | {b:.4f} | {p / b:.1f}× |")
    tp, tb = sum(res["per image"].values()), sum(res["batched"].values())
    print(f"| total | {tp:.4f} | {tb:.4f} | {tp / tb:.1f}× |")


if __name__ == "__main__":
    main()
