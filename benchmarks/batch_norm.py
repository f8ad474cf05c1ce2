"""Batch norm alone: Keras's layer against tfgen's fused one, forward + backward, float32 and
bfloat16, at the 28x28 DCGAN generator's shapes (fastest of 5 timings of 10 chained calls).

    python benchmarks/batch_norm.py
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

SHAPES = ([64, 7, 7, 256], [64, 14, 14, 128], [128, 14, 14, 128])


def milliseconds(layer_cls, shape, dtype, reps=10) -> float:
    import keras
    import tensorflow as tf

    keras.mixed_precision.set_global_policy("mixed_bfloat16" if dtype == "bfloat16" else "float32")
    try:
        layer = layer_cls(momentum=0.9, epsilon=1e-5, synchronized=True)
        x = tf.cast(tf.random.normal(shape), dtype)
        layer(x, training=True)
        dy = tf.cast(tf.random.normal(shape), dtype)

        @tf.function
        def run(x, dy):
            acc = tf.zeros([])
            for i in range(reps):  # own input and output gradient per call: nothing shared
                xi = x + tf.cast(i, dtype)
                with tf.GradientTape() as tape:
                    tape.watch(xi)
                    y = layer(xi, training=True)
                dx, dg = tape.gradient(y, [xi, layer.gamma],
                                       output_gradients=dy + tf.cast(i, dtype))
                acc += tf.cast(y[0, 0, 0, 0] + dx[0, 0, 0, 0], tf.float32) + dg[0]
            return acc

        run(x, dy)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            run(x, dy).numpy()
            times.append(time.perf_counter() - t)
        return min(times) / reps * 1e3
    finally:
        keras.mixed_precision.set_global_policy("float32")


def main() -> int:
    import keras

    from tfgen.networks.blocks import BatchNormalization

    for shape in SHAPES:
        for dtype in ("float32", "bfloat16"):
            keras_ms = milliseconds(keras.layers.BatchNormalization, shape, dtype)
            fused_ms = milliseconds(BatchNormalization, shape, dtype)
            print(f"{shape} {dtype}: Keras {keras_ms:.2f} ms, fused {fused_ms:.2f} ms", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
