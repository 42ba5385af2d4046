"""Why a batch of 8 was slower per image than a batch of 1 on a CPU: the paper-preset forward on 8 images, run as
chunks of 1, 2 and 8 images, with glibc's default malloc or with `keep_large_blocks()` (chapter 17_efficiency). By hand:

    python benchmarks/allocator_probe.py            # default allocator
    python benchmarks/allocator_probe.py --keep     # big blocks kept in malloc's heap

Prints, per chunk size, the wall seconds of two timed runs (after one warm-up) and the largest change in M_r
against one chunk of 8. Results in benchmarks/README.md.
"""
import argparse, time
import torch
from dsr_nb import DSR, DSRConfig
from dsr_nb.model import keep_large_blocks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", action="store_true", help="call keep_large_blocks() first")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.keep: print("keep_large_blocks:", keep_large_blocks())
    torch.manual_seed(0)
    model = DSR(DSRConfig.paper()).eval()
    x = torch.rand(8, 3, 256, 256)
    run = lambda chunk: torch.cat([model(c).refined for c in x.split(chunk)])
    print("| chunk | run 1 s | run 2 s | max abs Δ M_r vs one chunk of 8 |\n|---|---|---|---|")
    with torch.inference_mode():
        ref = run(8)
        for chunk in (1, 2, 8):
            run(chunk)
            ts = []
            for _ in range(2):
                t = time.perf_counter(); out = run(chunk); ts.append(time.perf_counter() - t)
            print(f"| {chunk} | {ts[0]:.2f} | {ts[1]:.2f} | {(out - ref).abs().max().item():.1e} |", flush=True)


if __name__ == "__main__":
    main()
