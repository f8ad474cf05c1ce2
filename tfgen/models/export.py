"""Export a trained GAN or VAE as a TensorFlow SavedModel that needs neither tfgen nor Keras.

Serving functions (all take and return plain tensors):

- `sample(seed: int64[], num: int32[], labels: int32[None]) -> float32[num, ...]`: samples from
  the latent prior with stateless noise -- the same numbers `model.sample(num, seed)` gives.
  `labels` are cycled to `num` for conditional models (empty: 0, 1, 2, ...); unconditional
  models ignore them.
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


def export_saved_model(model, path: str) -> None:
    """Write `model` (a `tfgen.GAN` or `tfgen.VAE`) to `path` as a SavedModel."""
    from tfgen.models.gan import GAN

    latent_dim, num_classes = model.latent_dim, model.num_classes
    archive = keras.export.ExportArchive()
    archive.track(model)
    is_gan = isinstance(model, GAN)

    def decode(z, labels):
        inputs = z if num_classes is None else [z, labels]
        if is_gan:
            return tf.cast(model.generator(inputs, training=False), tf.float32)
        params = model.decoder(inputs, training=False)
        return tf.cast(model.likelihood.mean(params), tf.float32)

    def sample(seed, num, labels):
        z = tf.random.stateless_normal(
            tf.stack([num, latent_dim]), seed=tf.stack([seed, SAMPLE_SEED_STREAM]))
        if num_classes is not None:
            labels = _labels_for(labels, num, num_classes)
        return decode(z, labels)

    int_spec = lambda name, shape=(): tf.TensorSpec(shape, tf.int32, name)  # noqa: E731
    archive.add_endpoint("sample", sample, input_signature=[
        tf.TensorSpec([], tf.int64, "seed"), int_spec("num"), int_spec("labels", [None])])
    if not is_gan:
        shape = [None, *model.encoder.inputs[0].shape[1:]]

        def encode(x, labels):
            mean, log_var = model._posterior(x, None if num_classes is None else labels, False)
            return {"mean": mean, "log_var": log_var}

        def decode_z(z, labels):
            return decode(z, labels)

        archive.add_endpoint("encode", encode, input_signature=[
            tf.TensorSpec(shape, tf.float32, "x"), int_spec("labels", [None])])
        archive.add_endpoint("decode", decode_z, input_signature=[
            tf.TensorSpec([None, latent_dim], tf.float32, "z"), int_spec("labels", [None])])
        if model.has_expost:
            from tfgen.models.vae import expost_draw

            def sample_expost(seed, num):
                z = expost_draw(seed, num, latent_dim, model.expost_log_weights,
                                model.expost_means, model.expost_scale_tril)
                return decode(z, None)

            archive.add_endpoint("sample_expost", sample_expost, input_signature=[
                tf.TensorSpec([], tf.int64, "seed"), int_spec("num")])
    if is_gan:
        with model.averaged_generator():
            archive.write_out(path, verbose=False)
    else:
        archive.write_out(path, verbose=False)
