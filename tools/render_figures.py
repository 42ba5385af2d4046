"""Run a notebook and write its figures as PNG files, to look at them without Jupyter.

    python tools/render_figures.py nbs/07_latent_anomalies.ipynb /tmp/figs
"""
import base64, os, sys
from pathlib import Path
from execnb.shell import CaptureShell, read_nb

nb_path, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
os.chdir(nb_path.parent)
nb = read_nb(nb_path.name)
sh = CaptureShell()
skip = lambda cell: any(f"#| {flag}" in cell.source for flag in ("gpu", "slow", "eval: false"))   # as nbdev-test does
sh.run_all(nb, exc_stop=True, preproc=skip)
n = 0
for i, cell in enumerate(nb.cells):
    for o in cell.get("outputs", []):
        png = o.get("data", {}).get("image/png")
        if png:
            n += 1
            (out / f"{nb_path.stem}_{i:02d}_{n}.png").write_bytes(base64.b64decode(png))
        txt = o.get("text") or o.get("data", {}).get("text/plain")
        if txt: print(f"[cell {i}]", "".join(txt)[:400])
print(n, "figures in", out)
