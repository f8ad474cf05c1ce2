"""Quality under bfloat16 against float32: a preset trained over seeds in each precision.

    python benchmarks/precision_quality.py --preset ring8-gan [--seeds 0 1 2 3 4]
        [--precisions float32 mixed_bfloat16] [--set KEY=VALUE ...] [--out FILE]

Metrics per preset: the 2-D mixtures PacGAN's (modes, high-quality share, reverse KL; PROTOCOLS
section 1), VAEs the test NLL (K = the preset's eval_samples) and ELBO, image GANs the Fréchet
distance, precision and recall of 10,000 samples against the test split in the features of
tfgen's classifier (PROTOCOLS section 4). Each (seed, precision) is one `tfgen train` run from the
same seed; results go to benchmarks/results/precision-<preset>.json after every run (a stopped
benchmark keeps what it measured; a re-run skips the (seed, precision) pairs already there).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from runs import RunsFile, default_path  # benchmarks/runs.py

KEYS = {"points": ("modes_covered", "high_quality", "reverse_kl"),
        "vae": ("nll", "elbo"),
        "images": ("frechet_distance", "precision", "recall")}


def measure(preset, seed, precision, overrides, evaluators) -> dict:
    from tfgen.metrics.evaluation import Evaluator
    from tfgen.trainers import presets, train
    from tfgen.trainers.rundir import RunDir

    cfg = presets.resolve(preset, overrides=[*overrides, f"seed={seed}",
                                             f"training.precision={precision}"])
    with tempfile.TemporaryDirectory() as tmp:
        start = time.time()
        metrics = train.run(cfg, run_dir=os.path.join(tmp, "run"), progress=False)
        row = {"seed": seed, "precision": metrics["precision"], "steps": metrics["steps"],
               "wall_time_s": round(time.time() - start, 1),
               "train_steps_per_s": metrics["steps_per_s"]}
        quality = metrics.get("quality") or {}
        if "nll" in quality:
            kind = "vae"
        elif "modes_covered" in quality:
            kind = "points"
        else:
            kind = "images"
            from tfgen import data

            if "fd" not in evaluators:
                evaluators["fd"] = Evaluator(data.source(cfg.data, seed=0), "test", num=10_000,
                                             seed=0, progress=False)
            quality = evaluators["fd"].values(RunDir(os.path.join(tmp, "run")).model())
    # "precision" is the row's dtype policy; the sample-precision metric is renamed.
    row.update({("sample_precision" if k == "precision" else k): quality[k] for k in KEYS[kind]})
    return row


def summarise(rows, precisions) -> dict:
    import numpy as np

    keys = [k for k in rows[0] if k not in ("seed", "precision", "steps")]
    out = {}
    for p in precisions:
        mine = [r for r in rows if r["precision"] == p]
        if not mine:
            continue
        out[p] = {}
        for k in keys:
            v = np.array([r[k] for r in mine], np.float64)
            se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0
            out[p][k] = [round(float(v.mean()), 5), round(float(se), 5), len(v)]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    import logging

    from tfgen.trainers import cli  # noqa: F401  (quiet start-up)

    logging.getLogger("tfgen").setLevel(logging.WARNING)
    results = RunsFile(args.out or default_path(f"precision-{args.preset}"),
                       lambda runs: summarise(runs, args.precisions),
                       preset=args.preset, overrides=args.overrides)
    evaluators: dict = {}
    for seed in args.seeds:
        for precision in args.precisions:
            if not results.done(seed=seed, precision=precision):
                results.add(measure(args.preset, seed, precision, args.overrides, evaluators))
    print(json.dumps(results.summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
