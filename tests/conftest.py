"""Test set-up: quiet TensorFlow, two logical CPU devices (for MirroredStrategy tests)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

from tfgen.distribute import split_cpu

# Must happen before TensorFlow initialises its runtime: the default strategy still places
# everything on CPU:0, MirroredStrategy tests get two replicas.
CPU_DEVICES = split_cpu(2)


@pytest.fixture
def cpu_devices():
    return CPU_DEVICES
