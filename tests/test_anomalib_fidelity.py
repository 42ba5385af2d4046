"""Training-step fidelity against anomalib's DSR (issue: our stage-2 and stage-3 losses and gradients equal
anomalib's, given the same weights, batch and latent anomalies). A small size here; the paper preset is
`python benchmarks/anomalib_compare.py --part training`.

anomalib 2.7.0 and kornia 0.9.0 are installed without their dependencies into a cache folder on first use
(`DSR_NB_ANOMALIB_DIR`, default `~/.cache/dsr_nb/anomalib-2.7.0`); only their files are read, anomalib's package
is never imported. Without PyPI and without that folder the test fails: it is not skipped.
"""
import os, subprocess, sys
from pathlib import Path
import pytest
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import anomalib_twin as twin  # noqa: E402


@pytest.fixture(scope="module")
def anomalib_on_path():
    target = Path(os.environ.get("DSR_NB_ANOMALIB_DIR", Path.home() / ".cache" / "dsr_nb" / "anomalib-2.7.0"))
    if not (target / "anomalib" / "models" / "image" / "dsr" / "torch_model.py").is_file():
        r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), *twin.PINS],
                           capture_output=True, text=True, timeout=600)
        if r.returncode: pytest.fail(f"could not install {' '.join(twin.PINS)} into {target}:\n{r.stderr[-2000:]}")
    sys.path.insert(0, str(target))
    twin.load_anomalib.cache_clear()
    yield target
    sys.path.remove(str(target))


def _rel(d: dict) -> float:
    return d["max_abs_diff"] / d["max_abs_grad"]


def test_training_steps_equal_anomalibs(anomalib_on_path, tmp_path):
    torch.set_num_threads(1)
    twin.write_weights(tmp_path, 0, twin.SMALL)
    res = twin.fidelity(tmp_path, twin.SMALL, img_size=64, batch=2)
    s2, s3 = res["stage2"], res["stage3"]
    assert s2["anomalous_cells"] > 0.01                       # the step really had latent anomalies to learn from
    assert s2["encode"] <= 1e-5 and s2["i_gen"] <= 1e-5        # our VQ-VAE gives anomalib's Q and I_gen
    for st in (s2, s3):
        assert abs(st["loss_ours"] - st["loss_alib"]) <= 1e-5 * abs(st["loss_alib"])
        for name, g in st["grads"].items():
            assert g["max_abs_grad"] > 0, name                 # a gradient that is all zeros would prove nothing
            assert _rel(g) <= 1e-5, (name, g)
    for k, (ours, theirs) in s2["terms"].items(): assert abs(ours - theirs) <= 1e-5 * abs(theirs), k
    # anomalib's own kornia focal loss (alpha = 1) is not the authors': the reason it is set aside
    assert abs(s2["alib_as_is"] - s2["loss_alib"]) > 1e-3 and abs(s3["alib_as_is"] - s3["loss_alib"]) > 1e-3


def test_fidelity_check_catches_a_difference(anomalib_on_path, tmp_path):
    "A negative control: one of our detector's weights moved by 1e-2 and the comparison sees it."
    torch.set_num_threads(1)
    twin.write_weights(tmp_path, 0, twin.SMALL)
    ours, alib = twin.twins(tmp_path, twin.SMALL, 64)
    with torch.no_grad(): next(ours.adm.parameters()).add_(1e-2)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 64, 64, generator=g)
    from dsr_nb.perlin import perlin_masks
    from dsr_nb.streams import Streams
    res = twin.stage2_fidelity(ours, alib, x, perlin_masks(2, 64, Streams.seeded(0, 2), max_scale_exp=4))
    assert _rel(res["grads"]["adm"]) > 1e-3
    assert abs(res["terms"]["focal"][0] - res["terms"]["focal"][1]) > 1e-6
