"""Round-trip nbdev notebooks and a plain-text "percent" form, for editing notebooks in a text editor.

    python tools/nbpy.py to-py nbs/00_quantize.ipynb  > /tmp/00_quantize.py
    python tools/nbpy.py to-nb /tmp/00_quantize.py nbs/00_quantize.ipynb

Cells are separated by a line `# %%` (code) or `# %% [markdown]` (markdown; its lines are written
without a leading `# `). The notebook is the source of truth: the text form is only a way to edit it.
Run `nbdev-clean` after `to-nb`.
"""
import hashlib, json, sys
from pathlib import Path

MD, CODE = "# %% [markdown]", "# %%"


def to_py(nb_path: str) -> str:
    nb = json.loads(Path(nb_path).read_text())
    out = []
    for c in nb["cells"]:
        src = "".join(c["source"])
        if c["cell_type"] == "markdown":
            out.append(MD + "\n" + "\n".join(("# " + l) if l else "#" for l in src.split("\n")))
        else:
            out.append(CODE + "\n" + src)
    return "\n\n".join(out) + "\n"


def to_nb(py_text: str) -> dict:
    cells, cur, kind, seen = [], [], None, set()

    def flush():
        if kind is None: return
        lines = cur[:]
        while lines and not lines[-1].strip(): lines.pop()
        if kind == "markdown":
            lines = [l[2:] if l.startswith("# ") else l[1:] if l.startswith("#") else l for l in lines]
        src = "\n".join(lines)
        cid = hashlib.sha1(src.encode()).hexdigest()[:8]          # stable: an unchanged cell keeps its id
        while cid in seen: cid = hashlib.sha1(cid.encode()).hexdigest()[:8]
        seen.add(cid)
        cell = {"cell_type": kind, "id": cid, "metadata": {}, "source": src.splitlines(keepends=True)}
        if kind == "code": cell.update(execution_count=None, outputs=[])
        cells.append(cell)

    for line in py_text.split("\n"):
        if line.strip() == MD or line.strip() == CODE:
            flush(); cur, kind = [], ("markdown" if line.strip() == MD else "code")
        else:
            cur.append(line)
    flush()
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "python3", "language": "python", "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "to-py": sys.stdout.write(to_py(args[0]))
    elif cmd == "to-nb": Path(args[1]).write_text(json.dumps(to_nb(Path(args[0]).read_text()), indent=1) + "\n")
    else: sys.exit(f"unknown command {cmd!r}: use to-py or to-nb")
