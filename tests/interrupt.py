"""Shared by the CLI and DDP tests: start a training command, wait for its first checkpoint, press Ctrl-C."""
import signal, subprocess, time
from pathlib import Path


def ctrl_c_after_first_checkpoint(args, out: Path, env: dict, cwd, wait: float = 180,
                                  sig: int = signal.SIGINT) -> subprocess.CompletedProcess:
    "Run `args`; once `out/config.json` exists send `sig` (SIGINT, as a terminal's Ctrl-C would); return the finished process."
    # a background shell may start us with SIGINT ignored; the child gets the default, as in a terminal
    p = subprocess.Popen([str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         cwd=cwd, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + wait
        while not (Path(out) / "config.json").exists():              # the first checkpoint: training runs
            assert p.poll() is None, p.communicate()
            assert time.time() < deadline, f"no checkpoint after {wait:.0f} s"
            time.sleep(0.1)
        p.send_signal(sig)
        stdout, stderr = p.communicate(timeout=120)
    finally:
        if p.poll() is None: p.kill()
    return subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr)
