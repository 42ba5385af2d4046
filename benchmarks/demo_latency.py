"""Per-image latency of the demo's detection callback (model load excluded), on the bundled models and their
example images. Run by hand on a quiet machine:

    python benchmarks/demo_latency.py --repeats 10 --threads 2

Prints a table: per model, the median and min wall time of `DemoApp.detect` (reading the upload, DSR.predict,
and drawing every output picture) and of `DSR.predict` alone; `--batch 8` adds DSR.predict per image at batch 8.
"""
import argparse, statistics, time
import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=10); ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--png", action="store_true", help="also time PNG encoding of the five pictures, zlib level 6 "
                    "(Gradio's) against 1 (save_png)")
    ap.add_argument("--batch", type=int, default=0, metavar="B",
                    help="also time DSR.predict on B copies of the example at once, per image: what batched serving "
                    "(Gradio's batch=True) could save on the model's share of a call")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from dsr_nb.demo import build_demo
    from dsr_nb.registry import bundled_examples
    from dsr_nb.images import load_image
    demo = build_demo()
    app, store = demo.dsr_app, demo.dsr_app.store
    print(f"| model | device | example | detect median (s) | detect min (s) | predict median (s) |")
    print(f"|---|---|---|---|---|---|")
    for image, name in bundled_examples(names=store.names):
        model = store.get(name)                                   # load once, outside the timing
        app.detect(image, name)                                   # warm-up
        t_detect, t_pred = [], []
        x = load_image(image)
        for _ in range(a.repeats):
            t = time.perf_counter(); app.detect(image, name); t_detect.append(time.perf_counter() - t)
            t = time.perf_counter(); model.predict(x); t_pred.append(time.perf_counter() - t)
        print(f"| {name} | {store.device.type} | {image.rsplit('/', 1)[-1]} | {statistics.median(t_detect):.3f} | "
              f"{min(t_detect):.3f} | {statistics.median(t_pred):.3f} |")
        if a.png:
            import io
            from PIL import Image
            pictures = app.detect(image, name)[:5]
            for level in (6, 1):
                ts = []
                for _ in range(a.repeats):
                    t = time.perf_counter()
                    for p in pictures: Image.fromarray(p).save(io.BytesIO(), "png", compress_level=level)
                    ts.append(time.perf_counter() - t)
                print(f"|   PNG encoding of the five pictures, zlib level {level} | | | {statistics.median(ts):.3f} | | |")
        if a.batch > 1:
            xs = [x] * a.batch
            model.predict(xs)                                     # warm-up at this batch size
            ts = []
            for _ in range(a.repeats):
                t = time.perf_counter(); model.predict(xs); ts.append((time.perf_counter() - t) / a.batch)
            print(f"|   DSR.predict at batch {a.batch}, per image | | | | | {statistics.median(ts):.3f} |")


if __name__ == "__main__":
    main()
