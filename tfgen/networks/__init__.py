"""Network builders: functional Keras models for generators, discriminators, encoders, decoders.

All builders return plain `keras.Model`s built from stock layers (they save and load as `.keras`
in safe mode). Conditional networks take `[inputs, labels]` with integer labels of shape [batch].
Final layers run in float32 under mixed precision.

- MLP: for 2-D points (ring8, grid25).
- DCGAN: strided (transposed) convolutions, sized from the image shape (8x8, 28x28, 32x32,
  64x64, any size that halves to at most 7): the generator starts at the smallest resolution
  >= 4 reached by halving and doubles it up; the discriminator mirrors it.
- ResNet (SNGAN, Miyato et al. 2018) for 32x32.
"""

from __future__ import annotations

import keras
from keras import layers

OUTPUT_ACTIVATIONS = {"symmetric": "tanh", "unit": "sigmoid", None: None}


def _sn(layer: layers.Layer, spectral_norm: bool) -> layers.Layer:
    return layers.SpectralNormalization(layer) if spectral_norm else layer


def _bn() -> layers.Layer:
    # Synchronised across replicas: batch statistics are those of the global batch, so training
    # on N replicas computes what one device would.
    return layers.BatchNormalization(synchronized=True, momentum=0.9, epsilon=1e-5)


def _latent_inputs(latent_dim: int, num_classes: int | None, embed_dim: int):
    z = keras.Input((latent_dim,), name="z")
    if num_classes is None:
        return [z], z
    labels = keras.Input((), dtype="int32", name="labels")
    embedded = layers.Embedding(num_classes, embed_dim, name="label_embedding")(labels)
    return [z, labels], layers.Concatenate()([z, embedded])


def _sample_inputs(shape: tuple[int, ...], num_classes: int | None):
    x = keras.Input(shape, name="x")
    if num_classes is None:
        return [x], x, None
    labels = keras.Input((), dtype="int32", name="labels")
    return [x, labels], x, labels


def _unwrap(inputs: list):
    return inputs[0] if len(inputs) == 1 else inputs


def _projection_head(features, labels, num_classes: int | None, spectral_norm: bool):
    """Linear score plus, when conditional, the projection <embed(y), φ(x)> (Miyato & Koyama 2018)."""
    score = _sn(layers.Dense(1, dtype="float32", name="score"), spectral_norm)(features)
    if num_classes is None:
        return score
    width = features.shape[-1]
    embedded = layers.Embedding(num_classes, width, name="projection")(labels)
    projection = layers.Dot(axes=1, dtype="float32")([embedded, features])
    return layers.Add(dtype="float32")([score, projection])


# ---------------------------------------------------------------------------------------------
# MLP


def mlp_generator(
    latent_dim: int, output_dim: int, width: int = 256, depth: int = 3,
    num_classes: int | None = None, name: str = "generator",
) -> keras.Model:
    """z (and labels) -> [Dense(width) -> ReLU] x depth -> Dense(output_dim), linear output."""
    inputs, h = _latent_inputs(latent_dim, num_classes, embed_dim=16)
    for i in range(depth):
        h = layers.Dense(width, activation="relu", name=f"dense_{i}")(h)
    out = layers.Dense(output_dim, dtype="float32", name="out")(h)
    return keras.Model(_unwrap(inputs), out, name=name)


def mlp_discriminator(
    input_dim: int, width: int = 256, depth: int = 3, num_classes: int | None = None,
    spectral_norm: bool = False, name: str = "discriminator",
) -> keras.Model:
    """x (and labels) -> [Dense(width) -> LeakyReLU(0.2)] x depth -> score (+ projection)."""
    inputs, h, labels = _sample_inputs((input_dim,), num_classes)
    for i in range(depth):
        h = _sn(layers.Dense(width, name=f"dense_{i}"), spectral_norm)(h)
        h = layers.LeakyReLU(0.2)(h)
    return keras.Model(
        _unwrap(inputs), _projection_head(h, labels, num_classes, spectral_norm), name=name
    )


# ---------------------------------------------------------------------------------------------
# DCGAN


def num_upsamplings(size: int) -> int:
    """How many times `size` halves (exactly) while staying >= 4: 8 -> 1, 28 -> 2, 32 -> 3, 64 -> 4."""
    k = 0
    while size % 2 == 0 and size // 2 >= 4:
        size //= 2
        k += 1
    if k == 0:
        raise ValueError(f"image size {size} cannot be halved to a start resolution >= 4")
    return k


def _check_image_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) != 3 or shape[0] != shape[1]:
        raise ValueError(f"conv networks need square images (H, W, C); got shape {shape}")
    return shape[0], shape[2]


def _conv_up(latent, image_size: int, width: int):
    """Dense -> s x s x width·2^k -> k x [ConvT 4x4 stride 2 -> BN -> ReLU] (the DCGAN trunk)."""
    k = num_upsamplings(image_size)
    start = image_size // 2**k
    h = layers.Dense(start * start * width * 2**k, use_bias=False)(latent)
    h = layers.Reshape((start, start, width * 2**k))(h)
    h = layers.ReLU()(_bn()(h))
    for j in range(1, k + 1):
        h = layers.Conv2DTranspose(width * 2 ** (k - j), 4, strides=2, padding="same",
                                   use_bias=False)(h)
        h = layers.ReLU()(_bn()(h))
    return h


def dcgan_generator(
    latent_dim: int, image_shape: tuple[int, ...], width: int = 64,
    num_classes: int | None = None, output: str | None = "symmetric", name: str = "generator",
) -> keras.Model:
    """DCGAN generator (Radford et al. 2016) sized from `image_shape`.

    z -> Dense(s·s·width·2^k) -> BN -> ReLU -> k x [ConvT 4x4 stride 2 -> BN -> ReLU]
    -> Conv 3x3 -> tanh (or sigmoid for [0, 1] data); s = size / 2^k.
    """
    size, channels = _check_image_shape(image_shape)
    inputs, h = _latent_inputs(latent_dim, num_classes, embed_dim=32)
    h = _conv_up(h, size, width)
    out = layers.Conv2D(channels, 3, padding="same", name="to_image")(h)
    out = layers.Activation(OUTPUT_ACTIVATIONS[output], dtype="float32", name="out")(out)
    return keras.Model(_unwrap(inputs), out, name=name)


def _conv_down(x, image_size: int, width: int, spectral_norm: bool = False):
    """Conv 3x3 -> LReLU -> k x [Conv 4x4 stride 2 -> LReLU] -> Flatten (mirrors `_conv_up`)."""
    k = num_upsamplings(image_size)
    h = layers.LeakyReLU(0.2)(_sn(layers.Conv2D(width, 3, padding="same"), spectral_norm)(x))
    for j in range(1, k + 1):
        conv = layers.Conv2D(width * 2**j, 4, strides=2, padding="same")
        h = layers.LeakyReLU(0.2)(_sn(conv, spectral_norm)(h))
    return layers.Flatten()(h)


def dcgan_discriminator(
    image_shape: tuple[int, ...], width: int = 64, num_classes: int | None = None,
    spectral_norm: bool = False, name: str = "discriminator",
) -> keras.Model:
    """DCGAN discriminator mirroring `dcgan_generator`, without batch norm (so that gradient
    penalties stay per-example): Conv 3x3 -> LReLU -> k x [Conv 4x4 stride 2 -> LReLU] ->
    Flatten -> score (+ projection when conditional)."""
    size, _ = _check_image_shape(image_shape)
    inputs, x, labels = _sample_inputs(tuple(image_shape), num_classes)
    h = _conv_down(x, size, width, spectral_norm)
    return keras.Model(
        _unwrap(inputs), _projection_head(h, labels, num_classes, spectral_norm), name=name
    )


# ---------------------------------------------------------------------------------------------
# VAE encoders and decoders: the same trunks; the encoder outputs the posterior's mean and
# log-variance ([batch, 2·latent_dim]), the decoder the likelihood's parameters
# ([batch, *shape[:-1], channels·params_per_value]); labels are embedded and concatenated.


def _with_labels(h, labels, num_classes: int | None, embed_dim: int = 16):
    if num_classes is None:
        return h
    embedded = layers.Embedding(num_classes, embed_dim, name="label_embedding_enc")(labels)
    return layers.Concatenate()([h, embedded])


def mlp_encoder(
    sample_shape: tuple[int, ...], latent_dim: int, width: int = 256, depth: int = 2,
    num_classes: int | None = None, dropout: float = 0.0, name: str = "encoder",
) -> keras.Model:
    """x (and labels) -> Flatten -> [Dense(width) -> ReLU (-> Dropout)] x depth -> Dense(2·latent)."""
    inputs, x, labels = _sample_inputs(tuple(sample_shape), num_classes)
    h = _with_labels(layers.Flatten()(x), labels, num_classes)
    for i in range(depth):
        h = layers.Dense(width, activation="relu", name=f"dense_{i}")(h)
        if dropout > 0:
            h = layers.Dropout(dropout)(h)
    out = layers.Dense(2 * latent_dim, dtype="float32", name="posterior")(h)
    return keras.Model(_unwrap(inputs), out, name=name)


def mlp_decoder(
    latent_dim: int, sample_shape: tuple[int, ...], params_per_value: int = 1, width: int = 256,
    depth: int = 2, num_classes: int | None = None, dropout: float = 0.0, name: str = "decoder",
) -> keras.Model:
    """z (and labels) -> [Dense(width) -> ReLU (-> Dropout)] x depth -> likelihood parameters."""
    inputs, h = _latent_inputs(latent_dim, num_classes, embed_dim=16)
    for i in range(depth):
        h = layers.Dense(width, activation="relu", name=f"dense_{i}")(h)
        if dropout > 0:
            h = layers.Dropout(dropout)(h)
    shape = (*sample_shape[:-1], sample_shape[-1] * params_per_value)
    size = 1
    for d in shape:
        size *= d
    out = layers.Reshape(shape, dtype="float32")(layers.Dense(size, dtype="float32",
                                                              name="params")(h))
    return keras.Model(_unwrap(inputs), out, name=name)


def conv_encoder(
    image_shape: tuple[int, ...], latent_dim: int, width: int = 32,
    num_classes: int | None = None, name: str = "encoder",
) -> keras.Model:
    """The DCGAN discriminator trunk -> (labels) -> Dense(2·latent_dim)."""
    size, _ = _check_image_shape(image_shape)
    inputs, x, labels = _sample_inputs(tuple(image_shape), num_classes)
    h = _with_labels(_conv_down(x, size, width), labels, num_classes)
    out = layers.Dense(2 * latent_dim, dtype="float32", name="posterior")(h)
    return keras.Model(_unwrap(inputs), out, name=name)


def conv_decoder(
    latent_dim: int, image_shape: tuple[int, ...], params_per_value: int = 1, width: int = 32,
    num_classes: int | None = None, name: str = "decoder",
) -> keras.Model:
    """The DCGAN generator trunk -> Conv 3x3 to channels·params_per_value (no activation)."""
    size, channels = _check_image_shape(image_shape)
    inputs, h = _latent_inputs(latent_dim, num_classes, embed_dim=16)
    h = _conv_up(h, size, width)
    out = layers.Conv2D(channels * params_per_value, 3, padding="same", dtype="float32",
                        name="params")(h)
    return keras.Model(_unwrap(inputs), out, name=name)


# ---------------------------------------------------------------------------------------------
# ResNet (SNGAN) for 32x32


def _res_up(x, channels: int):
    h = layers.ReLU()(_bn()(x))
    h = layers.UpSampling2D()(h)
    h = layers.Conv2D(channels, 3, padding="same")(h)
    h = layers.ReLU()(_bn()(h))
    h = layers.Conv2D(channels, 3, padding="same")(h)
    shortcut = layers.Conv2D(channels, 1)(layers.UpSampling2D()(x))
    return layers.Add()([h, shortcut])


def _res_down(x, channels: int, spectral_norm: bool, first: bool, down: bool):
    h = x if first else layers.ReLU()(x)
    h = _sn(layers.Conv2D(channels, 3, padding="same"), spectral_norm)(h)
    h = layers.ReLU()(h)
    h = _sn(layers.Conv2D(channels, 3, padding="same"), spectral_norm)(h)
    if down:
        h = layers.AveragePooling2D(2)(h)
    shortcut = x
    if first:  # optimized block: pool, then project
        shortcut = _sn(layers.Conv2D(channels, 1), spectral_norm)(layers.AveragePooling2D(2)(x))
    elif down or x.shape[-1] != channels:
        shortcut = _sn(layers.Conv2D(channels, 1), spectral_norm)(x)
        if down:
            shortcut = layers.AveragePooling2D(2)(shortcut)
    return layers.Add()([h, shortcut])


def resnet_generator(
    latent_dim: int, image_shape: tuple[int, ...], width: int = 128,
    num_classes: int | None = None, output: str | None = "symmetric", name: str = "generator",
) -> keras.Model:
    """SNGAN ResNet generator for 32x32: Dense(4·4·2w) -> 3 up-blocks -> BN -> ReLU -> Conv -> tanh."""
    size, channels = _check_image_shape(image_shape)
    if size != 32:
        raise ValueError(f"the ResNet networks are for 32x32 images; got {size}x{size}")
    inputs, h = _latent_inputs(latent_dim, num_classes, embed_dim=32)
    h = layers.Reshape((4, 4, 2 * width))(layers.Dense(4 * 4 * 2 * width)(h))
    for _ in range(3):
        h = _res_up(h, 2 * width)
    h = layers.ReLU()(_bn()(h))
    out = layers.Conv2D(channels, 3, padding="same", name="to_image")(h)
    out = layers.Activation(OUTPUT_ACTIVATIONS[output], dtype="float32", name="out")(out)
    return keras.Model(_unwrap(inputs), out, name=name)


def resnet_discriminator(
    image_shape: tuple[int, ...], width: int = 128, num_classes: int | None = None,
    spectral_norm: bool = True, name: str = "discriminator",
) -> keras.Model:
    """SNGAN ResNet discriminator for 32x32: 2 down-blocks, 2 blocks, ReLU, global pooling, score."""
    size, _ = _check_image_shape(image_shape)
    if size != 32:
        raise ValueError(f"the ResNet networks are for 32x32 images; got {size}x{size}")
    inputs, h, labels = _sample_inputs(tuple(image_shape), num_classes)
    h = _res_down(h, width, spectral_norm, first=True, down=True)
    h = _res_down(h, width, spectral_norm, first=False, down=True)
    h = _res_down(h, width, spectral_norm, first=False, down=False)
    h = _res_down(h, width, spectral_norm, first=False, down=False)
    h = layers.GlobalAveragePooling2D()(layers.ReLU()(h))
    return keras.Model(
        _unwrap(inputs), _projection_head(h, labels, num_classes, spectral_norm), name=name
    )


def build_gan_networks(model_cfg, info, pixel_range: str = "symmetric"):
    """(generator, discriminator) for a `GANModelConfig` and a `DatasetInfo`; with PacGAN
    packing the discriminator takes `pac` samples at once (concatenated / stacked channels)."""
    num_classes = info.num_classes if model_cfg.conditional else None
    common = dict(width=model_cfg.width, num_classes=num_classes)
    pac = model_cfg.pac
    packed = (info.shape[0] * pac,) if len(info.shape) == 1 else (
        *info.shape[:-1], info.shape[-1] * pac)
    if model_cfg.network == "mlp":
        if len(info.shape) != 1:
            raise ValueError(f"the MLP networks are for flat samples; got shape {info.shape}")
        g = mlp_generator(model_cfg.latent_dim, info.shape[0], depth=model_cfg.depth, **common)
        d = mlp_discriminator(packed[0], depth=model_cfg.depth,
                              spectral_norm=model_cfg.spectral_norm, **common)
        return g, d
    output = pixel_range if info.value_range is not None else None
    if model_cfg.network == "dcgan":
        g = dcgan_generator(model_cfg.latent_dim, info.shape, output=output, **common)
        d = dcgan_discriminator(packed, spectral_norm=model_cfg.spectral_norm, **common)
        return g, d
    g = resnet_generator(model_cfg.latent_dim, info.shape, output=output, **common)
    d = resnet_discriminator(packed, spectral_norm=model_cfg.spectral_norm, **common)
    return g, d


def build_vae_networks(model_cfg, info, params_per_value: int):
    """(encoder, decoder) for a `VAEModelConfig` and a `DatasetInfo`."""
    num_classes = info.num_classes if model_cfg.conditional else None
    if model_cfg.network == "mlp":
        enc = mlp_encoder(info.shape, model_cfg.latent_dim, model_cfg.width, model_cfg.depth,
                          num_classes, model_cfg.dropout)
        dec = mlp_decoder(model_cfg.latent_dim, info.shape, params_per_value, model_cfg.width,
                          model_cfg.depth, num_classes, model_cfg.dropout)
        return enc, dec
    enc = conv_encoder(info.shape, model_cfg.latent_dim, model_cfg.width, num_classes)
    dec = conv_decoder(model_cfg.latent_dim, info.shape, params_per_value, model_cfg.width,
                       num_classes)
    return enc, dec
