"""Every docstring example (doctest) and the README's Python examples run, so they cannot rot."""

import doctest
import importlib
import os
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

import tfgen

ROOT = Path(__file__).resolve().parents[1]
import tfgen.trainers  # noqa: E402  (installed from trainers/, not under tfgen/)
import tfgen.tuning  # noqa: E402

MODULES = sorted({m.name for package in (tfgen, tfgen.trainers, tfgen.tuning)
                  for m in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")})
WITH_EXAMPLES = [name for name in ["tfgen", *MODULES]
                 if ">>>" in Path(importlib.util.find_spec(name).origin).read_text()]


def test_examples_are_found():
    assert {"tfgen", "tfgen.data", "tfgen.models.gan", "tfgen.models.vae",
            "tfgen.metrics.streaming", "tfgen.trainers.config",
            "tfgen.trainers.presets"} <= set(WITH_EXAMPLES)


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_readme_python_examples_run(tmp_path, monkeypatch):
    """The README's library examples, verbatim and in order (one namespace), then its SavedModel
    example on the first example's GAN exported to `exported/`."""
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)\n```", (ROOT / "README.md").read_text(), flags=re.S)
    assert len(blocks) == 5
    (music, text), blocks = blocks[:2], blocks[2:]  # the music and text sections', each alone
    namespace: dict = {}
    exec(compile(music, "README.md", "exec"), namespace)
    assert 0 < namespace["nll_per_frame"] < 88 * np.log(2) and os.path.exists("piece.mid")
    namespace = {}
    exec(compile(text, "README.md", "exec"), namespace)
    assert namespace["vae"].sample(2).shape == (2, 32, 2)
    namespace = {}
    for block in blocks[:2]:
        exec(compile(block, "README.md", "exec"), namespace)
    assert os.path.exists("gan.keras") and namespace["nll"] > 0
    from tfgen.models.export import export_saved_model

    export_saved_model(namespace["gan"], "exported")
    namespace["tf"] = importlib.import_module("tensorflow")
    exec(compile(blocks[2], "README.md", "exec"), namespace)
    assert tuple(namespace["x"].shape) == (16, 8, 8, 1)
