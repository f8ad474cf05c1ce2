"""Test set-up: quiet TensorFlow, two logical CPU devices (for MirroredStrategy tests)."""

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One fresh feature-extractor cache for the whole session (subprocesses inherit it): the digits
# classifier is trained once per test session, never read from the user's ~/.cache.
os.environ["TFGEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="tfgen-test-cache-")

import pytest

from tfgen.distribute import split_cpu

# Must happen before TensorFlow initialises its runtime: the default strategy still places
# everything on CPU:0, MirroredStrategy tests get two replicas.
CPU_DEVICES = split_cpu(2)


@pytest.fixture
def cpu_devices():
    return CPU_DEVICES
