#!/usr/bin/env bash
# Does dsr_nb work with an older torch? Installs it in a side environment with the project's other dependencies
# and runs the CLI's end-to-end tests (train, resume, predict, eval, the models by name and Hub id) there.
#
#     bash tools/torch_floor.sh 2.6.0          # a new venv in /tmp/torch-2.6.0 (about 5 GB: PyPI's CUDA build)
#
# The lowest version that passes is the floor in pyproject.toml; the README says which were tried
# (2026-12-02: 2.4.1, 2.5.1, 2.6.0 pass; 2.3.1 fails, torch.is_autocast_enabled(device) being 2.4's; 2026-12-05: the
# newest release, 2.14.1, passes too).
set -euo pipefail
v=${1:?usage: tools/torch_floor.sh TORCH_VERSION [VENV]}
venv=${2:-/tmp/torch-$v}
cd "$(dirname "$0")/.."
# the project's dependencies and those of its data and export extras (test_cli needs both), without torch
deps=$(python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; o = p['optional-dependencies']
print(' '.join(repr(x) for x in p['dependencies'] + o['data'] + o['export'] if not x.startswith('torch')))")
[ -x "$venv/bin/python" ] || python -m venv "$venv"
eval "\"$venv/bin/pip\" install -q \"torch==$v\" pytest $deps"
"$venv/bin/pip" install -q --no-deps -e .          # the project itself, whatever its floor says
"$venv/bin/python" -c "import torch; print('torch', torch.__version__)"
"$venv/bin/python" -m pytest -q -x tests/test_cli.py
