"""The demo under a crowd: concurrent `/detect` calls, each its own visitor, then many more calls from new sessions
while the server's memory and temp folder are watched. Run by hand on a quiet machine:

    python benchmarks/demo_load.py                       # 100 at once, then 1,000 more (about 5 minutes on 2 cores)
    python benchmarks/demo_load.py --crowd 100 --more 0  # the crowd alone (about a minute)
    python benchmarks/demo_load.py --crowd 50 --more 200 --concurrency 1 --queue-size 16   # other settings

The server is `dsr-nb demo` in its own process (bundled model, CPU, its own GRADIO_TEMP_DIR), so its memory is
measured alone. Every call uploads a different image (crops of the model's bundled examples with a little noise),
as a crowd would. The crowd's visitors speak the browser's protocol over plain HTTP (`--client http`, the default:
upload, join the queue, read the event stream), so a hundred of them cost the 2 shared cores little; each records
the queue positions the server sent it (what the page shows as "queue: k/n"), its wait until its call started and
its whole time. `--client gradio_client` runs them as gradio_client sessions instead (heavier: about a thread and
an event loop each). Printed: a table for the crowd (answered, refused, errors, wait and latency percentiles,
throughput against one call's service time, queue positions) and one for the sessions (server memory and temp
folder before, peak and after). `--json FILE` keeps the numbers.
"""
from __future__ import annotations
import argparse, json, os, subprocess, sys, tempfile, threading, time, urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
BUSY_WORDS = ("busy", "queue is full", "too many")         # what a refusal for capacity says


def make_images(n: int, folder: Path, sources: list[str], seed: int = 0) -> list[Path]:
    "n different PNGs: random crops (at least 200×200) of `sources`, flipped and lightly noised."
    rng = np.random.default_rng(seed)
    bases = [np.asarray(Image.open(s).convert("RGB")) for s in sources]
    out = []
    for i in range(n):
        b = bases[i % len(bases)]
        h, w = b.shape[:2]
        ch, cw = rng.integers(min(200, h), h + 1), rng.integers(min(200, w), w + 1)
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        a = b[y:y + ch, x:x + cw].astype(np.int16) + rng.integers(-3, 4, (ch, cw, 3))
        if rng.random() < 0.5: a = a[:, ::-1]
        p = folder / f"img{i:04d}.png"
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(p)
        out.append(p)
    return out


def rss_mb(pid: int) -> float:
    "Resident memory of a process and its children, in MB (from /proc)."
    total = 0
    pids = [pid] + [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()] \
        if Path(f"/proc/{pid}/task/{pid}/children").exists() else [pid]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"): total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def folder_mb(folder: Path) -> tuple[float, int]:
    "(MB, files) under a folder."
    size = n = 0
    for root, _, names in os.walk(folder):
        for name in names:
            try: size += os.stat(os.path.join(root, name)).st_size; n += 1
            except OSError: pass                          # deleted while we walked
    return size / 1e6, n


def start_server(port: int, temp: Path, args) -> subprocess.Popen:
    env = dict(os.environ, GRADIO_TEMP_DIR=str(temp), GRADIO_ANALYTICS_ENABLED="False",
               OMP_NUM_THREADS=str(args.threads), **dict(kv.split("=", 1) for kv in args.server_env))
    cmd = [sys.executable, "-m", "dsr_nb.cli", "demo", "--device", "cpu", "--host", "127.0.0.1", "--port", str(port)]
    if args.concurrency is not None: cmd += ["--concurrency", str(args.concurrency)]
    if args.queue_size is not None: cmd += ["--queue-size", str(args.queue_size)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    t0 = time.time()
    while time.time() - t0 < 180:
        if proc.poll() is not None: raise SystemExit(f"the demo exited: {proc.stdout.read()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5): return proc
        except OSError:
            time.sleep(1)
    proc.kill(); raise SystemExit("the demo did not answer within 180 s")


def _picture_ok(p) -> bool:
    "A picture in a /detect result: a downloaded file, or (download_files=False) a reference with a URL."
    if isinstance(p, dict): return bool(p.get("url") or p.get("path"))
    return Path(p).is_file()


def one_call(client, image: Path, model: str) -> dict:
    from gradio_client import handle_file
    t0 = time.perf_counter()
    try:
        res = client.predict(handle_file(str(image)), model, 0.5, api_name="/detect")
        ok = (isinstance(res, (list, tuple)) and len(res) >= 9 and all(_picture_ok(p) for p in res[:5])
              and isinstance(res[8], dict) and isinstance(res[8].get("score"), float))
        return dict(kind="answered" if ok else "wrong", secs=time.perf_counter() - t0, msg="")
    except Exception as e:                                   # gradio_client raises AppError / ValueError on refusals
        msg = " ".join(str(e).split())[:200]
        kind = "refused" if any(w in msg.lower() for w in BUSY_WORDS) else "error"
        return dict(kind=kind, secs=time.perf_counter() - t0, msg=msg)


def _crowd_part(url: str, images: list[Path], model: str, barrier, out, download: bool = True) -> None:
    "One process's share of the crowd: its clients (sessions made before the clock starts), then all at once."
    from gradio_client import Client
    clients = [Client(url, verbose=False, download_files=download) for _ in images]
    results = [None] * len(images)
    def run(i):
        barrier.wait()
        results[i] = one_call(clients[i], images[i], model)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(images))]
    for t in threads: t.start()
    for t in threads: t.join()
    out.put(results)


def crowd(url: str, images: list[Path], model: str, procs: int = 1, download: bool = True) -> list[dict]:
    "len(images) clients, each its own session, in `procs` processes (each its own interpreter lock), all calling "
    "/detect at the same moment."
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(len(images)), ctx.Queue()
    parts = [images[k::procs] for k in range(procs)]
    ps = [ctx.Process(target=_crowd_part, args=(url, part, model, barrier, out, download)) for part in parts if part]
    for p in ps: p.start()
    results = [r for _ in ps for r in out.get()]
    for p in ps: p.join()
    return results


def detect_endpoint(url: str) -> tuple[int, int]:
    "(fn_index, trigger_id) of the app's `/detect` event, read from its /config as the browser does."
    import httpx
    cfg = httpx.get(url + "config", timeout=30).json()
    for i, dep in enumerate(cfg["dependencies"]):
        if dep.get("api_name") == "detect": return dep.get("id", i), dep["targets"][0][0]
    raise SystemExit("the app has no /detect event")


def http_visitor(url: str, endpoint: tuple[int, int], image: Path, model: str, barrier) -> dict:
    "One visitor over plain HTTP: upload (before the barrier), then join the queue and read the event stream to the end."
    import httpx, uuid
    with httpx.Client(base_url=url, timeout=None) as c:
        path = c.post("gradio_api/upload", files={"files": (image.name, image.read_bytes(), "image/png")}).json()[0]
        session = uuid.uuid4().hex[:11]
        body = {"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}, model, 0.5], "fn_index": endpoint[0],
                "trigger_id": endpoint[1], "session_hash": session, "event_data": None}
        barrier.wait()
        t0 = time.perf_counter()
        r = c.post("gradio_api/queue/join", json=body)
        if r.status_code != 200:
            msg = " ".join(r.text.split())[:200]
            return dict(kind="refused" if r.status_code == 503 else "error", secs=time.perf_counter() - t0, msg=msg, positions=[])
        positions, started, done = [], None, None
        with c.stream("GET", "gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"): continue
                m = json.loads(line[5:])
                if m.get("msg") == "estimation": positions.append((m.get("rank"), m.get("queue_size")))
                elif m.get("msg") == "process_starts": started = time.perf_counter() - t0
                elif m.get("msg") == "process_completed": done = m; break
        secs = time.perf_counter() - t0
    out = (done or {}).get("output") or {}
    data = out.get("data") if isinstance(out, dict) else None
    ok = bool(done and done.get("success") and isinstance(data, list) and len(data) >= 9 and isinstance(data[8], dict)
              and isinstance(data[8].get("score"), float))
    return dict(kind="answered" if ok else "wrong", secs=secs, wait=started, positions=positions,
                msg="" if ok else " ".join(str(out)[:200].split()))


def http_crowd(url: str, images: list[Path], model: str) -> list[dict]:
    "len(images) visitors over plain HTTP, each in a thread of this process, all joining the queue at the same moment."
    endpoint = detect_endpoint(url)
    barrier, results = threading.Barrier(len(images)), [None] * len(images)
    def run(i): results[i] = http_visitor(url, endpoint, images[i], model, barrier)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(images))]
    for t in threads: t.start()
    for t in threads: t.join()
    return results


def sessions(url: str, images: list[Path], model: str, workers: int, watch, download: bool = True) -> list[dict]:
    "One call per image, each from a new session, `workers` at a time; `watch()` is called every ~2 s."
    from gradio_client import Client
    results, lock, it = [], threading.Lock(), iter(images)
    def run():
        client = Client(url, verbose=False, download_files=download)
        while True:
            with lock:
                img = next(it, None)
            if img is None: return
            client.reset_session()                                 # a new visitor
            r = one_call(client, img, model)
            with lock: results.append(r)
    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads: t.start()
    while any(t.is_alive() for t in threads):
        watch(); time.sleep(2)
    watch()
    return results


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def add_crowd_args(ap: argparse.ArgumentParser) -> None:
    "The crowd's two sizes; `reliability.py`, which runs this crowd, takes the same two options."
    ap.add_argument("--crowd", type=int, default=100, help="concurrent calls, each its own session (default 100)")
    ap.add_argument("--more", type=int, default=1000, help="further calls from new sessions (default 1000)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="synthetic-weave", help="bundled model to call (default synthetic-weave)")
    add_crowd_args(ap)
    ap.add_argument("--client", choices=["http", "gradio_client"], default="http",
                    help="how the crowd's visitors call: plain HTTP as the page does (default), or gradio_client sessions")
    ap.add_argument("--workers", type=int, default=8, help="client threads for the further calls (default 8)")
    ap.add_argument("--procs", type=int, default=1, help="client processes the crowd is spread over (default 1: "
                    "one interpreter for all 100, as one gradio_client user would run them)")
    ap.add_argument("--threads", type=int, default=2, help="the server's torch threads (default 2)")
    ap.add_argument("--concurrency", type=int, help="the demo's --concurrency (default: the demo's own)")
    ap.add_argument("--queue-size", type=int, help="the demo's --queue-size (default: the demo's own)")
    ap.add_argument("--client-nice", type=int, default=0,
                    help="CPU niceness of the client threads, which share the server's cores here (default 0)")
    ap.add_argument("--no-download", action="store_true",
                    help="clients take the pictures as URLs (gradio_client's download_files=False) instead of fetching "
                    "all five: a program that wants the score and verdict (the JSON) does this")
    ap.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                    help="an environment variable for the server (e.g. MALLOC_ARENA_MAX=2); repeatable")
    ap.add_argument("--json", help="also write the numbers to this file")
    a = ap.parse_args(argv)
    from dsr_nb.registry import bundled_examples
    sources = [p for p, n in bundled_examples() if n == a.model]
    if not sources: raise SystemExit(f"no bundled examples for model {a.model!r}")
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    work = Path(tempfile.mkdtemp(prefix="dsr_load_"))
    (work / "img").mkdir(); temp = work / "gradio"; temp.mkdir()
    images = make_images(a.crowd + a.more, work / "img", sources)
    proc = start_server(port, temp, a)
    url = f"http://127.0.0.1:{port}/"
    if a.client_nice: os.nice(a.client_nice)     # the visitors' own work yields to the server's, as on their machines
    out: dict = dict(model=a.model, crowd=a.crowd, more=a.more, concurrency=a.concurrency, queue_size=a.queue_size,
                     procs=a.procs, client_nice=a.client_nice, download=not a.no_download, server_env=a.server_env)
    try:
        from gradio_client import Client
        one_call(Client(url, verbose=False), images[0], a.model)          # warm-up: the model is preloaded already
        alone = [http_visitor(url, detect_endpoint(url), images[k], a.model, threading.Barrier(1))["secs"] for k in (1, 2, 3)]
        service = float(np.median(alone))                              # one call's time with nobody else in the queue
        t0 = time.perf_counter()
        res = (http_crowd(url, images[:a.crowd], a.model) if a.client == "http"
               else crowd(url, images[:a.crowd], a.model, a.procs, not a.no_download))
        wall = time.perf_counter() - t0
        ok = [r["secs"] for r in res if r["kind"] == "answered"]
        ref = [r["secs"] for r in res if r["kind"] == "refused"]
        errs = [r["msg"] for r in res if r["kind"] in ("error", "wrong")]
        out["crowd_result"] = dict(answered=len(ok), refused=len(ref), errors=len(errs), wall_s=wall,
                                   p50_s=pct(ok, 50), p95_s=pct(ok, 95), max_s=max(ok, default=float("nan")),
                                   slowest_refusal_s=max(ref, default=float("nan")), refusal_p50_s=pct(ref, 50),
                                   refusal_message=next((r["msg"] for r in res if r["kind"] == "refused"), ""),
                                   error_messages=sorted(set(errs))[:5], client=a.client, service_s=service,
                                   throughput_per_s=len(ok) / wall if wall else float("nan"))
        waits = [r["wait"] for r in res if r.get("wait") is not None]
        told = [r for r in res if r["kind"] == "answered" and r.get("positions")]
        c = out["crowd_result"]
        c.update(wait_p50_s=pct(waits, 50), wait_p95_s=pct(waits, 95), wait_max_s=max(waits, default=float("nan")),
                 told_position=len(told), first_position_max=max((r["positions"][0][0] for r in told), default=None),
                 queue_size_max=max((q for r in told for _, q in r["positions"] if q is not None), default=None))
        print(f"\n{a.crowd} concurrent /detect calls, each its own session ({wall:.1f} s in all)\n")
        print("| answered | refused (busy) | errors | p50 (s) | p95 (s) | max (s) | refusal p50 (s) | slowest refusal (s) |")
        print("|---|---|---|---|---|---|---|---|")
        print(f"| {c['answered']} | {c['refused']} | {c['errors']} | {c['p50_s']:.2f} | {c['p95_s']:.2f} | "
              f"{c['max_s']:.2f} | {c['refusal_p50_s']:.2f} | {c['slowest_refusal_s']:.2f} |")
        if a.client == "http":
            print(f"\nwait until the call started: p50 {c['wait_p50_s']:.2f} s, p95 {c['wait_p95_s']:.2f} s, max {c['wait_max_s']:.2f} s; "
                  f"throughput {c['throughput_per_s']:.2f} calls/s against one call's service time {service:.2f} s "
                  f"({1 / service:.2f} calls/s); {c['told_position']} of {c['answered']} answered visitors were told their "
                  f"queue position (largest first position {c['first_position_max']}, longest queue {c['queue_size_max']})")
        if c["refusal_message"]: print(f"refusal message: {c['refusal_message']}")
        for m in c["error_messages"]: print(f"error: {m}")

        if not a.more:
            if a.json: Path(a.json).write_text(json.dumps(out, indent=1))
            return out
        time.sleep(2)
        before = (rss_mb(proc.pid), *folder_mb(temp))
        peak = list(before)
        def watch():
            now = (rss_mb(proc.pid), *folder_mb(temp))
            peak[:] = [max(x, y) for x, y in zip(peak, now)]
        t0 = time.perf_counter()
        res2 = sessions(url, images[a.crowd:], a.model, a.workers, watch, not a.no_download)
        wall2 = time.perf_counter() - t0
        time.sleep(2)
        after = (rss_mb(proc.pid), *folder_mb(temp))
        ok2 = [r["secs"] for r in res2 if r["kind"] == "answered"]
        out["sessions_result"] = dict(calls=len(res2), answered=len(ok2), wall_s=wall2, p50_s=pct(ok2, 50),
                                      p95_s=pct(ok2, 95), rss_before_mb=before[0], rss_peak_mb=peak[0],
                                      rss_after_mb=after[0], temp_before_mb=before[1], temp_peak_mb=peak[1],
                                      temp_after_mb=after[1], temp_files_after=after[2],
                                      errors=sorted({r["msg"] for r in res2 if r["kind"] != "answered"})[:5])
        s = out["sessions_result"]
        print(f"\n{len(res2)} more calls, each from a new session, {a.workers} at a time ({wall2:.0f} s)\n")
        print("| answered | p50 (s) | p95 (s) | server MB before | peak | after | growth | temp MB before | peak | after |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        print(f"| {s['answered']} | {s['p50_s']:.2f} | {s['p95_s']:.2f} | {s['rss_before_mb']:.0f} | "
              f"{s['rss_peak_mb']:.0f} | {s['rss_after_mb']:.0f} | {s['rss_after_mb'] - s['rss_before_mb']:+.0f} | "
              f"{s['temp_before_mb']:.1f} | {s['temp_peak_mb']:.1f} | {s['temp_after_mb']:.1f} |")
        for m in s["errors"]: print(f"not answered: {m}")
    finally:
        proc.terminate()
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: proc.kill()
    if a.json: Path(a.json).write_text(json.dumps(out, indent=1))
    return out

if __name__ == "__main__":
    main()
