"""Execute chapters in place, so that they are stored with the outputs of a full run (the book readers see).

    python tools/run_notebooks.py                      # every notebook in nbs/
    python tools/run_notebooks.py nbs/06_pretrain.ipynb nbs/11_train.ipynb
    python tools/run_notebooks.py --run slow nbs/11_train.ipynb   # also the cells flagged `#| slow`

Cells flagged `#| slow`, `#| gpu` or `#| eval: false` are skipped, as nbdev-test skips them, unless named with
--run; a skipped cell keeps the outputs of the last run that executed it. Unlike nbdev-test this runs without
IN_TEST, i.e. the full-size version of every cell. A chapter that raises stops the command, and that chapter
is not written. Afterwards `nbdev-clean` normalises the files (it keeps the outputs).
"""
import argparse, subprocess, sys, time
from pathlib import Path
import nbformat
from nbclient import NotebookClient

FLAGS = ("slow", "gpu")


def skipped(cell, run: set[str]) -> bool:
    "Whether a code cell carries a flag that is not asked for (or `eval: false`)."
    lines = [l.strip() for l in cell.source.splitlines() if l.strip().startswith("#|")]
    flags = {w for l in lines for w in l[2:].split()}
    return "eval:" in flags and "false" in flags or any(f in flags and f not in run for f in FLAGS)


def run_notebook(path: Path, run: set[str], timeout: int) -> tuple[int, int]:
    "Execute `path` in place; returns (cells run, cells skipped)."
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    n_run = n_skip = 0
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code": continue
            if skipped(cell, run): n_skip += 1; continue
            client.execute_cell(cell, i)                 # raises CellExecutionError on an error
            n_run += 1
    nbformat.write(nb, path)
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
        n_run, n_skip = run_notebook(p.resolve(), set(a.run), a.timeout)
        size = p.stat().st_size / 1e6
        print(f"{p.name}: {n_run} cells run, {n_skip} skipped, {time.time() - t0:.0f} s, {size:.2f} MB", flush=True)
    subprocess.run(["nbdev-clean"], cwd=root, check=True)


if __name__ == "__main__":
    sys.exit(main())
