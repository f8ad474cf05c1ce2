"""Train a mixture preset over several seeds and report PacGAN's metrics (PROTOCOLS.md section 1).

    python benchmarks/preset_quality.py --preset ring8-gan --seeds 0 1 2 3 4 [--set KEY=VALUE ...]

Prints one line per seed and the mean ± standard error, and writes the figures as JSON
(default: benchmarks/results/<preset>.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))



def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", required=True, choices=["ring8-gan", "grid25-gan"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--out", help="JSON file for the results")
    args = parser.parse_args(argv)

    import logging

    import numpy as np

    from tfgen.trainers import presets, train

    logging.getLogger("tfgen").setLevel(logging.WARNING)
    rows = []
    for seed in args.seeds:
        cfg = presets.resolve(args.preset, overrides=[*args.overrides, f"seed={seed}"])
        with tempfile.TemporaryDirectory() as run_dir:
            start = time.time()
            metrics = train.run(cfg, run_dir=os.path.join(run_dir, "run"), progress=False)
            wall = time.time() - start
        q = metrics["quality"]
        rows.append({"seed": seed, "steps": metrics["steps"], "wall_time_s": round(wall, 1),
                     "train_time_s": metrics["wall_time_s"], **q})
        print(f"seed {seed}: modes {q['modes_covered']}, high quality {100 * q['high_quality']:.1f}%, "
              f"reverse KL {q['reverse_kl']:.3f}, {metrics['steps']} steps, {wall:.0f} s", flush=True)

    def mean_se(key):
        v = np.array([r[key] for r in rows], np.float64)
        se = v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0
        return float(v.mean()), float(se)

    summary = {k: mean_se(k) for k in ("modes_covered", "high_quality", "reverse_kl", "wall_time_s")}
    print(f"{args.preset} over {len(rows)} seeds: "
          f"modes {summary['modes_covered'][0]:.2f} ± {summary['modes_covered'][1]:.2f}, "
          f"high quality {100 * summary['high_quality'][0]:.1f}% ± {100 * summary['high_quality'][1]:.1f}, "
          f"reverse KL {summary['reverse_kl'][0]:.3f} ± {summary['reverse_kl'][1]:.3f}, "
          f"wall time {summary['wall_time_s'][0]:.0f} s per seed")
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                   f"{args.preset}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as fh:
        json.dump({"preset": args.preset, "overrides": args.overrides, "runs": rows,
                   "summary": summary}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
