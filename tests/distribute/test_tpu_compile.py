"""The TPU-shaped compile check (tfgen.distribute.compile_check) on every preset's train step
and every variant of the model table: each step, traced as replica 3 of 4 (a runtime replica
id, all-reduces of 4), lowers with XLA and holds no op a TPU cannot run. And the check finds
what it looks for."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tests.models.helpers import dtype_policy
from tests.models.variants import VARIANTS
from tfgen import data
from tfgen.distribute import compile_check
from tfgen.trainers import families, presets


def _one_replica(batch, replicas=4):
    return tf.nest.map_structure(lambda x: x[: x.shape[0] // replicas], batch)


# 17-40 s each: -m slow (CI's 20 minutes; text-arae compiles wordnet-arae's model, smaller)
SLOW_TO_COMPILE = {"cifar10-sngan", "fmnist-biggan", "wordnet-arae"}


@pytest.mark.parametrize("name", [
    pytest.param(p.name, marks=[pytest.mark.slow] if p.name in SLOW_TO_COMPILE else [])
    for p in presets.all_presets()])
def test_every_preset_step_compiles_as_one_of_four_tpu_replicas(name):
    keras.backend.clear_session()
    cfg = presets.resolve(name, overrides=[])
    family = families.for_config(cfg)
    # TPUs run bfloat16 (what precision=auto picks there)
    policy = "float32" if cfg.training.precision == "float32" else "mixed_bfloat16"
    if cfg.training.precision == "mixed_float16":
        policy = "mixed_float16"
    with tfds.testing.mock_data(num_examples=64), dtype_policy(policy):
        source = data.source(cfg.data, seed=0)
        model = family.build(cfg, source.info, {}, total_steps=100)
        batch = next(iter(data.load(source, "train", seed=0, labels=cfg.data.labels,
                                    batch_size=cfg.batch_size * family.batches_per_step(cfg))))
        step = int(model.step.numpy())
        report = compile_check.check_train_step(model, _one_replica(batch))
    assert report.findings == [], report.findings
    assert report.ops > 500 and report.hlo_chars > 0
    assert int(model.step.numpy()) == step  # traced, never run


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_every_model_variant_step_compiles_as_one_of_four_tpu_replicas(variant):
    keras.backend.clear_session()
    model = variant.build()
    batch = next(iter(variant.data()))
    report = compile_check.check_train_step(model, _one_replica(batch))
    assert report.findings == [], report.findings


class _Leaky(keras.Model):
    """A train step with one of each thing a TPU step must not hold."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.w = self.add_weight(shape=(), initializer="ones")

    def train_step(self, x):
        ctx = tf.distribute.get_replica_context()
        y = tf.reduce_sum(x) * self.w.value
        if self.kind == "py_function":
            y += tf.py_function(lambda t: t, [y], tf.float32)
        elif self.kind == "print":
            tf.print("loss", y)
        elif self.kind == "float64":
            y += tf.cast(tf.reduce_sum(tf.cast(x, tf.float64)), tf.float32)
        elif self.kind == "stateful_random":
            y += tf.random.normal([])
        elif self.kind == "where":
            y += tf.cast(tf.size(tf.where(x > 0)), tf.float32)
        return {"loss": ctx.all_reduce("sum", y), "replica": ctx.replica_id_in_sync_group}


@pytest.mark.parametrize("kind, found", [
    ("print", "PrintV2"), ("float64", "float64"), ("stateful_random", "RandomStandardNormal"),
    ("py_function", "EagerPyFunc"), ("where", "Where (Where"),
])
def test_the_scan_names_what_a_tpu_cannot_run(kind, found):
    report = compile_check.check_train_step(_Leaky(kind), tf.ones([4, 2]))
    assert any(found in f for f in report.findings), report.findings


def test_a_step_xla_cannot_lower_is_named_by_xla():
    report = compile_check.check_train_step(_Leaky("print"), tf.ones([4, 2]))
    assert any(f.startswith("XLA: ") and "StringFormat" in f for f in report.findings)
    assert compile_check.check_train_step(_Leaky("none"), tf.ones([4, 2])).findings == []


def test_the_stand_in_context_is_replica_n_of_four():
    """All-reduced sums are 4 times one replica's, the replica id is the traced function's
    input (not a constant), and the model is left as it was."""
    model = _Leaky("none")

    def step(x, replica_id):
        with compile_check.replicas(4, replica_id):
            return model.train_step(x)

    out = tf.function(step)(tf.ones([4, 2]), tf.constant(3))
    assert float(out["loss"]) == 4 * 8.0 and int(out["replica"]) == 3
    assert tf.distribute.get_replica_context() is not None  # restored: the default context
    assert float(np.asarray(model.w.numpy())) == 1.0
