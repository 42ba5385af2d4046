"""Time DSR's training iterations at a preset and extrapolate the whole schedule. Run by hand on a quiet machine:

    python benchmarks/train_speed.py --preset tiny --iters 40 --threads 2

Prints a table: seconds per stage-2 and stage-3 iteration (median of the timed iterations after warm-up),
the wall time the preset's full schedule (TrainConfig.for_preset) would take at that speed, and the iterations its
time budget (TrainConfig.minutes, chapter 11) would keep at that speed.
"""
import argparse, json, statistics, time
import torch
from dsr_nb.config import DSRConfig
from dsr_nb.model import DSR
from dsr_nb.efficiency import keep_large_blocks
from dsr_nb.pretrain import bundled_vqvae
from dsr_nb.train import TrainConfig, stage2_step, stage3_step, init_weights, fit_schedule, PLAN_AFTER
import dsr_nb.train
if hasattr(dsr_nb.train, "SampleRNG"):                   # a dsr_nb before 2026-12-01 (PYTHONPATH=<old checkout>), for a before/after
    RNG = dsr_nb.train.SampleRNG
else:
    from dsr_nb.streams import Streams as RNG


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="tiny"); ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5); ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--model", default="{}", help='JSON of DSRConfig changes, e.g. \'{"unet_width": 16}\'')
    ap.add_argument("--channels-last", action="store_true", help="the model and the batch in channels-last memory format")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    keep_large_blocks()                                  # as `dsr-nb train` does on a CPU (chapter 17_efficiency)
    cfg = DSRConfig.preset(a.preset).replace(**json.loads(a.model))
    tcfg = TrainConfig.for_preset(a.preset)
    if a.batch_size: tcfg = tcfg.replace(batch_size=a.batch_size)
    vq = bundled_vqvae(a.preset) if a.preset == "tiny" else None
    if vq is not None and vq.cfg.size_differences(cfg, vq_only=True): vq = None   # another stage-1 size: random weights, same pace
    model = DSR(cfg, vq).train()
    init_weights(model.decoder); init_weights(model.adm)
    opt2 = torch.optim.Adam([p for m in (model.srm_lo, model.srm_hi, model.decoder, model.adm) for p in m.parameters()], tcfg.lr)
    opt3 = torch.optim.Adam(model.ups.parameters(), tcfg.lr)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(tcfg.batch_size, 3, cfg.img_size, cfg.img_size, generator=g)
    if a.channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    times = {}
    for stage, step, opt in ((2, stage2_step, opt2), (3, stage3_step, opt3)):
        ts = []
        for i in range(a.warmup + a.iters):
            t = time.perf_counter()
            args = (model, x, cfg, tcfg, RNG.for_batch(0, i, range(tcfg.batch_size)))
            loss, _ = step(*args)
            opt.zero_grad(); loss.backward(); opt.step()
            if i >= a.warmup: ts.append(time.perf_counter() - t)
        times[stage] = statistics.median(ts)
    total = times[2] * tcfg.stage2_iters + times[3] * tcfg.stage3_iters
    kept = fit_schedule(tcfg, PLAN_AFTER, PLAN_AFTER * times[2], times[2])   # the first plan, setup not counted
    budget = f"{kept.stage2_iters} + {kept.stage3_iters} in {tcfg.minutes:g} min" if tcfg.minutes else "no budget"
    print(f"| preset | changes | memory format | threads | batch | s/it stage 2 | s/it stage 3 | schedule (it) | full schedule | within the budget |")
    print(f"|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {a.preset} | {a.model} | {'channels-last' if a.channels_last else 'NCHW'} | {a.threads} | {tcfg.batch_size} | {times[2]:.3f} | {times[3]:.3f} | "
          f"{tcfg.stage2_iters} + {tcfg.stage3_iters} | {total / 60:.1f} min | {budget} |")


if __name__ == "__main__":
    main()
