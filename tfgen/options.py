"""Typed options: a dataclass field that carries its valid range or choices and a one-line help.

The library's option dataclasses (e.g. `tfgen.data.DataOptions`) and the trainer's run config
declare their fields with `param`; `tfgen.trainers.config.validate` checks them.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def param(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Any = dataclasses.MISSING,
    min: float | None = None,
    max: float | None = None,
    gt: float | None = None,
    choices: tuple | None = None,
    help: str = "",
) -> Any:
    """A dataclass field with its validation rule and help text.

    Args:
        default: default value (immutable).
        default_factory: callable building the default (nested configs, lists).
        min: inclusive lower bound for numbers.
        max: inclusive upper bound for numbers.
        gt: exclusive lower bound for numbers (e.g. a learning rate must be > 0).
        choices: the only valid values.
        help: one line shown by `tfgen presets --show` and in error messages.
    """
    metadata = {"min": min, "max": max, "gt": gt, "choices": choices, "help": help}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)
