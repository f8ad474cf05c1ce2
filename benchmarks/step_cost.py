"""What a preset's options cost per training step: steps/s of the preset and of variants of its
config, all built in one process and timed in turn, so the machine's drifts and speed levels hit
every variant alike.

    python benchmarks/step_cost.py --preset fmnist-dcgan \\
        --variant ada model.augment.name=ada --variant bcr model.regularizers.consistency.weight=10 \\
        [--steps 100] [--repeats 3] [--out FILE]

Each variant is built as `tfgen train` builds it (`benchmarks/timed.py`), warmed up (tracing),
then `fit` for --steps steps per timing, timed from the end of its first execution to the end
of its last (the input pipeline's start excluded); the variants take turns within each repeat
(the order rotating) and the median steps/s over repeats is reported with its ratio to the
preset. The ADA variants also report p at the end (ADA starts at p = 0: this measures its
pipeline's cost before it augments anything). Results: benchmarks/results/step-cost-PRESET.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from runs import add_variant_argument, default_path, parse_variants  # benchmarks/runs.py
from timed import build  # benchmarks/timed.py


def measure(preset, variants: dict, steps: int, repeats: int) -> dict:
    import keras

    built = {}
    try:
        for name, overrides in variants.items():
            cfg, model, _, ds, precision = build(preset, overrides, seed=0)
            spe = cfg.training.steps_per_execution or 1  # unset: 1 on CPU
            warm = 2 * spe
            model.fit(ds, epochs=1, steps_per_epoch=warm, verbose=0)  # tracing
            built[name] = (model, ds, spe)
        rates = {name: [] for name in variants}
        names = list(variants)
        for r in range(repeats):
            for name in names[r % len(names):] + names[:r % len(names)]:
                model, ds, spe = built[name]
                # steps/s from the end of the first execution to the end of the last: neither
                # the input pipeline's start nor the first execution counts
                ends = []
                timer = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs,
                                                       ends=ends: ends.append(time.perf_counter()))
                model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[timer])
                rates[name].append((len(ends) - 1) * spe / (ends[-1] - ends[0]))
                print(f"repeat {r}: {name} {rates[name][-1]:.2f} steps/s", flush=True)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    base = statistics.median(rates[names[0]])
    out = {"preset": preset, "dtype": precision, "steps": steps, "repeats": repeats,
           "cpus": len(os.sched_getaffinity(0)), "variants": {}}
    for name in names:
        model = built[name][0]
        median = statistics.median(rates[name])
        out["variants"][name] = {
            "overrides": variants[name], "steps_per_s": rates[name], "median": median,
            "relative": median / base,
            **({"ada_p": float(model.ingredient("ada").probability.value.numpy())}
               if getattr(model, "ingredient", lambda _: None)("ada") is not None else {})}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="fmnist-dcgan")
    add_variant_argument(parser)
    parser.add_argument("--steps", type=int, default=100, help="steps per timing")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", help="results file (default: benchmarks/results/"
                        "step-cost-PRESET.json)")
    args = parser.parse_args(argv)
    chosen = parse_variants(parser, args.variant)
    result = measure(args.preset, chosen, args.steps, args.repeats)
    path = args.out or default_path(f"step-cost-{args.preset}")
    with open(path, "w") as fh:
        json.dump(result, fh, indent=1)
    print("| variant | overrides | steps/s (median) | relative to the preset |")
    print("| --- | --- | --- | --- |")
    for name, v in result["variants"].items():
        p = f" (p = {v['ada_p']:.4f} at the end)" if "ada_p" in v else ""
        print(f"| {name} | {' '.join(v['overrides']) or '–'} | {v['median']:.2f} | "
              f"{v['relative']:.2f}{p} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
