"""The table of every archived run in docs/records.md, generated from the run folders under docs/results/.

    python tools/records.py            # rewrite the table between the <!--runs--> markers of docs/records.md
    python tools/records.py --check    # exit 1 if the table is not what the folders say (tests/test_records.py)

A run folder is one that `tools/archive_run.py` wrote (its `config.json` holds the command, the commit and the date
it was archived from, and the test metrics) or an older one holding only the evaluation's `metrics.md`. One row per
folder: where it is, the command, commit, date, image AUROC and pixel AP on the test split, and the better trivial
baseline's image AUROC on the same split.
"""
import argparse, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS, PAGE = ROOT / "docs" / "results", ROOT / "docs" / "records.md"
BEGIN, END = "<!--runs-->", "<!--/runs-->"


def _pct(v): return "–" if v is None else f"{100 * v:.1f}"


def _from_metrics_md(folder: Path) -> dict:
    "Image AUROC and pixel AP from an evaluation's metrics.md (older folders have nothing else)."
    text = (folder / "metrics.md").read_text() if (folder / "metrics.md").is_file() else ""
    grab = lambda name: (m := re.search(rf"^\| {re.escape(name)} \(%\) \| ([\d.]+) \|", text, re.M)) and float(m.group(1)) / 100
    return {"image_auroc": grab("image AUROC"), "pixel_ap": grab("pixel AP")}


def row(folder: Path) -> list[str]:
    "One table row for a run folder."
    where = f"[`{folder.relative_to(RESULTS)}`](results/{folder.relative_to(RESULTS).as_posix()})"
    if (folder / "config.json").is_file():
        meta = json.loads((folder / "config.json").read_text())["meta"]
        m, base = meta.get("metrics") or {}, meta.get("baselines") or {}
        best = max((b.get("image_auroc") for b in base.values() if isinstance(b, dict) and b.get("image_auroc") is not None), default=None)
        command = str(meta.get("command", "–")).replace(str(Path.home()), "~")     # the archiving machine's home: any reader's ~
        return [where, f"`{command}`", meta.get("commit") or "–", meta.get("archived") or "–",
                _pct(m.get("image_auroc")), _pct(m.get("pixel_ap")), _pct(best)]
    m = _from_metrics_md(folder)
    return [where, "–", "–", "–", _pct(m["image_auroc"]), _pct(m["pixel_ap"]), "–"]


def run_folders() -> list[Path]:
    "Every folder under docs/results that holds a run's record (config.json or metrics.md)."
    return sorted({p.parent for pat in ("**/config.json", "**/metrics.md") for p in RESULTS.glob(pat)})


def table() -> str:
    head = ["run folder", "command", "commit", "archived", "image AUROC", "pixel AP", "best baseline's image AUROC"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 3 + "---|" + "---:|" * 3]
    lines += ["| " + " | ".join(row(f)) + " |" for f in run_folders()]
    return "\n".join(lines)


def render(page: str) -> str:
    if BEGIN not in page or END not in page: raise SystemExit(f"{PAGE} lacks the markers {BEGIN} … {END}")
    pre, rest = page.split(BEGIN, 1)
    return pre + BEGIN + "\n" + table() + "\n" + END + rest.split(END, 1)[1]


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true")
    a = p.parse_args()
    page = PAGE.read_text(); new = render(page)
    if a.check:
        if new != page: sys.exit("docs/records.md's table of runs is not current: run python tools/records.py")
        print("docs/records.md: the table of runs is current")
    else: PAGE.write_text(new); print(f"wrote {len(run_folders())} rows into {PAGE.relative_to(ROOT)}")
