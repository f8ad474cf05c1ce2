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


def gpu_capability(gpu) -> tuple[int, int] | None:
    """(major, minor) compute capability of a physical GPU, None where TensorFlow says none."""
    try:
        found = tf.config.experimental.get_device_details(gpu).get("compute_capability")
    except (ValueError, RuntimeError):
        return None
    return tuple(int(v) for v in found) if found else None


def auto_precision(strategy: tf.distribute.Strategy,
                   cpuinfo: str = "/proc/cpuinfo") -> tuple[str, str]:
    """(dtype policy, why) for `training.precision=auto`: mixed_bfloat16 on TPUs (their native
    type), on GPUs of compute capability 8.0 or more (Ampere and later: bfloat16 tensor cores,
    no loss scale needed) and on CPUs with AMX bfloat16 tiles; float32 elsewhere -- older
    GPUs (mixed_float16 is a choice to measure there, not a default), and CPUs whose only
    bfloat16 instructions are AVX-512's, where float32 measured faster."""
    from tfgen.distribute.strategies import is_tpu

    if is_tpu(strategy):
        return "mixed_bfloat16", "TPU"
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capabilities = [gpu_capability(gpu) for gpu in gpus]
        if all(c is not None and c >= (8, 0) for c in capabilities):
            return "mixed_bfloat16", (f"GPU of compute capability {min(capabilities)[0]}."
                                      f"{min(capabilities)[1]} (bfloat16 tensor cores)")
        return "float32", ("GPU below compute capability 8.0 (set mixed_float16 explicitly to use "
                           "its tensor cores)")
    if cpu_has_amx_bf16(cpuinfo):
        return "mixed_bfloat16", "CPU with AMX bfloat16 units (amx_bf16)"
    if "avx512_bf16" in cpu_flags(cpuinfo):
        return "float32", ("CPU with AVX-512 bfloat16 but no AMX (avx512_bf16 without amx_bf16): "
                           "bfloat16 steps measured about 0.7x float32's speed on such units")
    return "float32", "CPU without bfloat16 units"
