"""Typed options: a dataclass field that carries its valid range or choices and a one-line help.

The library's option dataclasses (e.g. `tfgen.data.DataOptions`) and the trainer's run config
declare their fields with `param`; `tfgen.trainers.config.validate` checks them.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Sequence
from typing import Any


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
        choices: the only valid values (a tuple, or a `Registry` of a library module's).
        help: one line shown by `tfgen presets --show` and in error messages.
    """
    metadata = {"min": min, "max": max, "gt": gt, "choices": choices, "help": help}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)
