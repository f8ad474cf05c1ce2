"""`Preemption`: SIGTERM or SIGINT saves a checkpoint at the next step boundary and stops."""

from __future__ import annotations

import logging
import math
import signal
import threading

import keras

from tfgen.callbacks.common import model_step
from tfgen.errors import Preempted

log = logging.getLogger("tfgen")


class Preemption(keras.callbacks.Callback):
    """Stop training cleanly on SIGTERM (a scheduler's or cloud VM's preemption notice) or SIGINT
    (Ctrl-C): the step under way finishes (with `steps_per_execution=K`, the execution of K
    steps), `checkpointer.save_partial()` saves a checkpoint there, and `Preempted` is raised
    out of `fit`. A signal during an epoch's last step lets that epoch end (its evaluation and
    checkpoint) and stops after the next step; during the last epoch's, training just finishes.
    A second signal stops at once, as without this callback.

    It also finishes what such a checkpoint started: after `checkpointer` restored one from the
    middle of an epoch, that epoch ends after its remaining steps, so epochs end at the same
    steps as in an uninterrupted run (evaluation, model selection and checkpoints keep their
    schedule) and a resumed run is bit-identical to one never stopped.

    Under MultiWorkerMirroredStrategy the workers agree on the stop after every execution (a
    one-number all-reduce): all stop at the same step, whichever of them got the signal.

    Why not `tf.distribute.experimental.PreemptionCheckpointHandler`: it does nothing on Google
    Cloud CPU and TPU VMs (GCE_CPU, GCE_TPU in its platform check), probes the GCE metadata
    server over the network (up to 5 s) when created, watches SIGTERM only, and restores its own
    checkpoint on creation, bypassing the `Checkpointer`'s checks of what reads back.

    Signal handlers can only be installed from the main thread; elsewhere this callback only
    completes resumed epochs. They are restored when `fit` ends or `Preempted` is raised; if
    `fit` raises anything else, call `uninstall()` (e.g. in a `finally`). Put it after
    `NonFiniteGuard` (a non-finite step must not be saved) and before the callbacks whose
    `on_epoch_end` may stop training (e.g. `BestEpoch`).

    Args:
        checkpointer: the run's `Checkpointer`.
        signals: the signals that stop training.
    """

    def __init__(self, checkpointer, signals=(signal.SIGTERM, signal.SIGINT)):
        super().__init__()
        self.checkpointer = checkpointer
        self.signals = tuple(signals)
        self.received: int | None = None
        self._previous: dict = {}
        self._remaining = None  # steps left of a resumed epoch
        self._cut = False

    # -- signals ------------------------------------------------------------------------------

    def install(self) -> None:
        if self._previous or threading.current_thread() is not threading.main_thread():
            return
        for signum in self.signals:
            self._previous[signum] = signal.signal(signum, self._handle)

    def uninstall(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def _handle(self, signum, frame):
        if self.received is not None:  # a second signal: stop now, as without this callback
            self.uninstall()
            signal.raise_signal(signum)
            return
        self.received = signum
        log.warning("%s received: saving a checkpoint after the step under way, then stopping "
                    "(send it again to stop at once)", signal.Signals(signum).name)

    def _agreed_signal(self) -> int:
        """The signal to stop for (0: none), agreed by all workers of a multi-worker strategy:
        each replica contributes its worker's one-hot vector over `signals`; a positive sum
        means some worker got that signal."""
        import tensorflow as tf

        from tfgen.models.multiworker import _is_multi_worker

        received = self.received or 0
        strategy = self.model.distribute_strategy
        if not _is_multi_worker(strategy):
            return received
        if getattr(self, "_all_sum", None) is None:  # traced once: eager collectives are slow
            self._all_sum = tf.function(lambda v: strategy.reduce(
                tf.distribute.ReduceOp.SUM, strategy.run(tf.identity, (v,)), axis=None))
        votes = tf.constant([float(received == s) for s in self.signals], tf.float32)
        total = self._all_sum(votes).numpy()
        chosen = [s for s, n in zip(self.signals, total, strict=True) if n > 0]
        return int(chosen[0]) if chosen else 0

    # -- callback -----------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self.received = None
        self.install()
        done = self.checkpointer.partial_steps()
        steps = (self.params or {}).get("steps")
        self._remaining = steps - done if done and steps else None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._epoch_start = epoch, model_step(self.model)
        steps = self._remaining or self.params.get("steps")  # None: the data's length decides
        self._epoch_end = self._epoch_start + steps if steps else math.inf

    def on_train_batch_end(self, batch, logs=None):
        signum = self._agreed_signal()
        # On an epoch's last step, the epoch's end (evaluation, checkpoint) runs first and the
        # checkpoint is taken after the next step: a checkpoint always lies inside an epoch.
        if signum and model_step(self.model) < self._epoch_end:
            self.uninstall()
            path = self.checkpointer.save_partial()
            step = model_step(self.model)
            raise Preempted(f"stopped by {signal.Signals(signum).name} at step {step}, in epoch "
                            f"{self._epoch + 1}; checkpoint {path} saved",
                            signum)
        if self._remaining and model_step(self.model) >= self._epoch_end:
            self._remaining = None
            self._cut = True  # the resumed epoch is complete: end it here
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self._cut:  # ended the epoch, not the training
            self._cut = False
            self.model.stop_training = False

    def on_train_end(self, logs=None):
        self.uninstall()
