"""The `--model` / `--train` JSON overrides the probe scripts share (probe_full.py, probe_training.py).

    p = argparse.ArgumentParser(); add_override_args(p); a = p.parse_args()
    cfg, tcfg = tiny_configs(p, a, stage2_iters=400)

A bad JSON, an unknown field or an invalid value ends in one argparse error, not a traceback.
"""
import argparse, json
from dsr_nb.config import DSRConfig
from dsr_nb.train import TrainConfig


def add_override_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="{}", help='JSON of DSRConfig changes to the tiny preset, e.g. \'{"w_feat": 5.0}\'')
    p.add_argument("--train", default="{}", help='JSON of TrainConfig changes to the tiny schedule, e.g. \'{"anomalies": "mixed"}\'')


def tiny_configs(p: argparse.ArgumentParser, a: argparse.Namespace, **train) -> tuple[DSRConfig, TrainConfig]:
    "The tiny presets with `train` (the script's own settings), then the user's --model and --train, applied."
    try:
        cfg = DSRConfig.tiny().replace(**json.loads(a.model))
        tcfg = TrainConfig.tiny().replace(**{**train, **json.loads(a.train)})
    except (ValueError, TypeError) as e:                        # json.JSONDecodeError is a ValueError
        p.error(f"--model/--train: {e}")
    return cfg, tcfg
