"""Evaluator, feature extractors and the class-distribution KL, against hand-built cases."""

import os

import keras
import numpy as np
import pytest

from tfgen import data
from tfgen.errors import UserError
from tfgen.metrics import features as features_lib
from tfgen.metrics.evaluation import DIRECTIONS, Evaluator, Sampler, class_distribution_kl


class FixedSamples(Sampler):
    """A stand-in model whose `sample` returns given arrays (first `num`)."""

    def __init__(self, samples):
        self.samples = np.asarray(samples, np.float32)

    def sample(self, num, seed=0, labels=None):
        return self.samples[:num]


def test_class_distribution_kl_closed_forms():
    uniform = np.repeat(np.arange(10), 5)
    assert class_distribution_kl(uniform, uniform, 10) == pytest.approx(0.0)
    assert class_distribution_kl(np.zeros(50, int), uniform, 10) == pytest.approx(np.log(10))
    # Half on class 0, half on class 1, reference uniform over 4: log 4 - log 2.
    ref4 = np.repeat(np.arange(4), 3)
    assert class_distribution_kl([0, 1, 0, 1], ref4, 4) == pytest.approx(np.log(2))


def test_mixture_evaluator_cards_and_baseline():
    src = data.source("ring8", seed=3)
    ev = Evaluator(src, "test", seed=1)
    collapsed = FixedSamples(np.repeat(src.info.mixture.means[:1], 2500, axis=0))
    cards = ev(collapsed)
    assert set(cards) == {"modes_covered", "high_quality", "reverse_kl"}
    assert cards["modes_covered"]["value"] == 1 and cards["high_quality"]["value"] == 1.0
    assert cards["reverse_kl"]["value"] == pytest.approx(np.log(8))
    # Real points: every mode, almost all within 3 sigma (P(chi_2 < 9) = 0.989), near-uniform.
    base = cards["modes_covered"]
    assert base["baseline"] == 8 and cards["high_quality"]["baseline"] == pytest.approx(0.989, abs=0.01)
    assert cards["reverse_kl"]["baseline"] < 0.01
    assert base["num_generated"] == base["num_reference"] == 2500 and base["seed"] == 1
    assert base["better"] == "max" and cards["reverse_kl"]["better"] == DIRECTIONS["reverse_kl"]


@pytest.fixture(scope="module")
def digits():
    return data.source("digits")


@pytest.fixture(scope="module")
def extractor(digits):
    return features_lib.dataset_extractor(digits, progress=False)


def test_extractor_is_trained_once_and_cached(digits, extractor, monkeypatch):
    card = extractor.card
    assert card["dataset"] == "digits" and card["train_examples"] == 1000
    assert card["test_examples"] == 447 and card["accuracy"] > 0.85
    assert os.path.exists(card["path"]) and card["path"].startswith(features_lib.cache_dir())
    monkeypatch.setattr(features_lib, "train_classifier",
                        lambda *a, **k: pytest.fail("retrained despite the cache"))
    again = features_lib.dataset_extractor(digits, progress=False)
    x, _ = digits.numpy("val")
    np.testing.assert_allclose(again.features(x, (-1, 1)), extractor.features(x, (-1, 1)),
                               rtol=1e-5, atol=1e-5)
    # The same images in [0, 1] (VAE pixel range) are the same features: one extractor per data.
    unit = data.source("digits", pixel_range="unit")
    assert features_lib.dataset_extractor(unit, progress=False).card["sha256"] == card["sha256"]


def test_fingerprint_depends_on_content():
    x = np.zeros((4, 8, 8, 1), np.float32)
    y = np.arange(4)
    a = features_lib.dataset_fingerprint("d", "train", x, y)
    assert a == features_lib.dataset_fingerprint("d", "train", x.copy(), y.copy())
    x[0, 0, 0, 0] = 1.0
    assert a != features_lib.dataset_fingerprint("d", "train", x, y)


def test_real_test_images_score_as_perfect(digits, extractor):
    ev = Evaluator(digits, "test", features=extractor, seed=0)
    x, _ = digits.numpy("test")
    cards = ev(FixedSamples(x[::-1]))  # the reference split itself, in another order
    assert cards["frechet_distance"]["value"] < 1e-6
    for name in ("precision", "recall", "coverage"):
        assert cards[name]["value"] == 1.0
    assert cards["class_kl"]["value"] < 0.01
    # The real-vs-real baseline (train vs test) is a positive floor with its own card.
    fd = cards["frechet_distance"]
    assert fd["baseline"] > 0 and fd["baseline_split"] == "train" and fd["reference_split"] == "test"
    assert fd["num_generated"] == fd["num_reference"] == 447
    assert fd["features"]["accuracy"] == extractor.card["accuracy"]
    assert cards["precision"]["k"] == 3 and cards["density"]["k"] == 5
    # Noise scores much worse than the baseline.
    noise = np.random.default_rng(0).uniform(-1, 1, x.shape)
    worse = ev.values(FixedSamples(noise))
    assert worse["frechet_distance"] > 5 * fd["baseline"] and worse["class_kl"] > 0.1


def test_user_feature_model(digits, tmp_path):
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Dense(6)(keras.layers.Flatten()(inputs)))
    path = str(tmp_path / "feat.keras")
    model.save(path)
    ext = features_lib.FeatureExtractor.from_file(path)
    assert ext.dim == 6 and not ext.classifies and len(ext.card["sha256"]) == 64
    x, _ = digits.numpy("val")
    np.testing.assert_allclose(ext.features(x, (-1, 1)), model.predict((x + 1) / 2, verbose=0),
                               rtol=1e-5, atol=1e-5)
    ev = Evaluator(digits, "test", features=path, num=100)
    assert "class_kl" not in ev.available(FixedSamples(x))
    assert ev(FixedSamples(x[:100]))["frechet_distance"]["features"]["name"] == "feat.keras"


def test_bad_feature_models_and_counts(digits, extractor, tmp_path):
    with pytest.raises(UserError, match="model file not found"):
        features_lib.FeatureExtractor.from_file(str(tmp_path / "missing.keras"))
    (tmp_path / "junk.keras").write_text("not a model")
    with pytest.raises(UserError, match="cannot load"):
        features_lib.FeatureExtractor.from_file(str(tmp_path / "junk.keras"))
    inputs = keras.Input((8, 8, 1))
    keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs)).save(tmp_path / "conv.keras")
    with pytest.raises(UserError, match=r"must output one \[N, D\]"):
        features_lib.FeatureExtractor.from_file(str(tmp_path / "conv.keras"))
    with pytest.raises(UserError, match="exceeds the test split's 447 examples"):
        Evaluator(digits, "test", num=500, features=extractor)


def test_collapse_rule():
    from tfgen.metrics.evaluation import collapse

    assert collapse({"class_kl": 0.95 * np.log(10)}, 10).startswith("class KL")
    assert collapse({"class_kl": 0.5}, 10) is None
    assert "one mode" in collapse({"modes_covered": 1, "high_quality": 0.9, "reverse_kl": 2.0}, 8)
    # Early in training nothing is high quality yet: not a collapse.
    assert collapse({"modes_covered": 0, "high_quality": 0.0, "reverse_kl": 2.0}, 8) is None
    assert collapse({"modes_covered": 8, "high_quality": 0.9, "reverse_kl": 0.0}, 8) is None


def test_evaluation_callback_stops_a_collapsed_run():
    from tfgen.callbacks import Evaluation
    from tfgen.errors import TrainingCollapsed
    from tfgen.models import GAN  # noqa: F401  (model_step reads model.step)

    src = data.source("ring8")
    ev = Evaluator(src, "test")
    means = src.info.mixture.means

    class Model(FixedSamples):
        step = np.int64(7)

    callback = Evaluation(ev, every=1, stop_on_collapse=True)
    callback.set_model(Model(np.repeat(means[:1], 2500, axis=0)))
    callback.params = {"epochs": 3}
    logs = {}
    with pytest.raises(TrainingCollapsed, match="mode collapse at epoch 1 .step 7.: 100% high"):
        callback.on_epoch_end(0, logs)
    healthy = Evaluation(ev, every=2)
    healthy.set_model(Model(np.tile(means, (313, 1))))
    healthy.params = {"epochs": 3}
    logs = {}
    healthy.on_epoch_end(0, logs)  # not due
    assert logs == {}
    healthy.on_epoch_end(2, logs)  # the last epoch is always evaluated
    assert logs["eval_modes_covered"] == 8 and logs["eval_reverse_kl"] < 1e-4


def test_memorisation_flags_copies_of_training_images(digits, extractor):
    ev = Evaluator(digits, "test", features=extractor, seed=0)
    train, _ = digits.numpy("train")
    test, _ = digits.numpy("test")
    copies = ev(FixedSamples(train[:447]))["memorised"]
    assert copies["value"] == 1.0 and copies["pixel_space"]["fraction"] == 1.0  # distance 0
    assert copies["train_split"] == "train" and copies["expected_for_new_data"] == 0.01
    new = ev.values(FixedSamples(test[::-1]))
    # Held-out images are "new data": about 1% fall below their own 1st percentile.
    assert new["memorised"] <= 0.02 and ev.details["memorised_detail"]["pixel_space"]["fraction"] <= 0.02
    assert "memorised" not in Evaluator(digits, "test", features=extractor,
                                        baseline=False).available(FixedSamples(test))


def test_nearest_distances_match_scipy():
    from scipy.spatial.distance import cdist

    from tfgen.metrics.distances import memorisation, nearest_distances

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(70, 5)), rng.normal(size=(300, 5))
    np.testing.assert_allclose(nearest_distances(a, b, chunk=16), cdist(a, b).min(1), rtol=1e-4)
    m = memorisation(b[:50] + 1e-3, rng.normal(size=(200, 5)), b)
    assert m["fraction"] == 1.0 and m["generated_median"] < m["held_out_median"]


class ConditionalSamples(Sampler):
    """A conditional stand-in: for each requested label, a real image of that class (or of
    another class when `wrong`)."""

    conditional, num_classes = True, 10

    def __init__(self, x, y, wrong=False):
        self.by_class = [x[y == c] for c in range(10)]
        self.wrong = wrong

    def sample_labels(self, num, labels=None):
        return np.resize(np.asarray(labels), num).astype(np.int32)

    def sample(self, num, seed=0, labels=None):
        labels = (np.asarray(labels) + 3 * self.wrong) % 10
        counts = np.zeros(10, int)
        out = []
        for c in labels:
            pool = self.by_class[c]
            out.append(pool[counts[c] % len(pool)])
            counts[c] += 1
        return np.stack(out)


def test_conditional_metrics(digits, extractor):
    ev = Evaluator(digits, "test", features=extractor, seed=0)
    x, y = digits.numpy("val")
    right = ev(ConditionalSamples(x, y))
    assert "label_accuracy" in right and "intra_fd" in right
    acc = right["label_accuracy"]
    # Real val images of the asked class: the extractor's accuracy, close to its accuracy on
    # the real test images (the baseline).
    assert acc["value"] > 0.85 and acc["baseline"] == pytest.approx(ev.ref_accuracy)
    assert abs(acc["value"] - acc["baseline"]) < 0.08
    intra = right["intra_fd"]
    assert len(intra["per_class"]) == 10 and intra["class_names"][3] == "3"
    assert intra["value"] == pytest.approx(np.nanmean(intra["per_class"]))
    wrong = ev.values(ConditionalSamples(x, y, wrong=True))
    assert wrong["label_accuracy"] < 0.15 and wrong["intra_fd"] > 3 * intra["value"]
    # The ordinary FD does not see the label swap (same images overall); intra-class FD does.
    assert wrong["frechet_distance"] == pytest.approx(right["frechet_distance"]["value"], rel=0.3)


def test_clean_resize_matches_pil_and_feeds_an_inception_shaped_model(digits, tmp_path):
    from PIL import Image

    x, _ = digits.numpy("val")
    unit = (x[:3] + 1) / 2
    out = features_lib.clean_resize(unit, 299, 299, 3)
    assert out.shape == (3, 299, 299, 3) and np.all(out[..., 0] == out[..., 2])
    # Independently: uint8, then PIL float bicubic, clipped.
    img8 = np.round(unit[1, ..., 0] * 255).astype(np.uint8)
    ref = np.asarray(Image.fromarray(img8.astype(np.float32), "F").resize((299, 299),
                                                                         Image.BICUBIC))
    np.testing.assert_allclose(out[1, ..., 1], np.clip(ref, 0, 255) / 255, atol=1e-6)
    # A model with InceptionV3's input (random weights): evaluation resizes instead of failing.
    inputs = keras.Input((299, 299, 3))
    h = keras.layers.Conv2D(4, 7, strides=8)(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(h))
    model.save(tmp_path / "inception_shaped.keras")
    ev = Evaluator(digits, "test", features=str(tmp_path / "inception_shaped.keras"), num=50)
    card = ev(FixedSamples(x[:50]))["frechet_distance"]
    assert card["features"]["resize"].startswith("clean-fid") and "1->3 channels" in card[
        "features"]["resize"]
    assert np.isfinite(card["value"])
