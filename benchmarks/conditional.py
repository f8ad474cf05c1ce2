"""Class-conditional presets at equal wall time (issue 16): the BigGAN-style network
(`fmnist-biggan`) against the conditional DCGAN (`fmnist-cgan`) -- FD, intra-class FD and CAS.

    python benchmarks/conditional.py [--presets fmnist-cgan fmnist-biggan] [--seeds 0 1 2]
        [--minutes 8 | --steps 3400] [--truncation 0.25 0.5 1 2] [--out FILE] [--table]

Each run trains a preset from scratch for the same wall time (`benchmarks/timed.py`; run it on an
otherwise idle machine) or, with `--steps`, for the same number of steps (then other work on the
machine slows a run but does not change it), then evaluates its EMA generator as `tfgen evaluate` does: 10,000
samples with the test split's labels against the 10,000 test images in tfgen's classifier
features -- Fréchet distance, KID, precision/recall, intra-class FD (mean over the classes),
the extractor's accuracy on the samples' labels, and CAS (Ravuri & Vinyals 2019: a classifier
trained on 10,000 generated (image, label) pairs, tested on the real test split, beside the same
classifier trained on 10,000 real training images). Seed 0 of each preset also gets the
truncation sweep (`tfgen evaluate --truncation`): its rows in the results and the picture
truncation-PRESET.png beside the results file.

Results: benchmarks/results/conditional.json, rewritten after every run; a re-run skips the runs
already there (`--table` prints the recorded runs' table and trains nothing).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from runs import RunsFile, add_results_arguments, default_path, mean_spread  # benchmarks/runs.py
from timed import train_for  # benchmarks/timed.py

METRICS = ("frechet_distance", "intra_fd", "cas", "kid", "precision", "recall",
           "label_accuracy", "class_kl")


def budget(run) -> str:
    """A run's training budget as the table shows it: "6 min" or "3,400 steps"."""
    return f"{run['minutes']:g} min" if run["minutes"] else f"{run.get('step_budget'):,} steps"


def one_run(preset, seed, minutes, steps, truncation, evaluators, picture_dir) -> dict:
    from tfgen import data
    from tfgen.metrics.evaluation import Evaluator
    from tfgen.trainers import evaluate

    cfg, model, source, run = train_for(preset, [f"seed={seed}"], seed,
                                        60.0 * minutes if minutes else None, steps)
    full = data.source(dataclasses.replace(cfg.data, train_examples=None))
    if "full" not in evaluators:
        evaluators["full"] = Evaluator(full, "test", num=min(10_000, full.num_examples("test")),
                                       seed=0, memorisation=False, cas=True)
    ev = evaluators["full"]
    values = ev.values(model)
    out = {"preset": preset, "seed": seed, "minutes": minutes, "step_budget": steps, **run,
           **{k: values[k] for k in METRICS},
           "intra_fd_per_class": ev.details["intra_fd_per_class"],
           "baseline": {k: ev.baselines.get(k) for k in METRICS}}
    if truncation and seed == 0:
        out["truncation"] = evaluate.truncation_sweep(
            model, full, sorted(truncation), os.path.join(picture_dir, f"truncation-{preset}.png"),
            f"{preset}, {budget(out)}: quality vs diversity", num=ev.num)
    return out


def summarise(runs) -> list[dict]:
    """Per (preset, budget): mean and sample standard deviation over seeds."""
    table = []
    for key in sorted({(budget(r), r["preset"]) for r in runs}):
        rs = [r for r in runs if (budget(r), r["preset"]) == key]
        table.append({"budget": key[0], "preset": key[1], "seeds": len(rs),
                      "steps": statistics.mean(r["steps"] for r in rs),
                      **{k: mean_spread(r[k] for r in rs) for k in METRICS}})
    return table


def markdown(runs) -> str:
    """BENCHMARKS.md's table: mean ± standard deviation over seeds, then the real-vs-real
    baselines (CAS: the same classifier trained on real images)."""
    cols = [("frechet_distance", "FD ↓", 2), ("intra_fd", "intra-class FD ↓", 2),
            ("cas", "CAS ↑", 3), ("kid", "KID ↓", 4), ("precision", "precision ↑", 3),
            ("recall", "recall ↑", 3), ("label_accuracy", "label accuracy ↑", 3)]
    lines = ["| preset | budget | seeds | steps | " + " | ".join(c[1] for c in cols) + " |",
             "| --- " * (4 + len(cols)) + "|"]
    for e in summarise(runs):
        cells = [f"{e[k][0]:.{d}f} ± {e[k][1]:.{d}f}" for k, _, d in cols]
        lines.append(f"| {e['preset']} | {e['budget']} | {e['seeds']} | {e['steps']:,.0f} | "
                     + " | ".join(cells) + " |")
    if runs:
        base = runs[0]["baseline"]
        lines.append("| real vs real | – | – | – | " + " | ".join(
            "–" if base.get(k) is None else f"{base[k]:.{d}f}" for k, _, d in cols) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=["fmnist-cgan", "fmnist-biggan"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    budgets = parser.add_mutually_exclusive_group()
    budgets.add_argument("--minutes", type=float, help="wall time per run (default 8)")
    budgets.add_argument("--steps", type=int, help="train steps per run instead of a wall time")
    parser.add_argument("--truncation", type=float, nargs="*", default=[0.25, 0.5, 1.0, 2.0],
                        help="ψ values of seed 0's truncation sweep (none: no sweep)")
    add_results_arguments(parser, "conditional")
    args = parser.parse_args(argv)
    if any(p <= 0 for p in args.truncation):
        parser.error("--truncation values must be > 0")
    if args.steps is not None and args.steps < 1:
        parser.error("--steps must be >= 1")
    if args.steps is None and args.minutes is None:
        args.minutes = 8.0
    results = RunsFile(args.out or default_path("conditional"), summarise)
    evaluators = {}
    for seed in [] if args.table else args.seeds:
        for preset in args.presets:
            if results.done(preset=preset, seed=seed, minutes=args.minutes,
                            step_budget=args.steps):
                continue
            results.add(one_run(preset, seed, args.minutes, args.steps, args.truncation,
                                evaluators, os.path.dirname(os.path.abspath(results.path))))
    print(markdown(results.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
