"""Execute chapters in place, so that they are stored with the outputs of a full run (the book readers see).

    python tools/run_notebooks.py                      # every notebook in nbs/
    python tools/run_notebooks.py nbs/06_pretrain.ipynb nbs/11_train.ipynb
    python tools/run_notebooks.py --run slow nbs/11_train.ipynb   # also the cells flagged `#| slow`

Cells flagged `#| slow`, `#| gpu` or `#| eval: false` are skipped, as nbdev-test skips them, unless named with
--run; a skipped cell keeps the outputs of the last run that executed it. Unlike nbdev-test this runs without
IN_TEST, i.e. the full-size version of every cell. A chapter that raises stops the command, and that chapter
is not written. Progress bars are stored in their final state, not as every redraw; the machine's temporary folder
is stored as `$TMPDIR` and its home as `~` (`portable_paths`). A figure stored as a PNG over 200 kB is re-encoded as a JPEG when that is at least half the size
(photographs and colour maps; the book is read on the web). Afterwards `nbdev-clean` normalises the files (it
keeps the outputs), and `nbs/outputs.lock.json` records which source each cell's output was made from, which
`python tools/book.py check` (run by CI) compares.
"""
import argparse, base64, io, os, subprocess, sys, tempfile, time
from pathlib import Path
import nbformat
from nbclient import NotebookClient
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import book

PNG_LIMIT = 200_000   # bytes of a stored PNG above which a JPEG is tried

FLAGS = ("slow", "gpu")


def skipped(cell, run: set[str]) -> bool:
    "Whether a code cell carries a flag that is not asked for (or `eval: false`)."
    lines = [l.strip() for l in cell.source.splitlines() if l.strip().startswith("#|")]
    flags = {w for l in lines for w in l[2:].split()}
    return "eval:" in flags and "false" in flags or any(f in flags and f not in run for f in FLAGS)


def shrink_images(nb) -> int:
    "Store large PNG figures as JPEG where that halves them; returns the number changed."
    n = 0
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            png = o.get("data", {}).get("image/png")
            if png is None or len(png) < PNG_LIMIT: continue
            buf = io.BytesIO()
            Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB").save(buf, "JPEG", quality=85)
            jpg = base64.b64encode(buf.getvalue()).decode()
            if 2 * len(jpg) <= len(png):
                del o["data"]["image/png"]; o["data"]["image/jpeg"] = jpg; n += 1
    return n


def squash_streams(nb) -> None:
    """Store what a terminal would show: consecutive stream outputs merged, and of each line only what follows its
    last carriage return (a progress bar's final state instead of its every redraw)."""
    for cell in nb.cells:
        merged = []
        for o in cell.get("outputs", []):
            if o.output_type == "stream" and merged and merged[-1].output_type == "stream" and merged[-1].name == o.name:
                merged[-1].text += o.text
            else:
                merged.append(o)
        for o in merged:
            if o.output_type == "stream":
                o.text = "\n".join(line.rstrip("\r").split("\r")[-1] for line in o.text.split("\n"))
        if "outputs" in cell: cell.outputs = merged


PLACES = [(tempfile.gettempdir().rstrip("/") + "/", "$TMPDIR/"), (str(Path.home()).rstrip("/") + "/", "~/")]


def portable_paths(nb) -> int:
    """Write the machine's temporary folder as `$TMPDIR` and its home folder as `~` in every stored text: a reader sees
    where a file went, not this machine's layout. Returns the number of outputs changed."""
    def fix(text):
        for here, there in PLACES: text = text.replace(here, there)
        return text
    n = 0
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            before = str(o)
            if o.output_type == "stream": o.text = fix(o.text)
            elif o.output_type == "error": o.traceback = [fix(t) for t in o.traceback]
            elif "text/plain" in o.get("data", {}): o.data["text/plain"] = fix(o.data["text/plain"])
            n += str(o) != before
    return n


def run_notebook(path: Path, run: set[str], timeout: int, lock: dict) -> tuple[int, int]:
    "Execute `path` in place and record it in `lock`; returns (cells run, cells skipped)."
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})

    ran, n_skip = set(), 0
    # a kernel without a front end has no ipywidgets: tqdm.auto (imported by Gradio and huggingface_hub) would warn
    # about that in every chapter that imports them, a warning of this headless run that a reader's Jupyter never shows
    env = {**os.environ, "PYTHONWARNINGS": "ignore:IProgress not found"}   # message form: no module to import at startup
    with client.setup_kernel(env=env):
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code": continue
            if skipped(cell, run): n_skip += 1; continue
            client.execute_cell(cell, i)                 # raises CellExecutionError on an error
            ran.add(cell.id)
    squash_streams(nb)
    portable_paths(nb)
    shrink_images(nb)
    nbformat.write(nb, path)
    book.record(path.stem, nb, ran, lock)
    n_run = len(ran)
    return n_run, n_skip


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", type=Path, help="chapters to run (default: every nbs/*.ipynb)")
    ap.add_argument("--run", action="append", default=[], choices=FLAGS, help="also run cells with this flag")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    a = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    paths = a.notebooks or sorted((root / "nbs").glob("*.ipynb"))
    for p in paths:
        t0 = time.time()
        lock = book.read_lock()
        n_run, n_skip = run_notebook(p.resolve(), set(a.run), a.timeout, lock)
        book.write_lock(lock)                            # after each chapter: an interrupted run keeps what it did
        size = p.stat().st_size / 1e6
        print(f"{p.name}: {n_run} cells run, {n_skip} skipped, {time.time() - t0:.0f} s, {size:.2f} MB", flush=True)
    subprocess.run(["nbdev-clean"], cwd=root, check=True)


if __name__ == "__main__":
    sys.exit(main())
