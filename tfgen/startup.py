"""TensorFlow's start-up chatter, hidden for the `tfgen` command.

TensorFlow's C++ runtime prints absl/oneDNN/CUDA-probe lines to stderr when it is first
imported, before any Python logging is set up and whatever `TF_CPP_MIN_LOG_LEVEL` says. The
`tfgen` command promises one clear line per error, so it calls `quiet_tensorflow_import`
first: the process's first `import tensorflow`, wherever it happens, then runs with stderr
pointed at /dev/null, and the command logs the strategy and devices itself. The command imports
only what each subcommand needs (when the process is that command -- `tfgen ...` or
`python -m tfgen.trainers.cli ...`: `is_cli` -- `import tfgen` loads no subpackage up front),
so `--help`, `tfgen presets`, `tfgen datasets` and mistakes in the arguments answer without
TensorFlow. A script that imports the library gets all of it, and sees TensorFlow's messages
as usual.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys


def is_cli() -> bool:
    """Whether this process is the `tfgen` command (its package is being imported for it)."""
    # `python -m pkg.mod` sets sys.argv[0] to "-m" while the module is being located, that is
    # while its parent packages (tfgen) are imported.
    return os.path.basename(sys.argv[0] if sys.argv else "") == "tfgen" or sys.argv[:1] == ["-m"]


NO_TENSORFLOW = ("TensorFlow is not installed: pip install 'tfgen[cpu]' (or tfgen[gpu] for "
                 "NVIDIA GPUs, tfgen[tpu] on a Cloud TPU VM or a Colab TPU)")


def quiet_tensorflow_import() -> None:
    """Make this process's first import of TensorFlow (and its first device probe) run with file
    descriptor 2 on /dev/null, whichever module imports it and whenever."""
    if "tensorflow" not in sys.modules and not any(
            isinstance(f, _QuietTensorFlow) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlow())


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` as the import system would, with a loader that runs it quietly."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader, self)
        return spec  # (the finder leaves sys.meta_path when TensorFlow is imported)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader, finder):
        self.loader, self.finder = loader, finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        if self.finder in sys.meta_path:  # once: the first import is the quiet one
            sys.meta_path.remove(self.finder)
        module.__loader__ = module.__spec__.loader = self.loader  # no trace of this wrapper
        # 3: also the C++ ERROR lines TensorFlow prints for what it recovers from by itself,
        # e.g. grappler's "remapper failed" on the first trace of a GAN step (failures that
        # matter reach Python as exceptions, which the command reports in one line).
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
                self.loader.exec_module(module)
                try:  # device probing chatter (no CUDA driver); a failure is for later to tell
                    module.config.list_physical_devices()
                except Exception:
                    pass
        finally:
            os.dup2(saved, 2)
            os.close(saved)
