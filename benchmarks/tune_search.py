"""A `tfgen tune` search against the preset's own defaults, at the same training budget.

    python benchmarks/tune_search.py --preset digits-vae --tuner bayesian --max-trials 12 \
        --set epochs=20 [--dir runs/tune-bench] [--out benchmarks/results/tune-digits-vae.json]

1. trains the preset's default hyperparameters exactly as a trial is trained (same epochs,
   evaluation schedule and objective), 2. runs the search, 3. prints both objective values.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))



def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="digits-vae")
    parser.add_argument("--tuner", default="bayesian")
    parser.add_argument("--max-trials", type=int, default=12)
    parser.add_argument("--objective")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--dir", default="runs/tune-bench")
    parser.add_argument("--out")
    args = parser.parse_args(argv)

    import logging

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from tfgen.trainers import train
    from tfgen.tuning import search
    from tfgen.tuning.hypermodels import hypermodel_for

    objective = args.objective.split(",") if args.objective else None
    hm = hypermodel_for(args.preset, overrides=args.overrides, objective=objective)
    name = hm.objective[0]
    default_dir = os.path.join(args.dir, "defaults")
    start = time.time()
    metrics_path = os.path.join(default_dir, "metrics.json")
    if os.path.exists(metrics_path):
        with open(metrics_path) as fh:
            default = json.load(fh)
    else:
        default = train.run(hm.training_config(hm.base), run_dir=default_dir, progress=False)
    default_s = time.time() - start
    start = time.time()
    results = search.run(args.preset, tuner=args.tuner, max_trials=args.max_trials,
                         objective=hm.objective, overrides=args.overrides,
                         directory=os.path.join(args.dir, "search"))
    search_s = time.time() - start
    best = results["trials"][0]
    summary = {
        "preset": args.preset, "tuner": args.tuner, "max_trials": args.max_trials,
        "overrides": args.overrides, "objective": name,
        "split": default["evaluation"]["split"],
        "defaults": {name: default["evaluation"][name], "wall_s": round(default_s, 1)},
        "best": {name: best["metrics"][name], "trial_id": best["trial_id"],
                 "hyperparameters": best["hyperparameters"]},
        "search_wall_s": round(search_s, 1),
        "trials": results["trials"],
    }
    print(f"{args.preset}: {name} on the {summary['split']} split -- preset defaults "
          f"{summary['defaults'][name]:.4g}, best of {len(results['trials'])} trials "
          f"{best['metrics'][name]:.4g} (trial {best['trial_id']}); search {search_s:.0f} s")
    out = args.out or os.path.join(os.path.dirname(__file__), "results",
                                   f"tune-{args.preset}.json")
    with open(out, "w") as fh:
        json.dump(summary, fh, indent=2)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
