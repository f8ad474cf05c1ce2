"""Named configs: a registry of small functions that each return a typed config.

A preset is registered with `@register(name, description)` next to the family it trains. `resolve`
builds the config a run uses: the preset, then a YAML file, then `--set` overrides, validated.

Example:

>>> from tfgen.trainers import presets
>>> cfg = presets.resolve("ring8-gan", overrides=["epochs=3"])
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable

from tfgen.errors import ConfigError
from tfgen.trainers import config as config_lib

DEFAULT_PRESET = "digits-dcgan"


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    description: str
    build: Callable[[], config_lib.RunConfig]
    # KerasTuner search space: hp -> {dotted config key: value drawn from hp}
    space: Callable | None = None


_REGISTRY: dict[str, Preset] = {}


def register(name: str, description: str, space: Callable | None = None):
    """Decorator: register a function returning a config as the preset `name`.

    `space(hp)` declares the preset's hyperparameter search space for `tfgen tune`: it draws
    values from a `keras_tuner.HyperParameters` and returns them as dotted config keys, e.g.
    `{"model.latent_dim": hp.Choice("latent_dim", [8, 16, 32])}`.
    """

    def wrap(fn: Callable[[], config_lib.RunConfig]):
        if name in _REGISTRY:
            raise ValueError(f"preset {name!r} is registered twice")
        _REGISTRY[name] = Preset(name, description, fn, space)
        return fn

    return wrap


def conditional(cfg: config_lib.RunConfig) -> config_lib.RunConfig:
    """`cfg` made class-conditional: labelled data, a conditional model."""
    cfg.data.labels = True
    cfg.model.conditional = True
    return cfg


def _load_builtin() -> None:
    # Each family module registers its presets when imported.
    from tfgen.trainers.presets import gan, vae  # noqa: F401


def all_presets() -> list[Preset]:
    """Every registered preset, in registration order."""
    _load_builtin()
    return list(_REGISTRY.values())


def get(name: str) -> config_lib.RunConfig:
    """A fresh config for the preset `name`."""
    _load_builtin()
    if name not in _REGISTRY:
        raise ConfigError(f"unknown preset {name!r}{config_lib.did_you_mean(name, _REGISTRY)}; "
                          f"choose from: {', '.join(_REGISTRY)}")
    cfg = _REGISTRY[name].build()
    cfg.preset = name
    return cfg


def search_space(name: str) -> Callable:
    """The search space `space(hp) -> {dotted key: value}` declared with the preset `name`."""
    _load_builtin()
    if name not in _REGISTRY:
        raise ConfigError(f"unknown preset {name!r}{config_lib.did_you_mean(name, _REGISTRY)}; "
                          f"choose from: {', '.join(_REGISTRY)}")
    space = _REGISTRY[name].space
    if space is None:
        tunable = [p.name for p in _REGISTRY.values() if p.space is not None]
        raise ConfigError(f"preset {name!r} declares no search space; tunable presets: "
                          f"{', '.join(tunable)}")
    return space


def resolve(
    preset: str | None = None,
    config_file: str | os.PathLike | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> config_lib.RunConfig:
    """The validated config: preset, then YAML file, then `dotted.key=value` overrides.

    Args:
        preset: preset name; when None, the file's `preset` key, else `DEFAULT_PRESET`.
        config_file: a YAML file, e.g. a run directory's `config.yaml`.
        overrides: `--set` strings such as `data.name=ring8` or `batch_size=128`.
    """
    file_values = config_lib.load_yaml(config_file) if config_file is not None else {}
    file_preset = file_values.get("preset") or None
    if file_preset is not None and not isinstance(file_preset, str):
        raise ConfigError(f"config key 'preset': expected a string, got {file_preset!r}")
    name = preset or file_preset or DEFAULT_PRESET
    cfg = get(name)
    family = file_values.get("family", cfg.family)
    if family != cfg.family:
        raise ConfigError(f"config key 'family': {config_file} is a {family} config; preset "
                          f"{name!r} trains a {cfg.family}")
    file_values = {k: v for k, v in file_values.items() if k not in ("preset", "family")}
    cfg = config_lib.apply_dict(cfg, file_values)
    cfg = config_lib.apply_overrides(cfg, overrides)
    if cfg.preset != name:
        raise ConfigError(f"config key 'preset' cannot be overridden (preset is {name!r})")
    return config_lib.validate(cfg)
