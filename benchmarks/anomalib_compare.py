"""dsr_nb side by side with anomalib's DSR (`DsrModel`): same weights, same inputs, one run. By hand, on a quiet machine:

    python benchmarks/anomalib_compare.py                          # equivalence, training steps, then speed (batch 1 and 8)
    python benchmarks/anomalib_compare.py --part equivalence
    python benchmarks/anomalib_compare.py --part training          # stage-2 and stage-3 losses and gradients, paper preset
    python benchmarks/anomalib_compare.py --part speed --cases infer score --batches 1 --repeats 3

The first run creates `benchmarks/.venv-anomalib` (with the system's site packages, so both sides use the very
same torch) and installs anomalib 2.7.0 and kornia 0.9.0 into it without dependencies; anomalib is never a
dependency of dsr_nb. `import anomalib` fails here (it pulls in torchvision, whose PyPI wheels are CUDA builds), so
anomalib's two DSR files are loaded directly (`tests/anomalib_twin.py`, shared with the CI test
`tests/test_anomalib_fidelity.py`): `torch_model.py` needs one anomalib name, `InferenceBatch` (a NamedTuple,
provided there with anomalib's field names), and `loss.py` needs kornia's `FocalLoss`.

Training: one stage-2 and one stage-3 step of each, given the same weights, images and latent anomalies
(anomalib's own, recorded during its forward and handed to our `stage2_loss`); losses, loss terms and the gradient
of every trained parameter are compared. anomalib's kornia focal loss (α = 1, softmax applied twice) is set aside
for the authors' focal loss on both sides; its own total is printed next to it (see `tests/anomalib_twin.py`).

Weights: anomalib's `DsrModel` is built at the paper sizes with seed 0 (its own initialisation), its state dict is
written out as the authors' six files (anomalib's module names are the authors' file layout), and our model loads
them with `dsr_from_official`, the same loader users run on the authors' checkpoints. The equivalence check thus
also tests our key maps.

Equivalence: `DSR.predict` (and `DSR.forward`) against anomalib's eval forward, on random images and on the
bundled example images, batch 1 and 8: anomaly maps (M_r[:, 1]) within 1e-4 and image scores within 1e-5.
The one deliberate difference at the input: the authors' VQ-VAE was trained on BGR images (cv2), and
`DSR.predict` takes RGB and flips it (`cfg.channel_order`); anomalib feeds RGB. We give anomalib the flipped
(BGR) tensor, so both models see what the weights were trained on.

Speed: each measurement runs in a fresh process (so peak memory is its own), ours and anomalib's alternating, same
threads, fp32, median of `--repeats` runs after `--warmup`. Cases:
  infer   DSR.predict (maps + score) vs anomalib's forward in eval mode under no_grad (what Lightning runs)
  score   DSR.predict(refine=False): the image score without the upsampling U-Net, vs anomalib's full forward
  train2  one stage-2 step (forward, loss, backward, Adam) vs anomalib's phase-2 step (model(x, mask),
          DsrSecondStageLoss, backward, Adam over the same four modules). Ours also draws its Perlin masks
          inside the step; anomalib's get precomputed masks (its generator needs torchvision), which favours it.
  latent  latent anomaly generation alone, given the clean encoding of a batch: our `draw_plan` +
          `sample_latent_anomalies` vs anomalib's three `generate_fake_anomalies_joined` calls and the hi
          re-quantization between them (exactly the work of its phase-2 forward), at the same shapes. Ours
          draws the training mix (half the images normal), a fresh plan and fresh strengths each run;
          anomalib does the same work whatever the plan. At least 10 runs.
  latent1 the same with every image anomalous at both levels: our costliest plan, against the same anomalib row.
Peak memory: the process's peak RSS (VmHWM) during warm-up and timed runs minus its RSS just before them.

Ours runs as the `dsr-nb` command does on a CPU, with `keep_large_blocks()` (glibc keeps big blocks in its
heap instead of mapping fresh pages for every large tensor; chapter 10). So that no one mistakes that setting for the
whole story, anomalib also runs a second time with the same setting ("anomalib+malloc", inference and stage 2).
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-anomalib"
sys.path.insert(0, str(HERE.parent / "tests"))            # anomalib_twin.py lives with the test that runs it in CI
from anomalib_twin import PINS, VQ_FILE, load_anomalib, write_weights, fidelity, report   # shared with tests/test_anomalib_fidelity.py


def ensure_venv() -> None:
    "Re-run this script inside benchmarks/.venv-anomalib, creating it on first use."
    if Path(sys.prefix).resolve() == VENV.resolve(): return
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"creating {VENV} (system site packages + {' '.join(PINS)}, no dependencies)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", *PINS], check=True)
    os.execv(str(py), [str(py), __file__, *sys.argv[1:]])


def build(impl: str, folder: Path):
    import torch
    if impl == "ours":
        from dsr_nb.official import dsr_from_official
        return dsr_from_official(folder / VQ_FILE, folder, "bench").eval()
    tm, _ = load_anomalib()                                   # "anomalib" or "anomalib+malloc"
    m = tm.DsrModel()
    m.load_state_dict(torch.load(folder / "anomalib_dsr.pt", weights_only=True))
    return m.eval()


def images(kind: str, batch: int, seed: int = 0):
    "A batch of RGB images B×3×256×256 in [0, 1]: uniform noise, or the bundled example images (cycled)."
    import torch
    from dsr_nb.images import to_tensor_image, resize, load_image
    if kind == "random": return torch.rand(batch, 3, 256, 256, generator=torch.Generator().manual_seed(seed))
    files = sorted((Path(__import__("dsr_nb").__file__).parent / "weights" / "examples").glob("*/*.png"))
    return torch.stack([resize(to_tensor_image(load_image(files[i % len(files)])), 256) for i in range(batch)])


# ------------------------------------------------------------------------------------------- equivalence
def equivalence(folder: Path, batches: list[int]) -> list[dict]:
    import torch
    ours, alib = build("ours", folder), build("anomalib", folder)
    rows = []
    for kind in ("random", "real"):
        for b in batches:
            x = images(kind, b)                                          # RGB
            p = ours.predict(x, batch_size=b)
            with torch.no_grad():
                ref = alib(x.flip(1))                                    # BGR: what the weights were trained on
                fwd = ours(x.flip(1))
                gen = alib.discrete_latent_model(x.flip(1))["recon_image"]
            rows.append({"input": kind, "batch": b,
                         "map": (p.anomaly_map - ref.anomaly_map).abs().max().item(),
                         "score": (p.score - ref.pred_score).abs().max().item(),
                         "forward_map": (fwd.refined[:, 1] - ref.anomaly_map).abs().max().item(),
                         "i_gen": (fwd.recon_general - gen).abs().max().item(),
                         "score_range": [round(ref.pred_score.min().item(), 4), round(ref.pred_score.max().item(), 4)]})
    return rows


# ------------------------------------------------------------------------------------------- speed (one process each)
def rss_mb() -> float:
    with open("/proc/self/statm") as f: return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_peak() -> None:
    "Reset this process's peak RSS (VmHWM) to its current RSS (Linux: write 5 to /proc/self/clear_refs)."
    with open("/proc/self/clear_refs", "w") as f: f.write("5")


def peak_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024


def worker(case: str, impl: str, batch: int, repeats: int, warmup: int, threads: int, folder: Path) -> dict:
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    tuned = False
    if impl in ("ours", "anomalib+malloc"):       # what DSR.predict and train_dsr do on a CPU (chapter 10)
        try: from dsr_nb.efficiency import keep_large_blocks
        except ImportError: keep_large_blocks = None  # an older dsr_nb (PYTHONPATH=<old checkout>, for a before/after)
        tuned = keep_large_blocks is not None and keep_large_blocks()
        if impl == "anomalib+malloc": assert tuned, "glibc's mallopt did not take effect"
    model = build(impl, folder)
    x = images("real", batch)
    g = torch.Generator().manual_seed(0)
    if case in ("infer", "score"):
        if impl == "ours":
            refine = case == "infer"
            run = lambda: model.predict(x, batch_size=batch, refine=refine)
        else:
            def run():
                with torch.no_grad(): return model(x)
    elif case == "train2":
        run = train2_runner(model, impl, x, g)
    elif case in ("latent", "latent1"):
        run = latent_runner(model, impl, x, g, every=case == "latent1")
        repeats = max(repeats, 10)
    else:
        raise SystemExit(f"unknown case {case}")
    reset_peak(); base = rss_mb()
    for _ in range(warmup): run()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); run(); ts.append(time.perf_counter() - t)
    return {"case": case, "impl": impl, "batch": batch, "median_s": statistics.median(ts), "times": ts,
            "peak_mb": max(0.0, peak_mb() - base), "threads": torch.get_num_threads(), "malloc_tuned": tuned}


def train2_runner(model, impl, x, g):
    import torch
    from dsr_nb.perlin import perlin_masks
    params = lambda mods: [p for m in mods for p in m.parameters()]
    if impl == "ours":
        from dsr_nb.train import TrainConfig, stage2_step
        from dsr_nb.streams import Streams
        model.train()
        opt = torch.optim.Adam(params([model.srm_lo, model.srm_hi, model.decoder, model.adm]), lr=2e-4)
        cfg, tcfg, xm = model.cfg, TrainConfig(batch_size=len(x)), model.vq.to_model_order(x)
        it = iter(range(10**6))
        def run():
            loss, _ = stage2_step(model, xm, cfg, tcfg, Streams.for_batch(0, next(it), range(len(x))))
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        return run
    _, lossmod = load_anomalib()
    model.train()
    opt = torch.optim.Adam(params([model.image_reconstruction_network, model.subspace_restriction_module_hi,
                                   model.subspace_restriction_module_lo, model.anomaly_detection_module]), lr=2e-4)
    crit = lossmod.DsrSecondStageLoss()
    from dsr_nb.streams import Streams
    masks = perlin_masks(len(x), x.shape[-1], Streams.seeded(0, len(x))) * (torch.rand(len(x), 1, 1, 1, generator=g) < 0.5)
    def run():
        o = model(x, masks)
        loss = crit(o["recon_feat_hi"], o["recon_feat_lo"], o["embedding_bot"], o["embedding_top"], x,
                    o["obj_spec_image"], o["anomaly_map"], o["true_anomaly_map"])
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    return run


def latent_runner(model, impl, x, g, every: bool = False):
    import torch
    from dsr_nb.perlin import perlin_masks
    from dsr_nb.streams import Streams
    masks = perlin_masks(len(x), x.shape[-1], Streams.seeded(0, len(x)))
    if impl == "ours":
        from dsr_nb.anomalies import draw_plan, sample_latent_anomalies
        vq = model.vq
        with torch.no_grad(): enc = vq.encode(vq.to_model_order(x))
        def run():
            with torch.no_grad():
                rng = Streams.seeded(0, len(x))
                plan = draw_plan(len(x), rng, 0.5)                              # the training mix
                if every: plan.level.fill_(1)                                   # our costliest plan: both levels
                return sample_latent_anomalies(vq, enc, masks, plan, rng)
        return run
    d = model.discrete_latent_model
    gen = type(d).generate_fake_anomalies_joined
    with torch.no_grad():
        enc_b = d._encoder_b(x); zt = d._pre_vq_conv_top(d._encoder_t(enc_b)); qt = d._vq_vae_top(zt)
        zb = d._pre_vq_conv_bot(torch.cat((enc_b, d.upsample_t(qt)), 1)); qb = d._vq_vae_bot(zb)
    def run():  # the anomaly part of DiscreteLatentModel.forward(batch, mask, strengths), decoder excluded
        with torch.no_grad():
            s_lo, s_hi = (torch.rand(len(x)) * 0.8 + 0.2 for _ in range(2))
            a_lo = gen(zt, qt, d._vq_vae_top.embedding.weight, masks, s_lo)
            zb_d = d._pre_vq_conv_bot(torch.cat((enc_b, d.upsample_t(a_lo)), 1))
            a_hi = gen(zb_d, d._vq_vae_bot(zb_d), d._vq_vae_bot.embedding.weight, masks, s_hi)
            a_hi_clean = gen(zb, qb, d._vq_vae_bot.embedding.weight, masks, s_hi)
            return a_lo, a_hi, a_hi_clean
    return run


def flops_and_peak(folder: Path, threads: int) -> dict:
    "GFLOP per 256² image of each path (FlopCounterMode: convolutions and matmuls) and this machine's fp32 GEMM rate."
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    torch.set_num_threads(threads)
    out = {}
    ours, alib = build("ours", folder), build("anomalib", folder)
    x = images("random", 1)
    for name, f in (("ours_full", lambda: ours(x)), ("ours_score", lambda: ours(x, refine=False)), ("anomalib", lambda: alib(x))):
        with torch.no_grad(), FlopCounterMode(display=False) as fc: f()
        out[name] = fc.get_total_flops() / 1e9
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    for _ in range(2): a @ b
    ts = []
    for _ in range(5):
        t = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t)
    out["gemm_gflops"] = 2 * 2048**3 / min(ts) / 1e9
    return out


def run_worker(spec: dict) -> dict:
    cmd = [sys.executable, __file__, "--worker", json.dumps(spec)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0: raise SystemExit(f"worker {spec} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["equivalence", "training", "speed", "all"], default="all")
    ap.add_argument("--cases", nargs="+", default=["infer", "score", "train2", "latent", "latent1"])
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    ap.add_argument("--impls", nargs="+", default=["anomalib", "anomalib+malloc", "ours"],
                    help="time only these (e.g. ours, for a before/after)")
    ap.add_argument("--repeats", type=int, default=3); ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=HERE / "results" / "anomalib_compare.json", help="where to write the raw numbers")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        s = json.loads(a.worker)
        print(json.dumps(worker(s["case"], s["impl"], s["batch"], s["repeats"], s["warmup"], s["threads"], Path(s["folder"]))))
        return
    ensure_venv()
    import torch
    print(f"torch {torch.__version__}, {a.threads} threads, {os.cpu_count()} CPUs", flush=True)
    results = {"torch": torch.__version__, "threads": a.threads}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_weights(folder)
        if a.part in ("equivalence", "all"):
            torch.set_num_threads(a.threads)
            rows = equivalence(folder, a.batches)
            results["equivalence"] = rows
            print("\n| input | batch | max abs Δ map (predict) | max abs Δ map (forward) | max abs Δ score | max abs Δ I_gen | within 1e-4 / 1e-5 |")
            print("|---|---|---|---|---|---|---|")
            for r in rows:
                ok = r["map"] <= 1e-4 and r["forward_map"] <= 1e-4 and r["score"] <= 1e-5
                print(f"| {r['input']} | {r['batch']} | {r['map']:.2e} | {r['forward_map']:.2e} | {r['score']:.2e} | "
                      f"{r['i_gen']:.2e} | {'yes' if ok else 'NO'} |", flush=True)
        if a.part in ("training", "all"):                     # one stage-2 and one stage-3 step, paper preset, batch 2
            torch.set_num_threads(a.threads)
            res = fidelity(folder, None, 256, 2)
            results["training"] = res
            print("\nTraining-step fidelity, paper preset, batch 2, the same weights and anomalies (anomalib_twin.py):")
            print(report(res), flush=True)
        if a.part in ("speed", "all"):
            fp = flops_and_peak(folder, a.threads)
            results["flops"] = fp
            print(f"\nGFLOP per image: ours full {fp['ours_full']:.1f}, ours score-only {fp['ours_score']:.1f}, "
                  f"anomalib {fp['anomalib']:.1f}; fp32 GEMM peak here {fp['gemm_gflops']:.0f} GFLOP/s", flush=True)
            rows = []
            for case in a.cases:
                for b in a.batches:
                    for impl in a.impls:
                        if case in ("score", "latent1") and impl.startswith("anomalib"): continue   # = anomalib's infer / latent
                        if impl == "anomalib+malloc" and case not in ("infer", "train2"): continue
                        spec = dict(case=case, impl=impl, batch=b, repeats=a.repeats, warmup=a.warmup, threads=a.threads, folder=tmp)
                        r = run_worker(spec); rows.append(r)
                        print(f"  {case:7s} {impl:9s} batch {b}: {r['median_s']:.3f} s (runs {', '.join(f'{t:.2f}' for t in r['times'])}), "
                              f"peak +{r['peak_mb']:.0f} MB", flush=True)
            results["speed"] = rows
            print_speed(rows, fp)
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(results, indent=1))
    print(f"\nraw numbers: {a.json}")


def print_speed(rows: list[dict], fp: dict) -> None:
    get = lambda c, i, b: next((r for r in rows if (r["case"], r["impl"], r["batch"]) == (c, i, b)), None)
    print("\n| case | batch | anomalib s | ours s | speed-up | anomalib with our malloc setting s | speed-up over that | "
          "anomalib peak MB | ours peak MB | ours GFLOP/s (of GEMM peak) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["impl"] != "ours": continue
        ref = get({"score": "infer", "latent1": "latent"}.get(r["case"], r["case"]), "anomalib", r["batch"])
        if ref is None: continue
        rate = ""
        if r["case"] in ("infer", "score"):
            gf = fp["ours_full" if r["case"] == "infer" else "ours_score"] * r["batch"] / r["median_s"]
            rate = f"{gf:.0f} ({gf / fp['gemm_gflops']:.0%})"
        name = {"infer": "inference (maps + score)", "score": "score only (vs anomalib full)",
                "train2": "stage-2 step", "latent": "latent anomalies (training mix)",
                "latent1": "latent anomalies (all images, both levels)"}[r["case"]]
        tuned = get({"score": "infer"}.get(r["case"], r["case"]), "anomalib+malloc", r["batch"])
        t_cols = f"{tuned['median_s']:.3f} | {tuned['median_s'] / r['median_s']:.2f}×" if tuned else "– | –"
        print(f"| {name} | {r['batch']} | {ref['median_s']:.3f} | {r['median_s']:.3f} | {ref['median_s'] / r['median_s']:.2f}× | "
              f"{t_cols} | {ref['peak_mb']:.0f} | {r['peak_mb']:.0f} | {rate} |")
    for r in rows:
        if r["impl"] == "anomalib" and r["case"] == "infer":
            gf = fp["anomalib"] * r["batch"] / r["median_s"]
            print(f"anomalib inference batch {r['batch']}: {gf:.0f} GFLOP/s ({gf / fp['gemm_gflops']:.0%} of the GEMM peak)")


if __name__ == "__main__":
    main()
