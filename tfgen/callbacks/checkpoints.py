"""`Checkpointer`: everything a bit-identical resume needs, restored on `on_train_begin`."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfgen.callbacks.common import model_step


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
            self._manager = tf.train.CheckpointManager(
                checkpoint, self.directory, max_to_keep=self.max_to_keep, checkpoint_name="ckpt"
            )
        return self._manager

    def restore(self) -> int:
        """Load the latest checkpoint, if any; returns the number of epochs it completed."""
        manager = self._get_manager()
        self._restored = True
        if manager.latest_checkpoint is None:
            return 0
        manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        return int(self.epoch.numpy())

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
