"""Config sections that are the library's ingredients (model.regularizers, model.augment,
model.prior, model.likelihood): how --set and YAML reach into them, and configs written with
the flat keys of earlier versions (files in tests/config/data, dumped by the code before the
sections) read into the same ingredients as the library's keyword path gives."""

import logging

import pytest

from tfgen.errors import ConfigError
from tfgen.ingredients import legacy
from tfgen.trainers import config as config_lib
from tfgen.trainers import presets
from tfgen.trainers.config import GANConfig, VAEConfig

DATA = __file__.rsplit("/", 1)[0] + "/data"


def _configs(objects):
    return [None if o is None else o.get_config() for o in objects]


def test_set_reaches_into_the_sections_and_null_switches_off():
    cfg = presets.resolve("fmnist-dcgan", overrides=[
        "model.regularizers.lecam={}", "model.regularizers.r1.interval=2",
        "model.augment=ada", "model.augment.kimg=100"])
    assert cfg.model.regularizers == {"r1": {"gamma": 1.0, "interval": 2}, "lecam": {}}
    assert cfg.model.augment == {"name": "ada", "kimg": 100}
    augment, regularizers = cfg.model.ingredients(top_k_period=7)
    assert augment.name == "ada" and augment.kimg == 100.0 and augment.ops == "blit,geom,color"
    assert [r.name for r in regularizers] == ["r1", "lecam"] and regularizers[1].weight == 0.3
    # a new name starts from that ingredient's defaults; null and {} switch off
    cfg = config_lib.apply_overrides(cfg, ["model.augment.name=diffaugment",
                                           "model.regularizers.r1=null"])
    assert cfg.model.augment == {"name": "diffaugment"} and cfg.model.regularizers == {
        "lecam": {}}
    assert config_lib.apply_overrides(cfg, ["model.augment={}"]).model.augment == {}


def test_top_k_period_is_the_epoch_unless_set():
    cfg = presets.resolve("fmnist-dcgan", overrides=["model.regularizers.top_k.fraction=0.5"])
    assert cfg.model.ingredients(top_k_period=500)[1][1].period == 500
    cfg = config_lib.apply_overrides(cfg, ["model.regularizers.top_k.period=3"])
    assert cfg.model.ingredients(top_k_period=500)[1][1].period == 3


def test_a_config_round_trips_through_yaml(tmp_path):
    cfg = presets.resolve("fmnist-dcgan", overrides=[
        "model.augment={name: ada, target: null}", "model.regularizers.consistency.weight=5"])
    config_lib.dump_yaml(cfg, tmp_path / "c.yaml")
    raw = config_lib.load_yaml(tmp_path / "c.yaml")
    assert raw["model"]["augment"] == {"name": "ada", "target": None}
    back = config_lib.apply_dict(GANConfig(), {k: v for k, v in raw.items() if k != "family"})
    # null inside a section is the option's value (ADA's target None: a fixed p)
    assert back.model.augment == {"name": "ada", "target": None} and back.model.ingredients(
        )[0].target is None
    assert back.model.regularizers == cfg.model.regularizers
    assert _configs(back.model.ingredients()[1]) == _configs(cfg.model.ingredients()[1])


def test_an_old_gan_config_reads_into_the_same_ingredients(caplog):
    """fmnist-dcgan with model.ada=blit,geom, ada_kimg=100, lecam=0.3, top_k=0.5, dumped in the
    flat layout: the sections hold them, and the ingredients equal what the legacy keywords of
    the library give; one notice line names what moved."""
    raw = config_lib.load_yaml(f"{DATA}/old-gan-config.yaml")
    with caplog.at_level(logging.WARNING, logger="tfgen"):
        cfg = config_lib.validate(config_lib.apply_dict(
            GANConfig(), {k: v for k, v in raw.items() if k != "family"}))
    notices = [r.getMessage() for r in caplog.records]
    assert len(notices) == 1 and "\n" not in notices[0]
    assert "model.lecam -> model.regularizers.lecam.weight" in notices[0]
    assert cfg.model.regularizers == {"r1": {"gamma": 1.0, "interval": 4},
                                      "lecam": {"weight": 0.3},
                                      "top_k": {"fraction": 0.5, "gamma": 0.99}}
    augment, regularizers = cfg.model.ingredients(top_k_period=500)
    m = raw["model"]
    want_regularizers = legacy.regularizers(
        **{k: m[k] for k, _, _ in legacy.REGULARIZER_KEYWORDS if k in m}, top_k_period=500)
    want_augment = legacy.augmentation(m["augment"], **{k: m[k] for k, _ in legacy.ADA_KEYWORDS})
    assert _configs(regularizers) == _configs(want_regularizers)
    assert augment.get_config() == want_augment.get_config()
    assert augment.ops == "blit,geom" and augment.kimg == 100.0


def test_an_old_vae_config_reads_into_the_same_prior():
    raw = config_lib.load_yaml(f"{DATA}/old-vae-config.yaml")
    assert raw["model"]["prior"] == "vamp" and raw["model"]["pseudo_inputs"] == 50
    cfg = config_lib.validate(config_lib.apply_dict(
        VAEConfig(), {k: v for k, v in raw.items() if k != "family"}))
    assert cfg.model.prior == {"name": "vamp", "pseudo_inputs": 50}
    assert cfg.model.prior_object().get_config() == legacy.prior("vamp", 50).get_config()
    # with the normal prior the flat pseudo_inputs was ignored, and still is
    normal = config_lib.apply_dict(VAEConfig(), {"model": {"prior": "normal",
                                                           "pseudo_inputs": 100}})
    assert normal.model.prior == {"name": "normal"}


def test_an_old_vae_config_reads_into_the_same_likelihood(caplog):
    raw = config_lib.load_yaml(f"{DATA}/old-vae-config.yaml")
    assert raw["model"]["likelihood"] == "categorical" and raw["model"]["levels"] == 17
    with caplog.at_level(logging.WARNING, logger="tfgen"):
        cfg = config_lib.apply_dict(VAEConfig(), {k: v for k, v in raw.items() if k != "family"})
    assert cfg.model.likelihood == {"name": "categorical", "levels": 17}
    notice = caplog.records[-1].getMessage()
    assert "model.levels -> model.likelihood.levels" in notice
    assert "model.gaussian_scale dropped (the categorical likelihood does not take it)" in notice
    # a flat option tunes the likelihood that is on, and is dropped by one that lacks it
    fmnist = config_lib.apply_overrides(presets.get("fmnist-vae"), ["model.components=3"])
    assert fmnist.model.likelihood == {"name": "discretized_logistic", "levels": 256,
                                       "components": 3}
    mnist = config_lib.apply_overrides(presets.get("mnist-vae"), ["model.levels=9"])
    assert mnist.model.likelihood == {"name": "bernoulli"}
    old = config_lib.apply_overrides(presets.get("digits-vae"),
                                     ["model.likelihood=gaussian", "model.gaussian_scale=0.1"])
    assert old.model.likelihood_object().get_config() == {"name": "gaussian", "scale": 0.1}


def test_set_reaches_into_the_likelihood_and_its_options_are_checked():
    cfg = config_lib.apply_overrides(presets.get("digits-vae"), ["model.likelihood.levels=9"])
    assert cfg.model.likelihood_object().channels_per_dim == 9
    cfg = config_lib.apply_overrides(cfg, ["model.likelihood=gaussian"])  # a new name: defaults
    assert cfg.model.likelihood == {"name": "gaussian"}
    with pytest.raises(ConfigError, match=r"^config key 'model.likelihood.levels': must be >= 2; "
                                          r"got 1$"):
        config_lib.validate(config_lib.apply_overrides(presets.get("digits-vae"),
                                                       ["model.likelihood.levels=1"]))
    with pytest.raises(ConfigError, match="'model.likelihood': a VAE needs a likelihood"):
        config_lib.validate(config_lib.apply_overrides(presets.get("digits-vae"),
                                                       ["model.likelihood=null"]))


def test_an_old_file_with_both_augmentations_is_refused():
    with pytest.raises(ConfigError, match="'model.ada': choose DiffAugment or ADA, not both"):
        config_lib.apply_dict(GANConfig(), {"model": {"augment": "color", "ada": "blit"}})


def test_an_old_ingredient_option_without_its_switch_is_ignored_as_before():
    cfg = config_lib.apply_dict(GANConfig(), {"model": {"r1_interval": 4, "ada_kimg": 10}})
    assert cfg.model.regularizers == {} and cfg.model.augment == {}
    on = config_lib.apply_overrides(presets.get("fmnist-dcgan"), ["model.r1_interval=2"])
    assert on.model.regularizers == {"r1": {"gamma": 1.0, "interval": 2}}  # R1 is on: tuned
