"""The GPU checks of the speed issue in one prepared run: dsr_nb side by side with anomalib's DSR (same weights and
precision), the paper preset's inference and training through the faster execution paths with their change to maps
and scores on a trained model, and the demo answering `/detect` on the GPU. By hand, on a CUDA machine:

    python benchmarks/gpu_suite.py --anomalib DIR --out results/gpu_suite.json        # about 6 minutes on one H200
    python benchmarks/gpu_suite.py --smoke --device cpu --anomalib DIR                 # the same code paths, tiny, on a CPU

`DIR` holds anomalib 2.7.0 and kornia 0.9.0 installed without dependencies (`pip install --no-deps --target DIR
anomalib==2.7.0 kornia==0.9.0 kornia_rs==0.2.0`; only two of anomalib's files are read, see `tests/anomalib_twin.py`).
The demo part needs gradio and gradio_client importable (on a machine without them, carry their wheels); it is
reported as not run otherwise. Every part writes its rows to `--out` as soon as it ends, so a run stopped by a time
limit keeps what it measured; a part that fails records its error and the next one runs.

Parts:
  side_by_side  paper preset, anomalib's initialisation (seed 0) in both: inference (`forward` on images already on
                the device) at batch 1 and 32, and one stage-2 step (forward, loss, backward, Adam) at batch 8 and 32,
                in strict fp32 and in bf16 autocast; images/s and peak memory above the weights.
  fast_paths    our inference at batch 32 and 1 through: strict fp32, TF32, bf16 autocast, bf16 + channels-last,
                bf16 + channels-last + torch.compile, and at batch 1 CUDA graphs (compile mode "reduce-overhead").
                Each path's largest change of M_r and of the image score against strict fp32 on the bundled,
                trained `synthetic-weave` model (real example images), and whether the score stays within 1e-3.
  train_fast    stage-2 iterations/s at batch 8 (and 32): fp32 (TF32), bf16 autocast, bf16 + channels-last.
  demo          the app launched on the device, `/detect` through gradio_client on a bundled example: the score
                against `DSR.predict` on the CPU, and the median latency of 20 calls.
Times: CUDA-synchronised wall clock, median of `--repeats` runs after warm-up.
"""
from __future__ import annotations
import argparse, contextlib, json, statistics, sys, tempfile, time, traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))            # anomalib_twin.py


def sync(dev):
    import torch
    if dev.type == "cuda": torch.cuda.synchronize(dev)


def timed(f, dev, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup): f()
    sync(dev)
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); sync(dev); ts.append(time.perf_counter() - t)
    return statistics.median(ts)


@contextlib.contextmanager
def peak(dev, into: dict):
    "Peak device memory (MiB) allocated inside the block above what was allocated before it."
    import torch
    if dev.type != "cuda": into["peak_mib"] = None; yield; return
    sync(dev); torch.cuda.reset_peak_memory_stats(dev); base = torch.cuda.memory_allocated(dev)
    yield
    sync(dev); into["peak_mib"] = round((torch.cuda.max_memory_allocated(dev) - base) / 2**20, 1)


def precision(name: str, dev):
    "A context for 'fp32 strict' (no TF32), 'tf32' or 'bf16' (autocast, TF32 allowed)."
    import torch
    strict = name == "fp32 strict"
    torch.backends.cudnn.allow_tf32 = not strict
    torch.backends.cuda.matmul.allow_tf32 = not strict
    if name == "bf16": return torch.autocast(dev.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def real_images(n: int, size: int):
    import torch, torch.nn.functional as F
    from dsr_nb.images import to_tensor_image, resize, load_image
    files = sorted((Path(__import__("dsr_nb").__file__).parent / "weights" / "examples").glob("*/*.png"))
    x = torch.stack([resize(to_tensor_image(load_image(files[i % len(files)])), 256) for i in range(n)])
    return F.interpolate(x, size=size, mode="area")


# ------------------------------------------------------------------------------------------------ side by side
def side_by_side(a, dev, folder: Path) -> list[dict]:
    import torch
    import anomalib_twin as twin
    from dsr_nb.train import TrainConfig, stage2_step
    from dsr_nb.streams import Streams
    from dsr_nb.perlin import perlin_masks
    sizes = twin.SMALL if a.smoke else None
    S = 64 if a.smoke else 256
    twin.write_weights(folder, 0, sizes)
    _, lossmod = twin.load_anomalib()
    rows = []
    for prec in ("fp32 strict", "bf16") if a.bf16 else ("fp32 strict", "tf32"):
        for b in a.infer_batches:
            x = torch.rand(b, 3, S, S, device=dev)
            for impl in ("ours", "anomalib"):
                ours, alib = twin.twins(folder, sizes, S)
                m = (ours if impl == "ours" else alib).to(dev).eval()
                def run():
                    with torch.inference_mode(), precision(prec, dev): return m(x)
                r = {"part": "side_by_side", "case": "inference", "impl": impl, "precision": prec, "batch": b}
                with peak(dev, r): s = timed(run, dev, a.repeats)
                r.update(s=s, images_per_s=b / s); rows.append(r); print(r, flush=True)
        for b in (a.train_batches if prec in a.train_precisions else ()):
            x = torch.rand(b, 3, S, S, device=dev)
            for impl in ("ours", "anomalib"):
                ours, alib = twin.twins(folder, sizes, S)
                if impl == "ours":
                    m = ours.to(dev).train()
                    opt = torch.optim.Adam([p for k in (m.srm_lo, m.srm_hi, m.decoder, m.adm) for p in k.parameters()], 2e-4)
                    it = iter(range(10**6)); tcfg = TrainConfig(batch_size=b)
                    def run():
                        with precision(prec, dev):
                            loss, _ = stage2_step(m, x, m.cfg, tcfg, Streams.for_batch(0, next(it), range(b), dev))
                        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
                else:
                    m = alib.to(dev).train()
                    opt = torch.optim.Adam([p for k in (m.image_reconstruction_network, m.subspace_restriction_module_hi,
                                                        m.subspace_restriction_module_lo, m.anomaly_detection_module)
                                            for p in k.parameters()], 2e-4)
                    crit = lossmod.DsrSecondStageLoss()
                    masks = (perlin_masks(b, S, Streams.for_batch(0, 0, range(b)), device=dev)
                             * (torch.rand(b, 1, 1, 1, device=dev) < 0.5))
                    def run():
                        with precision(prec, dev):
                            o = m(x, masks)
                            loss = crit(o["recon_feat_hi"], o["recon_feat_lo"], o["embedding_bot"], o["embedding_top"], x,
                                        o["obj_spec_image"], o["anomaly_map"], o["true_anomaly_map"])
                        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
                r = {"part": "side_by_side", "case": "stage-2 step", "impl": impl, "precision": prec, "batch": b}
                with peak(dev, r): s = timed(run, dev, max(3, a.repeats // 2), warmup=2)
                r.update(s=s, images_per_s=b / s, it_per_s=1 / s); rows.append(r); print(r, flush=True)
    return rows


# ------------------------------------------------------------------------------------------------ fast paths
def fast_paths(a, dev) -> list[dict]:
    import torch
    from dsr_nb import DSR, DSRConfig
    cfg = DSRConfig.tiny() if a.smoke else DSRConfig.paper()
    torch.manual_seed(0)
    speed_model = DSR(cfg).to(dev).eval()
    trained = DSR.load("synthetic-weave", device=dev).eval()
    xt = real_images(8, trained.cfg.img_size).to(dev)
    with torch.inference_mode(), precision("fp32 strict", dev): ref = trained(xt)
    paths = [("fp32 strict", False, None), ("tf32", False, None), ("bf16", False, None), ("bf16", True, None),
             ("bf16", True, "default"), ("bf16", True, "reduce-overhead")]
    if not a.bf16: paths = [("tf32" if p == "bf16" else p, cl, c) for p, cl, c in paths]   # the CPU smoke run
    rows = []
    for prec, cl, compile_mode in paths:
        name = prec + (" + channels-last" if cl else "") + (f" + compile ({compile_mode})" if compile_mode else "")
        for model, role in ((speed_model, "speed"), (trained, "fidelity")):
            m = model.to(memory_format=torch.channels_last) if cl else model.to(memory_format=torch.contiguous_format)
            f = torch.compile(m, mode=compile_mode) if compile_mode and dev.type == "cuda" else m
            if role == "fidelity":
                with torch.inference_mode(), precision(prec, dev):
                    xi = xt.to(memory_format=torch.channels_last) if cl else xt
                    o = f(xi)
                dm = float((o.refined[:, 1].float() - ref.refined[:, 1]).abs().max())
                ds = float((o.score.float() - ref.score).abs().max())
                r = {"part": "fast_paths", "path": name, "map_max_abs_diff": dm, "score_max_abs_diff": ds, "score_within_1e-3": ds <= 1e-3}
                rows.append(r); print(r, flush=True); continue
            for b in a.fast_batches:
                if compile_mode == "reduce-overhead" and b != 1: continue
                x = torch.rand(b, 3, cfg.img_size, cfg.img_size, device=dev)
                if cl: x = x.to(memory_format=torch.channels_last)
                def run():
                    with torch.inference_mode(), precision(prec, dev): return f(x)
                t0 = time.perf_counter(); run(); sync(dev); first = time.perf_counter() - t0
                r = {"part": "fast_paths", "path": name, "batch": b, "first_call_s": first}
                with peak(dev, r): s = timed(run, dev, a.repeats)
                r.update(s=s, images_per_s=b / s); rows.append(r); print(r, flush=True)
    return rows


# ------------------------------------------------------------------------------------------------ training paths
def train_fast(a, dev) -> list[dict]:
    import torch
    from dsr_nb import DSR, DSRConfig
    from dsr_nb.train import TrainConfig, stage2_step
    from dsr_nb.streams import Streams
    cfg = DSRConfig.tiny() if a.smoke else DSRConfig.paper()
    rows = []
    for prec, cl in (("tf32", False), ("bf16" if a.bf16 else "tf32", False), ("bf16" if a.bf16 else "tf32", True)):
        for b in (a.train_batches if prec in a.train_precisions else ()):
            torch.manual_seed(0)
            m = DSR(cfg).to(dev).train()
            if cl: m = m.to(memory_format=torch.channels_last)
            opt = torch.optim.Adam([p for k in (m.srm_lo, m.srm_hi, m.decoder, m.adm) for p in k.parameters()], 2e-4)
            x = torch.rand(b, 3, cfg.img_size, cfg.img_size, device=dev)
            if cl: x = x.to(memory_format=torch.channels_last)
            it = iter(range(10**6)); tcfg = TrainConfig(batch_size=b)
            def run():
                with precision(prec, dev):
                    loss, _ = stage2_step(m, x, cfg, tcfg, Streams.for_batch(0, next(it), range(b), dev))
                opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
            r = {"part": "train_fast", "path": prec + (" + channels-last" if cl else ""), "batch": b}
            with peak(dev, r): s = timed(run, dev, max(3, a.repeats // 2), warmup=2)
            r.update(s=s, it_per_s=1 / s, images_per_s=b / s); rows.append(r); print(r, flush=True)
    return rows


# ------------------------------------------------------------------------------------------------ demo
def demo(a, dev) -> list[dict]:
    import socket
    try:
        from gradio_client import Client, handle_file
    except ImportError:
        return [{"part": "demo", "not_run": "gradio_client is not installed here"}]
    from dsr_nb import DSR
    from dsr_nb.demo import launch_demo
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    app = launch_demo(host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True, device=str(dev))
    try:
        img = sorted((Path(__import__("dsr_nb").__file__).parent / "weights" / "examples").glob("synthetic-weave/*.png"))[0]
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        call = lambda: client.predict(handle_file(str(img)), "synthetic-weave", 0.5, api_name="/detect")
        res = call()
        score = float(res[8]["score"])          # the exact score (res[5] is rounded for the page)
        cpu = float(DSR.load("synthetic-weave").predict(img).score[0])
        lat = []
        for _ in range(20):
            t = time.perf_counter(); call(); lat.append(time.perf_counter() - t)
        return [{"part": "demo", "device": str(dev), "score": score, "cpu_score": cpu, "abs_diff": abs(score - cpu),
                 "within_1e-3": abs(score - cpu) <= 1e-3, "median_latency_s": statistics.median(lat)}]
    finally:
        app.close()


def table(rows: list[dict]) -> str:
    "Markdown lines for every row, grouped by part."
    out, cols = [], {}
    for r in rows: cols.setdefault(r["part"], []).extend(k for k in r if k != "part" and k not in cols.get(r["part"], []))
    for part, keys in cols.items():
        out += [f"\n### {part}\n", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)
        out += ["| " + " | ".join(fmt(r.get(k, "")) for k in keys) + " |" for r in rows if r["part"] == part]
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--anomalib", type=Path, help="folder with anomalib 2.7.0 and kornia 0.9.0 (pip --target)")
    ap.add_argument("--device", default="cuda"); ap.add_argument("--out", type=Path, default=HERE / "results" / "gpu_suite.json")
    ap.add_argument("--parts", nargs="+", default=["side_by_side", "fast_paths", "train_fast", "demo"])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes and batches: check the code paths, not the speed")
    a = ap.parse_args(argv)
    import torch
    if a.anomalib: sys.path.insert(0, str(a.anomalib.resolve()))
    dev = torch.device(a.device)
    if dev.type == "cuda" and not torch.cuda.is_available(): raise SystemExit("no CUDA device: use --device cpu --smoke")
    a.infer_batches, a.train_batches, a.fast_batches = ([1, 2], [2], [2, 1]) if a.smoke else ([1, 32], [8, 32], [32, 1])
    a.train_precisions = ("fp32 strict", "tf32", "bf16")
    if a.smoke: a.repeats = min(a.repeats, 2)
    a.bf16 = not (a.smoke and dev.type == "cpu")         # bf16 convolutions take seconds per image on CPUs without AMX
    res = {"torch": torch.__version__, "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
           "smoke": a.smoke, "rows": [], "errors": {}}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fns = {"side_by_side": side_by_side, "fast_paths": fast_paths, "train_fast": train_fast, "demo": demo}
    with tempfile.TemporaryDirectory() as tmp:
        for part in a.parts:
            t0 = time.perf_counter()
            try:
                rows = fns[part](a, dev, Path(tmp)) if part == "side_by_side" else fns[part](a, dev)
                res["rows"] += rows
            except Exception as e:                            # record it and go on: the other parts still run
                res["errors"][part] = "".join(traceback.format_exception(e))[-3000:]
                print(f"{part} failed: {e!r}", flush=True)
            res.setdefault("part_seconds", {})[part] = round(time.perf_counter() - t0, 1)
            a.out.write_text(json.dumps(res, indent=1))
    print(table(res["rows"]))
    print(f"\nraw numbers: {a.out}; errors in: {sorted(res['errors']) or 'none'}")
    return res


if __name__ == "__main__":
    main()
