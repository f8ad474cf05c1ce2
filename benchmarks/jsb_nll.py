"""The polyphonic-music NLL table (issue 33): JSB Chorales test NLL per frame (nats; the total
over the 4,725 test frames), each row trained for the same wall time on this CPU.

    python benchmarks/jsb_nll.py [--rows tfgen srnn lstm keras-vae] [--seeds 0 1 2] [--minutes 30]
        [--nll-samples 1000] [--out FILE] [--table]

Rows:
- tfgen: `tfgen.SequenceVAE` with the NADE frame likelihood (the `jsb-vae` preset's model:
  masked BiLSTM encoder, LSTM decoder conditioned on z, NADE over the 88 keys of each frame,
  frame dropout), on `tfgen.data.load("jsb_chorales")` (batches cut to their longest piece);
  test NLL by importance sampling with K = --nll-samples.
- srnn: `tfgen.SRNN` (Fraccaro et al. 2016: a latent per frame; the `jsb-srnn` preset, built
  as `tfgen train` builds it), trained and scored as the tfgen row.
- lstm: the field's "RNN" row as keras.io examples write models -- `keras.Sequential` of an
  LSTM and a sigmoid Dense over the 88 keys, `compile(loss="binary_crossentropy")`, `fit` on
  padded pieces with a sample-weight mask; exact NLL.
- keras-vae: a keras.io-style sequence VAE (the "Variational AutoEncoder" example's Sampling
  layer and train_step, with an LSTM encoder and a teacher-forced LSTM decoder, Bernoulli keys,
  no anti-collapse tricks); its NLL is importance-sampled with the same K.

Every row trains in epochs until the wall-time budget is spent; the epoch with the best
validation figure (the ELBO per frame for the VAEs, the NLL for the LSTM; measured every
`--val-every` epochs) is kept and scored on the test split. Results go to
benchmarks/results/jsb-nll.json after every run; a re-run skips the runs already there.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras_sequence_vae  # benchmarks/keras_sequence_vae.py
from runs import RunsFile, add_results_arguments, default_path, epochs_for, mean_spread, run_rows

PUBLISHED = [  # JSB Chorales test NLL per frame (nats), as the papers print them
    ("RNN (Boulanger-Lewandowski et al. 2012, Table 1)", 8.71),
    ("RNN-RBM (Boulanger-Lewandowski et al. 2012)", 6.27),
    ("RNN-NADE (Boulanger-Lewandowski et al. 2012)", 5.56),
    ("STORN (Bayer & Osendorfer 2014; in Fraccaro et al. 2016, Table 2)", 6.91),
    ("SRNN (Fraccaro et al. 2016, Table 2)", 4.74),
]


def _preset_model() -> dict:
    """The `jsb-vae` preset's model and optimiser, as the tfgen row builds them (one source of
    the figures: the preset)."""
    from tfgen.trainers import presets

    cfg = presets.get("jsb-vae")
    m, o = cfg.model, cfg.optimizer
    return dict(latent_dim=m.latent_dim, encoder_units=m.encoder_width, decoder_units=m.width,
                nade_hidden=m.likelihood["hidden"], dropout=m.dropout,
                frame_dropout=m.frame_dropout, batch_size=cfg.batch_size,
                learning_rate=o.learning_rate, clipnorm=o.clipnorm)


TFGEN = _preset_model()


def _tfgen_model(seed: int):
    import keras

    import tfgen

    keras.utils.set_random_seed(seed)
    c = TFGEN
    likelihood = tfgen.ingredients.get("likelihood", {"name": "nade", "hidden": c["nade_hidden"]})
    encoder, decoder = tfgen.networks.sequence_vae_networks(
        88, likelihood, latent_dim=c["latent_dim"], encoder_units=c["encoder_units"],
        decoder_units=c["decoder_units"], frame_dropout=c["frame_dropout"], dropout=c["dropout"])
    vae = tfgen.SequenceVAE(encoder, decoder, latent_dim=c["latent_dim"], likelihood=likelihood,
                            seed=seed)
    vae.compile(keras.optimizers.Adam(c["learning_rate"], global_clipnorm=c["clipnorm"]))
    return vae


def _srnn_model(seed: int):
    """The `jsb-srnn` preset's `tfgen.SRNN`, built as `tfgen train` builds it."""
    import keras

    import tfgen
    from tfgen.trainers import families, presets

    keras.utils.set_random_seed(seed)
    cfg = presets.get("jsb-srnn")
    cfg.seed = seed
    info = tfgen.data.source("jsb_chorales", pixel_range="unit").info
    return families.get("vae").build(cfg, info, {}, cfg.epochs * cfg.steps_per_epoch)


def _srnn_config() -> dict:
    import dataclasses

    from tfgen.trainers import presets

    cfg = presets.get("jsb-srnn")
    return {**dataclasses.asdict(cfg.model), "batch_size": cfg.batch_size,
            "learning_rate": cfg.optimizer.learning_rate, "clipnorm": cfg.optimizer.clipnorm}


def _tfgen_scores(vae, nll_samples: int, config: dict | None = None) -> dict:
    import tfgen

    x_test, _ = tfgen.data.source("jsb_chorales").numpy("test")
    start = time.time()
    nll = vae.nll_per_frame(x_test, num_samples=nll_samples)
    elbo = -float(vae.elbo(x_test).sum() / x_test[..., -1].sum())
    kl = float(vae.kl_per_dimension(x_test).sum())  # mean over pieces, summed over z
    return {"test_nll_per_frame": nll, "test_elbo_per_frame": elbo, "kl_per_piece": kl,
            "eval_seconds": time.time() - start, "importance_samples": nll_samples,
            "config": config or TFGEN}


def run_tfgen(seed: int, minutes: float, nll_samples: int, val_every: int,
              keep: str | None = None, row: str = "tfgen") -> dict:
    import tfgen

    c = TFGEN if row == "tfgen" else _srnn_config()
    vae = _tfgen_model(seed) if row == "tfgen" else _srnn_model(seed)
    source = tfgen.data.source("jsb_chorales")
    x_val, _ = source.numpy("val")
    steps = source.num_examples("train") // c["batch_size"]
    best_path = keep or os.path.join(tempfile.mkdtemp(), "best.weights.h5")
    done = [0]

    def fit_epoch():  # the stream from where the last epoch stopped (batch b: f(seed, b))
        vae.fit(tfgen.data.load(source, batch_size=c["batch_size"], seed=seed,
                                start_batch=done[0] * steps), epochs=1, steps_per_epoch=steps,
                verbose=0)
        done[0] += 1

    def validate(best):
        value = -float(vae.elbo(x_val).sum() / x_val[..., -1].sum())
        if value < best:
            vae.save_weights(best_path)
        return value

    best, best_epoch, epochs, seconds = epochs_for(fit_epoch, validate, minutes, val_every)
    vae.load_weights(best_path)
    return {**_tfgen_scores(vae, nll_samples, c), "val_elbo_per_frame": best,
            "best_epoch": best_epoch, "epochs": epochs, "train_seconds": seconds}


def rescore_tfgen(seed: int, weights: str, nll_samples: int, row: str = "tfgen",
                  **facts) -> dict:
    """Score the best weights a tfgen run saved (`--keep`) whose scoring did not finish."""
    vae = _tfgen_model(seed) if row == "tfgen" else _srnn_model(seed)
    vae.load_weights(weights)
    return {**_tfgen_scores(vae, nll_samples, None if row == "tfgen" else _srnn_config()),
            **facts, "rescored": True}


def _padded(split):
    from tfgen.data import music

    x = music.pack(music.jsb_chorales()[split]).astype(np.float32)
    frames, mask = x[..., :88], x[..., 88]
    previous = np.concatenate([np.zeros_like(frames[:, :1]), frames[:, :-1]], axis=1)
    return previous, frames, mask


def run_lstm(seed: int, minutes: float, nll_samples: int, val_every: int) -> dict:
    """keras.io style: Sequential, compile, fit on padded arrays with a sample-weight mask."""
    import keras

    keras.utils.set_random_seed(seed)
    x_train, y_train, w_train = _padded("train")
    x_val, y_val, w_val = _padded("val")
    x_test, y_test, w_test = _padded("test")
    model = keras.Sequential([
        keras.Input((None, 88)),
        keras.layers.LSTM(300, return_sequences=True, dropout=0.3),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(88, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3, global_clipnorm=5.0),
                  loss="binary_crossentropy")
    best_path = os.path.join(tempfile.mkdtemp(), "best.weights.h5")

    def nll(x, y, w):  # Keras's binary cross-entropy is the mean over the 88 keys
        p = np.clip(model.predict(x, batch_size=32, verbose=0), 1e-7, 1 - 1e-7)
        per_frame = -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(axis=-1)
        return float((per_frame * w).sum() / w.sum())

    def fit_epoch():
        model.fit(x_train, y_train, sample_weight=w_train, batch_size=8, epochs=1, verbose=0)

    def validate(best):
        value = nll(x_val, y_val, w_val)
        if value < best:
            model.save_weights(best_path)
        return value

    best, best_epoch, epochs, seconds = epochs_for(fit_epoch, validate, minutes, val_every)
    model.load_weights(best_path)
    return {"test_nll_per_frame": nll(x_test, y_test, w_test), "val_nll_per_frame": best,
            "best_epoch": best_epoch, "epochs": epochs, "train_seconds": seconds,
            "exact": True}


def run_keras_vae(seed: int, minutes: float, nll_samples: int, val_every: int) -> dict:
    """keras.io's VAE example (Sampling layer, custom train_step: reconstruction + KL) with an
    LSTM encoder and a teacher-forced LSTM decoder over padded, masked pieces."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    latent_dim = 32
    x_train, y_train, w_train = _padded("train")

    frames_in = keras.Input((None, 88))
    mask_in = keras.Input((None,))
    h = keras.layers.Bidirectional(keras.layers.LSTM(128))(frames_in,
                                                          mask=keras.ops.cast(mask_in, "bool"))
    z_mean = keras.layers.Dense(latent_dim)(h)
    z_log_var = keras.layers.Dense(latent_dim)(h)
    encoder = keras.Model([frames_in, mask_in], [z_mean, z_log_var])
    z_in = keras.Input((latent_dim,))
    prev_in = keras.Input((None, 88))
    state = keras.layers.Dense(600, activation="tanh")(z_in)
    h_dec = keras.layers.LSTM(300, return_sequences=True)(
        prev_in, initial_state=[state[:, :300], state[:, 300:]])
    logits = keras.layers.Dense(88)(h_dec)
    decoder = keras.Model([z_in, prev_in], logits)

    def log_px(frames, previous, mask, z):
        out = decoder([z, previous])
        per_frame = -tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(frames, out), -1)
        return tf.reduce_sum(per_frame * mask, axis=1)

    vae = keras_sequence_vae.model(encoder, decoder, log_px)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    data = tf.data.Dataset.from_tensor_slices((x_train, y_train, w_train))
    data = data.shuffle(len(x_train), seed=seed).batch(8)
    best_path = os.path.join(tempfile.mkdtemp(), "best")

    def bound(split, k: int):
        """Σ log-mean-exp over K posterior draws (K = 1: the ELBO) / frames."""
        previous, frames, mask = _padded(split)
        total = keras_sequence_vae.log_likelihood_sum(encoder, log_px, previous, frames, mask, k,
                                                      seed)
        return float(-total / mask.sum())

    def fit_epoch():
        vae.fit(data, epochs=1, verbose=0)

    def validate(best):
        value = bound("val", 1)
        if value < best:
            encoder.save_weights(best_path + ".encoder.weights.h5")
            decoder.save_weights(best_path + ".decoder.weights.h5")
        return value

    best, best_epoch, epochs, seconds = epochs_for(fit_epoch, validate, minutes, val_every)
    encoder.load_weights(best_path + ".encoder.weights.h5")
    decoder.load_weights(best_path + ".decoder.weights.h5")
    start = time.time()
    previous, frames, mask = _padded("test")
    mean, log_var = encoder([frames, mask])
    kl = float(np.mean(np.sum(-0.5 * (1 + log_var - mean ** 2 - np.exp(log_var)), axis=1)))
    return {"test_nll_per_frame": bound("test", nll_samples), "test_elbo_per_frame":
            bound("test", 1), "val_elbo_per_frame": best, "kl_per_piece": kl,
            "best_epoch": best_epoch, "epochs": epochs, "train_seconds": seconds,
            "eval_seconds": time.time() - start, "importance_samples": nll_samples}


def run_srnn(seed: int, minutes: float, nll_samples: int, val_every: int,
             keep: str | None = None) -> dict:
    return run_tfgen(seed, minutes, nll_samples, val_every, keep, row="srnn")


ROWS = {"tfgen": run_tfgen, "srnn": run_srnn, "lstm": run_lstm, "keras-vae": run_keras_vae}


def summarise(runs: list[dict]) -> dict:
    out = {}
    for row in ROWS:
        values = [r["test_nll_per_frame"] for r in runs if r["row"] == row]
        if values:
            out[row] = {"test_nll_per_frame": mean_spread(values, "sem"), "seeds": len(values)}
    return out


def table(results: RunsFile) -> str:
    lines = ["| model | JSB test NLL per frame (nats) | seeds |", "| --- | --- | --- |"]
    lines += [f"| {name} | {value:.2f} | published |" for name, value in PUBLISHED]
    for row, s in (results.data.get("summary") or {}).items():
        mean, sem = s["test_nll_per_frame"]
        lines.append(f"| {row} (this CPU) | {mean:.2f} ± {sem:.2f} | {s['seeds']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--minutes", type=float, default=30.0, help="wall time of each run")
    parser.add_argument("--nll-samples", type=int, default=1000, help="K of the NLL estimate")
    parser.add_argument("--val-every", type=int, default=5, help="epochs between validations")
    parser.add_argument("--keep", metavar="DIR", help="keep each tfgen run's best weights in "
                        "DIR (tfgen-seed-N.weights.h5, srnn-seed-N.weights.h5)")
    parser.add_argument("--rescore", nargs=5, metavar=("SEED", "WEIGHTS", "EPOCHS",
                                                      "BEST_EPOCH", "SECONDS"),
                        help="score a tfgen run's kept best weights (its scoring was "
                        "interrupted), recording its epochs, best epoch and training seconds")
    add_results_arguments(parser, "jsb-nll")
    args = parser.parse_args(argv)
    results = RunsFile(args.out or default_path("jsb-nll"), summarise,
                       benchmark="JSB Chorales test NLL per frame at equal wall time",
                       minutes=args.minutes)
    if args.table:
        print(table(results))
        return 0
    if args.rescore:
        seed, weights, epochs, best_epoch, seconds = args.rescore
        row = "srnn" if args.rows == ["srnn"] else "tfgen"  # (--rows srnn: an SRNN's weights)
        result = rescore_tfgen(int(seed), weights, args.nll_samples, row, epochs=int(epochs),
                               best_epoch=int(best_epoch), train_seconds=float(seconds))
        results.add({"row": row, "seed": int(seed), "minutes": args.minutes, **result})
        print(table(results))
        return 0
    run_rows(results, ROWS, args, keeps=("tfgen", "srnn"),
             report=lambda r: f"test NLL per frame {r['test_nll_per_frame']:.3f}")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
