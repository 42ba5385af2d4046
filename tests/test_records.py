"""docs/records.md's table of runs is what the run folders under docs/results/ say (tools/records.py)."""
import subprocess, sys
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
