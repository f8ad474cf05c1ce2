"""Fashion-MNIST presets against plain Keras references at equal wall time, one Evaluator.

    python benchmarks/fmnist_references.py --family gan [--seeds 0 1 2] [--tfgen-run DIR ...]
    python benchmarks/fmnist_references.py --family vae [--seeds 0 1 2]

GAN (`fmnist-dcgan`), for each seed: tfgen's run (trained here, or an existing run directory
given with --tfgen-run, whose metrics.json holds its wall time), then two references trained for
that wall time:
  (a) keras-io: the keras.io "Customizing what happens in fit(): GAN" model, re-implemented
      from its documentation -- discriminator Conv(64,3,s2)-LReLU-Conv(128,3,s2)-LReLU-
      GlobalMaxPool-Dense(1); generator Dense(7*7*128)-LReLU-ConvT(128,4,s2)-LReLU-
      ConvT(128,4,s2)-LReLU-Conv(1,7,sigmoid); latent 128, Adam 3e-4 for both, batch 64,
      binary cross-entropy on logits with 0.05 uniform label noise; data in [0, 1];
  (b) same-networks: fmnist-dcgan's generator and discriminator with a tutorial `train_step`
      (benchmarks/reference_models.py), its optimisers and batch size, no R1/EMA/selection.
VAE (`fmnist-vae`): (c) a plain conv VAE as keras.io writes it (Conv(32,3,s2)-Conv(64,3,s2)-
Dense(16) encoder, Dense(7*7*64)-ConvT(64)-ConvT(32) decoder, Adam 1e-3, batch 128, one
`train_step` on the negative ELBO, no model selection), with the preset's latent size and its
likelihood (the 256-level discretised logistic mixture: keras.io's binary cross-entropy is not a
likelihood of 8-bit pixels, so it has no NLL to compare), evaluated with the same IWAE
estimator on the first --nll-examples test images (K = 1,000).

All models are scored by `tfgen.metrics.evaluation.Evaluator` on the test split: 10,000 samples
against the 10,000 test images in the features of tfgen's Fashion-MNIST classifier, with the
real-vs-real baseline (PROTOCOLS.md section 4).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


LATENT_KERAS_IO = 128


def keras_io_networks():
    import keras
    from keras import layers

    discriminator = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2D(128, 3, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.GlobalMaxPooling2D(), layers.Dense(1),
    ], name="discriminator")
    generator = keras.Sequential([
        keras.Input((LATENT_KERAS_IO,)),
        layers.Dense(7 * 7 * 128), layers.LeakyReLU(0.2), layers.Reshape((7, 7, 128)),
        layers.Conv2DTranspose(128, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2DTranspose(128, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2D(1, 7, padding="same", activation="sigmoid"),
    ], name="generator")
    return discriminator, generator


def train_for(model, x, batch_size, seconds, seed):
    import tensorflow as tf

    from benchmarks.reference_models import fit_for

    ds = (tf.data.Dataset.from_tensor_slices(x).shuffle(len(x), seed=seed)
          .batch(batch_size, drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE))
    return fit_for(model, ds, seconds)


def gan_references(cfg, source, seconds, seed):
    import keras

    from benchmarks.reference_models import ReferenceGAN
    from benchmarks.reference_quality import Sampler, reference_run

    x = source.numpy("train")[0]  # [-1, 1]
    out = {}
    keras.utils.set_random_seed(seed)
    d, g = keras_io_networks()
    model = ReferenceGAN(d, g, LATENT_KERAS_IO, seed=seed, label_noise=0.05)
    model.compile(d_optimizer=keras.optimizers.Adam(3e-4), g_optimizer=keras.optimizers.Adam(3e-4))
    steps, wall = train_for(model, (x + 1.0) / 2.0, 64, seconds, seed)
    out["keras-io"] = (Sampler(model.generator, LATENT_KERAS_IO, unit_output=True), steps, wall)

    out["same-networks"] = reference_run(cfg, source, seconds, seed)
    return out


def vae_reference(cfg, source, seconds, seed):
    import keras
    from keras import layers

    from benchmarks.reference_models import ReferenceVAE
    from tfgen.models import VAE

    keras.utils.set_random_seed(seed)
    latent = cfg.model.latent_dim
    likelihood = cfg.model.likelihood_object()
    encoder = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
        layers.Flatten(), layers.Dense(16, activation="relu"), layers.Dense(2 * latent),
    ])
    decoder = keras.Sequential([
        keras.Input((latent,)), layers.Dense(7 * 7 * 64, activation="relu"),
        layers.Reshape((7, 7, 64)),
        layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(likelihood.channels_per_dim, 3, padding="same"),
    ])
    model = ReferenceVAE(encoder, decoder, latent, likelihood.log_prob, seed=seed)
    model.compile(keras.optimizers.Adam(1e-3))
    x = source.numpy("train")[0]
    steps, wall = train_for(model, x, 128, seconds, seed)
    # Scored with the same estimators: the trained networks inside a tfgen.VAE (no training).
    scored = VAE(encoder, decoder, latent, likelihood=likelihood)
    return {"keras-io-vae": (scored, steps, wall)}


def tfgen_run(preset, seed, run_dir=None, overrides=(), progress=False):
    """(config, model, wall seconds, steps, run dir) of a tfgen run: trained now (the preset
    with `overrides`), or read from `run_dir`."""
    from tfgen.trainers import presets, train
    from tfgen.trainers.rundir import RunDir

    if run_dir is None:
        cfg = presets.resolve(preset, overrides=[f"seed={seed}", *overrides])
        run_dir = tempfile.mkdtemp(prefix=f"{preset}-{seed}-")
        train.run(cfg, run_dir=run_dir, progress=progress)
    run = RunDir(run_dir)
    metrics = run.metrics()
    return run.config(), run.model(), metrics["wall_time_s"], metrics["steps"], run_dir


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", choices=("gan", "vae"), required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tfgen-run", nargs="*", default=[],
                        help="existing tfgen run directories, one per seed (in order)")
    parser.add_argument("--num", type=int, default=10_000, help="samples per evaluation")
    parser.add_argument("--nll-examples", type=int, default=1000,
                        help="VAE: test images of the K=1000 NLL (default 1000)")
    parser.add_argument("--out", help="results JSON (default benchmarks/results/"
                        "fmnist-references-<family>.json)")
    args = parser.parse_args(argv)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                   f"fmnist-references-{args.family}.json")
    from tfgen import data
    from tfgen.metrics.evaluation import Evaluator

    preset = "fmnist-dcgan" if args.family == "gan" else "fmnist-vae"
    # Seeds run in separate invocations accumulate: rows of other seeds already in --out are kept.
    kept = []
    if os.path.exists(out):
        with open(out) as fh:
            kept = [r for r in json.load(fh)["rows"] if r["seed"] not in args.seeds]
    rows, evaluator = [], None
    for i, seed in enumerate(args.seeds):
        given = args.tfgen_run[i] if i < len(args.tfgen_run) else None
        cfg, model, wall, steps, run_dir = tfgen_run(preset, seed, given)
        source = data.source(cfg.data, seed=seed)
        evaluator = evaluator or Evaluator(source, "test", num=args.num, seed=0,
                                           progress=True, nll_samples=1000,
                                           nll_examples=args.nll_examples)
        row = {"seed": seed, "run_dir": run_dir, "tfgen": {
            "wall_s": wall, "steps": steps, **evaluator.values(model)}}
        print(f"seed {seed}: tfgen {preset} FD {row['tfgen']['frechet_distance']:.2f} in "
              f"{wall:.0f} s", flush=True)
        refs = (gan_references if args.family == "gan" else vae_reference)(cfg, source, wall, seed)
        for name, (ref, ref_steps, ref_wall) in refs.items():
            row[name] = {"wall_s": round(ref_wall, 1), "steps": ref_steps,
                         **evaluator.values(ref)}
            print(f"seed {seed}: {name} FD {row[name]['frechet_distance']:.2f} after "
                  f"{ref_steps} steps in {ref_wall:.0f} s", flush=True)
        rows.append(row)
        _write(out, evaluator, sorted(kept + rows, key=lambda r: r["seed"]))
    return 0


def _write(path, evaluator, rows):
    def mean_se(side, key):
        v = [r[side][key] for r in rows if key in r[side]]
        se = statistics.stdev(v) / len(v) ** 0.5 if len(v) > 1 else 0.0
        return [round(statistics.mean(v), 5), round(se, 5)]

    sides = [k for k in rows[0] if k not in ("seed", "run_dir")]
    summary = {"baseline": {k: v for k, v in evaluator.baselines.items()
                            if isinstance(v, (int, float))},
               "features": evaluator.extractor.card, "num": evaluator.num,
               "mean_se": {s: {k: mean_se(s, k) for k in rows[0][s]} for s in sides},
               "rows": rows}
    with open(path, "w") as fh:
        json.dump(summary, fh, indent=2)
    for s in sides:
        fd = summary["mean_se"][s]["frechet_distance"]
        print(f"{s:14s} FD {fd[0]:.3f} ± {fd[1]:.2g} over {len(rows)} seed(s)")


if __name__ == "__main__":
    sys.exit(main())
