"""anomalib's DSR next to ours with the same weights: loading anomalib's two DSR files, writing its weights as the
authors' six files, and comparing one stage-2 and one stage-3 training step. Used by `anomalib_compare.py`
(paper preset, by hand) and by `tests/test_anomalib_fidelity.py` (a small size, in CI).

anomalib is never a dependency of dsr_nb and `import anomalib` fails without its many dependencies, so
`load_anomalib` reads `models/image/dsr/torch_model.py` and `loss.py` from an installed anomalib 2.7.0 without
running its package `__init__`; `loss.py` needs kornia (0.9.0).

**Training-step fidelity.** anomalib's phase-2 forward draws its latent anomalies inside the model. We run it,
record what its VQ-VAE returned (clean codes Q, anomalous codes Q_a, M_gt and I_gen, by a forward hook) and give
exactly those to our `stage2_loss`. Then both losses and the gradients of every trained parameter are compared.
Two of anomalib's choices are set aside, on purpose, and named:

* its mask loss is `kornia.losses.FocalLoss(alpha=1)` applied to M, which is already a softmax: kornia ≥ 0.7
  weights the normal class by 1 − α = 0 and applies softmax a second time (chapter 09). Both sides' focal term
  is therefore the authors' focal loss (α = 1 for both classes; our `focal_loss`) applied to each side's own M.
  anomalib's own total is reported too, as `alib_as_is`;
* its learning-rate schedule (not part of a step).

Stage 3: the same images with image-space anomalies and masks go into anomalib's phase-3 forward and into our
`stage3_loss`; the upsampler's loss and gradients are compared.
"""
from __future__ import annotations
import functools, importlib.util, sys, types
from pathlib import Path
from typing import NamedTuple

PINS = ["anomalib==2.7.0", "kornia==0.9.0", "kornia_rs==0.2.0"]
ALIB_PREFIX = {  # our module → (anomalib DsrModel attribute, the authors' file; see dsr_nb.official.OFFICIAL_FILES)
    "srm_hi": "subspace_restriction_module_hi", "srm_lo": "subspace_restriction_module_lo",
    "decoder": "image_reconstruction_network", "adm": "anomaly_detection_module", "ups": "upsampling_module"}
VQ_FILE = "vq_model_pretrained_128_4096.pckl"
SMALL = dict(embedding_dim=16, num_embeddings=64, num_hiddens=32, num_residual_hiddens=16)   # the CI size


class InferenceBatch(NamedTuple):
    "anomalib.data.InferenceBatch: the one anomalib name its DSR torch_model.py imports."
    pred_score: object = None
    pred_label: object = None
    anomaly_map: object = None
    pred_mask: object = None


@functools.lru_cache(None)
def load_anomalib():
    "anomalib's DSR torch_model and loss modules, loaded from their files without importing the anomalib package."
    spec = importlib.util.find_spec("anomalib")            # locates the package without running its __init__
    if spec is None: raise RuntimeError("anomalib is not installed in this interpreter (pip install --no-deps " + " ".join(PINS) + ")")
    root = Path(spec.submodule_search_locations[0]) / "models" / "image" / "dsr"
    pkg, data = types.ModuleType("anomalib"), types.ModuleType("anomalib.data")
    pkg.__path__, data.InferenceBatch = [], InferenceBatch
    sys.modules.setdefault("anomalib", pkg); sys.modules.setdefault("anomalib.data", data)
    mods = []
    for name in ("torch_model", "loss"):
        s = importlib.util.spec_from_file_location(f"anomalib_dsr_{name}", root / f"{name}.py")
        m = importlib.util.module_from_spec(s); s.loader.exec_module(m); mods.append(m)
    return mods


def our_config(sizes: dict | None = None, img_size: int = 256):
    "Our DSRConfig for anomalib's DsrModel(**sizes): the paper preset, or its layout at other sizes."
    from dsr_nb.config import DSRConfig
    if not sizes: return DSRConfig.paper().replace(img_size=img_size, channel_order="BGR")
    d = sizes["embedding_dim"]
    return DSRConfig.paper().replace(img_size=img_size, hidden=sizes["num_hiddens"], res_hidden=sizes["num_residual_hiddens"],
                                     embed_dim=d, num_codes=sizes["num_embeddings"], srm_width=d, osd_width=2 * d,
                                     channel_order="BGR")


def write_weights(folder: Path, seed: int = 0, sizes: dict | None = None) -> None:
    "anomalib's DsrModel(**sizes) (seed `seed`) → the authors' six files plus anomalib's own state dict, in `folder`."
    import torch
    from dsr_nb.official import OFFICIAL_FILES
    tm, _ = load_anomalib()
    torch.manual_seed(seed)
    sd = tm.DsrModel(**(sizes or {})).state_dict()
    torch.save(sd, folder / "anomalib_dsr.pt")
    part = lambda p: {k[len(p) + 1:]: v for k, v in sd.items() if k.startswith(p + ".")}
    torch.save(part("discrete_latent_model"), folder / VQ_FILE)
    for ours, theirs in ALIB_PREFIX.items():
        torch.save(part(theirs), folder / OFFICIAL_FILES[ours].format(category="bench"))


def twins(folder: Path, sizes: dict | None = None, img_size: int = 256):
    "(ours, anomalib's) with the weights `write_weights` left in `folder`; ours loaded by `dsr_from_official`."
    import torch
    from dsr_nb.official import dsr_from_official
    tm, _ = load_anomalib()
    ours = dsr_from_official(folder / VQ_FILE, folder, "bench", cfg=our_config(sizes, img_size))
    alib = tm.DsrModel(**(sizes or {}))
    alib.load_state_dict(torch.load(folder / "anomalib_dsr.pt", weights_only=True))
    return ours, alib


def _grads_by_our_names(alib_module, key_map, drop=None) -> dict:
    "anomalib's parameter gradients of one module, under our parameter names (the loader's key map)."
    from dsr_nb.official import map_keys
    g = {k: p.grad for k, p in alib_module.named_parameters() if p.grad is not None}
    if drop is not None: g = drop(g)
    return map_keys(g, key_map)


def _compare_grads(ours_modules: dict, alib_model, names) -> dict:
    "Per module: the largest |Δ grad| and the largest |grad| of ours, over all its parameters."
    from dsr_nb.official import OFFICIAL_SRM_KEYS, OFFICIAL_OSD_KEYS, OFFICIAL_OSD_STALE, OFFICIAL_UNET_KEYS, drop_keys
    maps = {"srm_hi": (OFFICIAL_SRM_KEYS, None), "srm_lo": (OFFICIAL_SRM_KEYS, None),
            "decoder": (OFFICIAL_OSD_KEYS, lambda s: drop_keys(s, OFFICIAL_OSD_STALE)[0]),
            "adm": (OFFICIAL_UNET_KEYS, None), "ups": (OFFICIAL_UNET_KEYS, None)}
    out = {}
    for name in names:
        key_map, drop = maps[name]
        theirs = _grads_by_our_names(getattr(alib_model, ALIB_PREFIX[name]), key_map, drop)
        mine = {k: p.grad for k, p in ours_modules[name].named_parameters()}
        if set(theirs) != set(mine):
            raise AssertionError(f"{name}: parameters differ: only ours {sorted(set(mine) - set(theirs))[:3]}, "
                                 f"only anomalib's {sorted(set(theirs) - set(mine))[:3]}")
        if any(v is None for v in mine.values()): raise AssertionError(f"{name}: a parameter of ours got no gradient")
        out[name] = {"max_abs_diff": max(float((mine[k] - theirs[k]).abs().max()) for k in mine),
                     "max_abs_grad": max(float(mine[k].abs().max()) for k in mine)}
    return out


def stage2_fidelity(ours, alib, x, masks, seed: int = 0) -> dict:
    "One stage-2 step of each on images x (B×3×S×S, the order the weights expect) with anomalib's latent anomalies under `masks`."
    import torch
    from dsr_nb.detection import focal_loss
    from dsr_nb.train import stage2_loss, Stage2Net
    _, lossmod = load_anomalib()
    rec = {}
    hook = alib.discrete_latent_model.register_forward_hook(lambda m, i, o: rec.update(o))
    ours.train(); alib.train(); ours.zero_grad(set_to_none=True); alib.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    try: o = alib(x, masks)
    finally: hook.remove()
    crit = lossmod.DsrSecondStageLoss()
    args = (o["recon_feat_hi"], o["recon_feat_lo"], o["embedding_bot"], o["embedding_top"], x, o["obj_spec_image"])
    alib_as_is = crit(*args, o["anomaly_map"], o["true_anomaly_map"])
    alib_terms = {"feat": crit.l2_loss(args[0], args[2]) + crit.l2_loss(args[1], args[3]),
                  "image": crit.l2_loss(x, args[5]),
                  "focal": focal_loss(o["anomaly_map"], o["true_anomaly_map"], ours.cfg.focal_gamma)}   # authors' focal
    alib_loss = alib_terms["focal"] + alib_terms["feat"] + 10 * alib_terms["image"]
    alib_loss.backward()
    with torch.no_grad():
        enc = ours.vq.encode(x)                                   # our own encoding and decoding, checked on the way
        i_gen = ours.vq.decode(rec["anomaly_embedding_lo"], rec["anomaly_embedding_hi"])
    net = Stage2Net(ours)
    loss, parts = stage2_loss(ours, x, (rec["quantized_t"], rec["quantized_b"]),
                              (rec["anomaly_embedding_lo"], rec["anomaly_embedding_hi"]), rec["anomaly_mask"],
                              rec["recon_image"], ours.cfg, net)
    loss.backward()
    d = lambda a, b: float((a - b).abs().max())
    return {"loss_ours": loss.item(), "loss_alib": alib_loss.item(), "alib_as_is": alib_as_is.item(),
            "terms": {k: (parts[k].item(), v.item()) for k, v in alib_terms.items()},
            "encode": max(d(enc.q_lo, rec["quantized_t"]), d(enc.q_hi, rec["quantized_b"])),
            "i_gen": d(i_gen, rec["recon_image"]),
            "anomalous_cells": float(rec["anomaly_mask"].mean()),
            "grads": _compare_grads({"srm_hi": ours.srm_hi, "srm_lo": ours.srm_lo, "decoder": ours.decoder, "adm": ours.adm},
                                    alib, ("srm_hi", "srm_lo", "decoder", "adm"))}


def stage3_fidelity(ours, alib, xa, m_gt) -> dict:
    "One stage-3 step of each on images with image-space anomalies xa (B×3×S×S) and their masks m_gt (B×1×S×S)."
    from dsr_nb.detection import focal_loss
    from dsr_nb.train import stage3_loss
    _, lossmod = load_anomalib()
    ours.train(); alib.train(); ours.zero_grad(set_to_none=True); alib.zero_grad(set_to_none=True)
    m_r = alib(xa)["anomaly_map"]
    alib_as_is = lossmod.DsrThirdStageLoss()(m_r, m_gt)
    alib_loss = focal_loss(m_r, m_gt, ours.cfg.focal_gamma)                     # the authors' focal, as above
    alib_loss.backward()
    loss = stage3_loss(ours, xa, m_gt, ours.cfg)
    loss.backward()
    return {"loss_ours": loss.item(), "loss_alib": alib_loss.item(), "alib_as_is": alib_as_is.item(),
            "grads": _compare_grads({"ups": ours.ups}, alib, ("ups",))}


def fidelity(folder: Path, sizes: dict | None = None, img_size: int = 256, batch: int = 2, seed: int = 0) -> dict:
    "Both steps at one size, on Perlin masks and image-space anomalies drawn from `seed`."
    import torch
    from dsr_nb.perlin import perlin_masks
    from dsr_nb.anomalies import image_anomalies
    from dsr_nb.streams import Streams
    ours, alib = twins(folder, sizes, img_size)
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, 3, img_size, img_size, generator=g)
    rng = Streams.for_batch(seed, 0, range(batch))
    masks = perlin_masks(batch, img_size, rng, max_scale_exp=4)
    xa, m_gt = image_anomalies(x, perlin_masks(batch, img_size, Streams.for_batch(seed, 1, range(batch))), rng, 1.0)
    return {"stage2": stage2_fidelity(ours, alib, x, masks, seed), "stage3": stage3_fidelity(ours, alib, xa, m_gt)}


def report(res: dict) -> str:
    "A markdown table of `fidelity`'s result: relative differences of the losses and of each module's gradients."
    rows = ["| step | quantity | ours | anomalib | max abs Δ | relative Δ |", "|---|---|---:|---:|---:|---:|"]
    for st in ("stage2", "stage3"):
        r = res[st]
        rows.append(f"| {st} | loss | {r['loss_ours']:.6g} | {r['loss_alib']:.6g} | {abs(r['loss_ours'] - r['loss_alib']):.1e} | "
                    f"{abs(r['loss_ours'] - r['loss_alib']) / abs(r['loss_alib']):.1e} |")
        for k, (a, b) in r.get("terms", {}).items():
            rows.append(f"| {st} | {k} term | {a:.6g} | {b:.6g} | {abs(a - b):.1e} | {abs(a - b) / max(abs(b), 1e-12):.1e} |")
        for k, g in r["grads"].items():
            rows.append(f"| {st} | grad {k} | max {g['max_abs_grad']:.3g} | | {g['max_abs_diff']:.1e} | "
                        f"{g['max_abs_diff'] / max(g['max_abs_grad'], 1e-30):.1e} |")
        rows.append(f"| {st} | anomalib's own loss (kornia focal, α = 1) | | {r['alib_as_is']:.6g} | | |")
    return "\n".join(rows)
