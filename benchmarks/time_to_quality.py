"""Time to PacGAN4's published quality on ring8 / grid25, over several seeds.

    python benchmarks/time_to_quality.py --preset ring8-gan --seeds 0 1 2 3 4 [--set KEY=VALUE]

A plain `fit` script over tfgen's library objects (the preset's model, tfgen's data pipeline, the
`Evaluation` callback): every epoch the PacGAN metrics are measured on 2,500 samples (the
protocol's evaluation, seed 0), and training stops as soon as both targets are met --
ring8: 8 modes (PacGAN4: 7.8 ± 0.1) and ≥ 95.9% high quality; grid25: 25 modes (24.8 ± 0.2) and
≥ 93.6%. The reported wall time runs from building the model to the stop, evaluations included
(TensorFlow's import excluded). A run that does not get there within the preset's epochs says so.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


TARGETS = {"ring8-gan": (8, 0.959), "grid25-gan": (25, 0.936)}


def one_run(preset: str, seed: int, overrides: list[str]) -> dict:
    import keras

    from tfgen import callbacks, data, presets
    from tfgen.metrics.evaluation import Evaluator
    from tfgen.trainers import families

    cfg = presets.resolve(preset, overrides=[*overrides, f"seed={seed}"])
    modes, hq = TARGETS[preset]
    start = time.perf_counter()
    keras.utils.set_random_seed(seed)
    source = data.source(cfg.data, seed=seed)
    family = families.for_config(cfg)
    t = cfg.training
    model = family.build(cfg, source.info, {"jit_compile": bool(t.jit_compile),
                                            "steps_per_execution": t.steps_per_execution},
                         total_steps=cfg.epochs * cfg.steps_per_epoch)
    ds = data.load(source, "train", batch_size=cfg.batch_size * family.batches_per_step(cfg),
                   seed=seed)
    evaluation = callbacks.Evaluation(Evaluator(source, "test", seed=0, baseline=False))
    reached = {}

    class StopAtTarget(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs["eval_modes_covered"] >= modes and logs["eval_high_quality"] >= hq:
                reached.update(epoch=epoch + 1, wall_s=time.perf_counter() - start)
                self.model.stop_training = True

    history = model.fit(ds, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch, verbose=0,
                        callbacks=[evaluation, StopAtTarget()], shuffle=False)
    last = {k[5:]: float(v[-1]) for k, v in history.history.items() if k.startswith("eval_")}
    return {"seed": seed, "reached": bool(reached),
            "steps": int(model.step.numpy()), "wall_s": round(reached.get(
                "wall_s", time.perf_counter() - start), 1), **last}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", required=True, choices=list(TARGETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    rows = []
    for seed in args.seeds:
        row = one_run(args.preset, seed, args.overrides)
        rows.append(row)
        print(f"seed {seed}: {'reached' if row['reached'] else 'NOT reached'} after "
              f"{row['steps']} steps, {row['wall_s']} s (modes {row['modes_covered']:.0f}, "
              f"high quality {100 * row['high_quality']:.1f}%, rKL {row['reverse_kl']:.3f})",
              flush=True)
    walls = [r["wall_s"] for r in rows]
    summary = {"preset": args.preset, "overrides": args.overrides, "target": TARGETS[args.preset],
               "reached": sum(r["reached"] for r in rows), "runs": len(rows),
               "median_wall_s": statistics.median(walls), "max_wall_s": max(walls), "rows": rows}
    print(f"{args.preset}: target reached in {summary['reached']}/{len(rows)} runs; wall time "
          f"median {summary['median_wall_s']} s, max {summary['max_wall_s']} s")
    out = args.out or os.path.join(os.path.dirname(__file__), "results",
                                   f"time-to-quality-{args.preset}.json")
    with open(out, "w") as fh:
        json.dump(summary, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
