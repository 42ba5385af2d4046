"""Record in a trained model which codes its training images use (`meta.codes_seen`, chapter 10), for models trained
before `train_dsr` recorded them; the weights are not touched.

    python tools/add_seen_codes.py dsr_nb/weights/models/*

The training images are read again from the data set named in the model's meta (`data`, `data_category`), train split,
at the model's size. `dsr-nb predict` and the demo then say when an image is unlike them.
"""
import json, os, sys
from pathlib import Path
from dsr_nb.model import DSR, seen_codes
from dsr_nb.data import open_dataset
from dsr_nb.train import load_train_images


def add_seen_codes(folder: Path) -> dict:
    model = DSR.load(folder)
    m = model.meta
    ds = open_dataset(m["data"], m.get("data_category") or m.get("category"), "train", img_size=model.cfg.img_size)
    seen = seen_codes(model.vq, load_train_images(ds, progress=False))
    cfg_path = folder / "config.json"
    doc = json.loads(cfg_path.read_text())
    doc["meta"]["codes_seen"] = seen
    tmp = cfg_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n"); os.replace(tmp, cfg_path)
    return {lvl: bin(int(h, 16)).count("1") for lvl, h in seen.items()}


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        n = add_seen_codes(Path(arg))
        print(f"{arg}: {n['lo']} lo and {n['hi']} hi codes seen in training")
