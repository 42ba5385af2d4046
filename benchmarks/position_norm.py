"""Does DSR's anomaly map raise false alarms at fixed places of aligned images, which normal statistics remove?

    python benchmarks/position_norm.py elpv-poly --data elpv --category poly

Solar cells are aligned: a busbar or a corner sits at the same pixels in every cell. If the detector's coarse map
M lights up there on normal cells, scoring M against its own per-pixel statistics on the normal *training* images
(which neither the thresholds nor the test see) would remove those alarms. The script runs the model once on the
normal training images and once on the validation and the test split, and prints one Markdown table (image AUROC
and AP on both splits) for four scores, each the peak of the model's k×k mean like DSR's own:

- `DSR`: M itself;
- `M − mean`: M minus its per-pixel mean over the normal training images;
- `z, eps 0.05` and `z, eps 0.01`: that difference over the per-pixel standard deviation plus eps.

Only the validation columns may choose a variant; the test columns are read once.
"""
from splits import labelled_images, model_command_line, peak_score, val_test_table    # benchmarks/splits.py


def main(argv=None):
    a, model = model_command_line(__doc__, argv)
    size, k = model.cfg.img_size, model.cfg.score_kernel
    train, y_train = labelled_images(a.data, a.category, "train", size)
    normal = [im for im, y in zip(train, y_train) if y == 0]
    m_train = model.predict(normal, batch_size=16).coarse_map                  # N×S×S
    mean, std = m_train.mean(0), m_train.std(0)                                 # S×S each
    variants = {"DSR": lambda m: m, "M − mean": lambda m: m - mean,
                "z, eps 0.05": lambda m: (m - mean) / (std + 0.05), "z, eps 0.01": lambda m: (m - mean) / (std + 0.01)}
    scores, labels = {name: {} for name in variants}, {}
    for split in ("val", "test"):
        images, labels[split] = labelled_images(a.data, a.category, split, size)
        m1 = model.predict(images, batch_size=16).coarse_map                    # N×S×S
        for name, f in variants.items(): scores[name][split] = peak_score(f(m1), k)
    print(f"# {a.model} on {a.data}/{a.category or ''}: statistics from {len(normal)} normal training images, kernel {k}")
    print(val_test_table(scores, labels, first="score"))


if __name__ == "__main__":
    main()
