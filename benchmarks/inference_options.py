"""Ways to run DSR's forward faster on a CPU, each against plain eager PyTorch, at the paper preset. By hand:

    python benchmarks/inference_options.py --batch 1 --repeats 5 --threads 2
    python benchmarks/inference_options.py --options eager channels_last --batch 8

Each option runs the same weights (seed 0, PyTorch's default initialisation) on the same images; runs of the
options alternate so that a busy machine slows them alike. Printed per option: one-off preparation time
(tracing, compiling), median wall and CPU seconds per batch, and the largest change in the refined map M_r and
the image score against eager. Options:
  eager          DSR.forward as shipped (NCHW, oneDNN convolutions): the reference
  channels_last  model and input in channels-last memory format
  jit_freeze     torch.jit.trace + freeze + optimize_for_inference (prepacked oneDNN weights, fused ops)
  inductor       torch.compile with inductor and freezing (fused InstanceNorm/ReLU, prepacked convolutions)
Results and the decision for each are in benchmarks/README.md.
"""
import argparse, copy, statistics, time, warnings
import torch
from dsr_nb import DSR, DSRConfig
from dsr_nb.model import keep_large_blocks
from dsr_nb.export import ExportedDSR          # DSR.forward as a tuple: score, M_r[:, 1], M[:, 1], I_gen, I_spc


def prepare(name: str, model: DSR, x: torch.Tensor):
    "A callable x → outputs tuple for option `name`, and the input it wants."
    net = ExportedDSR(copy.deepcopy(model)).eval()
    if name == "eager": return net, x
    if name == "channels_last":
        return net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    if name == "jit_freeze":
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            return torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(net, x))), x
    if name == "inductor":
        import torch._inductor.config as ic
        ic.freezing = True
        return torch.compile(net), x
    raise SystemExit(f"unknown option {name}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--options", nargs="+", default=["eager", "channels_last", "jit_freeze", "inductor"])
    ap.add_argument("--batch", type=int, default=1); ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    keep_large_blocks()                            # as DSR.predict does on a CPU (chapter 17_efficiency)
    torch.manual_seed(0)
    model = DSR(DSRConfig.paper()).eval()
    x = torch.rand(a.batch, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    runs, prep, outs = {}, {}, {}
    with torch.inference_mode():
        for name in a.options:
            t = time.perf_counter()
            f, xi = prepare(name, model, x)
            outs[name] = f(xi); f(xi)                                      # first calls compile; second warms up
            prep[name] = time.perf_counter() - t
            runs[name] = (f, xi, [], [])
            print(f"{name}: ready after {prep[name]:.1f} s", flush=True)
        for _ in range(a.repeats):
            for name, (f, xi, wall, cpu) in runs.items():
                t, c = time.perf_counter(), time.process_time()
                f(xi)
                wall.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    ref = outs[a.options[0]]
    print(f"\npaper preset, batch {a.batch}, {a.threads} threads, median of {a.repeats}; differences against {a.options[0]}")
    print("| option | preparation s | wall s | CPU s | speed-up (wall) | max abs Δ M_r | max abs Δ score |")
    print("|---|---|---|---|---|---|---|")
    base = statistics.median(runs[a.options[0]][2])
    for name, (_, _, wall, cpu) in runs.items():
        w, c = statistics.median(wall), statistics.median(cpu)
        d_map = (outs[name][1] - ref[1]).abs().max().item()
        d_score = (outs[name][0] - ref[0]).abs().max().item()
        print(f"| {name} | {prep[name]:.1f} | {w:.3f} | {c:.3f} | {base / w:.2f}× | {d_map:.1e} | {d_score:.1e} |")


if __name__ == "__main__":
    main()
