"""Distribution: strategy names to `tf.distribute` strategies, and the automatic precision."""

from tfgen.distribute.precision import PRECISIONS, auto_precision, cpu_has_amx_bf16
from tfgen.distribute.strategies import (
    STRATEGIES,
    describe,
    is_chief,
    is_tpu,
    resolve_strategy,
    split_cpu,
    tpu_address,
)

__all__ = ["PRECISIONS", "STRATEGIES", "auto_precision", "cpu_has_amx_bf16", "describe", "is_chief",
           "is_tpu", "resolve_strategy", "split_cpu", "tpu_address"]
