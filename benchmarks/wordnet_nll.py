"""The sentence-VAE table (issue 34): WordNet 3.0's example sentences, test NLL per sentence and
per token (nats), KL and mutual information of the code, each row trained for the same wall
time on this CPU.

    python benchmarks/wordnet_nll.py [--rows tfgen lm keras-vae] [--seeds 0 1 2] [--minutes 15]
        [--epochs N] [--set KEY=VALUE ...] [--nll-samples 100] [--out FILE] [--table]

Rows (all on tfgen's `wordnet` source: its split, its 10,000-token vocabulary, `<eos>` counted):
- tfgen: `tfgen.TextVAE` as `tfgen train --preset wordnet-vae` builds it (word dropout,
  cyclical KL annealing), on `tfgen.data.load("wordnet")` (batches cut to their longest
  sentence); test NLL importance-sampled with K = --nll-samples.
- lm: the language model every VAE is held against, as keras.io examples write one --
  `keras.Sequential` of an Embedding, an LSTM and a Dense softmax over the vocabulary,
  `compile(loss=SparseCategoricalCrossentropy(from_logits=True))`, `fit` on padded sentences
  with a sample-weight mask; exact NLL.
- keras-vae: a keras.io-style sentence VAE (the "Variational AutoEncoder" example's Sampling
  layer and train_step) with the LM's embedding and LSTM sizes: a BiLSTM encoder, z in the
  decoder's initial state, teacher forcing, KL weight 1 from the start, no word dropout, no
  annealing -- the setting in which Bowman et al. saw the posterior collapse.

Every row trains in epochs until the budget is spent, validating each `--val-every` epochs (the
ELBO per sentence for the VAEs, the NLL for the LM); the best epoch is kept and scored on the
test split. Results go to benchmarks/results/wordnet-nll.json after every run.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import keras_sequence_vae  # benchmarks/keras_sequence_vae.py
from runs import RunsFile, add_results_arguments, default_path, epochs_for, mean_spread, run_rows

PRESET = "wordnet-vae"
TRAIN_EXAMPLES = None  # --train-examples (a quick check of the script)
EPOCHS = 0  # --epochs: exactly this many epochs per run (0: the --minutes budget)
OVERRIDES: list[str] = []  # --set: the tfgen row's preset overrides (an ablation)


def _source():
    import tfgen

    return tfgen.data.source("wordnet", train_examples=TRAIN_EXAMPLES)


def _preset():
    from tfgen.trainers import config, presets

    return config.apply_overrides(presets.get(PRESET), OVERRIDES)


def _code_figures(vae, x, seed: int) -> dict:
    return {"kl_per_sentence": float(vae.kl_per_dimension(x).sum()),
            "mutual_information": vae.mutual_information(x, seed=seed),
            "active_units": int(vae.active_units(x))}


def run_tfgen(seed: int, minutes: float, nll_samples: int, val_every: int,
              keep: str | None = None) -> dict:
    import keras

    import tfgen
    from tfgen.trainers import families

    keras.utils.set_random_seed(seed)
    cfg = _preset()
    cfg.seed = seed
    source = _source()
    vae = families.get("vae").build(cfg, source.info, {}, cfg.epochs * cfg.steps_per_epoch)
    x_val, _ = source.numpy("val")
    x_test, _ = source.numpy("test")
    steps = source.info.splits["train"] // cfg.batch_size
    best_path = keep or os.path.join(tempfile.mkdtemp(), "best.weights.h5")
    done = [0]

    def fit_epoch():  # the stream from where the last epoch stopped (batch b: f(seed, b))
        vae.fit(tfgen.data.load(source, batch_size=cfg.batch_size, seed=seed,
                                start_batch=done[0] * steps), epochs=1, steps_per_epoch=steps,
                verbose=0)
        done[0] += 1

    def validate(best):
        value = -float(vae.elbo(x_val, batch_size=256).mean())
        if value < best:
            vae.save_weights(best_path)
        return value

    best, best_epoch, epochs, seconds = epochs_for(fit_epoch, validate, minutes, val_every, EPOCHS)
    vae.load_weights(best_path)
    start = time.time()
    log_px = vae.log_likelihood(x_test, num_samples=nll_samples, batch_size=128)
    tokens = float(x_test[..., 1].sum())
    return {"test_nll": float(-log_px.mean()), "test_nll_per_token": float(-log_px.sum() / tokens),
            "test_elbo": float(vae.elbo(x_test, batch_size=256).mean()),
            **_code_figures(vae, x_test, seed), "val_elbo": -best, "best_epoch": best_epoch,
            "epochs": epochs, "train_seconds": seconds, "eval_seconds": time.time() - start,
            "importance_samples": nll_samples, "samples": _samples(vae, source)}


def _samples(vae, source, num: int = 10) -> dict[str, list[str]]:
    """What the kept model writes: `num` sentences by each decoding rule (seed 0), and the
    greedy reconstructions of the first test sentences."""
    from tfgen.data import text

    vocab = source.info.vocabulary
    out = {}
    for rule in ("greedy", "top_p=0.9", "beam=5"):
        vae.decoding = rule
        out[rule] = text.decode(vae.sample(num, seed=0), vocab)
    x, _ = source.numpy("test")
    codes, _ = vae.encode(x[:num])
    out["test"] = text.decode(x[:num], vocab)
    out["reconstructed"] = text.decode(vae.decode(codes), vocab)
    return out


def _padded(x):
    """(previous tokens, tokens, mask) of packed sentences: the input at step t is token t - 1,
    <bos> first."""
    from tfgen.data.text import BOS

    ids, mask = x[..., 0].astype(np.int32), x[..., 1].astype(np.float32)
    previous = np.concatenate([np.full_like(ids[:, :1], BOS), ids[:, :-1]], axis=1)
    return previous, ids, mask


def run_lm(seed: int, minutes: float, nll_samples: int, val_every: int) -> dict:
    """keras.io style: Sequential, compile, fit on padded arrays with a sample-weight mask."""
    import keras

    keras.utils.set_random_seed(seed)
    source, m = _source(), _preset().model
    vocab = len(source.info.vocabulary)
    (p_train, y_train, w_train), (p_val, y_val, w_val), (p_test, y_test, w_test) = (
        _padded(source.numpy(split)[0]) for split in ("train", "val", "test"))
    model = keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(vocab, m.embedding_dim),
        keras.layers.LSTM(m.width, return_sequences=True),
        keras.layers.Dropout(m.dropout),
        keras.layers.Dense(vocab),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3, global_clipnorm=5.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    best_path = os.path.join(tempfile.mkdtemp(), "best.weights.h5")

    def nll(p, y, w):
        """Σ -log p(token) over each sentence's tokens, mean over sentences; and per token."""
        total = 0.0
        for i in range(0, len(p), 256):
            logits = model.predict(p[i:i + 256], verbose=0).astype(np.float64)
            logits -= logits.max(-1, keepdims=True)
            log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
            picked = np.take_along_axis(log_p, y[i:i + 256, :, None], -1)[..., 0]
            total += float(-(picked * w[i:i + 256]).sum())
        return total / len(p), total / float(w.sum())

    def fit_epoch():
        model.fit(p_train, y_train, sample_weight=w_train, batch_size=64, epochs=1, verbose=0)

    def validate(best):
        value = nll(p_val, y_val, w_val)[0]
        if value < best:
            model.save_weights(best_path)
        return value

    best, best_epoch, epochs, seconds = epochs_for(fit_epoch, validate, minutes, val_every, EPOCHS)
    model.load_weights(best_path)
    test, per_token = nll(p_test, y_test, w_test)
    return {"test_nll": test, "test_nll_per_token": per_token, "val_nll": best,
            "best_epoch": best_epoch, "epochs": epochs, "train_seconds": seconds, "exact": True}


def run_keras_vae(seed: int, minutes: float, nll_samples: int, val_every: int) -> dict:
    """keras.io's VAE example (Sampling layer, custom train_step: reconstruction + KL) with a
    BiLSTM encoder and a teacher-forced LSTM decoder over padded, masked sentences."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    source, m = _source(), _preset().model
    vocab, latent_dim = len(source.info.vocabulary), m.latent_dim
    p_train, y_train, w_train = _padded(source.numpy("train")[0])

    tokens_in = keras.Input((None,), dtype="int32")
    mask_in = keras.Input((None,))
    embedded = keras.layers.Embedding(vocab, m.embedding_dim)(tokens_in)
    h = keras.layers.Bidirectional(keras.layers.LSTM(m.encoder_width))(
        embedded, mask=keras.ops.cast(mask_in, "bool"))
    z_mean = keras.layers.Dense(latent_dim)(h)
    z_log_var = keras.layers.Dense(latent_dim)(h)
    encoder = keras.Model([tokens_in, mask_in], [z_mean, z_log_var])
    z_in = keras.Input((latent_dim,))
    prev_in = keras.Input((None,), dtype="int32")
    state = keras.layers.Dense(2 * m.width, activation="tanh")(z_in)
    h_dec = keras.layers.LSTM(m.width, return_sequences=True)(
        keras.layers.Embedding(vocab, m.embedding_dim)(prev_in),
        initial_state=[state[:, :m.width], state[:, m.width:]])
    logits = keras.layers.Dense(vocab)(h_dec)
    decoder = keras.Model([z_in, prev_in], logits)

    def log_px(tokens, previous, mask, z):
        out = decoder([z, previous])
        per_token = -tf.nn.sparse_softmax_cross_entropy_with_logits(tokens, out)
        return tf.reduce_sum(per_token * mask, axis=1)

    vae = keras_sequence_vae.model(encoder, decoder, log_px)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    data = tf.data.Dataset.from_tensor_slices((p_train, y_train, w_train))
    data = data.shuffle(len(p_train), seed=seed).batch(64)
    best_path = os.path.join(tempfile.mkdtemp(), "best")

    def bound(split, k: int):
        """(Σ log-mean-exp over K posterior draws per sentence (K = 1: the ELBO), its total
        over the tokens), negated: nats per sentence and per token."""
        previous, tokens, mask = _padded(source.numpy(split)[0])
        total = keras_sequence_vae.log_likelihood_sum(encoder, log_px, previous, tokens, mask,
                                                      k, seed, batch=128)
        return -total / len(tokens), -total / float(mask.sum())

    def fit_epoch():
        vae.fit(data, epochs=1, verbose=0)

    def validate(best):
        value = bound("val", 1)[0]
        if value < best:
            encoder.save_weights(best_path + ".encoder.weights.h5")
            decoder.save_weights(best_path + ".decoder.weights.h5")
        return value

    best, best_epoch, epochs, seconds = epochs_for(fit_epoch, validate, minutes, val_every, EPOCHS)
    encoder.load_weights(best_path + ".encoder.weights.h5")
    decoder.load_weights(best_path + ".decoder.weights.h5")
    start = time.time()
    previous, tokens, mask = _padded(source.numpy("test")[0])
    mean, log_var = (a.numpy() for a in encoder([tokens, mask]))
    from tfgen.models.vae import mutual_information

    kl = float(np.mean(np.sum(-0.5 * (1 + log_var - mean ** 2 - np.exp(log_var)), axis=1)))
    nll, per_token = bound("test", nll_samples)
    return {"test_nll": nll, "test_nll_per_token": per_token, "test_elbo": -bound("test", 1)[0],
            "kl_per_sentence": kl, "mutual_information": mutual_information(mean, log_var, seed),
            "active_units": int((mean.var(axis=0) > 0.01).sum()), "val_elbo": -best,
            "best_epoch": best_epoch, "epochs": epochs, "train_seconds": seconds,
            "eval_seconds": time.time() - start, "importance_samples": nll_samples}


ROWS = {"tfgen": run_tfgen, "lm": run_lm, "keras-vae": run_keras_vae}
FIGURES = ("test_nll", "test_nll_per_token", "kl_per_sentence", "mutual_information")


def summarise(runs: list[dict]) -> dict:
    out = {}
    for row in ROWS:
        mine = [r for r in runs if r["row"] == row]
        if mine:
            out[row] = {f: mean_spread([r[f] for r in mine], "sem") for f in FIGURES
                        if all(f in r for r in mine)}
            out[row]["seeds"] = len(mine)
    return out


def table(results: RunsFile) -> str:
    lines = ["| model | test NLL / sentence | per token (PPL) | KL | I(x; z) | seeds |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row, s in (results.data.get("summary") or {}).items():
        cells = []
        for f in FIGURES:
            if f in s:
                mean, sem = s[f]
                extra = f" ({math.exp(mean):.1f})" if f == "test_nll_per_token" else ""
                cells.append(f"{mean:.2f} ± {sem:.2f}{extra}")
            else:
                cells.append("--")
        lines.append(f"| {row} | {' | '.join(cells)} | {s['seeds']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--minutes", type=float, default=15.0, help="wall time of each run")
    parser.add_argument("--nll-samples", type=int, default=100, help="K of the NLL estimate")
    parser.add_argument("--val-every", type=int, default=1, help="epochs between validations")
    parser.add_argument("--train-examples", type=int, help="train on N sentences only (a quick "
                        "check of the script; not for the table)")
    parser.add_argument("--epochs", type=int, default=0, help="train exactly N epochs per run "
                        "(each run's seconds are reported) instead of the --minutes budget")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override the tfgen row's preset (an ablation; use its own --out)")
    parser.add_argument("--keep", metavar="DIR", help="keep each tfgen run's best weights in "
                        "DIR (tfgen-seed-N.weights.h5)")
    add_results_arguments(parser, "wordnet-nll")
    args = parser.parse_args(argv)
    global TRAIN_EXAMPLES, EPOCHS, OVERRIDES
    TRAIN_EXAMPLES, EPOCHS, OVERRIDES = args.train_examples, args.epochs, args.set
    budget = {"epochs": args.epochs} if args.epochs else {"minutes": args.minutes}
    results = RunsFile(args.out or default_path("wordnet-nll"), summarise,
                       benchmark="WordNet sentences: test NLL at equal wall time",
                       overrides=args.set, **budget)
    if args.table:
        print(table(results))
        return 0
    run_rows(results, ROWS, args, keeps=("tfgen",), report=lambda r: (
        f"test NLL {r['test_nll']:.3f} per sentence, {r['test_nll_per_token']:.3f} per token"))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
