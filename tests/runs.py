"""Shared by the CLI, export, DDP and recipe tests: run `dsr-nb` (or any command) in fresh processes, one or several at once,
and check how they ended."""
import subprocess, sys
from concurrent.futures import ThreadPoolExecutor


def cmd(*args) -> list[str]:
    "The command line of `dsr-nb args`, through this Python (`python -m dsr_nb.cli`)."
    return [sys.executable, "-m", "dsr_nb.cli", *map(str, args)]


def run(args, env: dict, cwd, timeout: float = 300) -> subprocess.CompletedProcess:
    "Run the command `args` in a fresh process; its output captured as text."
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def dsr_nb(env: dict, cwd, *args, timeout: float = 300) -> subprocess.CompletedProcess:
    "Run `dsr-nb args` in a fresh Python process."
    return run(cmd(*args), env, cwd, timeout)


def at_once(calls, workers: int = 2) -> list[subprocess.CompletedProcess]:
    """Run `calls` (functions of no argument that each start and wait for one process), `workers` at a time;
    → their results in order. Quick commands that each use one thread spend most of their time importing torch:
    on 2 cores, two at a time take half as long."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda f: f(), calls))


def ok(r: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    "`r`, asserted to have exited with 0 (the message shows both outputs)."
    assert r.returncode == 0, f"exit code {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r


def user_error(r: subprocess.CompletedProcess, contains: str) -> str:
    "`r`'s one line of error, asserted: exit code 2, `dsr-nb: error: ...` naming `contains`, no traceback."
    lines = r.stderr.splitlines()
    assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("dsr-nb: error: "), (r.returncode, r.stderr)
    assert contains in lines[0] and "Traceback" not in r.stderr, lines[0]
    return lines[0]
