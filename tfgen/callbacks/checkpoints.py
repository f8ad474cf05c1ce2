"""`Checkpointer`: everything a bit-identical resume needs, restored on `on_train_begin`."""

from __future__ import annotations

import glob
import logging
import os
import re

import keras
import tensorflow as tf

from tfgen.callbacks.common import model_step
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
        self._manager = None
        self._restored = False
        if model is not None:
            self.set_model(model)

    def _get_manager(self) -> tf.train.CheckpointManager:
        if self._manager is None:
            checkpoint = tf.train.Checkpoint(
                epoch=self.epoch, **self.model.training_state(), **self.extra)
            try:
                self._manager = self._make_manager(checkpoint)
            except Exception as err:  # an unreadable `checkpoint` index file (binary, garbled)
                index = os.path.join(self.directory, "checkpoint")
                os.replace(index, f"{index}.unreadable")
                log.warning("checkpoint index %s is unreadable (%s); moved aside, rebuilding the "
                            "list from the checkpoint files", index, type(err).__name__)
                self._manager = self._make_manager(checkpoint)
        return self._manager

    def _make_manager(self, checkpoint) -> tf.train.CheckpointManager:
        return tf.train.CheckpointManager(checkpoint, self.directory,
                                          max_to_keep=self.max_to_keep, checkpoint_name="ckpt")

    def candidates(self) -> list[str]:
        """Checkpoint prefixes to try, newest first: the index's and those with files present."""
        manager = self._get_manager()
        paths = set(manager.checkpoints)
        for index in glob.glob(os.path.join(self.directory, "ckpt-*.index")):
            paths.add(index[: -len(".index")])
        for data in glob.glob(os.path.join(self.directory, "ckpt-*.data-*")):
            paths.add(data.split(".data-")[0])  # data without its .index: tried, then skipped

        def number(path):
            found = re.search(r"ckpt-(\d+)$", path)
            return int(found.group(1)) if found else -1

        return sorted(paths, key=number, reverse=True)

    def restore(self) -> int:
        """Load the newest checkpoint that reads back whole; returns the number of epochs it
        completed (0 when there is none)."""
        manager = self._get_manager()
        self._restored = True
        candidates = self.candidates()
        for path in candidates:
            try:
                manager.checkpoint.restore(path).assert_existing_objects_matched()
            except Exception as err:  # OpError, IndexError (truncated data), AssertionError, ...
                log.warning("checkpoint %s does not read back (%s: %s); trying an older one",
                            os.path.basename(path), type(err).__name__, reason(err, 120))
                continue
            return int(self.epoch.numpy())
        if candidates:
            raise UserError(f"no checkpoint in {self.directory} reads back ({len(candidates)} "
                            "tried); move the directory aside to start over")
        return 0

    def on_train_begin(self, logs=None):
        epoch = int(self.epoch.numpy()) if self._restored else self.restore()
        if epoch:
            self.model._initial_epoch = epoch  # what BackupAndRestore sets: fit starts there

    def save(self, epoch: int) -> str:
        self.epoch.assign(epoch)
        self._steps_saved = model_step(self.model)
        return self._get_manager().save(checkpoint_number=epoch)

    def steps_saved(self) -> int:
        """The model's step counter at the last save (or now, if none was made this run)."""
        return getattr(self, "_steps_saved", None) or model_step(self.model)

    def on_epoch_end(self, epoch, logs=None):
        last = self.params.get("epochs") == epoch + 1
        if (epoch + 1) % self.every == 0 or last:
            self.save(epoch + 1)
