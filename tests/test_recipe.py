"""The recipe a user gets by default, guarded: the `tiny` preset's anomaly source, the stage 1 it trains on and
that stage 1's licence, the rule that sets thresholds when the data has no validation split (never the test
split), and a short default run that beats both trivial baselines."""
import json, os, shutil
from pathlib import Path

import pytest
import torch

from dsr_nb.train import TrainConfig
from dsr_nb.model import DSR
from dsr_nb.data import open_dataset
from dsr_nb.evaluate import normal_thresholds, held_out_images
from dsr_nb.pretrain import bundled_stage1, weights_licence
from dsr_nb.corpora import SKIMAGE_ALL, SKIMAGE_SAMPLES, SKIMAGE_LICENCES
from dsr_nb.synthetic import make_synthetic
from dsr_nb.registry import weights_root
from runs import dsr_nb, ok

TOY = ["--iters2", "4", "--iters3", "2", "--batch-size", "2", "--device", "cpu", "-q"]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("recipe")


@pytest.fixture(scope="module")
def env(work) -> dict:
    return {**os.environ, "DSR_NB_CACHE": str(work / "cache"), "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}


def test_tiny_default_pastes_pictures_paper_keeps_the_rank_window():
    # a change of either default must be deliberate: README, chapter 11 and the results table describe these
    assert TrainConfig.tiny().anomalies == "image"
    assert TrainConfig.paper().anomalies == "latent"
    assert TrainConfig.for_preset("tiny").anomalies == "image"
    # the schedule the README's results, the cards and chapter 11 were measured with
    assert (TrainConfig.tiny().stage2_iters, TrainConfig.tiny().stage3_iters) == (1100, 200)
    # the pasted pictures are foreign ones only: crops of the training images themselves cost ELPV mono 2.6 points
    assert (TrainConfig.tiny().paste_own, TrainConfig.tiny().paste_procedural, TrainConfig.tiny().grey_pastes) == (0.0, 0, False)
    # no flips in either preset (the authors' augmentation: rotation only; flips gave nothing measurable, docs/records.md)
    assert (TrainConfig.tiny().flips, TrainConfig.paper().flips) == ("none", "none")
    # the tiny schedule ends within 15 minutes on a CPU too slow for it (chapter 11, "A time budget"); paper: no budget
    assert (TrainConfig.tiny().minutes, TrainConfig.paper().minutes) == (15.0, None)


def test_help_says_which_preset_uses_what(env, work):
    out = " ".join(ok(dsr_nb(env, work, "train", "--help")).stdout.split())
    assert "tiny image" in out and "paper latent" in out


def test_stage1_by_data_and_its_licence():
    assert bundled_stage1("tiny", "elpv") == "vqvae_tiny_elpv"
    assert bundled_stage1("tiny", "synthetic") == bundled_stage1("tiny", "/my/folder") == "vqvae_tiny"
    assert "Apache-2.0" in weights_licence("/my/folder", "vqvae_tiny")
    assert "NC" in weights_licence("elpv", "vqvae_tiny_elpv") and "NC" in weights_licence("/x", "vqvae_tiny_elpv")
    assert "--vq" in weights_licence("/x", None)
    for name, lic in (("vqvae_tiny", "Apache-2.0"), ("vqvae_tiny_elpv", "CC-BY-NC-SA-4.0")):
        meta = json.loads((weights_root() / name / "config.json").read_text())["meta"]
        assert meta["licence"].startswith(lic), (name, meta["licence"])
    # the default stage 1 the README's results and the held-out suite were measured with: 4,000 + 8,000 steps
    meta = json.loads((weights_root() / "vqvae_tiny" / "config.json").read_text())["meta"]
    assert meta["steps"] == 12000 and "--init runs/vq_clean" in meta["command"], meta
    # every picture of the corpora (stage 1 and pastes) states a licence that allows commercial use
    assert set(SKIMAGE_ALL) <= set(SKIMAGE_LICENCES) and set(SKIMAGE_SAMPLES) <= set(SKIMAGE_ALL)
    assert all(v.startswith(("CC0", "public domain", "no known copyright")) for v in SKIMAGE_LICENCES.values())


@pytest.fixture(scope="module")
def mvtec(work) -> Path:
    "A synthetic category written in the MVTec layout under a folder of ours: data without a validation split."
    make_synthetic(work / "mvtec", "wood", n_train=30, n_test=8, img_size=128, seed=3)
    return work / "mvtec"


def test_without_validation_split_thresholds_come_from_held_out_normals(env, work, mvtec):
    # train with this process's thread count: the rule is recomputed here, and 1 thread against 2 moves a near-tie
    # code of the toy model and its thresholds by up to 2e-3 (the other test modules set 1 thread at import)
    r = ok(dsr_nb({**env, "OMP_NUM_THREADS": str(torch.get_num_threads())}, work, "train", "--data", mvtec,
                  "--category", "wood", "--out", "wood", *TOY))
    assert "highest score among 3 normal training images held out from training" in r.stdout, r.stdout
    model = DSR.load(work / "wood")
    meta = model.meta
    assert meta["threshold_rule"] == "held-out-normal-max" and meta["threshold_images"] == 3 and "val_metrics" not in meta
    assert "Apache-2.0" in meta["licence"] and meta["vq"] == "bundled vqvae_tiny"
    # the rule, recomputed: the highest image score and map value of the held-out images, which were never trained on
    train = open_dataset(str(mvtec), "wood", "train", 128)
    held = held_out_images(model, train)
    assert len(held) == 3 and len(set(meta["held_out"])) == 3
    thr = normal_thresholds(model, held)
    assert abs(thr["image_threshold"] - meta["image_threshold"]) < 1e-6
    assert abs(thr["pixel_threshold"] - meta["pixel_threshold"]) < 1e-6
    assert meta["metrics"]["image_f1_at_threshold"] is not None      # the test split is measured at that threshold


def test_a_folder_of_normal_images_alone_gets_a_working_threshold(env, work, mvtec):
    folder = work / "normals"
    shutil.copytree(mvtec / "wood" / "train" / "good", folder)
    r = ok(dsr_nb(env, work, "train", "--data", folder, "--out", "mine", *TOY))
    assert "not evaluated" in r.stdout and "stored in the model: image threshold" in r.stdout, r.stdout
    model = DSR.load(work / "mine")
    assert model.meta["threshold_rule"] == "held-out-normal-max" and model.meta["image_threshold"] is not None
    pred = model.predict(sorted((mvtec / "wood" / "test" / "hole").glob("*.png")))
    assert pred.threshold == model.meta["image_threshold"] and pred.is_anomalous is not None   # a verdict per image


@pytest.mark.parametrize("category", ["weave"])
def test_the_default_recipe_beats_both_baselines(env, work, category):
    # the default recipe (anomalies, stage 1, learning rate, decoder init) on a shortened schedule, 2 threads;
    # measured on 2 AVX2 cores: image AUROC 99.2 and pixel AP 49.7 against the baselines' best 74.8 and 23.3, this
    # test 175 s (at 200 + 40 iterations: 100.0 and 58.7, 219 s; at 300 + 60: 332 s)
    e = {**env, "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    ok(dsr_nb(e, work, "train", "--data", "synthetic", "--category", category, "--out", f"short-{category}",
              "--iters2", "150", "--iters3", "30", "--device", "cpu", "-q", timeout=1200))
    meta = DSR.load(work / f"short-{category}").meta
    m, b = meta["metrics"], meta["baselines"]
    for key in ("image_auroc", "pixel_ap"):
        best = max(b["nn"][key], b["zscore"][key])
        assert m[key] > best + 0.05, f"{key}: DSR {m[key]:.3f}, best baseline {best:.3f}"
