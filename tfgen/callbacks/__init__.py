"""Callbacks for tfgen models in `fit`: non-finite guard, TensorBoard logging, checkpoints.

All are plain `keras.callbacks.Callback`s and work with any `tfgen.models.GenerativeModel`.
"""

from __future__ import annotations

import math
import os

import keras
import numpy as np
import tensorflow as tf

from tfgen.callbacks import images as images_lib
from tfgen.errors import TrainingDiverged


def _scalar(value) -> float:
    return float(np.ravel(keras.ops.convert_to_numpy(value))[0])


def model_step(model) -> int:
    """The model's train-step counter (generator steps for a GAN)."""
    return int(keras.ops.convert_to_numpy(model.step))


class NonFiniteGuard(keras.callbacks.Callback):
    """Stop training at the first non-finite log value (loss, penalty, gradient norm) or weight.

    Raises `TrainingDiverged` naming the quantity and the step, from the batch end where it was
    seen (with `steps_per_execution=K`, within K steps); epoch-end callbacks such as
    `Checkpointer` do not run, so the last good checkpoint is kept.
    """

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            value = _scalar(value)
            if key == "weights_finite":
                if value != 1.0:
                    self._stop("weights")
            elif not math.isfinite(value):
                self._stop(key)

    def _stop(self, quantity: str):
        raise TrainingDiverged(
            f"non-finite {quantity} at step {model_step(self.model)}; training stopped "
            "(the last good checkpoint is kept)"
        )


class TensorBoardLogger(keras.callbacks.Callback):
    """TensorBoard scalars and pictures, keyed by the model's train-step counter.

    Scalars (every `log_every` steps): every value the train step logs under `train/`, each
    optimizer's learning rate under `learning_rate/` and its loss scale (mixed float16) under
    `loss_scale/`. Pictures (every `image_every` epochs): `samples`, a fixed-noise grid of
    `model.sample(num_samples, seed)` (a scatter plot over the true modes for 2-D data), also
    written to `samples_dir/epoch_NNNN.png`.

    Because steps come from the model's own counter, curves continue across resumed runs.

    Args:
        log_dir: event file directory.
        samples_dir: where PNG grids go (None: TensorBoard only).
        log_every: steps between scalar writes.
        image_every: epochs between pictures.
        num_samples: samples in the picture.
        seed: noise seed of the picture (fixed, so epochs can be compared).
        value_range: pixel range of image samples.
        modes: true mode centres to draw under 2-D samples.
        columns: grid columns (e.g. the number of classes for a conditional model).
    """

    def __init__(self, log_dir, samples_dir=None, log_every: int = 10, image_every: int = 1,
                 num_samples: int = 64, seed: int = 0, value_range=(-1.0, 1.0), modes=None,
                 columns: int | None = None):
        super().__init__()
        self.log_dir = str(log_dir)
        self.samples_dir = samples_dir
        self.log_every = log_every
        self.image_every = image_every
        self.num_samples = num_samples
        self.seed = seed
        self.value_range = value_range
        self.modes = modes
        self.columns = columns
        self.writer = None
        self._last = None

    def on_train_begin(self, logs=None):
        self.writer = tf.summary.create_file_writer(self.log_dir)

    def on_train_batch_end(self, batch, logs=None):
        step = model_step(self.model)
        if self._last is not None and step - self._last < self.log_every:
            return
        self._last = step
        with self.writer.as_default(step=step):
            for key, value in (logs or {}).items():
                if key != "weights_finite":
                    tf.summary.scalar(f"train/{key}", _scalar(value))
            for name, optimizer in self.model.named_optimizers().items():
                tf.summary.scalar(f"learning_rate/{name}", _scalar(optimizer.learning_rate))
                if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
                    tf.summary.scalar(f"loss_scale/{name}", _scalar(optimizer.dynamic_scale))

    def render(self) -> dict[str, np.ndarray]:
        """Pictures to log, by name (uint8 [H, W, C])."""
        samples = self.model.sample(self.num_samples, seed=self.seed)
        step = model_step(self.model)
        picture = images_lib.render_samples(
            samples, self.value_range, self.modes, self.columns, title=f"step {step}"
        )
        return {"samples": picture}

    def on_epoch_end(self, epoch, logs=None):
        last = self.params.get("epochs") == epoch + 1
        if (epoch + 1) % self.image_every and not last:
            return
        step = model_step(self.model)
        pictures = self.render()
        with self.writer.as_default(step=step):
            for name, picture in pictures.items():
                tf.summary.image(name, picture[None], step=step)
        self.writer.flush()
        if self.samples_dir is not None:
            scale = max(1, 256 // max(pictures["samples"].shape[:2]))
            images_lib.save_png(pictures["samples"],
                                os.path.join(self.samples_dir, f"epoch_{epoch + 1:04d}.png"), scale)

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()


class Checkpointer(keras.callbacks.Callback):
    """Checkpoints of everything a bit-identical resume needs, every `every` epochs.

    A checkpoint holds `model.training_state()` (all weights, EMA copies, the step counter that
    keys noise and data position, every optimizer's state and loss scale) and the epoch.
    Writes go through `tf.train.CheckpointManager`: data files first, then the `checkpoint` index
    is replaced atomically, so a write interrupted at any point leaves the previous checkpoint as
    the latest good one.

    Call `restore()` before `fit` to continue from the latest checkpoint.
    """

    def __init__(self, directory, model=None, every: int = 1, max_to_keep: int = 3):
        super().__init__()
        self.directory = str(directory)
        self.every = every
        self.max_to_keep = max_to_keep
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._manager = None
        if model is not None:
            self.set_model(model)

    def _get_manager(self) -> tf.train.CheckpointManager:
        if self._manager is None:
            checkpoint = tf.train.Checkpoint(epoch=self.epoch, **self.model.training_state())
            self._manager = tf.train.CheckpointManager(
                checkpoint, self.directory, max_to_keep=self.max_to_keep, checkpoint_name="ckpt"
            )
        return self._manager

    def restore(self) -> int:
        """Load the latest checkpoint, if any; returns the number of epochs it completed."""
        manager = self._get_manager()
        if manager.latest_checkpoint is None:
            return 0
        manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        return int(self.epoch.numpy())

    def save(self, epoch: int) -> str:
        self.epoch.assign(epoch)
        return self._get_manager().save(checkpoint_number=epoch)

    def on_epoch_end(self, epoch, logs=None):
        last = self.params.get("epochs") == epoch + 1
        if (epoch + 1) % self.every == 0 or last:
            self.save(epoch + 1)
