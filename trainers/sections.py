"""Config sections that *are* the library's ingredients (`tfgen.ingredients`): a GAN's
`model.regularizers` and `model.augment`, a VAE's `model.prior` and `model.likelihood`.

A section holds the ingredient's own config dict, so its options are the library's, checked by
the ingredient when it is made:

    model:
      regularizers: {r1: {gamma: 1.0, interval: 4}, lecam: {weight: 0.3}}   # name -> options
      augment: {name: ada, ops: blit,geom,color, target: 0.6}               # one, or {} for none
    model:
      prior: {name: vamp, pseudo_inputs: 100}
      likelihood: {name: categorical, levels: 17}

`--set` reaches into them (`model.regularizers.r1.gamma=1`, `model.augment.name=ada`); a name
alone is the ingredient with its defaults (`model.prior=vamp`, `model.regularizers.lecam={}`);
null switches one off (`model.regularizers.r1=null`; `model.augment=null` or `{}`). Configs written
before the sections existed used flat keys (`model.r1_penalty`, `model.ada_kimg`, ...): `migrate`
reads them into the sections, with one notice line naming what moved.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from tfgen.errors import ConfigError, OptionError
from tfgen.ingredients import REGISTRY, legacy
from tfgen.ingredients import get as get_ingredient

log = logging.getLogger("tfgen")


def merge(current: dict, value: Any, key: str, kind: str, many: bool) -> dict:
    """`current` (a section's dict) updated by `value`; `many`: a mapping name -> options
    (regularisers), else one ingredient's config dict (a new `name` starts from its defaults)."""
    if value is None or (not many and value in ("", {})):
        return {}  # off / none
    if isinstance(value, str) and not many:
        value = {"name": value}
    if not isinstance(value, dict):
        what = "a mapping of names to options" if many else "a name or a mapping of options"
        raise ConfigError(f"config key '{key}': expected {what}, got {value!r}")
    out = copy.deepcopy(current)
    if not many:
        if "name" in value and value["name"] != out.get("name"):
            out = {}
        return _deep_update(out, value)
    for name, options in value.items():
        if options is None:
            out.pop(name, None)
        elif isinstance(options, dict):
            out[name] = _deep_update(out.get(name, {}), options)
        else:
            raise ConfigError(f"config key '{key}.{name}': expected a mapping of {name}'s "
                              f"options ({{}}: its defaults) or null (off), got {options!r}")
    return out


def _deep_update(base: dict, update: dict) -> dict:
    return {**base, **update}  # null is an option's value here (ADA's target None: p fixed)


def build(section: dict, key: str, kind: str, many: bool, **defaults):
    """The ingredient(s) of a section: a list in the registry's order (`many`), else one or
    None. `defaults`: options an ingredient takes from the run unless the section sets them
    (top-k's `period`: the steps of an epoch), for the ingredients that have them."""
    if not many:
        return _made(kind, section, key) if section else None
    unknown = [name for name in section if name not in REGISTRY[kind]]
    if unknown:
        _made(kind, {"name": unknown[0]}, f"{key}.{unknown[0]}")  # the unknown-name message
    out = []
    for name in REGISTRY[kind]:
        if name in section:
            cls_fields = _fields(kind, name)
            extra = {k: v for k, v in defaults.items() if k in cls_fields and k not in section[name]}
            out.append(_made(kind, {"name": name, **extra, **section[name]}, f"{key}.{name}"))
    return out


def _fields(kind: str, name: str) -> set[str]:
    import dataclasses

    from tfgen.ingredients.base import ingredient_class

    return {f.name for f in dataclasses.fields(ingredient_class(kind, name))}


def option_help(kind: str, name: str) -> dict[str, str]:
    """Option -> help text of the ingredient `name` of `kind` ({} for an unknown name)."""
    import dataclasses

    from tfgen.ingredients.base import ingredient_class

    try:
        cls = ingredient_class(kind, name)
    except OptionError:
        return {}
    return {f.name: f"{name}: {f.metadata.get('help', '')}" for f in dataclasses.fields(cls)}


def _made(kind: str, spec: dict, key: str):
    try:
        return get_ingredient(kind, spec)
    except OptionError as err:
        raise option_error(key, err) from None


def option_error(key: str, err: OptionError) -> ConfigError:
    """The `ConfigError` of an ingredient's `OptionError`, behind the config key of the option
    it names (`key` is the ingredient's own: "model.regularizers.r1", "model.augment")."""
    where = key if err.key in (None, "name") else f"{key}.{err.key}"
    text = str(err).removeprefix(f"{err.key}: ")  # the key already names the option
    return ConfigError(f"config key '{where}': {text}")


# -- configs written with the flat keys ---------------------------------------------------------


def _notice(prefix: str, moved: list[tuple[str, str]], dropped: list[tuple[str, str]] = ()) -> None:
    """One line: each old key and where it went (`moved`), or why it was dropped."""
    if moved or dropped:
        log.warning("config: old flat keys read into the ingredient sections: %s (write them "
                    "there: tfgen ingredients lists their options)",
                    ", ".join([f"{prefix}{old} -> {prefix}{new}" for old, new in moved]
                              + [f"{prefix}{old} dropped ({why})" for old, why in dropped]))


def migrate_gan(current, updates: dict, prefix: str = "model.") -> dict:
    """The `model` updates of a GAN config with the flat keys of earlier configs
    (`legacy.REGULARIZER_KEYWORDS`, `ada`/`ada_*`, `augment` as DiffAugment's policies) read
    into `regularizers` and `augment`. `current`: the section before these updates (a key that
    only tunes an ingredient tunes it if it is on, and is ignored if not, as it was)."""
    flat = {k for k, _, _ in legacy.REGULARIZER_KEYWORDS} | {k for k, _ in legacy.ADA_KEYWORDS}
    old_augment = (isinstance(updates.get("augment"), str) and updates["augment"]
                   and updates["augment"] not in REGISTRY["augmentation"])
    if not (flat & set(updates)) and not old_augment:
        return updates
    updates, moved = dict(updates), []
    regularizers = {}
    for name in REGISTRY["regularizer"]:
        keys = [(k, f) for k, n, f in legacy.REGULARIZER_KEYWORDS if n == name and k in updates]
        if not keys:
            continue
        switch = next(k for k, n, _ in legacy.REGULARIZER_KEYWORDS if n == name)
        options = {f: updates.pop(k) for k, f in keys}
        moved += [(k, f"regularizers.{name}.{f}") for k, f in keys]
        if switch in dict(keys):
            off = options[dict(keys)[switch]] == legacy._OFF.get(name, 0)
            regularizers[name] = None if off else options
        elif name in current.regularizers:
            regularizers[name] = options
    if regularizers:
        updates["regularizers"] = {**updates.get("regularizers", {}), **regularizers}
    ada = {f: updates.pop(k) for k, f in legacy.ADA_KEYWORDS if k in updates}
    if ada:
        moved += [(k, f"augment.{f}") for k, f in legacy.ADA_KEYWORDS if f in ada]
    on = current.augment.get("name")  # a --set of one flat key at a time meets the other here
    if (old_augment and (ada.get("ops") or (on == "ada" and "ops" not in ada))
            or ada.get("ops") and on == "diffaugment" and "augment" not in updates):
        raise ConfigError(f"config key '{prefix}ada': choose DiffAugment or ADA, not both")
    if old_augment:
        moved.append(("augment", "augment.policies"))
        updates["augment"] = {"name": "diffaugment", "policies": updates["augment"]}
    elif ada.get("ops"):
        updates["augment"] = {"name": "ada", **ada}
    elif ada and "ops" not in ada and current.augment.get("name") == "ada":
        updates["augment"] = ada  # tunes the ADA that is on
    elif "ops" in ada and current.augment.get("name") == "ada" and "augment" not in updates:
        updates["augment"] = None  # ada: "" switched it off
    _notice(prefix, moved)
    return updates


# the flat likelihood options of earlier VAE configs: key -> the option of each likelihood taking it
_LIKELIHOOD_KEYWORDS = {"gaussian_scale": {"gaussian": "scale"},
                        "levels": {"categorical": "levels", "discretized_logistic": "levels"},
                        "components": {"discretized_logistic": "components"}}


def migrate_vae(current, updates: dict, prefix: str = "model.") -> dict:
    """The `model` updates of a VAE config with the flat keys of earlier configs read into the
    sections: `pseudo_inputs` into `prior` (ignored with the normal prior, as it was), and
    `gaussian_scale`, `levels`, `components` into `likelihood` (those of the likelihood named,
    or on, are its options; the others were ignored, as they were)."""
    flat = [k for k in ("pseudo_inputs", *_LIKELIHOOD_KEYWORDS) if k in updates]
    if not flat:
        return updates
    updates, moved, dropped = dict(updates), [], []
    if "pseudo_inputs" in updates:
        c = updates.pop("pseudo_inputs")
        prior = updates.get("prior", current.prior)
        name = (prior if isinstance(prior, str)
                else (prior or {}).get("name", current.prior.get("name")))
        if name == "vamp":
            given = {"name": "vamp"} if isinstance(prior, str) else dict(prior or {})
            updates["prior"] = {**given, "name": "vamp", "pseudo_inputs": c}
        moved.append(("pseudo_inputs", "prior.pseudo_inputs"))
    options = {k: updates.pop(k) for k in _LIKELIHOOD_KEYWORDS if k in updates}
    if options:
        given = updates.get("likelihood", current.likelihood)
        given = {"name": given} if isinstance(given, str) else dict(given or {})
        name = given.get("name", current.likelihood.get("name"))
        taken = {_LIKELIHOOD_KEYWORDS[k][name]: v for k, v in options.items()
                 if name in _LIKELIHOOD_KEYWORDS[k]}
        if taken or "likelihood" in updates:
            updates["likelihood"] = {**given, "name": name, **taken}
        for k in options:
            if name in _LIKELIHOOD_KEYWORDS[k]:
                moved.append((k, f"likelihood.{_LIKELIHOOD_KEYWORDS[k][name]}"))
            else:
                dropped.append((k, f"the {name} likelihood does not take it"))
    _notice(prefix, moved, dropped)
    return updates
