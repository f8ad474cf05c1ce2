"""A plain-Keras reference VAE on digits, as a user would write it from the Keras examples.

MLP encoder/decoder 64-256-256-16, 17-way categorical pixel likelihood, Adam 1e-3, batch 100,
early stopping on validation ELBO (restoring the best weights). Its test NLL is estimated with its
own importance-sampling code (K = 1,000), independent of tfgen.

    python benchmarks/reference_vae.py [--seed 0] [--max-epochs 200]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits

LATENT, LEVELS = 16, 17


class ReferenceVAE(keras.Model):
    def __init__(self):
        super().__init__()
        self.encoder = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, "relu"),
                                         keras.layers.Dense(256, "relu"),
                                         keras.layers.Dense(2 * LATENT)])
        self.decoder = keras.Sequential([keras.Input((LATENT,)), keras.layers.Dense(256, "relu"),
                                         keras.layers.Dense(256, "relu"),
                                         keras.layers.Dense(64 * LEVELS)])
        self.elbo_tracker = keras.metrics.Mean(name="elbo")

    @property
    def metrics(self):
        return [self.elbo_tracker]

    def terms(self, x, eps):
        mean, log_var = tf.split(self.encoder(x), 2, axis=-1)
        z = mean + tf.exp(0.5 * log_var) * eps
        logits = tf.reshape(self.decoder(z), [-1, 64, LEVELS])
        k = tf.cast(tf.round(x * (LEVELS - 1)), tf.int32)
        rec = -tf.reduce_sum(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=k, logits=logits), axis=1)
        kl = 0.5 * tf.reduce_sum(tf.exp(log_var) + mean**2 - 1.0 - log_var, axis=1)
        return rec - kl

    def train_step(self, x):
        with tf.GradientTape() as tape:
            elbo = self.terms(x, tf.random.normal([tf.shape(x)[0], LATENT]))
            loss = -tf.reduce_mean(elbo)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        self.elbo_tracker.update_state(elbo)
        return {"elbo": self.elbo_tracker.result()}

    def test_step(self, x):
        self.elbo_tracker.update_state(self.terms(x, tf.random.normal([tf.shape(x)[0], LATENT])))
        return {"elbo": self.elbo_tracker.result()}

    def call(self, x):
        return self.encoder(x)


def importance_sampled_nll(model, x, k=1000, chunk=100, seed=0):
    """-mean log p(x), log p(x) ≈ logmeanexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)]."""
    rng = np.random.default_rng(seed)
    mean, log_var = np.split(model.encoder(x).numpy().astype(np.float64), 2, axis=-1)
    kk = np.round(x * (LEVELS - 1)).astype(int)
    log_w = []
    for _ in range(k // chunk):
        eps = rng.standard_normal((chunk, *mean.shape))
        z = mean + np.exp(0.5 * log_var) * eps  # [chunk, n, L]
        logits = model.decoder(z.reshape(-1, LATENT).astype(np.float32)).numpy()
        logits = logits.reshape(chunk, len(x), 64, LEVELS).astype(np.float64)
        log_p = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1,
                                keepdims=True)) - logits.max(-1, keepdims=True)
        log_px = np.take_along_axis(log_p, kk[None, :, :, None], axis=-1)[..., 0].sum(-1)
        log_pz = -0.5 * (np.log(2 * np.pi) + z**2).sum(-1)
        log_qz = -0.5 * (np.log(2 * np.pi) + log_var + eps**2).sum(-1)
        log_w.append(log_px + log_pz - log_qz)
    log_w = np.concatenate(log_w)  # [k, n]
    m = log_w.max(0)
    return float(-np.mean(m + np.log(np.exp(log_w - m).mean(0))))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--patience", type=int, default=8)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(args.seed)
    x = load_digits().data.astype(np.float32) / 16.0
    train, val, test = x[:1000], x[1000:1350], x[1350:]
    model = ReferenceVAE()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    start = time.time()
    stop = keras.callbacks.EarlyStopping(monitor="val_elbo", mode="max", patience=args.patience,
                                         restore_best_weights=True)
    history = model.fit(train, validation_data=(val,), batch_size=100, epochs=args.max_epochs,
                        callbacks=[stop], verbose=0)
    wall = time.time() - start
    nll = importance_sampled_nll(model, test, seed=args.seed)
    best = int(np.argmax(history.history["val_elbo"])) + 1
    test_elbo = float(model.evaluate(test, batch_size=447, verbose=0, return_dict=True)["elbo"])
    result = {"seed": args.seed, "test_nll": nll, "test_elbo": test_elbo, "best_epoch": best,
              "steps_at_best": best * 10, "wall_time_s": round(wall, 1)}
    print(json.dumps(result))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
