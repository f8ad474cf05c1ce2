"""`TensorBoardLogger`: scalars and sample pictures keyed by the model's step counter."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgen import fileio
from tfgen.callbacks import images as images_lib
from tfgen.callbacks.common import due, model_step, scalar


class TensorBoardLogger(keras.callbacks.Callback):
    """TensorBoard scalars and pictures, keyed by the model's train-step counter.

    Scalars (every `log_every` steps): every value the train step logs under `train/`, each
    optimizer's learning rate under `train/learning_rate/` and its loss scale (mixed float16)
    under `train/loss_scale/`; at epoch ends `validation/` and `evaluation/` values. Pictures
    (every `image_every` epochs): `samples/generated`, a fixed-noise grid of
    `model.sample(num_samples, seed)` (a scatter plot over the true modes for 2-D data), also
    written to `samples_dir/epoch_NNNN.png`; for images also `samples/interpolation`, rows of
    samples along latent paths (`model.interpolation`); for piano-rolls the rolls, an
    interpolation between two pieces and the samples as sound (`samples/generated_audio`, in the
    Audio tab); for text the samples and a homotopy in the Text tab (`samples/generated`,
    also written to `samples_dir/epoch_NNNN.md`); and the diagnostics' pictures and texts.
    What is drawn is the modality's (`tfgen.modalities`).

    Four groups, so that TensorBoard (which orders groups alphabetically) opens on what matters:
    `evaluation`, `samples`, `train`, `validation`.

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
        diagnostics: more pictures, histograms and scalars, e.g. `LatentDiagnostics` for a VAE:
            objects with `pictures(model)` and `histograms(model)` returning {name: array},
            `scalars(model)` returning {name: float} (written as train/NAME), and
            `write_projector(model, log_dir)` (called when training ends; may do nothing).
        modality: the samples' `tfgen.modalities` kind (default: points when `modes` are
            given, else images).
        context: more facts for the modality's pictures (piano-rolls: steps_per_quarter,
            steps_per_bar, and two real `pieces` to interpolate between).
    """

    def __init__(self, log_dir, samples_dir=None, log_every: int = 10, image_every: int = 1,
                 num_samples: int = 64, seed: int = 0, value_range=(-1.0, 1.0), modes=None,
                 columns: int | None = None, column_names=None, min_size: int = 512,
                 diagnostics=(), modality=None, context: dict | None = None):
        super().__init__()
        from tfgen import modalities

        # what the samples are: points when there are modes to draw them over, else images
        self.modality = (modalities.get(modality) if isinstance(modality, str)
                         else modality or modalities.get("points" if modes is not None
                                                         else "images"))
        self.context = dict(context or {})
        self.diagnostics = list(diagnostics)
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
                    tf.summary.scalar(f"train/{key}", scalar(value))
            for name, optimizer in self.model.named_optimizers().items():
                tf.summary.scalar(f"train/learning_rate/{name}", scalar(optimizer.learning_rate))
                if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
                    tf.summary.scalar(f"train/loss_scale/{name}", scalar(optimizer.dynamic_scale))

    def render(self) -> dict[str, np.ndarray]:
        """Pictures to log, by name (uint8 [H, W, C]); the sounds go to `self.sounds`, the
        texts to `self.texts`."""
        pictures, self.sounds, self.texts = self._render()
        return pictures

    def _render(self):
        samples = self.model.sample(self.num_samples, seed=self.seed)
        context = {"value_range": self.value_range, "modes": self.modes,
                   "columns": self.columns, "column_names": self.column_names,
                   "min_size": self.min_size, "seed": self.seed,
                   "title": f"step {model_step(self.model)}", **self.context}
        pictures = self.modality.pictures(self.model, samples, context)
        texts = self.modality.texts(self.model, samples, context)
        for diagnostic in self.diagnostics:
            pictures.update(diagnostic.pictures(self.model))
            texts.update(diagnostic.texts(self.model))
        return pictures, self.modality.sounds(self.model, samples, context), texts

    def on_epoch_end(self, epoch, logs=None):
        step = model_step(self.model)
        with self.writer.as_default(step=step):
            for key, value in (logs or {}).items():
                if key.startswith("val_"):
                    tf.summary.scalar(f"validation/{key[4:]}", scalar(value))
                elif key.startswith("eval_"):  # from an `Evaluation` callback placed before
                    tf.summary.scalar(f"evaluation/{key[5:]}", scalar(value))
        if not due(self, epoch, self.image_every):
            return
        pictures, sounds, texts = self._render()
        with self.writer.as_default(step=step):
            for name, picture in pictures.items():
                tf.summary.image(f"samples/{name}", picture[None], step=step)
            for name, markdown in texts.items():
                tf.summary.text(f"samples/{name}", markdown, step=step)
            for name, (audio, rate) in sounds.items():
                tf.summary.audio(f"samples/{name}_audio", audio, rate, step=step,
                                 max_outputs=len(audio))
            for diagnostic in self.diagnostics:
                for name, values in diagnostic.histograms(self.model).items():
                    tf.summary.histogram(f"train/{name}", values)
                for name, value in diagnostic.scalars(self.model).items():
                    tf.summary.scalar(f"train/{name}", value)
        self.writer.flush()
        if self.samples_dir is not None:
            stem = fileio.join(self.samples_dir, f"epoch_{epoch + 1:04d}")
            if "generated" in pictures:
                images_lib.save_png(pictures["generated"], stem + ".png")
            if "generated" in texts:
                fileio.write_bytes(stem + ".md", (texts["generated"] + "\n").encode("utf-8"))

    def on_train_end(self, logs=None):
        for diagnostic in self.diagnostics:  # e.g. the latent space for the Projector tab
            diagnostic.write_projector(self.model, self.log_dir)
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
