"""The layering the design promises (ARCHITECTURE.md): the library imports nothing from the
training side, packages are all installed, and `import tfgen` exposes its subpackages."""

import configparser
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Imports every library module with tfgen.trainers and tfgen.tuning made unimportable.
IMPORT_LIBRARY_ALONE = """
import importlib, pkgutil, sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[:2] in (["tfgen", "trainers"], ["tfgen", "tuning"]):
            raise ImportError(f"the library imported {name}")
        return None

sys.meta_path.insert(0, Block())
import tfgen
names = [m.name for m in pkgutil.walk_packages(tfgen.__path__, "tfgen.")
         if m.name.split(".")[1] not in ("trainers", "tuning")]
for name in names:
    importlib.import_module(name)
print(len(names))
"""


def test_library_imports_nothing_from_trainers_or_tuning():
    proc = subprocess.run([sys.executable, "-c", IMPORT_LIBRARY_ALONE], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert int(proc.stdout.split()[-1]) >= 30  # every module was reached


def test_no_import_cycles_between_library_packages():
    # Each library subpackage imports on its own, first: one fresh interpreter imports
    # TensorFlow and Keras once (the slow part, and outside tfgen's import order), then, for each
    # subpackage, forgets every tfgen module and imports that subpackage alone.
    import tfgen

    packages = [m.name for m in pkgutil.iter_modules(tfgen.__path__, "tfgen.") if m.ispkg
                and m.name not in ("tfgen.trainers", "tfgen.tuning")]
    code = textwrap.dedent("""
        import importlib, sys, traceback
        import keras, tensorflow
        failed = 0
        for name in sys.argv[1:]:
            for loaded in [m for m in sys.modules if m == "tfgen" or m.startswith("tfgen.")]:
                del sys.modules[loaded]
            try:
                importlib.import_module(name)
            except Exception:
                failed += 1
                print(name, traceback.format_exc(), file=sys.stderr)
        sys.exit(failed)
    """)
    proc = subprocess.run([sys.executable, "-c", code, *packages], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(packages) >= 7, packages


def test_setup_cfg_lists_every_package():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    mapping = {"tfgen.trainers": "trainers", "tfgen.tuning": "tuning"}
    on_disk = set()
    for init in ROOT.glob("**/__init__.py"):
        rel = init.parent.relative_to(ROOT)
        top = rel.parts[0]
        if top == "tfgen":
            on_disk.add(".".join(rel.parts))
        elif top in mapping.values():
            prefix = next(k for k, v in mapping.items() if v == top)
            on_disk.add(".".join((prefix, *rel.parts[1:])))
    assert listed == on_disk
    dirs = dict(line.split(" = ") for line in cfg["options"]["package_dir"].strip().splitlines())
    assert dirs == mapping


def test_import_tfgen_exposes_its_subpackages():
    import tfgen

    for name in ("callbacks", "data", "distribute", "losses", "metrics", "models", "networks"):
        assert getattr(tfgen, name).__name__ == f"tfgen.{name}"
    assert set(tfgen.__all__) >= {"GAN", "VAE", "GenerativeModel", "callbacks", "data",
                                  "distribute", "losses", "metrics", "models", "networks"}
    # The training side is not part of the library's namespace until imported.
    assert "trainers" not in tfgen.__all__ and "tuning" not in tfgen.__all__


def test_data_options_and_names_import_one_way_without_tensorflow():
    # Issue 30: `tfgen.data.options` imported `tfgen.data.loading.check_name` (inside a
    # function) while `loading` imports `options`. The names now live in `tfgen.data.names`,
    # which neither imports: options -> names, loading -> options and names, never back.
    import ast

    for module, banned in (("names", {"loading", "options", "sources"}),
                           ("options", {"loading", "sources"})):
        tree = ast.parse((ROOT / "tfgen" / "data" / f"{module}.py").read_text())
        imported = {node.module.rsplit(".", 1)[-1] for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module
                    and node.module.startswith("tfgen.data.")}
        assert not imported & banned, (module, imported & banned)
    code = textwrap.dedent("""
        import sys
        from tfgen.data.options import DataOptions
        DataOptions(name="ring8").validate("data.")
        print(sorted(m for m in ("tensorflow", "keras", "tfgen.data.loading") if m in sys.modules))
    """)
    # As the `tfgen` command imports it (a script's `import tfgen` loads the whole library).
    proc = subprocess.run([sys.executable, "-c", f"import sys; sys.argv = ['tfgen']\n{code}"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"


def test_lazy_namespaces_hand_on_the_same_objects():
    import tfgen
    import tfgen.data
    from tfgen.data import loading, names, options

    assert tfgen.data.load is loading.load and tfgen.data.check_name is names.check_name
    assert tfgen.data.DataOptions is options.DataOptions and tfgen.GAN is tfgen.models.GAN
    assert set(tfgen.data.__all__) <= set(dir(tfgen.data))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        tfgen.data.nope  # noqa: B018
