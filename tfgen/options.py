"""Typed options: a dataclass field that carries its valid range or choices and a one-line help.

The library's option dataclasses (e.g. `tfgen.data.DataOptions`) and the trainer's run config
declare their fields with `param`; `tfgen.trainers.config.validate` checks them.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Sequence
from typing import Any

from tfgen.errors import OptionError


class Registry(Sequence):
    """The names of a library registry as a field's `choices`, read when first needed.

    The registries (objectives, networks, optimizers, ...) live in modules that import
    TensorFlow; a config class that lists their keys this way can be defined, built and printed
    (`tfgen presets`) without it, and validation imports the registry the first time it checks
    a value.

    Args:
        module: the registry's module, e.g. "tfgen.losses.adversarial".
        name: the registry in it (a dict, whose keys are the choices, or a tuple).
        first: choices placed before the registry's (e.g. "" for "the default").

    Example:

    >>> from tfgen.options import Registry
    >>> "ring8" in Registry("tfgen.data.mixtures", "MIXTURES")
    True
    """

    def __init__(self, module: str, name: str, first: tuple = ()):
        self.module, self.name, self.first = module, name, tuple(first)
        self._names: tuple | None = None

    def _loaded(self) -> tuple:
        if self._names is None:
            self._names = self.first + tuple(getattr(importlib.import_module(self.module),
                                                     self.name))
        return self._names

    def __getitem__(self, index):
        return self._loaded()[index]

    def __len__(self) -> int:
        return len(self._loaded())

    def __repr__(self) -> str:
        return f"Registry({self.module}.{self.name})"


def param(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Any = dataclasses.MISSING,
    min: float | None = None,
    max: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
    choices: Sequence | None = None,
    help: str = "",
) -> Any:
    """A dataclass field with its validation rule and help text.

    Args:
        default: default value (immutable).
        default_factory: callable building the default (nested configs, lists).
        min: inclusive lower bound for numbers.
        max: inclusive upper bound for numbers.
        gt: exclusive lower bound for numbers (e.g. a learning rate must be > 0).
        lt: exclusive upper bound for numbers (e.g. a decay must be < 1).
        choices: the only valid values (a tuple, or a `Registry` of a library module's).
        help: one line shown by `tfgen presets --show` and in error messages.
    """
    metadata = {"min": min, "max": max, "gt": gt, "lt": lt, "choices": choices, "help": help}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def did_you_mean(name: str, choices) -> str:
    """" (did you mean 'x'?)" for the closest of `choices`, or ""."""
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def problem(value: Any, metadata) -> str | None:
    """What is wrong with `value` by a `param` field's rule (choices, min, max, gt, lt), or
    None."""
    choices = metadata.get("choices")
    if choices is not None and value not in choices:
        valid = ", ".join("null" if c is None else str(c) for c in choices)
        hint = did_you_mean(value, [c for c in choices if isinstance(c, str)]) if isinstance(
            value, str) else ""
        return f"must be one of {valid}; got {value!r}{hint}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if metadata.get("min") is not None and value < metadata["min"]:
            return f"must be >= {metadata['min']}; got {value!r}"
        if metadata.get("max") is not None and value > metadata["max"]:
            return f"must be <= {metadata['max']}; got {value!r}"
        if metadata.get("gt") is not None and not value > metadata["gt"]:
            return f"must be > {metadata['gt']}; got {value!r}"
        if metadata.get("lt") is not None and not value < metadata["lt"]:
            return f"must be < {metadata['lt']}; got {value!r}"
    return None


def check_fields(options) -> None:
    """Check every `param` field of a library options dataclass by its rule; the first
    failure is an `OptionError` naming the field ("weight: must be >= 0; got -1")."""
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if dataclasses.is_dataclass(value):
            check_fields(value)
            continue
        why = problem(value, f.metadata)
        if why is not None:
            raise OptionError(f.name, f"{f.name}: {why}")
