"""Config: sources applied in order, one-line errors for every failure mode, YAML round-trip."""

import dataclasses

import pytest
import yaml

from tfgen.errors import ConfigError
from tfgen.trainers import config as config_lib
from tfgen.trainers import presets
from tfgen.trainers.config import GANConfig, RunConfig


def test_every_preset_accepts_the_common_keys():
    for p in presets.all_presets():
        cfg = presets.resolve(p.name, overrides=[
            "epochs=2", "steps_per_epoch=3", "batch_size=8", "seed=4", "strategy=default",
        ])
        assert (cfg.epochs, cfg.steps_per_epoch, cfg.batch_size, cfg.seed, cfg.strategy) == (
            2, 3, 8, 4, "default")
        assert cfg.preset == p.name and isinstance(cfg, RunConfig)


def test_order_preset_then_file_then_set(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({
        "preset": "ring8-gan", "epochs": 7, "batch_size": 32, "model": {"latent_dim": 5},
    }))
    cfg = presets.resolve(config_file=path, overrides=["batch_size=16", "model.width=12"])
    base = presets.get("ring8-gan")
    assert cfg.preset == "ring8-gan" and cfg.data.name == base.data.name  # from the preset
    assert cfg.epochs == 7 and cfg.model.latent_dim == 5  # from the file
    assert cfg.batch_size == 16 and cfg.model.width == 12  # --set wins over the file
    # Without any source: the default preset.
    assert presets.resolve().preset == presets.DEFAULT_PRESET


def test_written_config_round_trips(tmp_path):
    cfg = presets.resolve("digits-cgan", overrides=[
        "model.ema_decay=0.999", "g_optimizer.learning_rate=1e-3", "data.image_size=16",
        "training.precision=mixed_bfloat16",
    ])
    path = tmp_path / "config.yaml"
    config_lib.dump_yaml(cfg, path)
    again = presets.resolve(config_file=path)
    assert again == cfg and type(again) is GANConfig
    assert yaml.safe_load(path.read_text())["model"]["ema_decay"] == 0.999


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["epochz=3"], "unknown config key 'epochz' (did you mean 'epochs'?); valid keys: preset, epochs,"),
        (["data.nme=x"], "unknown config key 'data.nme' (did you mean 'name'?); valid keys under 'data': "
                           "name,"),
        (["batch_size=abc"], "config key 'batch_size': expected an integer, got 'abc' (str)"),
        (["batch_size=2.5"], "config key 'batch_size': expected an integer, got 2.5 (float)"),
        (["data.labels=maybe"], "config key 'data.labels': expected true or false, got 'maybe'"),
        (["epochs=0"], "config key 'epochs': must be >= 1; got 0"),
        (["seed=-1"], "config key 'seed': must be >= 0; got -1"),
        (["g_optimizer.learning_rate=0"], "config key 'g_optimizer.learning_rate': must be > 0.0"),
        (["strategy=gpu"], "config key 'strategy': must be one of auto, default, one_device, "
                           "mirrored, multi_worker, tpu; got 'gpu'"),
        (["data.name=mnist"], "config key 'data.name': unknown dataset 'mnist'; choose from:"),
        (["data=3"], "'data' must be a mapping of keys to values, got 3 (int)"),
        (["epochs"], "override 'epochs' must look like key=value"),
        (["model.augment.name=diffaugment", "model.augment.policies=flip"],
         "config key 'model.augment.policies': unknown DiffAugment policy 'flip'"),
        (["model.augment={name: ada, ops: 'blit,warp'}"],
         "config key 'model.augment.ops': unknown ADA operation 'warp'"),
        (["model.augment=ada"], "config key 'model.augment': ADA transforms images (B, H, W, C)"),
        (["model.augment.name=adb"], "config key 'model.augment': unknown augmentation 'adb'"),
        (["model.augment.name=ada", "model.augment.kimg=0"],
         "config key 'model.augment.kimg': must be > 0.0; got 0.0"),
        (["model.regularizers.top_k.fraction=0"],
         "config key 'model.regularizers.top_k.fraction': must be > 0.0; got 0"),
        (["model.regularizers.r1.gama=1"],
         "config key 'model.regularizers.r1.gama': r1 has no option 'gama' (did you mean "
         "'gamma'?); its options: gamma, interval"),
        (["model.regularizers.r3={}"], "config key 'model.regularizers.r3': unknown regularizer"),
        (["model.regularizers.r1=3"], "config key 'model.regularizers.r1': expected a mapping"),
        (["model.regularizers=r1"], "config key 'model.regularizers': expected a mapping of names"),
        (["model.augment.name=ada", "model.objective=least_squares", "data.name=digits"],
         "config key 'model.augment.target': ADA's r_t = E[sign D(real)] needs"),
        # the flat keys of earlier configs, read into the sections
        (["model.ada=blit,warp"], "config key 'model.augment.ops': unknown ADA operation 'warp'"),
        (["model.top_k=0.5", "model.top_k_gamma=2"],
         "config key 'model.regularizers.top_k.gamma': must be <= 1"),
        (["model.orthogonal=1e-4"], "config key 'model.orthogonal': the orthogonal"),
        (["epochs=null"], "config key 'epochs': expected an integer, got null"),
    ],
)
def test_override_errors_name_the_key(overrides, message):
    with pytest.raises(ConfigError) as err:
        presets.resolve("ring8-gan", overrides=overrides)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("overrides,message", [
    (["model.prior=vamp", "model.conditional=true", "data.labels=true"],
     "config key 'model.prior': the VampPrior is for unconditional VAEs"),
    (["model.top_latent_dim=4", "model.free_bits=0.1"],
     "config key 'model.free_bits': free bits need the closed-form KL"),
    (["model.free_bits=0.1", "model.kl_capacity=5"],
     "config key 'model.kl_capacity': free bits and a KL capacity are two alternatives"),
    (["model.kl_capacity=5", "model.iw_samples=5"],
     "config key 'model.kl_capacity': a KL capacity shapes the ELBO's KL term"),
    (["model.estimator=dreg", "model.iw_samples=5", "model.flow_steps=2"],
     "config key 'model.estimator': the dreg estimator needs Gaussian posteriors"),
    (["model.estimator=dreg"], "config key 'model.estimator': the dreg estimator is for IWAE training"),
    (["model.prior=uniform"], "config key 'model.prior': unknown prior 'uniform' (did you mean "
     "'normal'?); choose from: normal, vamp"),
    (["model.prior={name: vamp, pseudo_inputs: 0}"],
     "config key 'model.prior.pseudo_inputs': must be >= 1; got 0"),
    (["model.prior=null"], "config key 'model.prior': a VAE needs a prior"),
    (["model.flow_steps=-1"], "config key 'model.flow_steps': must be >= 0"),
])
def test_vae_depth_errors_name_the_key(overrides, message):
    with pytest.raises(ConfigError) as err:
        presets.resolve("digits-vae", overrides=overrides)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        presets.resolve(config_file=tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: [1,\n")
    with pytest.raises(ConfigError, match=r"config file .*bad.yaml line \d+"):
        presets.resolve(config_file=bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        presets.resolve(config_file=listy)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("model:\n  n_critic: 0\n")
    with pytest.raises(ConfigError, match="config key 'model.n_critic': must be >= 1; got 0"):
        presets.resolve("ring8-gan", config_file=wrong)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset 'dcgann'; choose from: ring8-gan,"):
        presets.resolve("dcgann")


def test_preset_key_cannot_be_overridden():
    with pytest.raises(ConfigError, match="'preset' cannot be overridden"):
        presets.resolve("ring8-gan", overrides=["preset=grid25-gan"])


def test_values_parse_as_yaml():
    cfg = presets.resolve("ring8-gan", overrides=[
        "model.ema_decay=0.99", "model.ema_decay=null", "tpu=my-tpu", "data.labels=true",
        "steps_per_epoch=null",
    ])
    assert cfg.model.ema_decay is None and cfg.tpu == "my-tpu" and cfg.data.labels is True
    assert cfg.steps_per_epoch is None
    # Integers are accepted where floats are expected.
    assert config_lib.apply_overrides(cfg, ["g_optimizer.learning_rate=1"]).g_optimizer.learning_rate == 1.0


def test_describe_fields_covers_every_leaf():
    cfg = presets.get("ring8-gan")
    keys = [k for k, _, _ in config_lib.describe_fields(cfg)]
    assert "data.name" in keys and "model.latent_dim" in keys
    assert all(help_text for _, _, help_text in config_lib.describe_fields(cfg))
    assert len(keys) == len(set(keys)) == len(_leaves(config_lib.to_dict(cfg)))


def _leaves(d):  # an empty mapping (no augmentation) is a leaf of its own
    return [v for x in d.values() for v in (_leaves(x) if isinstance(x, dict) and x else [x])]


def test_presets_are_fresh_objects():
    a = presets.get("digits-dcgan")
    a.model.latent_dim = 999
    assert presets.get("digits-dcgan").model.latent_dim != 999
    assert dataclasses.is_dataclass(a)


def test_booleans_are_strict_and_names_suggest_the_closest():
    from tfgen.errors import ConfigError
    from tfgen.trainers import presets

    with pytest.raises(ConfigError, match="'training.deterministic': expected true or false, "
                                          "got 'yes'"):
        presets.resolve("ring8-gan", overrides=["training.deterministic=yes"])
    assert presets.resolve("ring8-gan",
                           overrides=["training.deterministic=true"]).training.deterministic
    with pytest.raises(ConfigError, match=r"unknown config key 'epoch' \(did you mean 'epochs'\?\)"):
        presets.resolve("ring8-gan", overrides=["epoch=5"])
    with pytest.raises(ConfigError, match=r"unknown preset 'ring8gan' \(did you mean 'ring8-gan'\?\)"):
        presets.resolve("ring8gan")
    with pytest.raises(ConfigError, match=r"got 'hinj' \(did you mean 'hinge'\?\)"):
        presets.resolve("ring8-gan", overrides=["model.objective=hinj"])
