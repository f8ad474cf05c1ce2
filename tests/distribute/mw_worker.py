"""One worker of the multi-worker test: a few steps of a tiny Keras model under $TF_CONFIG.

The model is fitted on the x-only batches tfgen's pipelines yield for unconditional models: it
regresses the second coordinate of ring8 points on the first with a custom `train_step`.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from tfgen import data
from tfgen.distribute import resolve_strategy

GLOBAL_BATCH = 64


class Regressor(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1)

    def build(self, input_shape):
        self.dense.build((None, 1))

    def call(self, x):
        return self.dense(x[:, :1])

    def train_step(self, x):
        with tf.GradientTape() as tape:
            err = tf.square(self(x) - x[:, 1:])
            # Sum over the replica's examples, divided by the global batch: all-reduce sums.
            loss = tf.reduce_sum(err) / GLOBAL_BATCH
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        ctx = tf.distribute.get_replica_context()
        global_loss = ctx.all_reduce("sum", loss)
        # Logs of shape [1]: MultiWorkerMirroredStrategy fails reducing scalars (TF #72388).
        # (Not named "loss": Keras would report its own, never-updated loss tracker instead.)
        return {"mse": tf.reshape(global_loss, [1])}


def main() -> None:
    strategy = resolve_strategy("multi_worker")
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = Regressor()
        model.build((None, 2))
        model.compile(optimizer=keras.optimizers.SGD(0.1))
        model.optimizer.build(model.trainable_variables)
    ds = data.load("ring8", batch_size=GLOBAL_BATCH, seed=0, strategy=strategy)
    history = model.fit(ds, epochs=2, steps_per_epoch=3, verbose=0)
    result = {
        "replicas": strategy.num_replicas_in_sync,
        "loss": [float(np.ravel(v)[0]) for v in history.history["mse"]],
        "weights": [w.tolist() for w in model.get_weights()],
        "iterations": int(model.optimizer.iterations.numpy()),
    }
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
