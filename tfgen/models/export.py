"""Export a trained GAN or VAE as a TensorFlow SavedModel that needs neither tfgen nor Keras.

Serving functions (all take and return plain tensors):

- `sample(seed: int64[] or int32[], num: int32[], labels: int32[None] = omitted) ->
  float32[num, ...]`: samples from the latent prior with stateless noise -- the same numbers
  `model.sample(num, seed)` gives. `labels` are cycled to `num` for conditional models
  (omitted or empty: 0, 1, 2, ...); unconditional models ignore them. An optional
  `truncation: float32[]` ψ > 0 applies the truncation trick (`model.sample(num, seed,
  truncation=ψ)`'s numbers); ψ <= 0 means none.
- `value_range() -> float32[2]`: (low, high) of the samples' values, when the exporter gave it
  (`tfgen export` does: [-1, 1] or [0, 1] images, [-1, 1] clips).
- With an `output` (name, function) -- a spectrogram model's Griffin-Lim inversion -- `sample`
  returns the function of the samples (clips, not spectrogram images), and endpoint `name`
  applies it to given samples (e.g. `waveforms(decode(z, labels))`).
- VAEs also have `encode(x, labels) -> {"mean", "log_var"}` and `decode(z, labels) -> mean of
  p(x | z)`; a VAE with a fitted ex-post density also `sample_expost(seed, num)`, the numbers
  `model.sample(num, seed, sampler="expost")` gives.

GANs export the generator's EMA weights when EMA is on, as `sample` in tfgen does.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfgen.models.base import SAMPLE_SEED_STREAM


def _labels_for(labels, num, num_classes):
    """Given labels cycled to `num`; none given: 0, 1, 2, ... (mod num_classes)."""
    idx = tf.range(num)
    n = tf.size(labels)
    return tf.cond(n > 0, lambda: tf.gather(labels, idx % tf.maximum(n, 1)),
                   lambda: idx % num_classes)


def export_saved_model(model, path: str, value_range=None, output=None) -> None:
    """Write `model` (a `tfgen.GAN`, `tfgen.VAE` or another `GenerativeModel`) to `path` as a
    SavedModel: `sample`, `value_range` (when given), the endpoint of `output` (when given:
    (name, function of a batch of samples)) and the endpoints the model adds
    (`model.export_endpoints`)."""
    noise_dim, num_classes = model.noise_dim, model.num_classes
    archive = keras.export.ExportArchive()
    archive.track(model)
    name, finish = output if output is not None else (None, lambda x: x)

    @tf.function
    def sample(seed, num, labels=None, truncation=None):
        z = tf.random.stateless_normal(
            tf.stack([num, noise_dim]), seed=tf.stack([tf.cast(seed, tf.int64),
                                                        tf.constant(SAMPLE_SEED_STREAM, tf.int64)]))
        if truncation is not None:
            z = tf.cond(truncation > 0, lambda: model.truncate_noise(z, truncation),
                        lambda: z)
        if num_classes is None:
            return finish(model.generate(z, None))
        labels = tf.zeros([0], tf.int32) if labels is None else labels
        return finish(model.generate(z, _labels_for(labels, num, num_classes)))

    for seed_dtype in (tf.int64, tf.int32):  # every variant is one concrete function
        seed = tf.TensorSpec([], seed_dtype, "seed")
        labels = int_spec("labels", [None])
        psi = tf.TensorSpec([], tf.float32, "truncation")
        sample.get_concrete_function(seed, int_spec("num"), labels)
        sample.get_concrete_function(seed, int_spec("num"))
        sample.get_concrete_function(seed, int_spec("num"), labels, psi)
        sample.get_concrete_function(seed, int_spec("num"), truncation=psi)
    archive.add_endpoint("sample", sample)
    if value_range is not None:
        low, high = (float(v) for v in value_range)

        @tf.function(input_signature=[])
        def values():
            return tf.constant([low, high], tf.float32)

        archive.add_endpoint("value_range", values)
    if name is not None:
        shape = model.generate(tf.zeros([1, noise_dim]), None if num_classes is None else
                               tf.zeros([1], tf.int32)).shape[1:]
        archive.add_endpoint(name, tf.function(finish), input_signature=[
            tf.TensorSpec([None, *shape], tf.float32, "samples")])
    model.export_endpoints(archive)
    with model.exported_weights():
        archive.write_out(path, verbose=False)


def int_spec(name: str, shape=()) -> tf.TensorSpec:
    """An int32 input of an exported endpoint."""
    return tf.TensorSpec(shape, tf.int32, name)
