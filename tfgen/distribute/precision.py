"""The dtype policy `precision="auto"` picks, and why."""

from __future__ import annotations

import tensorflow as tf

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")  # dtype policies, or auto


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The feature flags /proc/cpuinfo lists for this CPU (empty where it cannot be read)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as fh:
            flags = next((line for line in fh if line.startswith("flags")), "")
    except OSError:
        return set()
    return set(flags.split(":", 1)[-1].split())


def cpu_has_bf16_units(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU reports bfloat16 matrix/vector units (Intel AMX `amx_bf16`, AVX-512
    `avx512_bf16`) in /proc/cpuinfo: oneDNN runs bfloat16 matmuls and convolutions on them,
    several times faster than float32; without them bfloat16 is emulated and slower."""
    return bool({"amx_bf16", "avx512_bf16"} & cpu_flags(cpuinfo))


def auto_precision(strategy: tf.distribute.Strategy) -> tuple[str, str]:
    """(dtype policy, why) for `training.precision=auto`: mixed_bfloat16 on TPUs (their native
    type) and on CPUs with bfloat16 units, float32 elsewhere (GPUs included: mixed_float16 is a
    choice to measure, not a default)."""
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return "mixed_bfloat16", "TPU"
    if tf.config.list_logical_devices("GPU"):
        return "float32", "GPU (set mixed_float16 or mixed_bfloat16 explicitly to use tensor cores)"
    if cpu_has_bf16_units():
        return "mixed_bfloat16", "CPU with bfloat16 units: amx_bf16 or avx512_bf16"
    return "float32", "CPU without bfloat16 units"
