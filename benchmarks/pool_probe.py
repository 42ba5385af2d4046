"""2×2 max pooling at CPU inference: `F.max_pool2d` against `Pool2` (maxima of strided views, chapter 17_efficiency) on the
U-Nets' largest map (B×64×256×256). By hand:

    python benchmarks/pool_probe.py --threads 2

Prints the median milliseconds of 20 calls each and whether the outputs are equal.
"""
import argparse, statistics, time
import torch
import torch.nn.functional as F
from dsr_nb.subspace import Pool2


def ms(f, n=20):
    for _ in range(3): f()
    ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return 1000 * statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2); ap.add_argument("--batch", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    x = torch.randn(a.batch, 64, 256, 256)
    pool = Pool2()
    with torch.inference_mode():
        print("| F.max_pool2d ms | Pool2 ms | equal |\n|---|---|---|")
        print(f"| {ms(lambda: F.max_pool2d(x, 2)):.2f} | {ms(lambda: pool(x)):.2f} | {torch.equal(F.max_pool2d(x, 2), pool(x))} |")


if __name__ == "__main__":
    main()
