"""`dsr-nb export` end to end through real subprocesses (`python -m dsr_nb.cli`) on the bundled tiny model:
the full and the score-only file, their outputs under onnxruntime against PyTorch on random and real images,
and one-line errors with exit code 2."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from dsr_nb.images import load_image, resize
from dsr_nb.registry import weights_root
from dsr_nb.export import OUTPUTS, check_onnx, read_metadata, run_onnx
from dsr_nb.model import DSR
from runs import at_once, dsr_nb, ok, user_error

torch.set_num_threads(1)

MODEL_DIR = weights_root() / "models" / "synthetic-weave"
EXAMPLES = sorted((weights_root() / "examples" / "synthetic-weave").glob("*.png"))
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def env() -> dict:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)   # this checkout's dsr_nb
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def model() -> DSR:
    return DSR.load(MODEL_DIR)


@pytest.fixture(scope="module")
def real(model) -> torch.Tensor:
    "The three bundled example images of the weave model, 3×3×S×S in the model's channel order."
    S = model.cfg.img_size
    return torch.stack([model.vq.to_model_order(resize(load_image(p), S)) for p in EXAMPLES])


@pytest.fixture(scope="module")
def exported(tmp_path_factory, env) -> dict:
    "The full variant (from the checkpoint folder, checked on real images) and the score-only one (by bundled name)."
    work = tmp_path_factory.mktemp("export")
    full, short = map(ok, at_once([lambda: dsr_nb(env, work, "export", MODEL_DIR, "full.onnx", "--check-images", *EXAMPLES[:2]),
                                   lambda: dsr_nb(env, work, "export", "synthetic-weave", "out/score.onnx", "--score-only")]))
    return {"work": work, "full": work / "full.onnx", "score-only": work / "out" / "score.onnx",
            "stdout": {"full": full.stdout, "score-only": short.stdout}}


def test_export_writes_both_variants(exported, model):
    for variant in ("full", "score-only"):
        path, out = exported[variant], exported["stdout"][variant]
        assert path.is_file() and path.stat().st_size > 1e6
        assert not path.with_name(path.name + ".data").exists()            # one self-contained file
        meta = read_metadata(path)
        assert (meta["variant"], meta["preset"], meta["img_size"], meta["channel_order"]) == (variant, "tiny", "128", "RGB")
        assert float(meta["image_threshold"]) == model.meta["image_threshold"]
        assert "check passed: within 0.0001" in out and "random, 2 images" in out, out
    assert all(p.name in exported["stdout"]["full"] for p in EXAMPLES[:2])
    assert exported["score-only"].stat().st_size < exported["full"].stat().st_size


@pytest.mark.parametrize("variant", ["full", "score-only"])
@pytest.mark.parametrize("kind", ["random", "real"])
@pytest.mark.parametrize("batch", [1, 3])
def test_outputs_equal_pytorch(exported, model, real, variant, kind, batch):
    x = torch.rand(batch, 3, 128, 128, generator=torch.Generator().manual_seed(batch)) if kind == "random" else real[:batch]
    c = check_onnx(exported[variant], model, x)
    assert set(c.diff) == set(OUTPUTS[variant])
    assert max(c.diff_same_codes.values()) < 1e-4, c                   # the graph computes what PyTorch computes
    if c.codes_changed == 0: assert max(c.diff.values()) < 1e-4, c     # and, without a tipped code, so do the outputs
    else:                                                              # a near tie tipped a code or two: they were ties,
        assert c.codes_changed <= 2 and c.ok(1e-4), c                  # the score barely moves, and the maps move locally
        assert c.diff["score"] < 1e-3 and max(c.diff.values()) < 5e-2, c   # (a tipped code: score ~3e-4, maps ~1e-2 around it)


def test_dynamic_batch_and_scores(exported, model, real):
    out = run_onnx(exported["score-only"], real)
    assert out["score"].shape == (3,) and out["coarse_map"].shape == (3, 128, 128)
    with torch.no_grad(): ref = model(real, refine=False).score.numpy()
    np.testing.assert_allclose(out["score"], ref, atol=1e-4)


def test_mistakes_are_one_line(exported, env, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    shim = tmp_path / "shim" / "onnxruntime"                            # an onnxruntime that cannot be imported
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('not installed here')\n")
    no_ort = {**env, "PYTHONPATH": os.pathsep.join([str(tmp_path / "shim"), env["PYTHONPATH"]])}
    cases = [(env, ("no-such-model", "a.onnx"), "neither a checkpoint folder, a bundled model"),
             (env, ("synthetic-weave", tmp_path / "notes.txt" / "a.onnx"), "is a file, not a folder"),
             (env, ("synthetic-weave", exported["full"]), "already exists; add --overwrite"),
             (no_ort, ("synthetic-weave", "a.onnx"), 'pip install "dsr-nb[export]"')]
    results = at_once([lambda e=e, a=a: dsr_nb(e, tmp_path, "export", *a) for e, a, _ in cases])
    for (_, _, message), r in zip(cases, results): user_error(r, message)
    assert not (tmp_path / "a.onnx").exists()
