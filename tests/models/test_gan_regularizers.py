"""A GAN's ingredients inside the model: LeCam anchors, bCR, top-k selection and the ADA
probability -- their state, schedule and how they enter the losses; the objects against the
keywords they replaced; saved models old and new. (Formulas: tests/losses; the ADA pipeline:
test_ada; 1 vs 2 replicas, XLA, bfloat16, saving and resuming with every ingredient: the
variants of tests/models/variants.py; options and checks: tests/test_ingredients.)"""

import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.models.helpers import rewrite_config, tiny_data, tiny_gan, weights_of
from tfgen import ingredients, losses


def _one_step(gan, kind="mlp", batch=16):
    history = gan.fit(tiny_data(kind, batch), epochs=1, steps_per_epoch=1, verbose=0,
                      shuffle=False)
    return {k: float(np.ravel(v[-1])[0]) for k, v in history.history.items()}


def test_lecam_anchors_average_the_scores_and_enter_the_loss():
    gan = tiny_gan(compile_kwargs={"lecam": 0.3, "lecam_decay": 0.9, "run_eagerly": True})
    logs = _one_step(gan)
    first = [float(a.numpy()) for a in gan.ingredient("lecam").anchors]
    # Step 0 starts the anchors at the batch's mean D (the logged d_real / d_fake).
    assert first == pytest.approx([logs["d_real"], logs["d_fake"]], rel=1e-5)
    assert logs["lecam_penalty"] >= 0
    assert logs["d_loss"] == pytest.approx(logs["d_adversarial"] + 0.3 * logs["lecam_penalty"],
                                           rel=1e-5)
    logs = _one_step(gan)  # then α ← 0.9 α + 0.1 · mean D
    second = [float(a.numpy()) for a in gan.ingredient("lecam").anchors]
    assert second == pytest.approx([0.9 * first[0] + 0.1 * logs["d_real"],
                                    0.9 * first[1] + 0.1 * logs["d_fake"]], rel=1e-5)


def test_r2_is_the_gradient_penalty_on_generated_data():
    gan = tiny_gan(compile_kwargs={"regularizers": [{"name": "r2", "gamma": 2.0}],
                                   "run_eagerly": True})
    rng = np.random.default_rng(0)
    real, fake = (tf.constant(rng.normal(size=(8, 2)), tf.float32) for _ in range(2))
    step = ingredients.DiscriminatorStep(gan, real, fake, None, None, None, 0, ())
    term, r2 = gan.ingredient("r2").penalty(step, [])
    with tf.GradientTape() as tape:  # ‖∇D‖² at each generated point, by its own tape
        tape.watch(fake)
        scores = gan.discriminator(fake, training=True)
    expected = np.mean(np.sum(tape.gradient(scores, fake).numpy() ** 2, axis=1))
    assert float(r2) == pytest.approx(expected, rel=1e-5)
    assert float(term) == pytest.approx(0.5 * 2.0 * expected, rel=1e-5)
    # R1's value on the real batch is another number: R2 reads the generated one.
    r1 = gan.batch_loss(losses.r1_penalty(step.score, real))
    assert float(r2) != pytest.approx(float(r1), rel=1e-3)
    # Trained: the logged term enters d_loss with gamma/2.
    logs = _one_step(gan)
    assert logs["d_loss"] == pytest.approx(logs["d_adversarial"] + logs["r2_penalty"], rel=1e-5)


def test_consistency_enters_the_discriminator_loss():
    plain = tiny_gan("dcgan")
    initial = plain.get_weights()
    bcr = tiny_gan("dcgan", weights=initial, compile_kwargs={"consistency": 10.0})
    logs = _one_step(bcr, "dcgan")
    assert logs["consistency_penalty"] > 0
    assert logs["d_loss"] == pytest.approx(
        logs["d_adversarial"] + 10.0 * logs["consistency_penalty"], rel=1e-5)
    plain_logs = _one_step(plain, "dcgan")
    # Same data, noise and weights: the adversarial term is the same, the update is not.
    assert logs["d_adversarial"] == pytest.approx(plain_logs["d_adversarial"], rel=1e-5)
    d_plain, d_bcr = (weights_of(m.discriminator) for m in (plain, bcr))
    assert not all(np.allclose(a, b) for a, b in zip(d_plain, d_bcr))


def _eager_model(step=0):
    """What top-k reads of a model, without one (logic only: no graph to trace)."""
    return types.SimpleNamespace(step=keras.Variable(step, dtype="int64"))


def test_top_k_weights_select_the_highest_scores():
    scores = np.array([0.3, -1.0, 2.0, 0.3, 0.5, -0.2, 0.3, 1.0], np.float32)[:, None]
    weights, logs = ingredients.TopK(fraction=0.5).example_weights(_eager_model(10**6), scores)
    order = np.argsort(-scores[:, 0], kind="stable")  # ties: the earlier sample first
    expected = np.zeros(8)
    expected[order[:4]] = 1 / 4
    np.testing.assert_allclose(weights.numpy(), expected)
    assert float(logs["top_k_fraction"]) == pytest.approx(0.5)
    # k = ⌈0.3 · 8⌉ = 3.
    weights, _ = ingredients.TopK(fraction=0.3).example_weights(_eager_model(10**6), scores)
    assert (weights.numpy() > 0).sum() == 3 and float(tf.reduce_sum(weights)) == pytest.approx(1)


def test_top_k_fraction_decays_to_its_floor():
    top_k = ingredients.TopK(fraction=0.5, gamma=0.9, period=10)
    for step, expected in ((0, 1.0), (9, 1.0), (10, 0.9), (25, 0.81), (1000, 0.5)):
        assert float(top_k.kept_fraction(_eager_model(step))) == pytest.approx(expected)
    gan = tiny_gan(compile_kwargs={"regularizers": [top_k]})
    gan.step.assign(1000)
    logs = _one_step(gan)
    assert logs["top_k_fraction"] == pytest.approx(0.5)


@pytest.mark.parametrize("target,expected", [(-2.0, 0.2), (None, 0.25)])
def test_ada_probability_follows_the_heuristic(target, expected):
    """Batch 16, adjusted every 2 steps by ±32 / (kimg · 1000) = ±0.1: after 4 steps p is 0.2
    when r_t always exceeds the target; fixed without a target. (Clipping: test_ada.)"""
    gan = tiny_gan("dcgan", ada="blit,geom,color", ada_target=target, ada_kimg=0.32,
                   ada_interval=2, ada_p=0.25 if target is None else 0.0)
    history = gan.fit(tiny_data("dcgan", 16), epochs=1, steps_per_epoch=4, verbose=0,
                      shuffle=False)
    ada = gan.ingredient("ada")
    assert float(ada.probability.numpy()) == pytest.approx(expected, abs=1e-6)
    assert float(ada.count.numpy()) == 0.0  # reset at the adjustment after step 4
    rt = history.history["ada_rt"][-1]
    assert -1.0 <= float(np.ravel(rt)[0]) <= 1.0
    if target == -2.0:  # p logged before each step: 0, 0, 0.1, 0.1
        assert float(np.ravel(history.history["ada_p"][-1])[0]) == pytest.approx(0.05)


def test_bad_combinations_are_refused():
    with pytest.raises(ValueError, match="not both"):
        tiny_gan("dcgan", augment="color", ada="blit")
    with pytest.raises(ValueError, match="ADA transforms images"):
        tiny_gan("mlp", ada="blit")
    with pytest.raises(ValueError, match="fraction: must be > 0"):
        tiny_gan(compile_kwargs={"top_k": 0.0})
    with pytest.raises(ValueError, match="unknown ADA operation"):
        tiny_gan("dcgan", ada="blit,shear")
    with pytest.raises(ValueError, match="centred at 0"):
        tiny_gan("dcgan", ada="blit", compile_kwargs={"objective": "least_squares"})
    with pytest.raises(ValueError, match="given twice"):
        tiny_gan(compile_kwargs={"regularizers": ["r1"], "r1_penalty": 1.0})
    with pytest.raises(ValueError, match="consistency regularisation transforms images"):
        tiny_gan(compile_kwargs={"regularizers": [{"name": "consistency", "weight": 1.0}]})
    tiny_gan("dcgan", ada="blit", ada_target=None, compile_kwargs={"objective": "wasserstein"})


def test_an_ingredient_object_serves_one_model():
    """It holds its model's state (LeCam's anchors): a second model gets its own."""
    lecam = ingredients.LeCam()
    gan = tiny_gan(compile_kwargs={"regularizers": [lecam]})
    gan.compile(regularizers=[lecam])  # the same model again: fine
    with pytest.raises(ValueError, match="this LeCam belongs to another model"):
        tiny_gan(compile_kwargs={"regularizers": [lecam]})
    with pytest.raises(ValueError, match="options of ada=..."):
        tiny_gan("dcgan", augment="ada", ada_target=None)


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_objects_names_and_keywords_train_alike():
    """`regularizers=[objects]`, their config dicts and the keywords they replaced are the same
    model: bit-identical weights after training (the keywords are aliases)."""
    kinds = {
        "keywords": dict(ada="blit", ada_target=-2.0, ada_kimg=0.05,
                         compile_kwargs={"lecam": 0.3, "r1_penalty": 0.5, "r1_interval": 2}),
        "objects": dict(augment=ingredients.ADA(ops="blit", target=-2.0, kimg=0.05),
                        compile_kwargs={"regularizers": [ingredients.R1(0.5, 2),
                                                         ingredients.LeCam(weight=0.3)]}),
        "dicts": dict(augment={"name": "ada", "ops": "blit", "target": -2.0, "kimg": 0.05},
                      compile_kwargs={"regularizers": [{"name": "r1", "gamma": 0.5,
                                                        "interval": 2}, "lecam"]}),
    }
    trained = {}
    for name, options in kinds.items():
        gan = tiny_gan("dcgan", **options)
        gan.fit(tiny_data("dcgan", 16), epochs=1, steps_per_epoch=3, verbose=0, shuffle=False)
        trained[name] = weights_of(gan)
    for a, b, c in zip(*trained.values(), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_saved_model_keeps_the_regularizer_settings(tmp_path):
    gan = tiny_gan("dcgan", ada="blit,color", ada_target=0.5,
                   compile_kwargs={"lecam": 0.3, "top_k": 0.6})
    _one_step(gan, "dcgan")
    gan.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.augment.get_config() == {"name": "ada", "ops": "blit,color", "target": 0.5,
                                           "p": 0.0, "kimg": 500.0, "interval": 4}
    assert [r.get_config() for r in loaded.regularizers] == [
        {"name": "lecam", "weight": 0.3, "decay": 0.99},
        {"name": "top_k", "fraction": 0.6, "gamma": 0.99, "period": 1000}]
    np.testing.assert_array_equal(loaded.ingredient("ada").probability.numpy(),
                                  gan.ingredient("ada").probability.numpy())
    np.testing.assert_array_equal(loaded.ingredient("lecam").anchors[0].numpy(),
                                  gan.ingredient("lecam").anchors[0].numpy())


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_models_saved_before_the_ingredients_still_load(tmp_path):
    """A `model.keras` written before the ingredients were objects holds ADA as `ada*` keys
    (DiffAugment as policies in `augment`) and the regularisers as compile keywords."""
    gan = tiny_gan("dcgan", ada="blit,geom", ada_target=0.5, ada_p=0.1, ada_kimg=100.0,
                   ada_interval=2, compile_kwargs={"r1_penalty": 2.0, "r1_interval": 4})
    _one_step(gan, "dcgan")
    gan.save(tmp_path / "m.keras")

    def old(config):
        config["config"].update(augment="", ada="blit,geom", ada_target=0.5, ada_p=0.1,
                                ada_kimg=100.0, ada_interval=2)
        compiled = config["compile_config"]
        del compiled["regularizers"]
        compiled.update(gradient_penalty=0.0, r1_penalty=2.0, r1_interval=4, lecam=0.0,
                        lecam_decay=0.99, consistency=0.0, consistency_ops="xflip,xint",
                        top_k=1.0, top_k_gamma=0.99, top_k_period=1000)
        return config

    rewrite_config(tmp_path / "m.keras", old)
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.augment.get_config() == gan.augment.get_config() == {
        "name": "ada", "ops": "blit,geom", "target": 0.5, "p": 0.1, "kimg": 100.0, "interval": 2}
    assert [r.get_config() for r in loaded.regularizers] == [
        {"name": "r1", "gamma": 2.0, "interval": 4}]
    for a, b in zip(weights_of(loaded), weights_of(gan), strict=True):
        np.testing.assert_array_equal(a, b)  # ADA's p and sums too
    loaded.fit(tiny_data("dcgan", 16), epochs=1, steps_per_epoch=1, verbose=0)


def test_truncation_maps_the_same_draws_onto_the_truncated_normal():
    from scipy import stats

    from tfgen.models.base import truncate

    z = np.random.default_rng(0).standard_normal(200_000)
    t = truncate(z, 0.7)
    assert np.abs(t).max() <= 0.7
    assert stats.kstest(t, stats.truncnorm(-0.7, 0.7).cdf).pvalue > 0.01
    assert (np.diff(t[np.argsort(z)]) >= 0).all()  # monotone in the draw
    # The same map computed independently (SciPy's normal CDF and quantile function).
    low = stats.norm.cdf(-0.7)
    np.testing.assert_allclose(t, stats.norm.ppf(low + stats.norm.cdf(z) * (1 - 2 * low)),
                               rtol=0, atol=1e-7)  # TF's float64 erfc: ~1e-8
    np.testing.assert_allclose(truncate(tf.constant(z[:100], tf.float32), 0.7).numpy(), t[:100],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(truncate(z[:100], 12.0), z[:100], atol=1e-6)  # wide: no change


def test_sample_with_truncation():
    gan = tiny_gan("dcgan")
    wide, plain = gan.sample(16, seed=3, truncation=20.0), gan.sample(16, seed=3)
    np.testing.assert_allclose(wide, plain, atol=1e-5)
    assert np.abs(gan.sample(16, seed=3, truncation=0.3) - plain).max() > 1e-3
    with pytest.raises(ValueError, match="truncation must be > 0"):
        gan.sample(4, truncation=0.0)
