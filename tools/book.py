"""The book's stored outputs: what `run_notebooks.py` records and what CI checks.

    python tools/book.py check        # exit 1, with one line per problem, if the stored book is not current

Every chapter is stored with the outputs of a full run (readers see them on GitHub). `run_notebooks.py` writes,
next to the notebooks, `nbs/outputs.lock.json`: for each chapter, the hash of every code cell's source at the
moment its stored output was made. `check` fails when

- a chapter has no stored output at all;
- a method chapter (the reading order's method track, `METHOD`) has no picture, or more than
  `MAX_WITHOUT_PICTURE` chapters of the whole book have none (no figure output, no image in the prose);
- a code cell's source changed after its output was made (its hash differs from the lock, or it is new; a
  `#| gpu` cell without output is exempt: it runs only on a GPU and nothing stored depends on it);
- a chapter's file is over `MAX_MB` (figures are meant for the web);
- a method chapter's exercise lacks its collapsed hint or solution (`<details><summary>Hint` / `Solution`);
- a stored output carries noise of the machine that made it (`noise`): an absolute path of that machine (a
  temporary folder, a home folder, an installed package), a warning, or a progress bar written to stderr;
- a relative link in a chapter's prose or in the README leads nowhere, or a chapter is named ("chapter 07")
  without a link to it.

The hash covers the source only, as nbdev-clean leaves it, so nbdev-clean (which keeps outputs) never makes a
chapter stale; editing prose (markdown cells) does not either.
"""
import hashlib, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"
LOCK = NBS / "outputs.lock.json"
MAX_MB = 1.5
# The method track of the reading order (nbs/index.ipynb); each must show at least one picture.
METHOD = ["00_quantize", "02_vqvae", "06_pretrain", "04_perlin", "07_latent_anomalies", "08_subspace",
          "09_detection", "10_dsr", "11_train", "12_metrics"]
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")
MAX_WITHOUT_PICTURE = 6   # chapters of the whole book allowed no picture at all (no figure output, no image in prose)
MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]+\)|<img\s")
NOISE = [  # (what a reader would be told, the pattern in a stored text output)
    ("an absolute path of the machine", re.compile(r"(?<![\w.~])/(?:tmp|var/folders|root|home|Users|private|usr|opt)/[\w.-]")),
    ("an absolute path of the machine", re.compile(r"site-packages|dist-packages|[A-Z]:\\\\Users")),
    ("a warning", re.compile(r"\b\w*Warning\b:|^\s*warnings\.warn", re.M)),
]
PROGRESS = re.compile(r"\d+%\|[^|]*\||\d+(?:\.\d+)?(?:it|s)/(?:s|it)\b")


def cell_hash(source: str) -> str:
    "A short fingerprint of a code cell's source (trailing whitespace ignored)."
    return hashlib.sha1(source.rstrip().encode()).hexdigest()[:16]


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell: dict) -> str:
    s = cell["source"]
    return s if isinstance(s, str) else "".join(s)


def gpu_only(cell: dict) -> bool:
    "A `#| gpu` test cell with no stored output (it runs only where there is a GPU, and nothing stored depends on it), "
    "or an `#| eval: false` cell (exported, never run in its notebook, e.g. a module's imports of names the notebook defines)."
    flags = {w for l in source(cell).splitlines() if l.strip().startswith("#|") for w in l.strip()[2:].split()}
    return ("gpu" in flags or {"eval:", "false"} <= flags) and not cell.get("outputs")


def read_lock() -> dict:
    return json.loads(LOCK.read_text()) if LOCK.exists() else {}


def write_lock(lock: dict):
    LOCK.write_text(json.dumps(dict(sorted(lock.items())), indent=1) + "\n")


def record(name: str, nb: dict, ran: set[str], lock: dict):
    """Update `lock[name]` after a run of notebook `nb`: cells in `ran` (ids) now match their source; a skipped cell
    keeps its old hash, which stays valid only if its source did not change."""
    old = lock.get(name, {})
    lock[name] = {c["id"]: (cell_hash(source(c)) if c["id"] in ran else old.get(c["id"], "never run"))
                  for c in code_cells(nb)}


def text_outputs(cell: dict):
    "(stream name or output type, text) of every text a code cell stored: streams, and plain-text results and errors."
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream": yield o.get("name", "stdout"), "".join(o.get("text", ""))
        elif o.get("output_type") == "error": yield "error", "\n".join(o.get("traceback", []))
        else:
            t = o.get("data", {}).get("text/plain")
            if t is not None: yield o["output_type"], "".join(t) if isinstance(t, list) else t


def noise(nb: dict, name: str) -> list[str]:
    "Machine noise in the stored outputs of a chapter: absolute paths, warnings, progress bars on stderr (one line per cell and kind)."
    out = []
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] != "code": continue
        kinds = set()
        for stream, text in text_outputs(c):
            kinds |= {what for what, pat in NOISE if pat.search(text)}
            if str(ROOT) + "/" in text: kinds.add("an absolute path of the machine")   # the checkout's own location
            if stream == "stderr" and PROGRESS.search(text): kinds.add("a progress bar on stderr")
        out += [f"{name}: cell {i} stores {k} in its output" for k in sorted(kinds)]
    return out


def has_figure(nb: dict) -> bool:
    "Whether a chapter's stored outputs hold a figure."
    return any(t in o.get("data", {}) for c in code_cells(nb) for o in c.get("outputs", []) for t in IMAGE_TYPES)


def has_picture(nb: dict) -> bool:
    "Whether a chapter shows an image: a stored figure, or an image in its prose."
    return has_figure(nb) or bool(MD_IMAGE.search(markdown(nb)))


def problems(nb_path: Path, lock: dict, nb: dict | None = None) -> list[str]:
    "What is wrong with one stored chapter (`nb`: its parsed file, if read already), as lines for a person."
    nb, name, out = nb or json.loads(nb_path.read_text()), nb_path.stem, []
    cells = code_cells(nb)
    outputs = [o for c in cells for o in c.get("outputs", [])]
    if cells and not outputs:
        out.append(f"{name}: no stored output (run `python tools/run_notebooks.py nbs/{nb_path.name}`)")
    if name in METHOD and not has_figure(nb):
        out.append(f"{name}: a method chapter without a picture")
    rec = lock.get(name)
    if rec is None:
        out.append(f"{name}: not in {LOCK.name}: its outputs were not made by tools/run_notebooks.py")
    else:
        stale = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and not gpu_only(c)
                 and rec.get(c.get("id")) != cell_hash(source(c))]
        if stale:
            out.append(f"{name}: cells {stale} changed after their stored outputs were made "
                       f"(run `python tools/run_notebooks.py nbs/{nb_path.name}`, with `--run slow` for slow cells)")
    if name in METHOD:
        ex = [source(c) for c in nb["cells"] if c["cell_type"] == "markdown" and source(c).startswith("## Exercise")]
        if len(ex) != 1 or not all(f"<details><summary>{w}</summary>" in ex[0] for w in ("Hint", "Solution")):
            out.append(f"{name}: a method chapter needs one '## Exercise' with a collapsed hint and solution")
    out += noise(nb, name)
    mb = nb_path.stat().st_size / 1e6
    if mb > MAX_MB:
        out.append(f"{name}: {mb:.2f} MB, over the {MAX_MB} MB limit (smaller figures)")
    return out


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
UNLINKED = re.compile(r"(?<!\[)\b[Cc]hapters? `?\d\d[a-z]?`?(?!\]|\w)")


def link_problems(text: str, base: Path, name: str) -> list[str]:
    "Relative links in markdown `text` (read from folder `base`) that lead nowhere, and chapters named without a link."
    out = [f"{name}: link to {t}, which does not exist" for t in LINK.findall(text)
           if "://" not in t and not t.startswith("mailto:") and not (base / t).exists()]
    out += [f"{name}: '{m}' is not a link" for m in UNLINKED.findall(text)]
    return out


def markdown(nb: dict) -> str:
    return "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


def check(paths=None) -> list[str]:
    lock = read_lock()
    whole = not paths
    books = {Path(p): json.loads(Path(p).read_text()) for p in paths or sorted(NBS.glob("*.ipynb"))}   # each file read once
    found = [p for path, nb in books.items() for p in problems(path, lock, nb)]
    if whole:
        bare = [path.stem for path, nb in books.items() if not has_picture(nb)]
        if len(bare) > MAX_WITHOUT_PICTURE:
            found.append(f"{len(bare)} chapters without any picture, at most {MAX_WITHOUT_PICTURE} allowed: {', '.join(bare)}")
    found += [p for path, nb in books.items() for p in link_problems(markdown(nb), NBS, path.stem)]
    return found + link_problems((ROOT / "README.md").read_text(), ROOT, "README.md")


def main(argv):
    if argv[:1] != ["check"]:
        print(__doc__); return 2
    found = check([Path(a) for a in argv[1:]] or None)
    for p in found: print(p)
    print(f"book: {'current' if not found else f'{len(found)} problem(s)'}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
