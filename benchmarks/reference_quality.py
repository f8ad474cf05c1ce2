"""digits-dcgan against the plain Keras reference GAN at equal wall time, scored by one Evaluator.

    python benchmarks/reference_quality.py [--seeds 0 1 2] [--out benchmarks/results/reference-quality.json]

For each seed: `tfgen train --preset digits-dcgan` (timed), then the reference of
`benchmarks/reference_models.py` -- same generator and discriminator networks, optimisers, batch
size and data, a tutorial `train_step` -- trained for the same wall time; both final generators
are scored by `tfgen.metrics.evaluation.Evaluator` on the test split (447 samples, tfgen's
digits classifier features), with the real-vs-real baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


from tfgen.metrics import evaluation


class Sampler(evaluation.Sampler):
    """Gives a reference generator the `sample(num, seed, labels)` the Evaluator calls;
    `unit_output` maps sigmoid outputs in [0, 1] to the data's [-1, 1]."""

    def __init__(self, generator, latent_dim, unit_output=False):
        self.generator, self.latent_dim, self.unit_output = generator, latent_dim, unit_output

    def sample(self, num, seed=0, labels=None):
        import tensorflow as tf

        z = tf.random.stateless_normal([num, self.latent_dim], seed=[seed, 1])
        x = self.generator.predict(z, batch_size=256, verbose=0)
        return x * 2.0 - 1.0 if self.unit_output else x


def reference_run(cfg, source, seconds: float, seed: int):
    import keras
    import tensorflow as tf

    from benchmarks.reference_models import ReferenceGAN, fit_for, keras_optimizer
    from tfgen.trainers import families

    keras.utils.set_random_seed(seed)
    probe = families.FAMILIES["gan"].build(cfg, source.info, {}, total_steps=1)  # the same networks, fresh
    model = ReferenceGAN(probe.discriminator, probe.generator, cfg.model.latent_dim, seed=seed)
    total = cfg.epochs * cfg.steps_per_epoch
    model.compile(d_optimizer=keras_optimizer(cfg.d_optimizer, total),
                  g_optimizer=keras_optimizer(cfg.g_optimizer, total))
    x = source.numpy("train")[0]
    ds = (tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=seed)
          .batch(cfg.batch_size, drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE))
    steps, wall = fit_for(model, ds, seconds, chunk=min(100, cfg.steps_per_epoch))
    return Sampler(model.generator, cfg.model.latent_dim), steps, wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "reference-quality.json"))
    args = parser.parse_args(argv)

    from tfgen import data, presets
    from tfgen.metrics.evaluation import Evaluator
    from tfgen.trainers import train
    from tfgen.trainers.rundir import RunDir

    rows = []
    evaluator = None
    for seed in args.seeds:
        cfg = presets.resolve("digits-dcgan", overrides=[f"seed={seed}"])
        source = data.source(cfg.data, seed=seed)
        evaluator = evaluator or Evaluator(source, "test", seed=0)
        with tempfile.TemporaryDirectory() as tmp:
            run_dir = os.path.join(tmp, "run")
            start = time.time()
            train.run(cfg, run_dir=run_dir, progress=False)
            wall = time.time() - start
            tfgen_values = evaluator.values(RunDir(run_dir).model())
        ref, ref_steps, ref_wall = reference_run(cfg, source, wall, seed)
        ref_values = evaluator.values(ref)
        rows.append({"seed": seed, "tfgen_wall_s": round(wall, 1), "tfgen_steps": cfg.epochs *
                     cfg.steps_per_epoch, "tfgen": tfgen_values, "reference_wall_s":
                     round(ref_wall, 1), "reference_steps": ref_steps, "reference": ref_values})
        print(f"seed {seed}: tfgen FD {tfgen_values['frechet_distance']:.2f} in {wall:.0f} s; "
              f"reference FD {ref_values['frechet_distance']:.2f} after {ref_steps} steps in "
              f"{ref_wall:.0f} s", flush=True)

    def mean_se(side, key):
        v = [r[side][key] for r in rows]
        se = statistics.stdev(v) / len(v) ** 0.5 if len(v) > 1 else 0.0
        return [round(statistics.mean(v), 4), round(se, 4)]

    keys = list(rows[0]["tfgen"])
    summary = {"baseline": evaluator.baselines, "features": evaluator.extractor.card,
               "tfgen": {k: mean_se("tfgen", k) for k in keys},
               "reference": {k: mean_se("reference", k) for k in keys}, "rows": rows}
    for k in keys:
        print(f"{k:18s} tfgen {summary['tfgen'][k][0]:.4g} ± {summary['tfgen'][k][1]:.2g}   "
              f"reference {summary['reference'][k][0]:.4g} ± {summary['reference'][k][1]:.2g}   "
              f"real-vs-real {evaluator.baselines.get(k, float('nan')):.4g}")
    with open(args.out, "w") as fh:
        json.dump(summary, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
