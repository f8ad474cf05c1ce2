"""Losses reduced over the global batch and logged values made global: the part of
`GenerativeModel` that keeps N replicas' updates and logs equal to one device's.

A train step sees the replica's slice of the global batch. Per-example losses are summed over the
slice and divided by the *global* batch size; the gradients are summed over replicas before the
optimizer (`GenerativeModel.apply_gradients`), so N replicas apply exactly the gradient one
device would. Logged values are all-reduced, identical
on every replica.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfgen.models.multiworker import _is_multi_worker


def _replica_context():
    ctx = tf.distribute.get_replica_context()
    if ctx is None:  # cross-replica context: called outside strategy.run
        raise RuntimeError("tfgen models draw per-replica noise inside a replica context")
    return ctx



class FirstNonFinite:
    """The step at which a train step first produced a non-finite logged value (-1: none).

    Updated inside every train step, so the step is exact even when `fit` runs several steps
    per execution (`steps_per_execution`) and sees the logs only at the execution's end. A plain
    object holding one variable, so Keras neither tracks it among the model's weights or
    metrics nor saves it (a model saved before it existed still loads).
    """

    def __init__(self):
        self.step = keras.Variable(-1, dtype="int64", trainable=False, name="first_nonfinite",
                                   aggregation="only_first_replica")

    def update(self, step, finite) -> tuple:
        """(variable, new value) recording `step` if it is the first not `finite`."""
        first = tf.logical_and(self.step.value < 0, tf.logical_not(finite))
        return self.step, tf.where(first, tf.cast(step, tf.int64), self.step.value)

    def result(self):
        return self.step.value



class Reductions:
    """Mixin of `GenerativeModel`."""

    @staticmethod
    def global_batch_size(local_batch) -> tf.Tensor:
        ctx = _replica_context()
        return tf.cast(local_batch * ctx.num_replicas_in_sync, tf.float32)

    @classmethod
    def batch_loss(cls, per_example: tf.Tensor) -> tf.Tensor:
        """Σ(this replica's per-example losses) / global batch size: the replica's share."""
        per_example = tf.cast(per_example, tf.float32)
        return tf.reduce_sum(per_example) / cls.global_batch_size(tf.shape(per_example)[0])

    @staticmethod
    def regularization(network: keras.Model) -> tf.Tensor:
        """The network's weight regularisation losses (e.g. kernel regularizers), this
        replica's share: divided by the replicas, as their gradients are summed."""
        if not network.losses:
            return tf.constant(0.0)
        replicas = _replica_context().num_replicas_in_sync
        return tf.add_n([tf.cast(v, tf.float32) for v in network.losses]) / replicas

    @staticmethod
    def all_sum(value):
        """Sum over replicas (a replica's share of a mean becomes the global mean); a nested
        structure (a dict of logs) is summed in one batched all-reduce."""
        return _replica_context().all_reduce("sum", value)

    @staticmethod
    def assign_replicated(pairs) -> None:
        """Assign each (variable, value) of replicated state -- values equal on every replica,
        derived from replicated weights or global sums (EMA, the step counter) -- in one
        merge_call for all of them, each replica's copy from its own value (as Keras's
        optimizer applies its updates). Assigned one by one, a variable that keeps its first
        replica's value cost a merge_call and a broadcast each."""
        if not pairs:
            return
        ctx = _replica_context()
        variables = [v for v, _ in pairs]
        values = [tf.cast(x, v.dtype) for v, x in pairs]
        if ctx.num_replicas_in_sync == 1:
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)
            return

        def assign(strategy, *values):
            for variable, value in zip(variables, values, strict=True):
                strategy.extended.update(variable.value, lambda v, x: v.assign(x),
                                         args=(value,), group=False)

        tf.__internal__.distribute.interim.maybe_merge_call(assign, ctx.strategy, *values)

    @staticmethod
    def global_norm(grads: list[tf.Tensor]) -> tf.Tensor:
        """‖g‖₂ of gradients already summed over replicas (`apply_gradients` returns them)."""
        return tf.linalg.global_norm([tf.cast(g, tf.float32) for g in grads if g is not None])

    @staticmethod
    def all_finite(variables) -> tf.Tensor:
        """1.0 when every value of `variables` is finite, else 0.0."""
        checks = [
            tf.reduce_all(tf.math.is_finite(v.value)) for v in variables if v.dtype.startswith("float")
        ]
        return tf.cast(tf.reduce_all(tf.stack(checks)), tf.float32)

    def track(self, names) -> None:
        """One `keras.metrics.Mean` per value the train step logs (called by `compile`, in the
        strategy's scope). Keras resets them at each epoch's start, so logs, `History` and
        TensorBoard see epoch means, as for every Keras model."""
        self.log_trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.nonfinite = FirstNonFinite()

    def first_nonfinite_step(self) -> int | None:
        """The step (1-based count of train steps) whose logged losses, penalties or weights
        were first non-finite, or None. Gradient norms do not count (under mixed float16 an
        overflowing gradient is expected: the loss-scale optimizer skips that update)."""
        tracker = getattr(self, "nonfinite", None)
        step = int(keras.ops.convert_to_numpy(tracker.result())) if tracker is not None else -1
        return step if step >= 0 else None

    @property
    def metrics(self):
        return list(getattr(self, "log_trackers", {}).values())

    def end_step(self, shares: dict, values: dict) -> dict[str, tf.Tensor]:
        """A train step's last part: the logged `shares` (this replica's share of a global
        value, see `batch_loss`) summed over replicas in one all-reduce; `values` already
        global (gradient norms, schedules); the weights checked finite; then the step's writes
        of replicated state in one merge_call -- the EMA update (from the step's weights), the
        step counter, the first non-finite step. Returns `report`'s logs."""
        logs = {**self.all_sum(shares), **values,
                "weights_finite": self.all_finite(self.weights)}
        step = self.step.value + 1
        updates = [*self.average_updates(), (self.step, step),
                   self.nonfinite.update(step, self._finite(logs))]
        self.assign_replicated(updates)
        return self.report(logs)

    @staticmethod
    def _finite(logs) -> tf.Tensor:
        """Every logged value finite (gradient norms aside) and the weights finite."""
        finite = [tf.reduce_all(tf.math.is_finite(tf.cast(v, tf.float32)))
                  for k, v in logs.items() if "grad_norm" not in k]
        finite.append(tf.equal(tf.cast(logs["weights_finite"], tf.float32), 1.0))
        return tf.reduce_all(tf.stack(finite))

    def report(self, logs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Update the trackers with a train step's global values and return their means so
        far this epoch: every replica's tracker holds the same mean and `fit`'s mean over
        replicas is that mean.

        Under MultiWorkerMirroredStrategy, `fit` reduces logs along axis 0, which fails for
        scalars (tensorflow/tensorflow#72388): there they are returned with shape [1].
        """
        if set(logs) != set(self.log_trackers):
            raise ValueError(f"train step logs {sorted(logs)} but tracks "
                             f"{sorted(self.log_trackers)}")
        out = {}
        for key, value in logs.items():
            tracker = self.log_trackers[key]
            tracker.update_state(tf.cast(value, tf.float32))
            out[key] = tracker.result()
        return self.worker_safe(out)

    def worker_safe(self, logs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Logs as `fit`/`evaluate` can reduce them: shape [1] under
        MultiWorkerMirroredStrategy, which fails reducing scalars along axis 0
        (tensorflow/tensorflow#72388); unchanged elsewhere."""
        if _is_multi_worker(self.distribute_strategy):
            return {k: tf.reshape(v, [1]) for k, v in logs.items()}
        return logs

