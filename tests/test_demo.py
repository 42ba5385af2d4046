"""The Gradio demo (dsr_nb/serving.py, demo.py and pictures.py from nbs/15_serving.ipynb, 15a_demo.ipynb and 15b_pictures.ipynb, and demo/): the callbacks as functions, the launched
app through gradio_client, the self-contained Space folder, and the page in a real headless browser.

The browser test needs Debian's Chromium and the playwright package; it fails (does not skip) without them:
    apt-get update && apt-get install -y --no-install-recommends chromium && pip install playwright
"""
import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
import importlib.util, json, re, shutil, subprocess, sys, time, urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

torch.set_num_threads(1)

import gradio as gr
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from dsr_nb import DSR, DSRConfig
from dsr_nb.demo import add_demo_subcommand, build_demo, launch_demo, run_demo
from dsr_nb.serving import DemoApp, ModelStore, FALLBACK_PIXEL_THRESHOLD, verdict
from dsr_nb.registry import checkpoint_folders
from dsr_nb.official import OFFICIAL_VQ

REPO = Path(__file__).resolve().parent.parent


def _script(name: str):
    "Import demo/<name>.py (the demo folder is not a package)."
    spec = importlib.util.spec_from_file_location(f"demo_{name}", REPO / "demo" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


screenshot = _script("screenshot")
build_space = _script("build_space")
free_port = screenshot.free_port


# ---------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    "Two untrained tiny checkpoints: `weave` with stored thresholds, `plain` without."
    d = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    m = DSR(DSRConfig.tiny()).eval()
    m.meta = {"category": "weave", "image_threshold": 0.55, "pixel_threshold": 0.6}
    m.save(d / "weave")
    (d / "weave" / "README.md").write_text("---\nlicense: apache-2.0\n---\n# weave\nA test model.\n")
    torch.manual_seed(1)
    DSR(DSRConfig.tiny()).save(d / "plain")
    return d


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    "Good and bad uploads as files."
    d = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:150, 0:200] / 20.0
    tex = ((np.sin(xx) * np.cos(yy) + 1) * 100).astype(np.uint8)
    ok = np.stack([tex, tex // 2 + 60, 255 - tex], -1)
    ok[60:80, 90:120] = [250, 20, 20]                                   # a "defect"
    files = {"ok": d / "ok.png", "second": d / "second.png", "rgba": d / "rgba.png", "grey16": d / "grey16.png",
             "text": d / "text.png", "one": d / "one.png", "huge": d / "huge.png", "empty": d / "empty.png"}
    Image.fromarray(ok).save(files["ok"])
    Image.fromarray(rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(files["second"])
    Image.fromarray(rng.integers(0, 255, (64, 80, 4), dtype=np.uint8), "RGBA").save(files["rgba"])
    Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)).save(files["grey16"])
    files["text"].write_text("this is a text file, not a PNG\n")
    Image.new("RGB", (1, 1), (255, 0, 0)).save(files["one"])
    Image.new("L", (10_000, 10_000)).save(files["huge"])
    files["empty"].write_bytes(b"")
    return files


BAD = [("text", "not an image file"), ("one", "too small (1×1"), ("huge", "too large (10000×10000"),
       ("empty", "is empty"), (None, "No image")]


@pytest.fixture(scope="module")
def server(models_dir, images):
    "The app launched on 127.0.0.1 at a free port; yields (demo, url)."
    port = free_port()
    demo = launch_demo(model_dir=models_dir, bundled=False, examples=[(str(images["ok"]), "weave")], device="cpu",
                       host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield demo, f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def _is_png(path) -> bool:
    with Image.open(path) as im:
        return im.format == "PNG"


# ---------------------------------------------------------------------------------------------------- callbacks
def test_detect_callback_as_function(models_dir, images):
    app = DemoApp(ModelStore(checkpoint_folders(models_dir), device="cpu"))
    out = app.detect(str(images["ok"]), "weave", None)
    model_input, i_gen, i_spc, heat, mask, score, text, status, result = out
    assert [a.shape for a in (model_input, i_gen, i_spc)] == [(384, 384, 3)] * 3
    assert heat.shape == mask.shape == (150 * 384 // 200, 384, 3)
    assert result["score"] == float(DSR.load(models_dir / "weave").predict(images["ok"]).score[0])
    assert score == round(result["score"], 4) and text == verdict(result["score"], {"image_threshold": 0.55})
    assert "ok.png: 200×150" in status and "≥ 0.60" in status                # the stored pixel threshold
    assert app.threshold("plain") == FALLBACK_PIXEL_THRESHOLD                  # none stored: 0.5
    assert "no image threshold" in app.detect(str(images["ok"]), "plain", None)[6]
    red = lambda im: int(((im[..., 0] == 255) & (im[..., 1] == 0) & (im[..., 2] == 0)).sum())   # the outline
    ok = str(images["ok"])
    assert red(app.redraw(ok, "weave", 1.0)[0]) == 0 < red(app.redraw(ok, "weave", 0.6)[0])
    assert np.array_equal(app.redraw(ok, "weave", 0.6)[0], mask)
    assert "≥ 0.30" in app.redraw(ok, "weave", 0.3)[1]                         # the status follows the slider


@pytest.mark.parametrize("name,message", BAD)
def test_bad_upload_as_function(models_dir, images, name, message):
    app = DemoApp(ModelStore(checkpoint_folders(models_dir), device="cpu"))
    with pytest.raises(gr.Error, match=re.escape(message)):
        app.detect(str(images[name]) if name else None, "weave", 0.5)
    assert app.detect(str(images["ok"]), "weave", 0.5)[5] > 0                  # still answering


def test_rgba_and_16bit_are_read_not_refused(models_dir, images):
    app = DemoApp(ModelStore(checkpoint_folders(models_dir), device="cpu"))
    assert "composited on black" in app.detect(str(images["rgba"]), "weave", 0.5)[7]
    out16 = app.detect(str(images["grey16"]), "weave", 0.5)
    assert "16-bit greyscale" in out16[7]
    assert out16[0].std() > 5                                                   # a ramp, not a white square


def test_playground_as_function(models_dir, images):
    app = DemoApp(ModelStore(checkpoint_folders(models_dir), device="cpu"))
    ok = str(images["ok"])
    editor_bg, _ = app.pick(ok)
    a = app.inject(ok, None, "weave", "both", 0.8, "perlin", 7, 0.5)
    b = app.inject(ok, None, "weave", "both", 0.8, "perlin", 7, 0.5)
    c = app.inject(ok, None, "weave", "both", 0.8, "perlin", 8, 0.5)
    assert all(np.array_equal(x, y) for x, y in zip(a[0] + a[1:4], b[0] + b[1:4])) and a[4] == b[4]   # seeded
    assert not np.array_equal(a[1], c[1])                                       # another seed, another mask
    layer = np.zeros((*editor_bg.shape[:2], 4), np.uint8)
    layer[:40, :60, 3] = 255                                                    # paint the top-left corner
    res = app.inject(ok, {"background": editor_bg, "layers": [layer], "composite": editor_bg}, "weave", "hi",
                     0.8, "drawn", 0, 0.5)
    green = (res[1][..., 1] > 150) & (res[1][..., 0] < 100)
    ys, xs = np.nonzero(green)
    assert len(ys) and ys.max() < editor_bg.shape[0] // 2 and xs.max() < editor_bg.shape[1] // 2
    with pytest.raises(gr.Error, match="Nothing drawn yet"):
        app.inject(ok, {"layers": [np.zeros_like(layer)]}, "weave", "both", 0.5, "drawn", 0, 0.5)


def test_official_weights_through_the_app(tmp_path, images):
    "The authors' file layout (random values of their exact keys and shapes) becomes a model in the picker."
    keys = json.loads((REPO / "tests" / "fixtures" / "official_keys.json").read_text())["modules"]
    g = torch.Generator().manual_seed(0)
    fake = lambda sd: {k: torch.randn(*s, generator=g) * 0.02 + ("cluster_size" in k) for k, s in sd.items()}
    torch.save(fake(keys["discrete_latent_model"]["state_dict"]), tmp_path / OFFICIAL_VQ)
    for name, spec in keys.items():
        if name != "discrete_latent_model":
            torch.save(fake(spec["state_dict"]), tmp_path / spec["file"].replace("<category>", "bottle"))
    demo = build_demo(official_dir=tmp_path, bundled=False, device="cpu")
    app = demo.dsr_app
    assert app.store.names == ["official/bottle"]
    out = app.detect(str(images["second"]), "official/bottle", None)
    assert app.store.get("official/bottle").cfg.channel_order == "BGR" and out[0].shape == (384, 384, 3)
    assert "0.5" in out[7] and "no image threshold" in out[6]                   # no thresholds stored


# ---------------------------------------------------------------------------------------------------- launched
def test_end_to_end_with_gradio_client(server, models_dir, images):
    demo, url = server
    client = Client(url, verbose=False)
    res = client.predict(handle_file(str(images["ok"])), "weave", 0.6, api_name="/detect")
    assert len(res) == 9
    for path in res[:5]:
        assert Path(path).is_file() and _is_png(path)                         # every picture, as PNG
    expected = float(DSR.load(models_dir / "weave").predict(images["ok"]).score[0])
    assert res[8]["score"] == pytest.approx(expected, abs=1e-6) and res[5] == round(res[8]["score"], 4)
    assert res[8]["anomalous"] == (expected >= 0.55) and res[8]["image_threshold"] == 0.55
    assert res[6] == verdict(res[8]["score"], {"image_threshold": 0.55}) and "ok.png" in res[7]
    for name, message in BAD:                                                   # bad uploads: a message, then on
        with pytest.raises(AppError, match=re.escape(message)):
            client.predict(handle_file(str(images[name])) if name else None, "weave", 0.5, api_name="/detect")
    again = client.predict(handle_file(str(images["second"])), "plain", 0.5, api_name="/detect")
    assert Path(again[3]).is_file() and "no image threshold" in again[6]
    assert "16-bit" in client.predict(handle_file(str(images["grey16"])), "weave", 0.5, api_name="/detect")[7]
    picked = client.predict(handle_file(str(images["ok"])), api_name="/pick")
    assert Path(picked[0]["background"]).is_file()
    inj = Client(url, verbose=False).predict(handle_file(str(images["ok"])), None, "weave", "lo", 0.7, "perlin", 3, 0.5,
                                             api_name="/inject")               # a new session: /inject on its own
    assert len(inj) == 5 and all(Path(p).is_file() and _is_png(p) for p in list(inj[0]) + list(inj[1:4]))
    assert "edited" in inj[4]
    layer = np.zeros((150, 200, 4), np.uint8); layer[:50, :60] = 255           # a painted corner, sent as a file
    Image.fromarray(layer).save(images["ok"].parent / "layer.png")
    drawn = client.predict(handle_file(str(images["ok"])), {"background": None, "composite": None,
                           "layers": [handle_file(str(images["ok"].parent / "layer.png"))]},
                           "weave", "hi", 0.7, "drawn", 0, 0.5, api_name="/inject")
    assert "edited" in drawn[4]
    with pytest.raises(AppError, match="Nothing drawn yet"):
        client.predict(handle_file(str(images["ok"])), None, "weave", "hi", 0.7, "drawn", 0, 0.5, api_name="/inject")
    assert demo.dsr_app.store.loaded("weave")


def test_dsr_nb_demo_subcommand_launches(models_dir, images):
    import argparse
    top = argparse.ArgumentParser(prog="dsr-nb")
    add_demo_subcommand(top.add_subparsers(dest="command"))
    port = free_port()
    args = top.parse_args(["demo", "--models", str(models_dir), "--no-bundled", "--device", "cpu",
                           "--host", "127.0.0.1", "--port", str(port)])
    demo = args.func(args, prevent_thread_lock=True)
    try:
        assert demo.dsr_app.store.loaded("weave") and demo.dsr_app.store.loaded("plain")   # preloaded
        res = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            handle_file(str(images["ok"])), "plain", 0.5, api_name="/detect")
        assert Path(res[3]).is_file()
    finally:
        demo.close()


def test_demo_starts_with_the_good_models_and_names_the_bad(models_dir, tmp_path, images, capsys):
    "One damaged folder among the models: the app starts with the others and its log names the damaged ones."
    import argparse
    d = tmp_path / "models"
    for name in ("good", "cut", "torn"): shutil.copytree(models_dir / "weave", d / name)
    w = d / "cut" / "model.safetensors"; w.write_bytes(w.read_bytes()[:100])
    (d / "torn" / "config.json").write_text('{"config": ')
    top = argparse.ArgumentParser(prog="dsr-nb")
    add_demo_subcommand(top.add_subparsers(dest="command"))
    port = free_port()
    args = top.parse_args(["demo", "--models", str(d), "--no-bundled", "--device", "cpu", "--host", "127.0.0.1",
                           "--port", str(port)])
    demo = args.func(args, prevent_thread_lock=True)
    try:
        log = capsys.readouterr().out
        assert demo.dsr_app.store.names == ["good"]
        assert "left out model 'cut'" in log and "left out model 'torn'" in log and str(d / "cut") in log
        res = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            handle_file(str(images["ok"])), "good", 0.5, api_name="/detect")
        assert Path(res[3]).is_file()
    finally:
        demo.close()


# ---------------------------------------------------------------------------------------------------- the Space
def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            pytest.fail(f"the Space app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200: return
        except OSError:
            time.sleep(1)
    pytest.fail(f"the Space app did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def test_space_folder_runs_on_its_own(tmp_path, models_dir, images):
    examples = tmp_path / "examples" / "weave"
    examples.mkdir(parents=True)
    shutil.copy(images["ok"], examples / "ok.png")
    out = build_space.build_space(tmp_path / "space", models=models_dir, examples=tmp_path / "examples")
    for f in ["app.py", "README.md", "requirements.txt", "dsr_nb/__init__.py", "dsr_nb/demo.py",
              "dsr_nb/weights/models/weave/model.safetensors", "dsr_nb/weights/models/weave/README.md",
              "dsr_nb/weights/examples/weave/ok.png"]:
        assert (out / f).is_file(), f
    readme = (out / "README.md").read_text()
    header = readme.split("---")[1]
    for line in ["sdk: gradio", "sdk_version: 6.31.0", "app_file: app.py", 'python_version: "3.12"',
                 "license: cc-by-nc-sa-4.0", "title:", "emoji:"]:
        assert line in header, line
    short = re.search(r"^short_description: (.*)$", header, re.M).group(1)
    assert len(short) <= 60, f"the Hub refuses a short_description of {len(short)} characters (at most 60)"
    reqs = (out / "requirements.txt").read_text()
    assert not re.search(r"^gradio", reqs, re.M)
    assert re.search(r"^torch==\d+\.\d+\.\d+\+cpu$", reqs, re.M) and "download.pytorch.org/whl/cpu" in reqs   # not the CUDA build
    with pytest.raises(FileExistsError):
        build_space.build_space(out)

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DSR_NB_MODELS", "DSR_NB_OFFICIAL")}
    env.update(PYTHONPATH=str(out), GRADIO_ANALYTICS_ENABLED="False", OMP_NUM_THREADS="1")
    where = subprocess.run([sys.executable, "-c", "import dsr_nb.demo as d; print(d.__file__)"], cwd=out, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).resolve().is_relative_to(out.resolve()), where    # the copy, not this repository
    port = free_port()
    log = tmp_path / "space.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)], cwd=out,
                                env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_http(url, proc, log)
        client = Client(url, verbose=False)
        res = client.predict(handle_file(str(images["ok"])), "weave", 0.5, api_name="/detect")
        assert all(Path(p).is_file() for p in res[:5])
        assert res[8]["score"] == pytest.approx(float(DSR.load(models_dir / "weave").predict(images["ok"]).score[0]),
                                                abs=1e-6)
        assert str(out) in log.read_text()                                       # it says where dsr_nb came from
    finally:
        proc.terminate()
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: proc.kill()


# ---------------------------------------------------------------------------------------------------- browser
def test_in_a_real_browser(tmp_path, models_dir, images):
    "Headless Chromium: upload, wait for every picture, screenshot; the pictures are not blank."
    try:
        screenshot.find_chromium()
    except RuntimeError as e:
        pytest.fail(str(e))                                                       # says how to install it
    out = tmp_path / "shot.png"
    res = screenshot.main(["--model", str(models_dir / "weave"), "--image", str(images["ok"]), "--out", str(out)])
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] >= 1000
    for elem in ["dsr-model-input", "dsr-heat", "dsr-mask"]:       # (an untrained I_spc may well be uniform)
        png = res["pictures"][elem]
        a = np.asarray(Image.open(__import__("io").BytesIO(png)).convert("RGB"), dtype=np.float32)
        assert a.std() > 5, f"{elem} looks blank (std {a.std():.1f})"
    assert res["verdict"].startswith(("ANOMALOUS", "normal")) and "ok.png" in res["status"]


def test_bad_uploads_in_a_real_browser(server, images):
    "Each bad upload shows our message in the page, and the next good upload still gets a verdict."
    try:
        screenshot.find_chromium()
    except RuntimeError as e:
        pytest.fail(str(e))
    _, url = server
    messages, after = screenshot.upload_messages(url, [images[n] for n in ["text", "one", "huge", "empty"]],
                                                 images["ok"])
    expected = ["No image", "not an image file", "too small (1×1", "too large (10000×10000", "is empty"]
    assert len(messages) == len(expected)
    for got, want in zip(messages, expected):
        assert want in got, (want, got)
    assert after.startswith(("ANOMALOUS", "normal"))


def test_phone_width_in_a_real_browser(tmp_path):
    "The bundled models' page on a small phone (360 px wide) after a detection, both tabs: no text cut off, past the "
    "right edge or under a panel's buttons, no sideways scrolling."
    try:
        screenshot.find_chromium()
    except RuntimeError as e:
        pytest.fail(str(e))
    from dsr_nb.registry import bundled_examples
    port = free_port()
    demo = launch_demo(device="cpu", host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    try:
        example = next(p for p, name in bundled_examples() if name == "elpv-mono")
        problems = screenshot.layout_problems(f"http://127.0.0.1:{port}/", example, width=360,
                                             out=tmp_path / "phone.png")
    finally:
        demo.close()
    assert problems == [], "\n".join(problems)
    with Image.open(tmp_path / "phone.png") as im:
        assert im.size[0] == 360


def test_store_never_follows_a_linked_card_nor_shows_server_paths(models_dir, tmp_path):
    "A README.md that links out of its model folder is not served; a damaged model is one line without a path."
    import shutil
    from dsr_nb.serving import ModelStore
    from dsr_nb.images import DataError
    secret = tmp_path / "secret.txt"; secret.write_text("server secret")
    linked = tmp_path / "linked"; shutil.copytree(models_dir / "weave", linked)
    (linked / "README.md").unlink(missing_ok=True); (linked / "README.md").symlink_to(secret)
    damaged = tmp_path / "damaged"; shutil.copytree(models_dir / "weave", damaged)
    w = damaged / "model.safetensors"; w.write_bytes(w.read_bytes()[:100])
    store = ModelStore({"linked": linked, "damaged": damaged}, device="cpu")
    assert store.card("linked") is None
    store.get("linked")                                      # the weights themselves are fine
    with pytest.raises(DataError) as e: store.get("damaged")
    assert str(tmp_path) not in str(e.value) and "could not be loaded" in str(e.value)


def test_detect_refuses_a_threshold_outside_0_1(models_dir, images):
    import gradio as gr
    from dsr_nb.serving import ModelStore, DemoApp
    app = DemoApp(ModelStore({"weave": models_dir / "weave"}, device="cpu"))
    for bad in (7, -1, "x"):
        with pytest.raises(gr.Error): app.detect(str(images["ok"]), "weave", bad)
    assert app.detect(str(images["ok"]), "weave", 1.0)[5] >= 0         # the edges are allowed
