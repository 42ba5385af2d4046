"""docs/records.md's table of runs is what the run folders under docs/results/ say (tools/records.py)."""
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_table_of_runs_is_current():
    r = subprocess.run([sys.executable, "tools/records.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_stale_table_is_caught():
    sys.path.insert(0, str(ROOT / "tools"))
    import records
    page = records.PAGE.read_text()
    stale = page.replace(records.table(), records.table().rsplit("\n", 1)[0])      # the last run's row dropped
    assert stale != page and records.render(stale) == page


def test_archived_commands_name_paths_inside_the_checkout_relative_to_it(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    import archive_run
    run = tmp_path / "r"; run.mkdir()
    command = f"dsr-nb train --data synthetic --category weave --out {ROOT}/runs/r -q"
    (run / "config.json").write_text(json.dumps({"meta": {"finished": True, "command": command, "seed": 0}}))
    record = json.loads((archive_run.archive(run, tmp_path / "out") / "config.json").read_text())["meta"]
    assert record["command"] == "dsr-nb train --data synthetic --category weave --out runs/r -q" and record["seed"] == 0
