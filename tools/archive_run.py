"""Keep the record of a finished `dsr-nb train` run in the repository, without its weights.

    python tools/archive_run.py runs/weave-s0 [more run folders] [--to docs/results]

Copies into `docs/results/<run name>/`: a `config.json` that holds only the run's meta (the command, seed, stage 1, licence, threshold rule and
thresholds, training time and the time budget's plan, the test metrics and the baselines' from the model's `config.json`, and the date and
commit of dsr_nb it was archived from), the evaluation's `comparison.md` and `metrics.md`, and the run's
`diagnostics.csv` and `training.png`. `python tools/results_table.py docs/results/NAME ...` reads such folders
as it reads run folders.
"""
import argparse, json, shutil, subprocess, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEEP = ("command", "seed", "vq", "licence", "category", "data", "data_category", "preset", "train_images", "held_out",
        "threshold_rule", "threshold_images", "image_threshold", "pixel_threshold", "train_seconds", "test_images",
        "metrics", "baselines", "val_metrics", "train", "budget")


def commit() -> str:
    try: return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError: return ""


def archive(run: Path, to: Path) -> Path:
    meta = json.loads((run / "config.json").read_text())["meta"]
    if not meta.get("finished"): raise SystemExit(f"{run} is not a finished training run")
    dst = to / run.name
    shutil.rmtree(dst, ignore_errors=True); dst.mkdir(parents=True)
    record = {k: meta[k] for k in KEEP if k in meta}
    if "command" in record: record["command"] = record["command"].replace(f"{ROOT}/", "")   # --out inside the checkout: as any clone names it
    record.update(archived=time.strftime("%Y-%m-%d"), commit=commit())
    (dst / "config.json").write_text(json.dumps({"meta": record}, indent=1) + "\n")
    for src in ("eval/comparison.md", "eval/metrics.md", "diagnostics.csv", "training.png"):
        if (run / src).is_file(): shutil.copy(run / src, dst / Path(src).name)
    return dst


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+"); p.add_argument("--to", default=str(ROOT / "docs" / "results"))
    a = p.parse_args()
    for r in a.runs: print("archived", archive(Path(r), Path(a.to)))
