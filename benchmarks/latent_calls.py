"""The latent anomaly sampler called once for a batch of 8 or image by image, as stage-2 training calls it (each
image has its own generators, chapter 11), at the paper preset. By hand:

    python benchmarks/latent_calls.py

Prints the median seconds of 10 runs for the training mix (half the images normal) and for every image anomalous at
both levels. Results in benchmarks/README.md.
"""
import torch, time, statistics
from dsr_nb import DSR, DSRConfig
from dsr_nb.model import keep_large_blocks
from dsr_nb.perlin import perlin_masks
from dsr_nb.anomalies import draw_plan, sample_latent_anomalies, select_images
torch.set_num_threads(2); keep_large_blocks()
torch.manual_seed(0)
m = DSR(DSRConfig.paper()).eval(); vq = m.vq
g = torch.Generator().manual_seed(0)
x = torch.rand(8,3,256,256)
masks = perlin_masks(8, 256, g)
with torch.no_grad():
    enc = vq.encode(x)
    def batched(every):
        plan = draw_plan(8, g, 0.5, 0.2)
        if every: plan.level.fill_(1)
        return sample_latent_anomalies(vq, enc, masks, plan, g)
    def per_image(every):
        out = []
        for j in range(8):
            plan = draw_plan(1, g, 0.5, 0.2)
            if every: plan.level.fill_(1)
            out.append(sample_latent_anomalies(vq, select_images(enc, slice(j, j+1)), masks[j:j+1], plan, g))
        return out
    for every in (False, True):
        for name, f in (("batched", batched), ("per_image", per_image)):
            f(every); ts=[]
            for _ in range(10):
                t=time.perf_counter(); f(every); ts.append(time.perf_counter()-t)
            print("all-both" if every else "mix", name, round(statistics.median(ts),3))
