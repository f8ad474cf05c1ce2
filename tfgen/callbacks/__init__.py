"""Callbacks for tfgen models in `fit`: non-finite guard, TensorBoard logging, evaluation, model
selection and convergence stopping, checkpoints.

All are plain `keras.callbacks.Callback`s and work with any `tfgen.models.GenerativeModel`.
"""

from __future__ import annotations

import logging
import math
import os

import keras
import numpy as np
import tensorflow as tf

from tfgen.callbacks import images as images_lib
from tfgen.errors import TrainingCollapsed, TrainingDiverged


def _scalar(value) -> float:
    return float(np.ravel(keras.ops.convert_to_numpy(value))[0])


def model_step(model) -> int:
    """The model's train-step counter (generator steps for a GAN)."""
    return int(keras.ops.convert_to_numpy(model.step))


class NonFiniteGuard(keras.callbacks.Callback):
    """Stop training at the first non-finite logged loss or penalty, or non-finite weight.

    Gradient norms are not checked: under mixed float16 an overflowing gradient is expected (the
    loss-scale optimizer skips that update and lowers its scale), and without loss scaling a
    non-finite gradient makes the weights non-finite in the same step, which is checked.

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
            elif "grad_norm" not in key and not math.isfinite(value):
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
        column_names: names shown above the grid's columns (a conditional model's classes).
        min_size: image grids are enlarged (nearest neighbour) to at least this many pixels.
        reference: a fixed batch (samples, labels or None) of real data. For models that
            reconstruct (VAEs) it adds `reconstructions` (inputs above their reconstructions),
            the histogram `kl_per_dimension`, and, with a 2-D latent space, `latent_manifold`
            (decodings of a grid over [-2, 2]²).
    """

    def __init__(self, log_dir, samples_dir=None, log_every: int = 10, image_every: int = 1,
                 num_samples: int = 64, seed: int = 0, value_range=(-1.0, 1.0), modes=None,
                 columns: int | None = None, reference=None, column_names=None,
                 min_size: int = 512):
        super().__init__()
        self.reference = reference
        self.log_dir = str(log_dir)
        self.samples_dir = samples_dir
        self.log_every = log_every
        self.image_every = image_every
        self.num_samples = num_samples
        self.seed = seed
        self.value_range = value_range
        self.modes = modes
        self.columns = columns
        self.column_names = column_names
        self.min_size = min_size
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
            samples, self.value_range, self.modes, self.columns, title=f"step {step}",
            column_names=self.column_names, min_size=self.min_size,
        )
        pictures = {"samples": picture}
        if self.reference is not None and hasattr(self.model, "reconstruct"):
            x, labels = self.reference
            rec = self.model.reconstruct(x, labels)
            n = min(len(x), 16)
            pairs = np.concatenate([x[:n], rec[:n]])
            pictures["reconstructions"] = images_lib.enlarge(
                images_lib.image_grid(pairs, self.value_range, columns=n), self.min_size)
            labels = None
            if self.model.conditional:  # traversals and manifolds of class 0
                labels = np.zeros(144, np.int32)
            if self.model.latent_dim == 2:
                axis = np.linspace(-2.0, 2.0, 12, dtype=np.float32)
                grid = np.stack(np.meshgrid(axis, -axis), axis=-1).reshape(-1, 2)[:, ::-1]
                pictures["latent_manifold"] = images_lib.enlarge(images_lib.image_grid(
                    self.model.decode(grid, labels), self.value_range, columns=12), self.min_size)
            else:
                pictures["latent_traversal"] = self._traversal(x, labels)
        return pictures

    def _traversal(self, x, labels, steps: int = 9, rows: int = 8) -> np.ndarray:
        """Rows: the latent dimensions with the most KL; columns: that coordinate swept over
        [-2.5, 2.5], the others at 0."""
        kl = self.model.kl_per_dimension(*self.reference)
        dims = np.argsort(-kl)[:rows]
        values = np.linspace(-2.5, 2.5, steps, dtype=np.float32)
        z = np.zeros((len(dims) * steps, self.model.latent_dim), np.float32)
        for r, d in enumerate(dims):
            z[r * steps:(r + 1) * steps, d] = values
        images = self.model.decode(z, None if labels is None else labels[:len(z)])
        return images_lib.enlarge(images_lib.image_grid(images, self.value_range, columns=steps),
                                  self.min_size)

    def on_epoch_end(self, epoch, logs=None):
        step = model_step(self.model)
        with self.writer.as_default(step=step):
            for key, value in (logs or {}).items():
                if key.startswith("val_"):
                    tf.summary.scalar(f"validation/{key[4:]}", _scalar(value))
                elif key.startswith("eval_"):  # from an `Evaluation` callback placed before
                    tf.summary.scalar(f"evaluation/{key[5:]}", _scalar(value))
        last = self.params.get("epochs") == epoch + 1
        if (epoch + 1) % self.image_every and not last:
            return
        pictures = self.render()
        with self.writer.as_default(step=step):
            for name, picture in pictures.items():
                tf.summary.image(name, picture[None], step=step)
            if self.reference is not None and hasattr(self.model, "kl_per_dimension"):
                tf.summary.histogram("kl_per_dimension", self.model.kl_per_dimension(*self.reference))
        self.writer.flush()
        if self.samples_dir is not None:
            images_lib.save_png(pictures["samples"],
                                os.path.join(self.samples_dir, f"epoch_{epoch + 1:04d}.png"))

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()


class Evaluation(keras.callbacks.Callback):
    """Quality metrics during training: every `every` epochs (and after the last), the
    `tfgen.metrics.evaluation.Evaluator`'s values are added to the epoch's logs as `eval_<name>`,
    where later callbacks see them: `TensorBoardLogger` writes them under `evaluation/`,
    `BestEpoch(monitor="eval_<name>", every=every)` selects and stops on one, `History` and
    KerasTuner record them. Place it before those callbacks.

    Args:
        evaluator: a `tfgen.metrics.evaluation.Evaluator` (reference side computed once).
        every: epochs between evaluations.
        stop_on_collapse: raise `TrainingCollapsed` when an evaluation shows mode collapse
            (`tfgen.metrics.evaluation.collapse`), e.g. to fail a tuner trial early.
    """

    def __init__(self, evaluator, every: int = 1, stop_on_collapse: bool = False):
        super().__init__()
        self.evaluator, self.every = evaluator, int(every)
        self.stop_on_collapse = stop_on_collapse

    def due(self, epoch: int) -> bool:
        return (epoch + 1) % self.every == 0 or self.params.get("epochs") == epoch + 1

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self.due(epoch):
            return
        values = self.evaluator.values(self.model)
        logs.update({f"eval_{k}": float(v) for k, v in values.items()})
        logging.getLogger("tfgen").info(
            "epoch %d evaluation (%s split): %s", epoch + 1, self.evaluator.split,
            ", ".join(f"{k} {v:.4g}" for k, v in values.items()))
        if self.stop_on_collapse:
            from tfgen.metrics.evaluation import collapse

            why = collapse(values, self.evaluator.info.num_classes)
            if why:
                raise TrainingCollapsed(f"mode collapse at epoch {epoch + 1} "
                                        f"(step {model_step(self.model)}): {why}")


class BestEpoch(keras.callbacks.Callback):
    """Model selection on a logged metric, with convergence stopping, that survives resumes.

    At the end of every `every`-th epoch (and the last), if `monitor` improved, the model's
    weights are written to `path` (atomically: a temporary file, then a rename). Training stops
    after `patience` such checks without improvement, or once the best value reaches `target`.
    When training ends, the best weights are loaded back. Its state (best value, epoch, checks
    waited) is a set of variables for `Checkpointer(extra=best.state())`, so a resumed run
    selects exactly as an uninterrupted one.

    Args:
        path: weights file (`.weights.h5`) of the best epoch.
        monitor: the logged value to watch, e.g. "val_elbo" or "eval_frechet_distance".
        mode: "max" or "min".
        patience: checks without improvement before stopping (None: never stop).
        target: stop once the best value is at least (max) or at most (min) this.
        every: epochs between checks (an `Evaluation` callback's `every`).
    """

    def __init__(self, path, monitor: str = "val_elbo", mode: str = "max",
                 patience: int | None = None, target: float | None = None, every: int = 1):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError("mode must be 'max' or 'min'")
        self.path = str(path)
        self.monitor, self.mode, self.patience = monitor, mode, patience
        self.target, self.every = target, int(every)
        worst = -np.inf if mode == "max" else np.inf
        self.best = tf.Variable(worst, dtype=tf.float64, trainable=False)
        self.best_epoch = tf.Variable(-1, dtype=tf.int64, trainable=False)
        self.wait = tf.Variable(0, dtype=tf.int64, trainable=False)

    def state(self) -> dict:
        return {"best_value": self.best, "best_epoch": self.best_epoch, "best_wait": self.wait}

    def _better(self, a, b) -> bool:
        return a > b if self.mode == "max" else a < b

    def reached_target(self) -> bool:
        best = float(self.best.numpy())
        return self.target is not None and not self._better(self.target, best)

    def stopped(self) -> bool:
        """True when a previous run already stopped (patience spent or target reached)."""
        waited = self.patience is not None and int(self.wait.numpy()) >= self.patience
        return waited or self.reached_target()

    def reason(self) -> str:
        if self.reached_target():
            return f"{self.monitor} reached its target {self.target}"
        return f"no better {self.monitor} for {self.patience} checks"

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every and self.params.get("epochs") != epoch + 1:
            return
        if not logs or self.monitor not in logs:
            raise ValueError(f"BestEpoch: '{self.monitor}' is not logged (need validation data "
                             "or an Evaluation callback before this one)")
        value = _scalar(logs[self.monitor])
        if self._better(value, self.best.numpy()):
            self.best.assign(value)
            self.best_epoch.assign(epoch + 1)
            self.wait.assign(0)
            tmp = f"{self.path}.tmp.weights.h5"
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self.model.save_weights(tmp)
            os.replace(tmp, self.path)
        else:
            self.wait.assign_add(1)
        if self.stopped():
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if os.path.exists(self.path):
            self.model.load_weights(self.path)


class Checkpointer(keras.callbacks.Callback):
    """Checkpoints of everything a bit-identical resume needs, every `every` epochs.

    A checkpoint holds `model.training_state()` (all weights, EMA copies, the step counter that
    keys noise and data position, every optimizer's state and loss scale) and the epoch.
    Writes go through `tf.train.CheckpointManager`: data files first, then the `checkpoint` index
    is replaced atomically, so a write interrupted at any point leaves the previous checkpoint as
    the latest good one.

    Call `restore()` before `fit` to continue from the latest checkpoint.
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
        if manager.latest_checkpoint is None:
            return 0
        manager.checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        return int(self.epoch.numpy())

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
