"""Named random streams: a train step's draws are keyed by name, so no two of them share numbers
whatever n_critic or the ingredients; the key is stateless_fold_in((seed, step), id of the
name), computed here independently."""

import hashlib

import numpy as np
import pytest
import tensorflow as tf

from tests.models.helpers import tiny_data, tiny_gan
from tfgen import ingredients
from tfgen.ingredients.gradient_penalty import GradientPenalty
from tfgen.models import noise


def test_stream_ids_are_the_names_blake2b_digest():
    for name in ("generator/noise", "discriminator/99/consistency_fake", "dropout_shared/3"):
        digest = hashlib.blake2b(name.encode(), digest_size=8).hexdigest()
        assert noise.stream_id(name) == int(digest, 16) >> 1
        assert 0 <= noise.stream_id(name) < 2**63  # fits the int64 the key folds in
    with pytest.raises(TypeError, match="non-empty string"):
        noise.stream_id(3)


def test_a_draw_is_the_philox_draw_of_its_folded_key():
    gan = tiny_gan()
    gan.step.assign(7)
    got = gan.normal(5, [3], "discriminator/2/noise").numpy()
    key = tf.random.experimental.stateless_fold_in(
        tf.constant([0, 7], tf.int64), noise.stream_id("discriminator/2/noise"), alg="philox")
    np.testing.assert_array_equal(got, tf.random.stateless_normal([5, 3], key, alg="philox"))
    assert not np.array_equal(got, gan.normal(5, [3], "discriminator/3/noise"))


def _names_drawn(gan, monkeypatch):
    """The stream names one train step draws (an eager step, recorded at `_key`)."""
    names, key = [], type(gan)._key
    monkeypatch.setattr(type(gan), "_key", lambda self, s: names.append(s) or key(self, s))
    gan.run_eagerly = True
    gan.fit(tiny_data("dcgan", 16 * gan.n_critic), epochs=1, steps_per_epoch=1, verbose=0)
    return names


def test_every_draw_of_a_step_has_a_name_of_its_own(monkeypatch):
    """n_critic = 70 is past the old integer table's limit (streams from 8·(k + 1) reached the
    dropout band at 512)."""
    gan = tiny_gan("dcgan", augment="translation,cutout",
                   compile_kwargs={"n_critic": 70, "gradient_penalty": 1.0, "consistency": 1.0})
    names = _names_drawn(gan, monkeypatch)
    assert len(names) == len(set(names)) == 2 + 70 * 6
    assert {"generator/noise", "generator/augment", "discriminator/69/gradient_penalty",
            "discriminator/0/consistency_real", "discriminator/69/augment_fake"} <= set(names)
    ids = [noise.stream_id(n) for n in names]
    assert len(set(ids)) == len(ids)


def test_an_ingredient_must_name_its_streams_apart():
    class Clashing(GradientPenalty):
        streams = ("noise",)  # the discriminator step's own latent draw

    with pytest.raises(ValueError, match=r"random stream\(s\) \['noise'\] already drawn"):
        tiny_gan(compile_kwargs={"regularizers": [Clashing(weight=1.0)]})


def test_an_undeclared_stream_is_refused():
    step = ingredients.adversarial.DiscriminatorStep(None, None, None, None, None, None, 0,
                                                     frozenset({"gradient_penalty"}))
    assert step.stream("gradient_penalty") == "discriminator/0/gradient_penalty"
    with pytest.raises(ValueError, match="'r2' is not declared"):
        step.stream("r2")


@pytest.mark.parametrize("draw", [tf.random.stateless_normal, tf.random.stateless_uniform])
@pytest.mark.parametrize("tail, total, start, rows", [
    ([8], 64, 32, 32),      # a replica's half of a latent batch
    ([5, 3], 12, 3, 9),     # 15 numbers a row: starts inside a counter's four
    ([7], 9, 1, 7), ([], 10, 3, 5), ([2, 2, 3], 8, 4, 4),
])
def test_a_replica_draws_exactly_its_rows_of_the_global_draw(draw, tail, total, start, rows):
    """A replica draws only its own rows (1/N of the numbers), and they are the global draw's."""
    from tfgen.models.noise import _philox_rows

    seed = tf.constant([3, 99], tf.int64)
    full = draw([total, *tail], seed=seed, alg="philox")
    got = tf.function(lambda: _philox_rows(draw, seed, tf.constant(start), tf.constant(rows),
                                           tail))()
    np.testing.assert_array_equal(got.numpy(), full[start:start + rows].numpy())
    assert got.shape[1:] == tuple(tail)
