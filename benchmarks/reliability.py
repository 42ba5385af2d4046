"""Reliability probes, one command, one table of what held. Run by hand (about 10 minutes on 2 cores):

    python benchmarks/reliability.py                 # every probe, the demo's crowd and leak test included
    python benchmarks/reliability.py --no-load       # without the crowd (the rest takes about 3 minutes)

What it probes, each through the real command line or the real app (nothing here is committed as a binary: the
hostile and broken files are made by this script, in a temporary folder):

- **images**: a corpus of broken, hostile and unusual image files, through `dsr-nb predict` (one row per file in
  scores.csv, a reason for each refusal) and through the demo's reader (a one-line message each), and the peak
  memory of the largest image allowed (`dsr_nb.images.MAX_PIXELS`);
- **models**: damaged and tampered checkpoint folders (`dsr-nb predict` exits 2 with one line; the demo starts
  with the good ones and names the bad), pickles that would run code under the authors' six file names and as
  a training state (refused, nothing runs), a model card linked out of its folder (not served);
- **crashes**: SIGKILL at random moments while a run saves every iteration (the folder always loads and
  `--resume` finishes it), a crash between the two renames of a save, SIGTERM, a second writer, an unwritable
  `--out`, a full disk during `predict`;
- **crowd** (unless `--no-load`): `benchmarks/demo_load.py`: concurrent calls, then calls from new sessions with
  the server's memory and temp folder watched.
"""
from __future__ import annotations
import argparse, csv, io, json, os, pickle, random, resource, shutil, signal, struct, subprocess, sys, tempfile, \
    time, zlib
from pathlib import Path

import numpy as np
from PIL import Image

import demo_load                                                       # benchmarks/demo_load.py: the crowd

ROWS: list[tuple[str, str, bool, str]] = []          # (group, probe, held, detail)


def record(group: str, probe: str, held: bool, detail: str = "") -> bool:
    ROWS.append((group, probe, bool(held), " ".join(str(detail).split())[:140]))
    print(f"  {'held' if held else 'FAILED'}  {group}: {probe}  {detail if not held else ''}".rstrip(), flush=True)
    return held


def cli(*args, env=None, cwd=None, timeout=600, preexec_fn=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dsr_nb.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout, preexec_fn=preexec_fn)


def one_line(r: subprocess.CompletedProcess, code: int = 2) -> tuple[bool, str]:
    "Whether the run exited `code` with exactly one line on stderr and no traceback; and that line."
    lines = r.stderr.strip().splitlines()
    return r.returncode == code and len(lines) == 1 and "Traceback" not in r.stderr, (lines[-1] if lines else f"exit {r.returncode}")


# ------------------------------------------------------------------------------------------------- the corpus
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def header_bomb(w: int, h: int) -> bytes:
    "A valid-looking PNG of a few bytes whose header claims w×h pixels."
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        _png_chunk(b"IEND", b"")


class _RunsCode:
    "A pickle that would create `marker` when loaded unsafely."
    def __init__(self, marker): self.marker = str(marker)
    def __reduce__(self): return (os.system, (f"touch {self.marker}",))


def image_corpus(folder: Path, real: Path) -> dict[str, tuple[Path, str | None]]:
    "name → (file, None if it must be read, else a word its refusal must contain)."
    folder.mkdir(parents=True)
    base = Image.open(real).convert("RGB")
    f = lambda n: folder / n
    base.save(f("ok.png"))
    f("text.png").write_text("this is a text file, not a PNG\n")
    f("empty.png").write_bytes(b"")
    png = f("ok.png").read_bytes(); f("truncated.png").write_bytes(png[:len(png) // 2])
    buf = io.BytesIO(); base.save(buf, "JPEG", quality=90); jpg = buf.getvalue()
    f("truncated.jpg").write_bytes(jpg[:len(jpg) // 2])
    f("jpeg-named.png").write_bytes(jpg)
    Image.new("RGB", (1, 1)).save(f("one-pixel.png"))
    f("header-100k.png").write_bytes(header_bomb(100_000, 100_000))
    f("header-6000.png").write_bytes(header_bomb(6000, 6000))
    Image.new("L", (5000, 5000)).save(f("largest-allowed.png"))
    Image.fromarray(np.full((32, 32), np.nan, np.float32), "F").save(f("nan.tiff"))
    Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)).save(f("grey16.png"))
    base.convert("RGBA").save(f("rgba.png")); base.convert("CMYK").save(f("cmyk.jpg"))
    base.convert("P").save(f("palette.gif"))
    exif = Image.Exif(); exif[0x0112] = 6                                  # orientation: rotate 90° when shown
    base.crop((0, 0, 300, 200)).save(f("exif-rotated.jpg"), exif=exif)
    return {"ok": (f("ok.png"), None), "text": (f("text.png"), "cannot read"), "empty": (f("empty.png"), "cannot read"),
            "truncated PNG": (f("truncated.png"), "truncated"), "truncated JPEG": (f("truncated.jpg"), "truncated"),
            "JPEG named .png": (f("jpeg-named.png"), None), "1×1": (f("one-pixel.png"), "too small"),
            "header claims 100,000²": (f("header-100k.png"), "too large"),
            "header claims 6,000²": (f("header-6000.png"), "too large"),
            "5000² (the largest allowed)": (f("largest-allowed.png"), None), "NaN float TIFF": (f("nan.tiff"), "NaN"),
            "16-bit grey": (f("grey16.png"), None), "RGBA": (f("rgba.png"), None), "CMYK JPEG": (f("cmyk.jpg"), None),
            "palette GIF": (f("palette.gif"), None), "EXIF-rotated JPEG": (f("exif-rotated.jpg"), None)}


def probe_images(work: Path, model: Path, env: dict):
    print("images", flush=True)
    from dsr_nb.serving import read_image, InputError
    from dsr_nb.images import MAX_PIXELS
    corpus = image_corpus(work / "images", next(model.parent.parent.glob("examples/*/*.png")))
    files = [p for p, _ in corpus.values()]
    r = cli("predict", "--model", model, *files, "--out", work / "pred", "--batch-size", "2", "--device", "cpu", "-q",
            env=env)
    rows = {row["path"]: row for row in csv.DictReader(open(work / "pred" / "scores.csv"))}
    record("images", "predict: exit 1 (some unreadable), no traceback, a row per file in input order",
           r.returncode == 1 and "Traceback" not in r.stderr and list(rows) == [str(p) for p in files], r.stderr[-300:])
    for name, (path, word) in corpus.items():
        row = rows.get(str(path), {})
        got = row.get("error") or f"score {row.get('score')}"
        held = bool(row.get("score")) if word is None else word.lower() in row.get("error", "").lower()
        try:
            t, note = read_image(str(path)); demo = f"read {t.shape[-1]}×{t.shape[-2]}: {note}"
            demo_ok = word is None
            if name == "EXIF-rotated JPEG": demo_ok = demo_ok and t.shape[-2:] == (300, 200) and "EXIF-rotated" in note
        except InputError as e:
            demo, demo_ok = str(e), word is not None and "\n" not in str(e)
        record("images", f"{name}: predict {'scores it' if word is None else 'refuses (' + word + ')'}; the demo "
               f"{'reads it' if word is None else 'says why'}", held and demo_ok, f"predict: {got} | demo: {demo}")
    # peak memory of the largest allowed image, through the library's predict and the demo's detect, fresh processes
    big, peaks = corpus["5000² (the largest allowed)"][0], {}
    for label, call in [("DSR.predict", "m = DSR.load(sys.argv[1]); r0 = rss(); m.predict(sys.argv[2])"),
                        ("the demo's detect", "from dsr_nb.serving import DemoApp, ModelStore; "
                         "a = DemoApp(ModelStore({'m': sys.argv[1]}, device='cpu')); a.store.get('m'); r0 = rss(); "
                         "a.detect(sys.argv[2], 'm', None)")]:
        code = ("import resource, sys; from dsr_nb import DSR\n"
                "rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n" + call.replace("; ", "\n") +
                "\nprint(r0, rss())")
        r = subprocess.run([sys.executable, "-c", code, str(model), str(big)], capture_output=True, text=True, env=env)
        if r.returncode != 0:
            record("images", f"peak memory of {label} on the largest allowed image", False, r.stderr[-300:]); continue
        before, peak = (int(x) / 1024 for x in r.stdout.split())
        peaks[label] = peak - before
        record("images", f"peak memory of {label} on the largest allowed image ({MAX_PIXELS / 1e6:.0f} MP)",
               peak < 4096, f"{peak:.0f} MB resident at peak, {peak - before:.0f} MB above the loaded model")
    return peaks


# ------------------------------------------------------------------------------------------------- models
def _edit(folder: Path, change):
    c = json.loads((folder / "config.json").read_text()); change(c); (folder / "config.json").write_text(json.dumps(c))


def probe_models(work: Path, model: Path, env: dict):
    print("models", flush=True)
    image = next(model.parent.parent.glob("examples/*/*.png"))
    cases = {
        "truncated weights": lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:1000]),
        "empty weights": lambda d: (d / "model.safetensors").write_bytes(b""),
        "absurd safetensors header": lambda d: (d / "model.safetensors").write_bytes(struct.pack("<Q", 1 << 60) + b"{}"),
        "config.json not JSON": lambda d: (d / "config.json").write_text('{"config": '),
        "meta is a string": lambda d: _edit(d, lambda c: c.update(meta="oops")),
        "threshold is a string": lambda d: _edit(d, lambda c: c["meta"].update(image_threshold="0.5")),
        "img_size 65536": lambda d: _edit(d, lambda c: c["config"].update(img_size=65536)),
        "weights of another preset": lambda d: _edit(d, lambda c: c["config"].update(embed_dim=64)),
    }
    bad_dir = work / "models"
    shutil.copytree(model, bad_dir / "good")
    for name, damage in cases.items():
        d = bad_dir / name.replace(" ", "-")
        shutil.copytree(model, d); damage(d)
        t0 = time.time()
        r = cli("predict", "--model", d, image, "--out", work / "p", "--device", "cpu", "-q", env=env)
        held, line = one_line(r)
        record("models", f"{name}: predict exits 2 with one line", held, f"{line} ({time.time() - t0:.1f} s)")
    # the demo with every one of those folders next to a good one
    code = ("import sys; from dsr_nb.demo import build_demo; d = build_demo(model_dir=sys.argv[1], bundled=False, "
            "device='cpu', preload=True); print('SERVED', d.dsr_app.store.names); print('LEFT', sorted(d.dsr_app.left_out))")
    r = subprocess.run([sys.executable, "-c", code, str(bad_dir)], capture_output=True, text=True, env=env)
    served = next((l for l in r.stdout.splitlines() if l.startswith("SERVED")), "")
    left = next((l for l in r.stdout.splitlines() if l.startswith("LEFT")), "")
    n_left = left.count("'")
    record("models", f"the demo starts with the good folder and names the {len(cases)} bad ones",
           r.returncode == 0 and served == "SERVED ['good']" and n_left == 2 * len(cases), f"{served}; {left}")
    # pickles that run code: the authors' six file names, and a training state on --resume
    from dsr_nb.official import OFFICIAL_FILES, OFFICIAL_VQ
    off = work / "official"; off.mkdir()
    marker = work / "code-ran"
    for f in [OFFICIAL_VQ, *(n.format(category="bottle") for n in OFFICIAL_FILES.values())]:
        with open(off / f, "wb") as fh: pickle.dump(_RunsCode(marker), fh)
    code = ("import sys; from dsr_nb.official import dsr_from_official\ntry: dsr_from_official(sys.argv[1] + '/" + OFFICIAL_VQ +
            "', sys.argv[1], 'bottle')\nexcept ValueError as e: print('REFUSED', str(e).splitlines()[0][:100])")
    r = subprocess.run([sys.executable, "-c", code, str(off)], capture_output=True, text=True, env=env)
    record("models", "pickles that run code under the authors' file names are refused, nothing runs",
           "REFUSED" in r.stdout and not marker.exists(), r.stdout.strip() or r.stderr[-200:])
    run = work / "hostile-run"
    shutil.copytree(model, run)
    _edit(run, lambda c: c["meta"].update(finished=False, iteration=1))
    with open(run / "train_state.pt", "wb") as fh: pickle.dump(_RunsCode(marker), fh)
    r = cli("train", "--data", "synthetic", "--category", "weave", "--out", run, "--resume", "--device", "cpu", "-q",
            env=env)
    held, line = one_line(r)
    record("models", "a training state that runs code: --resume exits 2 with one line, nothing runs",
           held and not marker.exists(), line)
    # a model card linked out of its folder
    from dsr_nb.serving import ModelStore
    secret = work / "secret.txt"; secret.write_text("server secret")
    linked = work / "linked"; shutil.copytree(model, linked)
    (linked / "README.md").unlink(missing_ok=True); (linked / "README.md").symlink_to(secret)
    record("models", "a README.md linked out of its model folder is not served",
           ModelStore({"linked": linked}, device="cpu").card("linked") is None)


# ------------------------------------------------------------------------------------------------- crashes
TRAIN = ["--data", "synthetic", "--category", "weave", "--iters2", "400", "--iters3", "0", "--batch-size", "2",
         "--save-every", "1", "--no-eval", "--device", "cpu", "-q"]


def _start(out: Path, env: dict, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dsr_nb.cli", "train", *TRAIN, "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(path: Path, proc: subprocess.Popen, secs: float = 300) -> bool:
    t0 = time.time()
    while not path.exists():
        if proc.poll() is not None or time.time() - t0 > secs: return False
        time.sleep(0.05)
    return True


def _loads(out: Path) -> tuple[bool, str]:
    from dsr_nb.checkpoint import load_checkpoint
    try:
        ck = load_checkpoint(out, with_train_state=True)
        return ck.train_state is not None, f"iteration {ck.meta.get('iteration')}"
    except Exception as e:
        return False, f"{type(e).__name__}: {e}"


def probe_crashes(work: Path, env: dict, kills: int, seed: int = 0):
    print("crashes", flush=True)
    rng = random.Random(seed)
    out = work / "killed"
    survived, notes = 0, []
    for k in range(kills):
        p = _start(out, env, *(["--resume"] if k else []))
        ok = _wait_for(out / "config.json", p)
        time.sleep(rng.uniform(0.5, 4.0))                    # saves every iteration: a kill lands in one often
        p.kill(); p.wait()
        good, note = _loads(out)
        survived += ok and good
        notes.append(note)
    record("crashes", f"SIGKILL at {kills} random moments while saving every iteration: the folder loads each time",
           survived == kills, "; ".join(notes))
    end = _meta(out).get("iteration", 0) + 2
    p = cli("train", *TRAIN, "--iters2", end, "--out", out, "--resume", env=env)
    record("crashes", "after the kills, --resume finishes the run",
           p.returncode == 0 and _meta(out).get("finished") and _meta(out).get("iteration") == end,
           p.stderr.strip()[-200:] or f"finished at iteration {_meta(out).get('iteration')}")
    # a crash between the two renames of a save: only OUT.old is left
    run = work / "renamed"
    p = _start(run, env); _wait_for(run / "config.json", p); time.sleep(1); p.kill(); p.wait()
    if not (run / "config.json").exists(): shutil.rmtree(run, ignore_errors=True)   # the kill itself left OUT.old
    else: run.rename(run.with_name(run.name + ".old"))
    start = _meta(run.with_name(run.name + ".old")).get("iteration", 0)
    r = cli("train", *TRAIN, "--iters2", start + 2, "--out", run, "--resume", env=env)
    record("crashes", "a crash between the two renames of a save (only OUT.old left): --resume continues",
           r.returncode == 0 and _meta(run).get("iteration") == start + 2, (r.stderr.strip()[-200:] or
           f"from iteration {start} to {_meta(run).get('iteration')}"))
    # SIGTERM saves and says how to go on; a second writer is refused while the first runs; a stale lock is taken
    term = work / "terminated"
    p = _start(term, env)
    _wait_for(term / "config.json", p)
    second = cli("train", *TRAIN, "--out", term, "--resume", env=env)
    held, line = one_line(second)
    record("crashes", "a second run into the same --out is refused at once, naming the holder",
           held and f"process {p.pid}" in line, line)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    record("crashes", "SIGTERM saves and exits 143 with one line saying how to resume",
           p.returncode == 143 and len(err.strip().splitlines()) == 1 and "--resume" in err, err.strip()[-200:])
    stale = work / "stale"
    p = _start(stale, env); _wait_for(stale / "config.json", p); p.kill(); p.wait()
    r = cli("train", *TRAIN, "--iters2", str(_meta(stale).get("iteration", 0) + 1), "--out", stale, "--resume", env=env)
    record("crashes", "the lock of a killed run is taken over by --resume", r.returncode == 0, r.stderr.strip()[-200:])
    # an --out that cannot be written: refused before training
    blocker = work / "a-file"; blocker.write_text("x")
    t0 = time.time()
    r = cli("train", *TRAIN, "--out", blocker / "run", env=env)
    held, line = one_line(r)
    record("crashes", "an --out that cannot be written is refused before training, in one line",
           held and time.time() - t0 < 60, f"{line} ({time.time() - t0:.0f} s)")
    # a full disk during predict (a file-size limit makes writes fail the way ENOSPC does)
    from dsr_nb.model import bundled_models_root
    model = bundled_models_root() / "synthetic-weave"
    image = next(model.parent.parent.glob("examples/*/*.png"))
    words = work / "words.png"; words.write_text("not an image")
    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
    r = cli("predict", "--model", model, words, image, "--out", work / "full", "--batch-size", "1", "--device", "cpu",
            "-q", env=env, preexec_fn=small_files)
    lines = [l for l in r.stderr.splitlines() if not l.startswith("skipped ")]
    rows = list(csv.DictReader(open(work / "full" / "scores.csv"))) if (work / "full" / "scores.csv").exists() else []
    record("crashes", "a full disk during predict: exit 2, one line, scores.csv keeps the rows done",
           r.returncode == 2 and len(lines) == 1 and len(rows) == 1, (lines or ["?"])[-1])


def _meta(out: Path) -> dict:
    try: return json.loads((out / "config.json").read_text())["meta"]
    except (OSError, ValueError, KeyError): return {}


# ------------------------------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-load", action="store_true", help="leave out the crowd and leak test of the demo")
    demo_load.add_crowd_args(ap)                                        # --crowd, --more
    ap.add_argument("--kills", type=int, default=6, help="SIGKILLs during saves (default 6)")
    ap.add_argument("--json", help="also write the table as JSON to this file")
    a = ap.parse_args(argv)
    from dsr_nb.model import bundled_models_root
    model = bundled_models_root() / "synthetic-weave"
    work = Path(tempfile.mkdtemp(prefix="dsr_reliability_"))
    env = {**os.environ, "DSR_NB_CACHE": str(work / "cache"), "OMP_NUM_THREADS": "2", "MPLBACKEND": "Agg",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    t0 = time.time()
    try:
        probe_images(work, model, env)
        probe_models(work, model, env)
        probe_crashes(work, env, a.kills)
        if not a.no_load:
            print("crowd", flush=True)
            res = demo_load.main(["--crowd", str(a.crowd), "--more", str(a.more)])
            c, s = res["crowd_result"], res["sessions_result"]
            record("crowd", f"{a.crowd} concurrent /detect calls, each its own session: none lost, p95 ≤ 5 s",
                   c["answered"] + c["refused"] == a.crowd and c["errors"] == 0 and c["p95_s"] <= 5 and
                   (c["refused"] == 0 or c["slowest_refusal_s"] <= 1),
                   f"{c['answered']} answered (p50 {c['p50_s']:.2f} s, p95 {c['p95_s']:.2f} s), {c['refused']} "
                   f"refused as busy (slowest refusal {c['slowest_refusal_s']:.2f} s)")
            record("crowd", f"{a.more} more calls from new sessions: server memory grows ≤ 50 MB",
                   s["rss_after_mb"] - s["rss_before_mb"] <= 50 and s["answered"] == s["calls"],
                   f"{s['rss_before_mb']:.0f} → {s['rss_after_mb']:.0f} MB (peak {s['rss_peak_mb']:.0f}); "
                   f"{s['answered']} of {s['calls']} answered, p95 {s['p95_s']:.2f} s")
            record("crowd", "the temp folder stays bounded", s["temp_peak_mb"] <= 500,
                   f"{s['temp_before_mb']:.0f} → peak {s['temp_peak_mb']:.0f} → {s['temp_after_mb']:.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{sum(r[2] for r in ROWS)} of {len(ROWS)} probes held ({time.time() - t0:.0f} s)\n")
    print("| group | probe | held | detail |\n|---|---|---|---|")
    for g, p, h, d in ROWS: print(f"| {g} | {p} | {'yes' if h else '**no**'} | {d} |")
    if a.json: Path(a.json).write_text(json.dumps([dict(zip(("group", "probe", "held", "detail"), r)) for r in ROWS], indent=1))
    return 0 if all(r[2] for r in ROWS) else 1


if __name__ == "__main__":
    sys.exit(main())
