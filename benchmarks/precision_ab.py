"""A/B timing of a case's training step in float32 and bfloat16, with tfgen's fused batch norm
and with Keras's: short alternating timings, many repeats, the fastest and the median of each.

    python benchmarks/precision_ab.py [--case mnist-dcgan] [--batch 64] [--repeats 8]

This VM runs at two or three discrete speed levels that change every few seconds (BENCHMARKS.md,
top); ratios between settings are read from the fastest repeat of each (all at the fast level)
and, as a check, from the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", default="mnist-dcgan")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--spe", type=int, default=5)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    import keras
    from keras import layers

    from benchmarks.throughput import peaks_gflops, prepare, tfgen_model
    from tfgen import data
    from tfgen.networks import blocks

    cfg, source, family = prepare(args.case, args.batch)
    ds = data.load(source, "train", batch_size=args.batch * family.batches_per_step(cfg), seed=0,
                   labels=False)
    fused_bn = blocks.BatchNormalization
    models = {}
    for bn_name, bn_cls in (("fused BN", fused_bn), ("Keras BN", layers.BatchNormalization)):
        blocks.BatchNormalization = bn_cls  # what blocks.bn() builds
        for precision in ("float32", "mixed_bfloat16"):
            keras.mixed_precision.set_global_policy(precision)
            try:
                models[f"{precision}, {bn_name}"] = tfgen_model(cfg, source, family, args.spe,
                                                                False)
            finally:
                keras.mixed_precision.set_global_policy("float32")
    blocks.BatchNormalization = fused_bn
    times = {name: [] for name in models}
    for model in models.values():
        model.fit(ds, epochs=1, steps_per_epoch=2 * args.spe, verbose=0)
    peaks = [peaks_gflops()]
    for _ in range(args.repeats):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(ds, epochs=1, steps_per_epoch=args.steps, verbose=0)
            times[name].append(args.steps * args.batch / (time.perf_counter() - start))
    peaks.append(peaks_gflops())
    rows = {n: {"best_samples_per_s": round(max(t), 1),
                "median_samples_per_s": round(statistics.median(t), 1),
                "repeats": [round(x, 1) for x in t]} for n, t in times.items()}
    for n, r in rows.items():
        print(f"{n:28s} best {r['best_samples_per_s']:7.1f}  median "
              f"{r['median_samples_per_s']:7.1f} samples/s  {r['repeats']}")
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                   f"precision-ab-{args.case}.json")
    with open(out, "w") as fh:
        json.dump({"case": args.case, "batch": args.batch, "steps_per_execution": args.spe,
                   "peaks_gflops": peaks, "settings": rows}, fh, indent=2)
    print(f"peaks: {peaks}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
