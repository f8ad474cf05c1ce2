"""Streaming Fréchet distance: equals the NumPy function, also summed over 2 replicas."""

import numpy as np
import pytest
import tensorflow as tf

from tfgen.distribute import resolve_strategy
from tfgen.metrics import FrechetDistance, frechet_distance


def features():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(256, 6)).astype(np.float32)
    fake = (rng.normal(0.3, 1.5, size=(256, 6)) @ rng.normal(size=(6, 6))).astype(np.float32)
    return real, fake


def test_streaming_equals_the_function_over_batches():
    real, fake = features()
    metric = FrechetDistance(dim=6)
    for i in range(0, 256, 64):
        metric.update_state(real[i:i + 64], fake[i:i + 64])
    assert float(metric.result()) == pytest.approx(frechet_distance(real, fake), rel=1e-6)
    metric.reset_state()
    metric.update_state(real, real)
    assert float(metric.result()) == pytest.approx(0.0, abs=1e-6)


def test_two_replicas_equal_one_device():
    real, fake = features()
    strategy = resolve_strategy("mirrored")
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        metric = FrechetDistance(dim=6)
    ds = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices((real, fake)).batch(64))

    @tf.function
    def update(batch):
        strategy.run(lambda r, f: metric.update_state(r, f), args=batch)

    for batch in ds:
        update(batch)
    assert float(metric.result()) == pytest.approx(frechet_distance(real, fake), rel=1e-6)
