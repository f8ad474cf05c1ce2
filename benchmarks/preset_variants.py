"""A preset against variants of itself: each variant is a set of config overrides, trained by
`tfgen train` (the preset's own steps, so each variant spends the time its settings cost) and
scored by `tfgen evaluate` (test split, tfgen's classifier features, real-vs-real baseline).

    python benchmarks/preset_variants.py --preset digits-dcgan --seeds 0 1 2 \\
        --variant ema model.ema_decay=0.999 --variant ema+r1 model.ema_decay=0.999 \\
        model.regularizers.r1.gamma=1 [--out FILE] [--table]

The preset itself is always the first variant ("preset"). Results: one run per (variant, seed)
with its wall time, steps and metrics, appended to benchmarks/results/variants-PRESET.json; a
re-run skips the runs already there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from runs import (  # benchmarks/runs.py
    RunsFile,
    add_results_arguments,
    add_variant_argument,
    default_path,
    mean_spread,
    parse_variants,
)

METRICS = ("frechet_distance", "kid", "precision", "recall")


def one_run(preset, name, overrides, seed) -> dict:
    from tfgen.trainers import evaluate, presets, train

    cfg = presets.resolve(preset, overrides=[*overrides, f"seed={seed}"])
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = os.path.join(tmp, "run")
        metrics = train.run(cfg, run_dir=run_dir, progress=False)
        result = evaluate.run(run_dir, progress=False, cas=False)
    return {"preset": preset, "variant": name, "overrides": list(overrides), "seed": seed,
            "steps": metrics["steps"], "wall_s": metrics["wall_time_s"],
            **{k: result["metrics"][k] for k in METRICS if k in result["metrics"]},
            "baseline": {k: result["baselines"].get(k) for k in METRICS}}


def summarise(runs) -> list[dict]:
    table = []
    for name in dict.fromkeys(r["variant"] for r in runs):
        rs = [r for r in runs if r["variant"] == name]
        table.append({"variant": name, "overrides": rs[0]["overrides"], "seeds": len(rs),
                      "wall_s": statistics.mean(r["wall_s"] for r in rs),
                      **{k: mean_spread((r[k] for r in rs), "sem") for k in METRICS}})
    return table


def markdown(runs) -> str:
    """Mean ± standard error over seeds, then the real-vs-real baseline."""
    lines = ["| variant | overrides | seeds | wall time (s) | FD ↓ | KID ↓ | precision ↑ | "
             "recall ↑ |", "| --- " * 8 + "|"]
    for e in summarise(runs):
        cells = [f"{e[k][0]:.3f} ± {e[k][1]:.3f}" for k in METRICS]
        lines.append(f"| {e['variant']} | {' '.join(e['overrides']) or '–'} | {e['seeds']} | "
                     f"{e['wall_s']:.0f} | " + " | ".join(cells) + " |")
    if runs:
        base = runs[0]["baseline"]
        lines.append("| real vs real | – | – | – | " + " | ".join(
            f"{base[k]:.3f}" for k in METRICS) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="digits-dcgan")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    add_variant_argument(parser)
    add_results_arguments(parser, "variants-PRESET")
    args = parser.parse_args(argv)
    chosen = parse_variants(parser, args.variant)
    results = RunsFile(args.out or default_path(f"variants-{args.preset}"), summarise)
    for seed in [] if args.table else args.seeds:
        for name, overrides in chosen.items():
            if not results.done(variant=name, seed=seed):
                results.add(one_run(args.preset, name, overrides, seed))
    print(markdown(results.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
