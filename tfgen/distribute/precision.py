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


def cpu_has_amx_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU lists Intel AMX's bfloat16 tiles (`amx_bf16`) in /proc/cpuinfo: oneDNN
    runs bfloat16 matmuls and convolutions on them 2-5x faster than float32 (BENCHMARKS.md,
    "bfloat16"). AVX-512's bfloat16 dot products alone (`avx512_bf16`, e.g. AMD Zen 4) do
    not pay: the `auto` presets' steps ran at 0.7x float32's speed there
    (`benchmarks/precision_auto.py`)."""
    return "amx_bf16" in cpu_flags(cpuinfo)


def auto_precision(strategy: tf.distribute.Strategy,
                   cpuinfo: str = "/proc/cpuinfo") -> tuple[str, str]:
    """(dtype policy, why) for `training.precision=auto`: mixed_bfloat16 on TPUs (their native
    type) and on CPUs with AMX bfloat16 tiles, float32 elsewhere -- GPUs included
    (mixed_float16 is a choice to measure, not a default), and CPUs whose only bfloat16
    instructions are AVX-512's, where float32 measured faster."""
    from tfgen.distribute.strategies import is_tpu

    if is_tpu(strategy):
        return "mixed_bfloat16", "TPU"
    if tf.config.list_logical_devices("GPU"):
        return "float32", "GPU (set mixed_float16 or mixed_bfloat16 explicitly to use tensor cores)"
    if cpu_has_amx_bf16(cpuinfo):
        return "mixed_bfloat16", "CPU with AMX bfloat16 units (amx_bf16)"
    if "avx512_bf16" in cpu_flags(cpuinfo):
        return "float32", ("CPU with AVX-512 bfloat16 but no AMX (avx512_bf16 without amx_bf16): "
                           "bfloat16 steps measured about 0.7x float32's speed on such units")
    return "float32", "CPU without bfloat16 units"
