"""DSR at the paper preset on a CUDA GPU: inference images/s at batch 1 and 32 in fp32 and bf16 (autocast), the
change bf16 makes to the maps, and stage-2/stage-3 training iterations/s. By hand, on a machine with a GPU:

    PYTHONPATH=. python benchmarks/gpu_speed.py --out results/gpu_speed.json

Weights: PyTorch's default initialisation, seed 0 (speed does not depend on them). Inference is `DSR.forward` on
images already on the GPU (what the paper's 58 FPS counts), and `DSR.predict` from CPU tensors for comparison.
"fp32" is PyTorch's default, in which cuDNN may use TF32 for convolutions; "fp32 strict" turns TF32 off.
Times: CUDA-synchronised wall clock, median of `--repeats` after 3 warm-ups.
"""
import argparse, json, statistics, time
from pathlib import Path
import torch
import torch.nn.functional as F
from dsr_nb import DSR, DSRConfig
from dsr_nb.train import TrainConfig, stage2_step, stage3_step
from dsr_nb.streams import Streams
from dsr_nb.images import to_tensor_image, resize, load_image


def timed(f, repeats: int) -> float:
    for _ in range(3): f()
    torch.cuda.synchronize()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); torch.cuda.synchronize(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def real_images(n: int) -> torch.Tensor:
    files = sorted((Path(__import__("dsr_nb").__file__).parent / "weights" / "examples").glob("*/*.png"))
    return torch.stack([resize(to_tensor_image(load_image(files[i % len(files)])), 256) for i in range(n)])


def precision_change(label: str, model: DSR, dev) -> list[dict]:
    "Largest and mean change of M_r and the score under TF32 convolutions and bf16 autocast, against strict fp32."
    S, rows = model.cfg.img_size, []
    for kind, x in (("random", torch.rand(8, 3, S, S)), ("real", F.interpolate(real_images(8), size=S, mode="area"))):
        x = x.to(dev)
        with torch.inference_mode():
            torch.backends.cudnn.allow_tf32 = False
            ref = model(x)
            torch.backends.cudnn.allow_tf32 = True
            tf = model(x)
            with torch.autocast("cuda", dtype=torch.bfloat16): bf = model(x)
        for name, o in (("fp32 (TF32 convs)", tf), ("bf16", bf)):
            d = (o.refined[:, 1].float() - ref.refined[:, 1]).abs()
            ds = (o.score.float() - ref.score).abs().max().item()
            rows.append({"model": label, "input": kind, "precision": name, "max": d.max().item(), "mean": d.mean().item(), "score": ds})
            print(f"| {label} | {kind} | {name} | {d.max().item():.2e} | {d.mean().item():.2e} | {ds:.2e} |", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=10); ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--only-precision", action="store_true", help="only the bf16/TF32 change in the maps")
    a = ap.parse_args()
    assert torch.cuda.is_available(), "no CUDA GPU"
    dev = torch.device("cuda")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}", flush=True)
    torch.manual_seed(0)
    model = DSR(DSRConfig.paper()).to(dev).eval()
    res = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(), "inference": [], "train": []}
    modes = {"fp32": (True, None), "fp32 strict": (False, None), "bf16": (True, torch.bfloat16)}
    print("\n| precision | batch | forward ms | images/s | predict images/s |\n|---|---|---|---|---|")
    for name, (tf32, dtype) in ({} if a.only_precision else modes).items():
        torch.backends.cudnn.allow_tf32 = tf32; torch.backends.cuda.matmul.allow_tf32 = False
        for b in (1, 32):
            x = torch.rand(b, 3, 256, 256, device=dev)
            def fwd():
                with torch.inference_mode(), torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
                    return model(x)
            s = timed(fwd, a.repeats)
            xc = x.cpu()
            def pred():
                with torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
                    return model.predict(xc, batch_size=b)
            sp = timed(pred, max(3, a.repeats // 2))
            res["inference"].append({"precision": name, "batch": b, "forward_s": s, "predict_s": sp})
            print(f"| {name} | {b} | {1000 * s:.1f} | {b / s:.0f} | {b / sp:.0f} |", flush=True)
    torch.backends.cudnn.allow_tf32 = True
    # what TF32 and bf16 change in the maps, against strict fp32: the paper preset with random weights, and a
    # trained model (the bundled tiny synthetic-weave; random weights magnify rounding far more)
    print("\n| model | input | precision | max abs Δ M_r | mean abs Δ M_r | max abs Δ score |\n|---|---|---|---|---|---|")
    trained = DSR.load(Path(__import__("dsr_nb").__file__).parent / "weights" / "models" / "synthetic-weave", device=dev)
    res["bf16_change"] = [row for name, m in (("paper, random weights", model), ("synthetic-weave (tiny, trained)", trained))
                          for row in precision_change(name, m, dev)]
    # training steps: stage 2 (latent anomalies, SRMs, decoder, ADM) and stage 3 (UPS), batch 8, fp32 default
    model.train()
    tcfg = TrainConfig(batch_size=8)
    x = torch.rand(8, 3, 256, 256, device=dev)
    opt2 = torch.optim.Adam([p for m in (model.srm_lo, model.srm_hi, model.decoder, model.adm) for p in m.parameters()], 2e-4)
    opt3 = torch.optim.Adam(model.ups.parameters(), 2e-4)
    it = iter(range(10**6))
    def step(stage):
        rng = Streams.for_batch(0, next(it), range(8), device=dev)
        loss, _ = stage2_step(model, x, model.cfg, tcfg, rng) if stage == 2 else stage3_step(model, x, model.cfg, tcfg, rng)
        opt = opt2 if stage == 2 else opt3
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    print("\n| stage | batch | s/it | it/s | images/s |\n|---|---|---|---|---|")
    for stage in (() if a.only_precision else (2, 3)):
        s = timed(lambda: step(stage), a.repeats)
        res["train"].append({"stage": stage, "batch": 8, "s_per_it": s})
        print(f"| {stage} | 8 | {s:.3f} | {1 / s:.2f} | {8 / s:.0f} |", flush=True)
    print(f"\npeak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
