"""One process of the multi-process tests in test_ddp.py (started by torchrun, or alone for the reference run).

    python ddp_worker.py lib OUT SPY [ANOMALIES]   # train_dsr on a fixed random image tensor (3 + 1 iterations,
                                                   # batch 4; stage-2 anomalies "latent" (default), "uniform" or "image")
    python ddp_worker.py cli SPY ARGS...           # dsr_nb.cli.main(ARGS)

In both modes the process records which files it wrote (checkpoints, the synthetic data cache) and writes that
record, with its training log, to SPY/rank<RANK>.json when it ends: the tests check that only process 0 wrote.
In lib mode it also records how many DDP wrappers and optimisers outlive `train_dsr` with the garbage collector off
(chapter 11b).
"""
import gc, json, os, sys
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel as DDP

torch.set_num_threads(1)
import dsr_nb.synthetic as D
import dsr_nb.model as M

RANK = int(os.environ.get("RANK", "0"))
record = {"rank": RANK, "world": int(os.environ.get("WORLD_SIZE", "1")), "saves": [], "synthetic": [], "log": None}

_save, _write = M.save_checkpoint, D._write_synthetic

def spy_save(path, *a, **kw):
    record["saves"].append(str(path))
    return _save(path, *a, **kw)

def spy_write(work, *a, **kw):
    record["synthetic"].append(str(work))
    return _write(work, *a, **kw)

M.save_checkpoint, D._write_synthetic = spy_save, spy_write


def lib(out: str, anomalies: str = "latent") -> None:
    from dataclasses import asdict
    from dsr_nb.config import DSRConfig
    from dsr_nb.train import TrainConfig, train_dsr
    from dsr_nb.devices import close_distributed
    images = (torch.rand(8, 3, 128, 128, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)
    tcfg = TrainConfig.tiny().replace(batch_size=4, stage2_iters=3, stage3_iters=1, save_every=2, lr=2e-4,   # test_ddp.py bounds weight drift by this lr
                                      anomalies=anomalies)
    gc.disable()                          # what train_dsr leaves behind must go by reference counting alone
    try:
        _, log = train_dsr(images, DSRConfig.tiny(), tcfg, out=out, seed=1, device="cpu", progress=False)
        record["log"] = asdict(log)
        alive = [type(o) for o in gc.get_objects()]     # type(o), not isinstance: that would wake lazy objects (11b)
        record["ddp_alive"] = sum(issubclass(t, DDP) for t in alive)
        record["optimizers_alive"] = sum(issubclass(t, torch.optim.Optimizer) for t in alive)
    finally:
        gc.enable()
        close_distributed()


if __name__ == "__main__":
    mode = sys.argv[1]
    spy = Path(sys.argv[3] if mode == "lib" else sys.argv[2])
    try:
        if mode == "lib": lib(sys.argv[2], *sys.argv[4:5])            # OUT and, if given, ANOMALIES
        else:
            from dsr_nb.cli import main
            main(sys.argv[3:])
    finally:
        (spy / f"rank{RANK}.json").write_text(json.dumps(record))
