"""`Checkpointer`: everything a bit-identical resume needs, restored on `on_train_begin`."""

from __future__ import annotations

import logging
import re

import keras
import tensorflow as tf

from tfgen import fileio
from tfgen.callbacks.common import due, model_step
from tfgen.errors import UserError, reason

log = logging.getLogger("tfgen")


class Checkpointer(keras.callbacks.Callback):
    """Checkpoints of everything a bit-identical resume needs, every `every` epochs.

    A checkpoint holds `model.training_state()` (all weights, EMA copies, the step counter that
    keys noise and data position, every optimizer's state and loss scale) and the epoch.
    Writes go through `tf.train.CheckpointManager`: data files first, then the `checkpoint` index
    is replaced atomically, so a write interrupted at any point leaves the previous checkpoint as
    the latest good one.

    Like `keras.callbacks.BackupAndRestore`, it restores itself: at `on_train_begin` the latest
    checkpoint in `directory` is loaded and `fit` continues from the epoch after it. A caller
    that needs the epoch (or the model's step, e.g. for the data position) before `fit` calls
    `restore()` first; it is then not restored twice.

    Restoring trusts nothing it has not read back: the candidates are the checkpoints the index
    names and those whose files are present (a lost or corrupt `checkpoint` index file is
    rebuilt from them, never taken to mean "no checkpoints"), newest first; one that does not
    read back whole (truncated data, missing index) is skipped with one logged line, and the
    next older one is restored.

    A checkpoint can also be saved in the middle of an epoch (`save_partial`, what `Preemption`
    does on SIGTERM): it goes to `directory/partial` (one kept, removed at the next epoch end's
    checkpoint) with the steps done of the epoch and the epoch-mean trackers so far. Restored,
    the epoch continues where it stopped (`Preemption` ends it after its remaining steps), and
    its logged means are those an uninterrupted epoch would have.

    Args:
        directory: checkpoint directory.
        model: the model (else set by `fit`).
        every: epochs between checkpoints (the last epoch is always saved).
        max_to_keep: checkpoints kept.
        extra: more trackables to save, e.g. `BestEpoch.state()`.
    """

    def __init__(self, directory, model=None, every: int = 1, max_to_keep: int = 3,
                 extra: dict | None = None):
        super().__init__()
        self.directory = str(directory)
        self.extra = extra or {}  # more trackables to save, e.g. BestEpoch.state()
        self.every = every
        self.max_to_keep = max_to_keep
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        # Steps done of epoch `epoch` + 1 (0 except in a mid-epoch checkpoint).
        self.epoch_steps = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.partial_directory = fileio.join(self.directory, "partial")
        self._manager = self._partial_manager = None
        self._restored = False
        self._pending_logs = None  # tracker values of a restored mid-epoch checkpoint
        self._epoch_index, self._epoch_start = 0, 0
        if model is not None:
            self.set_model(model)

    def _get_manager(self) -> tf.train.CheckpointManager:
        if self._manager is None:
            self._checkpoint = tf.train.Checkpoint(
                epoch=self.epoch, epoch_steps=self.epoch_steps, logs=self._log_variables(),
                **self.model.training_state(), **self.extra)
            self._manager = self._make_manager(self.directory, self.max_to_keep)
        return self._manager

    def _get_partial_manager(self) -> tf.train.CheckpointManager:
        if self._partial_manager is None:
            self._get_manager()
            self._partial_manager = self._make_manager(self.partial_directory, 1)
        return self._partial_manager

    def _make_manager(self, directory: str, keep: int) -> tf.train.CheckpointManager:
        def make():
            return tf.train.CheckpointManager(self._checkpoint, directory, max_to_keep=keep,
                                              checkpoint_name="ckpt")

        try:
            return make()
        except Exception as err:  # an unreadable `checkpoint` index file (binary, garbled)
            index = fileio.join(directory, "checkpoint")
            fileio.rename(index, f"{index}.unreadable")
            log.warning("checkpoint index %s is unreadable (%s); moved aside, rebuilding the "
                        "list from the checkpoint files", index, type(err).__name__)
            return make()

    def _log_variables(self) -> list:
        """The variables of the model's epoch-mean trackers (Keras resets them each epoch)."""
        return [v for metric in self.model.metrics for v in metric.variables]

    def candidates(self) -> list[str]:
        """Checkpoint prefixes to try, newest first: the index's and those with files present.
        A mid-epoch checkpoint numbered N (N epochs done) is newer than the epoch-end one N."""
        manager = self._get_manager()
        paths = set(manager.checkpoints)
        for directory in (self.directory, self.partial_directory):
            if not fileio.isdir(directory):
                continue
            for index in fileio.glob(fileio.join(directory, "ckpt-*.index")):
                paths.add(index[: -len(".index")])
            for data in fileio.glob(fileio.join(directory, "ckpt-*.data-*")):
                paths.add(data.split(".data-")[0])  # data without its .index: tried, skipped

        def order(path):
            found = re.search(r"ckpt-(\d+)$", path)
            partial = fileio.dirname(path) == self.partial_directory
            return (int(found.group(1)) if found else -1, partial)

        return sorted(paths, key=order, reverse=True)

    def restore(self) -> int:
        """Load the newest checkpoint that reads back whole; returns the number of epochs it
        completed (0 when there is none)."""
        manager = self._get_manager()
        self._restored = True
        candidates = self.candidates()
        for path in candidates:
            self.epoch_steps.assign(0)  # absent from checkpoints of older versions
            try:
                manager.checkpoint.restore(path).assert_existing_objects_matched()
            except Exception as err:  # OpError, IndexError (truncated data), AssertionError, ...
                log.warning("checkpoint %s does not read back (%s: %s); trying an older one",
                            fileio.basename(path), type(err).__name__, reason(err, 120))
                continue
            if self.partial_steps():
                self._pending_logs = [v.numpy() for v in self._log_variables()]
                log.info("restored a checkpoint from the middle of epoch %d (%d steps done)",
                         int(self.epoch.numpy()) + 1, self.partial_steps())
            return int(self.epoch.numpy())
        if candidates:
            raise UserError(f"no checkpoint in {self.directory} reads back ({len(candidates)} "
                            "tried); move the directory aside to start over")
        return 0

    def partial_steps(self) -> int:
        """Steps done of the epoch after the restored checkpoint's (0: it ended an epoch)."""
        return int(self.epoch_steps.numpy())

    def on_train_begin(self, logs=None):
        epoch = int(self.epoch.numpy()) if self._restored else self.restore()
        if epoch:
            self.model._initial_epoch = epoch  # what BackupAndRestore sets: fit starts there

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_index, self._epoch_start = epoch, model_step(self.model)
        if self._pending_logs is not None:  # the epoch a mid-epoch checkpoint was saved in
            for variable, value in zip(self._log_variables(), self._pending_logs):
                variable.assign(value)  # Keras reset the trackers just before this
            self._epoch_start -= self.partial_steps()
            self._pending_logs = None

    def save(self, epoch: int) -> str:
        self.epoch.assign(epoch)
        self.epoch_steps.assign(0)
        self._steps_saved = model_step(self.model)
        path = self._get_manager().save(checkpoint_number=epoch)
        if fileio.isdir(self.partial_directory):  # older than this one now
            fileio.rmtree(self.partial_directory)
            self._partial_manager = None
        return path

    def save_partial(self) -> str:
        """Save a checkpoint at the current step, in the middle of the epoch under way (call it
        from `on_train_batch_end`)."""
        self.epoch.assign(self._epoch_index)
        self.epoch_steps.assign(model_step(self.model) - self._epoch_start)
        self._steps_saved = model_step(self.model)
        return self._get_partial_manager().save(checkpoint_number=self._epoch_index)

    def steps_saved(self) -> int:
        """The model's step counter at the last save (or now, if none was made this run)."""
        return getattr(self, "_steps_saved", None) or model_step(self.model)

    def on_epoch_end(self, epoch, logs=None):
        if due(self, epoch, self.every):
            self.save(epoch + 1)
