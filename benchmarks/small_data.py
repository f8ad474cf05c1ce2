"""The small-data table (issue 16): Fashion-MNIST cut to N training images, the same network and
wall time per row, with no augmentation / DiffAugment / ADA / ADA + LeCam / ADA + bCR.

    python benchmarks/small_data.py [--sizes 1000 5000] [--seeds 0 1 2] [--minutes 6]
        [--rows none diffaugment ada ada+lecam ada+bcr] [--preset fmnist-dcgan] [--out FILE]

(Pinned to one core, `taskset -c 0 python benchmarks/small_data.py ...`, the rows keep equal
conditions while the other core does other work; each run records the CPUs it had.)

(`--preset digits-dcgan --sizes 0` runs the same rows on the whole of another preset's data:
issue 16's digits-dcgan goal, at that preset's wall time.)

A plain `fit` script over tfgen's library objects: the `fmnist-dcgan` preset's networks,
optimisers and precision, `data.train_examples=N` (a fixed subset of the train split, the same
for every seed and row), trained until the wall-time budget is spent (checked after every
execution of `steps_per_execution` steps). Then, from the EMA generator: Fréchet distance, KID,
precision and recall of 10,000 samples against the full test split in tfgen's classifier
features (PROTOCOLS.md section 4), the real-vs-real baseline (60,000 train vs test), and the
memorisation fraction against the N training images the row saw. Results are appended to
benchmarks/results/small-data.json after every run; a re-run skips the runs already there.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

# Each row: config overrides on top of the preset. ADA moves p by up to 1 per 100k images here
# (the paper's 500k suits runs of millions of images; a 6-minute run sees about 150k).
ROWS = {
    "none": [],
    "diffaugment": ["model.augment=translation,cutout"],
    "ada": ["model.ada=blit,geom,color", "model.ada_kimg=100"],
    "ada+lecam": ["model.ada=blit,geom,color", "model.ada_kimg=100", "model.lecam=0.3"],
    "ada+bcr": ["model.ada=blit,geom,color", "model.ada_kimg=100", "model.consistency=10"],
}
METRICS = ("frechet_distance", "kid", "precision", "recall", "memorised")


def one_run(preset, size, row, seed, minutes, evaluators) -> dict:
    import keras
    import tensorflow as tf

    from tfgen import data, distribute
    from tfgen.metrics.evaluation import Evaluator
    from tfgen.trainers import families, presets

    cfg = presets.resolve(preset, overrides=[
        *ROWS[row], f"seed={seed}", *([f"data.train_examples={size}"] if size else [])])
    precision = cfg.training.precision
    if precision == "auto":
        precision, _ = distribute.auto_precision(tf.distribute.get_strategy())
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(seed)
    source = data.source(cfg.data, seed=seed)
    family = families.for_config(cfg)
    t = cfg.training
    model = family.build(cfg, source.info, {"steps_per_execution": t.steps_per_execution},
                         total_steps=cfg.epochs * cfg.steps_per_epoch)
    ds = data.load(source, "train", batch_size=cfg.batch_size, seed=seed)
    budget = 60.0 * minutes
    start = time.perf_counter()

    class Budget(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if time.perf_counter() - start > budget:
                self.model.stop_training = True

    history = model.fit(ds, epochs=10_000, steps_per_epoch=cfg.steps_per_epoch, verbose=0,
                        callbacks=[Budget()], shuffle=False)
    wall = time.perf_counter() - start
    keras.mixed_precision.set_global_policy("float32")
    full = data.source(dataclasses.replace(cfg.data, train_examples=None, labels=False))
    num = min(10_000, full.num_examples("test"))
    if "full" not in evaluators:  # FD/KID/PR and the real-vs-real baseline: the whole data
        evaluators["full"] = Evaluator(full, "test", num=num, seed=0, memorisation=False)
    if size not in evaluators:  # memorisation against the N images this row trained on
        evaluators[size] = Evaluator(source, "test", num=num, seed=0, baseline=False,
                                     memorisation=True)
    quality = evaluators["full"].values(model)
    memorised = evaluators[size].values(model)["memorised"]
    logs = {k: float(v[-1]) for k, v in history.history.items() if k in ("ada_p", "ada_rt")}
    return {"preset": preset, "size": size or full.num_examples("train"), "row": row,
            "seed": seed, "dtype": precision, "cpus": len(os.sched_getaffinity(0)),
            "steps": int(model.step.numpy()), "wall_s": round(wall, 1),
            **{k: quality[k] for k in METRICS[:-1]}, "memorised": memorised, **logs,
            "baseline": {k: evaluators["full"].baselines.get(k) for k in METRICS[:-1]}}


def summarise(runs) -> list[dict]:
    table = []
    for size in sorted({r["size"] for r in runs}):
        for row in ROWS:
            rs = [r for r in runs if r["size"] == size and r["row"] == row]
            if not rs:
                continue
            entry = {"size": size, "row": row, "seeds": len(rs),
                     "steps": statistics.mean(r["steps"] for r in rs)}
            for k in METRICS:
                values = [r[k] for r in rs]
                entry[k] = [statistics.mean(values),
                            statistics.stdev(values) if len(values) > 1 else 0.0]
            table.append(entry)
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000],
                        help="training images per row (0: the whole train split)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--minutes", type=float, default=6.0, help="wall time per run")
    parser.add_argument("--preset", default="fmnist-dcgan")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    args.out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                        f"small-data-{args.preset}.json")
    result = {"runs": []}
    if os.path.exists(args.out):
        with open(args.out) as fh:
            result = json.load(fh)
    evaluators = {}
    for size in args.sizes:
        for seed in args.seeds:
            for row in args.rows:
                done = any(r["requested_size"] == size and r["row"] == row
                           and r["seed"] == seed and r["minutes"] == args.minutes
                           for r in result["runs"])
                if done:
                    continue
                run = {**one_run(args.preset, size, row, seed, args.minutes, evaluators),
                       "requested_size": size,
                       "minutes": args.minutes}
                result["runs"].append(run)
                result["summary"] = summarise(result["runs"])
                with open(args.out, "w") as fh:
                    json.dump(result, fh, indent=1)
                print(json.dumps({k: v for k, v in run.items() if k != "baseline"}), flush=True)
    print(json.dumps(result.get("summary", []), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
