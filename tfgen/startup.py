"""TensorFlow's start-up chatter, hidden for the `tfgen` command.

TensorFlow's C++ runtime prints absl/oneDNN/CUDA-probe lines to stderr when it is first
imported, before any Python logging is set up and whatever `TF_CPP_MIN_LOG_LEVEL` says. The
`tfgen` command promises one clear line per error, so when the process is that command
(`tfgen ...` or `python -m tfgen.trainers.cli ...`), the first TensorFlow import runs with
stderr pointed at /dev/null; the command then logs the strategy and devices itself. A script
that imports the library sees TensorFlow's messages as usual.
"""

from __future__ import annotations

import os
import sys


def is_cli() -> bool:
    """Whether this process is the `tfgen` command (its package is being imported for it)."""
    # `python -m pkg.mod` sets sys.argv[0] to "-m" while the module is being located, that is
    # while its parent packages (tfgen) are imported.
    return os.path.basename(sys.argv[0] if sys.argv else "") == "tfgen" or sys.argv[:1] == ["-m"]


def import_tensorflow_quietly() -> None:
    """Import TensorFlow (and probe its devices) with file descriptor 2 on /dev/null."""
    if "tensorflow" in sys.modules:
        return
    # 3: also the C++ ERROR lines TensorFlow prints for what it recovers from by itself, e.g.
    # grappler's "remapper failed" on the first trace of a GAN step (failures that matter
    # reach Python as exceptions, which the command reports in one line).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices()  # device probing chatter (e.g. no CUDA driver)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
