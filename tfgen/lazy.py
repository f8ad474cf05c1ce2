"""Package namespaces whose names are imported from their modules when first used (PEP 562).

The `tfgen` command answers `--help`, `tfgen presets` and `tfgen datasets` without importing
TensorFlow (several seconds): the packages it passes through on the way to a TensorFlow-free
module (`tfgen`, `tfgen.data` for `DataOptions` and the dataset names) hand their names on
lazily. `from tfgen.data import load` and `tfgen.data.load` work as with eager imports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def attach(package: str, exports: dict[str, str]) -> tuple[Callable, Callable]:
    """`(__getattr__, __dir__)` for `package`, where `exports` maps each public name to the
    submodule (relative to the package) that defines it, or to itself for a subpackage or
    submodule handed on whole.

    Example, in a package's `__init__.py`:

        __getattr__, __dir__ = lazy.attach(__name__, {"load": "loading", "DataOptions": "options"})
    """

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{exports[name]}")
        return module if exports[name] == name else getattr(module, name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__


class Module:
    """A module imported on first attribute access: `tf = lazy.Module("tensorflow")` in a
    module that must import without TensorFlow (its option classes are checked by the
    `tfgen` command before any training) but computes with it once used."""

    def __init__(self, name: str):
        self.__name = name

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self.__name), attr)
