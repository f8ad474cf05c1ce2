"""FSDD (issue 35): tfgen's WaveGAN / SpecGAN presets against a plain Keras reference at equal
wall time, one Evaluator.

    python benchmarks/fsdd_gan.py [--preset fsdd-wavegan] [--seeds 0 1 2] [--set KEY=VALUE ...]
        [--tfgen-run DIR ...] [--out FILE]

For each seed: tfgen's run of the preset (trained here, or an existing run directory given
with --tfgen-run, whose metrics.json holds its wall time), then the reference trained for that
wall time: a WaveGAN-shaped DCGAN with the keras.io tutorial `train_step`
(benchmarks/reference_models.py: non-saturating binary cross-entropy, one discriminator and
one generator step per batch, 0.05 label noise) -- the generator Dense(8 x 16d)-ReLU, four
[Conv1DTranspose(25, stride 4)-ReLU] halving the channels, Conv1DTranspose(1, 25, stride 4)-tanh;
the discriminator five [Conv1D(25, stride 4)-LeakyReLU(0.2)], Flatten, Dense(1); d = the
preset's width, z of 100, Adam 1e-4 (β 0.5) for both, batch 64; no phase shuffle, no gradient
penalty, no critic steps.

Every model is scored by `tfgen.metrics.Evaluator` on FSDD's test split (300 generated against
the 300 test clips) in the features of tfgen's spoken-digit classifier, with the real-clip
floors: inception score, FD, NDB, memorisation (and, for a conditional preset, label accuracy).
Goals: IS >= 50% of the real clips', FD <= 1/3 of the reference's (3 seeds).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

LATENT = 100


def reference_networks(length: int, width: int):
    """The WaveGAN-shaped DCGAN of the module doc, as plain `keras.Sequential` models."""
    import keras
    from keras import layers

    start = length // 4**5
    generator = keras.Sequential([
        keras.Input((LATENT,)), layers.Dense(start * 16 * width), layers.ReLU(),
        layers.Reshape((start, 16 * width)),
        *[layer for c in (8, 4, 2, 1) for layer in (
            layers.Conv1DTranspose(c * width, 25, strides=4, padding="same"), layers.ReLU())],
        layers.Conv1DTranspose(1, 25, strides=4, padding="same", activation="tanh",
                               dtype="float32"),  # outputs in float32 under a mixed policy
    ], name="generator")
    discriminator = keras.Sequential([
        keras.Input((length, 1)),
        *[layer for c in (1, 2, 4, 8, 16) for layer in (
            layers.Conv1D(c * width, 25, strides=4, padding="same"), layers.LeakyReLU(0.2))],
        layers.Flatten(), layers.Dense(1, dtype="float32"),
    ], name="discriminator")
    return discriminator, generator


def reference(cfg, source, seconds: float, seed: int, precision: str = "float32"):
    import keras
    import tensorflow as tf

    from benchmarks.reference_models import ReferenceGAN, fit_for
    from benchmarks.reference_quality import Sampler
    from tfgen.metrics.features import clip_arrays

    keras.utils.set_random_seed(seed)
    x, _ = clip_arrays(source, "train", labels_required=False)
    # the precision tfgen's run trained in (a mixed policy: float32 outputs, as Keras's guide
    # writes them), so that equal wall time compares the recipes, not the number formats
    previous = keras.config.dtype_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        d, g = reference_networks(x.shape[1], cfg.model.width)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    model = ReferenceGAN(d, g, LATENT, seed=seed, label_noise=0.05)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5))
    ds = (tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=seed)
          .batch(64, drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE))
    steps, wall = fit_for(model, ds, seconds)
    return Sampler(model.generator, LATENT), steps, wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="fsdd-wavegan",
                        help="fsdd-wavegan, fsdd-specgan or fsdd-cwavegan")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override the preset (e.g. epochs=10)")
    parser.add_argument("--tfgen-run", nargs="*", default=[],
                        help="existing tfgen run directories, one per seed (in order)")
    parser.add_argument("--no-reference", action="store_true", help="tfgen's rows only")
    parser.add_argument("--out", help="results JSON (default benchmarks/results/<preset>.json)")
    args = parser.parse_args(argv)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                   f"{args.preset}.json")
    from benchmarks.fmnist_references import tfgen_run
    from tfgen import data
    from tfgen.metrics.evaluation import Evaluator

    kept = []
    if os.path.exists(out):
        with open(out) as fh:
            kept = [r for r in json.load(fh)["rows"] if r["seed"] not in args.seeds]
    rows, evaluator = [], None
    for i, seed in enumerate(args.seeds):
        given = args.tfgen_run[i] if i < len(args.tfgen_run) else None
        cfg, model, wall, steps, run_dir = tfgen_run(args.preset, seed, given, args.set,
                                                     progress=True)
        source = data.source(cfg.data, seed=seed)
        evaluator = evaluator or Evaluator(source, "test", seed=0, progress=True)
        row = {"seed": seed, "run_dir": run_dir, "tfgen": {
            "wall_s": wall, "steps": steps, **evaluator.values(model)}}
        print(f"seed {seed}: tfgen {args.preset} IS {row['tfgen']['inception_score']:.2f} FD "
              f"{row['tfgen']['frechet_distance']:.2f} in {wall:.0f} s", flush=True)
        if not args.no_reference:
            from tfgen.trainers.rundir import RunDir

            precision = RunDir(run_dir).metrics().get("precision", "float32")
            ref, ref_steps, ref_wall = reference(cfg, source, wall, seed, precision)
            # the reference makes clips: scored on the clips themselves (a spectrogram
            # preset's evaluator would invert them), against the same real clips and floors
            clips = (evaluator if source.info.representation == "waveform" else
                     Evaluator(data.source(dataclasses.replace(cfg.data,
                                                               representation="waveform")),
                               "test", seed=0, progress=True))
            row["keras-dcgan"] = {"wall_s": round(ref_wall, 1), "steps": ref_steps,
                                  "precision": precision,
                                  **clips.values(ref)}
            print(f"seed {seed}: keras-dcgan IS {row['keras-dcgan']['inception_score']:.2f} FD "
                  f"{row['keras-dcgan']['frechet_distance']:.2f} after {ref_steps} steps in "
                  f"{ref_wall:.0f} s", flush=True)
        rows.append(row)
        _write(out, evaluator, sorted(kept + rows, key=lambda r: r["seed"]))
    return 0


def _write(path, evaluator, rows):
    def mean_se(side, key):
        v = [r[side][key] for r in rows if key in r.get(side, {})]
        se = statistics.stdev(v) / len(v) ** 0.5 if len(v) > 1 else 0.0
        return [round(statistics.mean(v), 5), round(se, 5)]

    sides = [k for k in rows[0] if k not in ("seed", "run_dir")]
    numbers = {s: [k for k, v in rows[0][s].items() if isinstance(v, (int, float))]
               for s in sides}
    summary = {"baseline": {k: v for k, v in evaluator.baselines.items()
                            if isinstance(v, (int, float))},
               "features": evaluator.extractor.card, "num": evaluator.num,
               "mean_se": {s: {k: mean_se(s, k) for k in numbers[s]} for s in sides},
               "rows": rows}
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as fh:
        json.dump(summary, fh, indent=2, default=str)
    for s in sides:
        m = summary["mean_se"][s]
        print(f"{s:12s} IS {m['inception_score'][0]:.3f} FD {m['frechet_distance'][0]:.3f} "
              f"over {len(rows)} seed(s); real IS {summary['baseline'].get('inception_score')}")


if __name__ == "__main__":
    sys.exit(main())
