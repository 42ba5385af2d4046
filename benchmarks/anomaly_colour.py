"""Do the training anomalies carry a colour that the real defects never show?

    python benchmarks/anomaly_colour.py elpv-poly --data elpv --category poly

On grey data (ELPV's solar cells) every real defect is grey, but the stage-1 codebook was learnt mostly from colour
pictures, so a replaced code or a pasted colour crop can tint I_gen where the anomaly is. A detector that learns
"tinted means anomalous" learns a cue the test never offers. This script measures the cue: the chroma of I_gen
(per pixel, the spread of its three channels) inside and outside the anomaly masks of each stage-2 anomaly source
(and of the solid colours that stage 3 pastes), drawn on the data set's normal training images with the model's
frozen VQ-VAE, next to the chroma of I_gen on the defective test images. Every image gets an anomaly (`p_anomalous`
1); same Perlin masks for every source. Prints one Markdown table.
"""
import torch
from splits import model_command_line                                      # benchmarks/splits.py
from dsr_nb.anomalies import draw_plan, image_anomalies, sample_latent_anomalies, foreign_pictures, texture_anomalies
from dsr_nb.data import open_dataset
from dsr_nb.perlin import perlin_masks
from dsr_nb.streams import Streams


def chroma(im: torch.Tensor) -> torch.Tensor:
    "B×3×S×S → B×S×S: the spread (std) of the three channels at each pixel; 0 on a grey image."
    return im.std(1)


@torch.no_grad()
def main():
    a, model = model_command_line(__doc__, extra=lambda p: (p.add_argument("--n", type=int, default=64),
                                                              p.add_argument("--seed", type=int, default=0)))
    if a.n < 1: raise SystemExit("--n must be at least 1")
    cfg, vq = model.cfg, model.eval().vq
    train = open_dataset(a.data, a.category, "train", cfg.img_size)
    x = vq.to_model_order(torch.stack([train[i]["image"] for i in range(min(a.n, len(train)))]))  # B×3×S×S
    B, S = x.shape[0], x.shape[-1]
    rng = Streams.for_batch(a.seed, 0, range(B))
    masks = perlin_masks(B, S, rng)                                          # B×1×S×S
    enc = vq.encode(x)
    decode = lambda e: vq.decode(e.q_lo, e.q_hi)
    rows = [("input x, normal", None, chroma(x).mean().item()), ("I_gen, normal", None, chroma(decode(enc)).mean().item())]

    def row(name: str, i_gen: torch.Tensor, mask: torch.Tensor):              # I_gen B×3×S×S, mask B×1×S×S
        c, m = chroma(i_gen), mask[:, 0] > 0.5
        rows.append((name, c[m].mean().item(), c[~m].mean().item()))

    for mode in ("latent", "uniform"):
        la = sample_latent_anomalies(vq, enc, masks, draw_plan(B, rng, 1.0, cfg.strength_min), rng, cfg.exclude_frac, mode)
        row(f"I_gen, latent codes '{mode}'", vq.decode(la.q_lo, la.q_hi), la.mask)
    for grey in (False, True):
        xa, m_gt = texture_anomalies(x, masks, foreign_pictures(vq, grey=grey), torch.Generator().manual_seed(a.seed), 1.0)
        row(f"I_gen, pasted pictures 'image'{', grey' if grey else ''}", decode(vq.encode(xa)), m_gt)
    xa, m_gt = image_anomalies(x, masks, torch.Generator().manual_seed(a.seed), 1.0)   # DSR's stage-3 anomalies
    row("I_gen, pasted solid colours (stage 3's)", decode(vq.encode(xa)), m_gt)
    test = open_dataset(a.data, a.category, "test", cfg.img_size)
    bad = [i for i, label in enumerate(test.labels) if label == 1][:a.n]
    if bad:
        xt = vq.to_model_order(torch.stack([test[i]["image"] for i in bad]))
        rows.append((f"I_gen, defective test images ({len(bad)})", None, chroma(decode(vq.encode(xt))).mean().item()))
    print(f"Chroma (mean over pixels of the std of the 3 channels), {a.data}/{a.category}, {B} training images, model {a.model}\n")
    print("| image | inside the anomaly mask | outside (or the whole image) |\n|---|---:|---:|")
    for name, inside, outside in rows:                                      # whole-image rows: no number inside
        print(f"| {name} | {'' if inside is None else f'{inside:.4f}'} | {outside:.4f} |")


if __name__ == "__main__":
    main()
