"""A TPU-shaped check of a train step, run on the CPU: the step traced as one replica of N
(a runtime replica id, all-reduces of N) and lowered by XLA, and its graph scanned for what a
TPU cannot run.

What a TPU needs of a step, and what this checks:
- XLA compiles the whole step: every op lowers to HLO with static shapes (checked by lowering
  the traced step, `experimental_get_compiler_ir(...)(stage="hlo")`; XLA's message names the
  op that does not lower);
- no host callbacks or host-only types: no PyFunc/EagerPyFunc (Python), no PrintV2 or other
  string ops, no float64 (TPUs have no 64-bit floats), no stateful random ops (they would
  draw per-core state; tfgen draws stateless numbers from the step and seed);
- no data-dependent shapes (`Where`, `Unique`, `DynamicPartition`, non-max suppression), which
  XLA can only pad to bounds.

The replica context is a stand-in, not TensorFlow's: `all_reduce` of a sum returns N times the
value (N replicas holding the same value), `merge_call` runs its function at once, and the
replica id is an input of the traced function, as on a TPU, so no code can specialise on it.
It checks compilability and the op set, not numerics (the 1-vs-2-replica tests do that).
"""

from __future__ import annotations

import contextlib
import dataclasses

import tensorflow as tf

# op types a TPU step must not hold, with the reason shown when one is found
FORBIDDEN_OPS = {
    **dict.fromkeys(("PyFunc", "PyFuncStateless", "EagerPyFunc"), "runs Python on the host"),
    **dict.fromkeys(("PrintV2", "Print", "StringFormat", "AsString", "StringJoin"),
                    "string/printing op (host only)"),
    **dict.fromkeys(("RandomUniform", "RandomStandardNormal", "TruncatedNormal",
                     "RandomUniformInt", "RandomShuffle", "Multinomial", "RandomGamma",
                     "RandomPoisson", "RandomPoissonV2", "StatefulUniform",
                     "StatefulStandardNormalV2", "StatefulTruncatedNormal",
                     "StatefulUniformInt", "StatefulUniformFullInt", "RngReadAndSkip",
                     "RngSkip"), "stateful random op (draw stateless numbers from the step)"),
    **dict.fromkeys(("Where", "Unique", "UniqueV2", "DynamicPartition",
                     "NonMaxSuppressionV3", "NonMaxSuppressionV4", "NonMaxSuppressionV5"),
                    "data-dependent output shape"),
}
FORBIDDEN_TYPES = {tf.float64.as_datatype_enum: "float64 (TPUs have no 64-bit floats)",
                   tf.string.as_datatype_enum: "string tensor (host only)"}


class _Extended:
    def update(self, var, fn, args=(), kwargs=None, group=True):
        return fn(var, *args, **(kwargs or {}))


class _Strategy:
    tpu_stand_in = True  # `is_tpu`: code that branches for TPUs takes its TPU branch here

    def __init__(self, replicas: int):
        self.num_replicas_in_sync = replicas
        self.extended = _Extended()


class _ReplicaContext:
    """One of `replicas` replicas, with id `replica_id` (a tensor)."""

    def __init__(self, replicas: int, replica_id):
        self.num_replicas_in_sync = replicas
        self.replica_id_in_sync_group = replica_id
        self.strategy = _Strategy(replicas)

    def all_reduce(self, reduce_op, value, options=None):
        op = getattr(reduce_op, "value", reduce_op)
        if str(op).upper() not in ("SUM", "MEAN"):
            raise ValueError(f"unsupported reduction {reduce_op!r}")
        if str(op).upper() == "MEAN":
            return tf.nest.map_structure(tf.identity, value)
        return tf.nest.map_structure(
            lambda v: v * tf.cast(self.num_replicas_in_sync, v.dtype), value)

    def merge_call(self, merge_fn, args=(), kwargs=None):
        return merge_fn(self.strategy, *args, **(kwargs or {}))


@contextlib.contextmanager
def replicas(n: int, replica_id):
    """Within the block, TensorFlow's `get_replica_context()` and `get_strategy()` answer as
    replica `replica_id` of `n` (for tracing only)."""
    context = _ReplicaContext(n, replica_id)
    saved = tf.distribute.get_replica_context, tf.distribute.get_strategy
    tf.distribute.get_replica_context = lambda: context
    tf.distribute.get_strategy = lambda: context.strategy
    try:
        yield context
    finally:
        tf.distribute.get_replica_context, tf.distribute.get_strategy = saved


@dataclasses.dataclass
class CompileReport:
    ops: int  # ops in the step's graph and the functions it calls
    findings: list[str]  # "OpType (node name): reason"
    hlo_chars: int  # size of the lowered HLO text


def _node_defs(graph_def):
    yield from graph_def.node
    for function in graph_def.library.function:
        yield from function.node_def


def scan(graph_def) -> tuple[int, list[str]]:
    """(op count, findings) of a GraphDef and its function library (see FORBIDDEN_*)."""
    findings, count = [], 0
    for node in _node_defs(graph_def):
        count += 1
        if node.op in FORBIDDEN_OPS:
            findings.append(f"{node.op} ({node.name}): {FORBIDDEN_OPS[node.op]}")
            continue
        for key, attr in node.attr.items():
            types = [attr.type] if attr.HasField("type") else list(attr.list.type)
            bad = [FORBIDDEN_TYPES[t] for t in types if t in FORBIDDEN_TYPES]
            if bad:
                findings.append(f"{node.op} ({node.name}, {key}): {bad[0]}")
                break
    return count, findings


def check_train_step(model, batch, num_replicas: int = 4) -> CompileReport:
    """Trace `model.train_step(batch)` as one replica of `num_replicas` (`batch`: one
    replica's rows), scan its graph and lower it with XLA. Returns the report: its `findings`
    list each forbidden op or type and, when XLA cannot lower the step, XLA's first line (empty
    when the step is TPU-clean). The model's state is not changed (the step is traced, never
    run)."""

    def step(data, replica_id):
        with replicas(num_replicas, replica_id):
            return model.train_step(data)

    compiled = tf.function(step, jit_compile=True)
    replica_id = tf.constant(num_replicas - 1, tf.int32)
    graph = compiled.get_concrete_function(batch, replica_id).graph
    count, findings = scan(graph.as_graph_def())
    try:
        hlo = compiled.experimental_get_compiler_ir(batch, replica_id)(stage="hlo")
    except (ValueError, tf.errors.OpError) as err:
        message = str(getattr(err, "message", err)).strip().splitlines()
        findings.append(f"XLA: {message[0] if message else type(err).__name__}")
        hlo = ""
    return CompileReport(count, findings, len(hlo))
