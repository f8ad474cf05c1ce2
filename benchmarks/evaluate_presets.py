"""Train presets with their default settings and evaluate each with `tfgen evaluate`.

    python benchmarks/evaluate_presets.py [--presets ring8-gan grid25-gan digits-dcgan digits-vae]
                                          [--runs runs/eval] [--out benchmarks/results/evaluation.json]

Prints each run's metric table (model vs real-vs-real baseline) and writes all cards as JSON.
A run directory that already holds a finished run is evaluated without retraining.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


PRESETS = ["ring8-gan", "grid25-gan", "digits-dcgan", "digits-vae"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=PRESETS)
    parser.add_argument("--runs", default="runs/eval", help="parent of the run directories")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "evaluation.json"))
    args = parser.parse_args(argv)

    from tfgen.trainers import evaluate, presets, train

    results = {}
    for name in args.presets:
        run_dir = os.path.join(args.runs, name)
        train_s = None
        if not os.path.exists(os.path.join(run_dir, "model.keras")):
            start = time.time()
            train.run(presets.resolve(name), run_dir=run_dir, progress=False)
            train_s = round(time.time() - start, 1)
        print(f"== {name} ({run_dir})", flush=True)
        start = time.time()
        result = evaluate.run(run_dir, progress=False)
        result.update(train_wall_s=train_s, eval_wall_s=round(time.time() - start, 1))
        results[name] = result
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(results, fh, indent=2)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
