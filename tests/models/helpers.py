"""Tiny GANs and VAEs for the model tests, their data, and the dtype policy as a context."""

import contextlib

import keras
import numpy as np

from tfgen import data, networks
from tfgen.models import GAN, VAE


@contextlib.contextmanager
def dtype_policy(name: str):
    """Keras's global dtype policy set to `name` inside the block, float32 again after it."""
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def tiny_gan(kind="mlp", ema_decay=None, augment="", conditional=False, seed=0,
             compile_kwargs=None, weights=None, pac=1, **gan_options):
    keras.utils.set_random_seed(seed)
    if kind == "mlp":
        g = networks.mlp_generator(4, 2, width=16, depth=2)
        d = networks.mlp_discriminator(2 * pac, width=16, depth=2)
        num_classes = None
    elif kind == "wavegan":  # 256-sample clips of FSDD, 10 digits
        num_classes = 10 if conditional else None
        g = networks.wavegan_generator(8, 256, width=2, num_classes=num_classes)
        d = networks.wavegan_discriminator((256, pac), width=2, num_classes=num_classes)
    elif kind == "biggan":
        num_classes = 10 if conditional else None
        g = networks.biggan_generator(8, (8, 8, 1), width=8, num_classes=num_classes,
                                      embed_dim=8, orthogonal=1e-4)
        d = networks.biggan_discriminator((8, 8, 1), width=8, num_classes=num_classes)
    else:
        num_classes = 10 if conditional else None
        g = networks.dcgan_generator(8, (8, 8, 1), width=8, num_classes=num_classes)
        d = networks.dcgan_discriminator((8, 8, 1), width=8, num_classes=num_classes,
                                         spectral_norm=True)
    gan = GAN(g, d, latent_dim=g.inputs[0].shape[-1], num_classes=num_classes,
              ema_decay=ema_decay, augment=augment, pac=pac, seed=seed, **gan_options)
    kwargs = dict(g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                  d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
    kwargs.update(compile_kwargs or {})
    gan.compile(**kwargs)
    if weights is not None:  # after compile, which adds the LeCam anchors
        gan.set_weights(weights)
    return gan


def tiny_data(kind="mlp", batch_size=32, conditional=False, strategy=None, seed=0):
    """Training batches; under a strategy as the trainer feeds them (`load_distributed`: each
    replica gathers its own rows)."""
    name, labels = ("ring8", False) if kind == "mlp" else ("digits", conditional)
    if kind == "wavegan":
        name = short_clips()
    if strategy is not None:
        return data.load_distributed(name, batch_size=batch_size, seed=seed, labels=labels,
                                     strategy=strategy)
    return data.load(name, batch_size=batch_size, seed=seed, labels=labels)


_SHORT_CLIPS = []


def short_clips():
    """FSDD's clips cut to their first 256 samples (read once)."""
    if not _SHORT_CLIPS:
        _SHORT_CLIPS.append(data.source("fsdd", audio_samples=256))
    return _SHORT_CLIPS[0]


def weights_of(model):
    return [np.array(keras.ops.convert_to_numpy(w)) for w in model.weights]


LATENT, TOP, CONTEXT = 4, 3, 3


def deep_vae(prior="normal", layers=1, flow=0, weights=None, seed=0, conv=False, ema_decay=None,
             dropout=0.0, **compile_kwargs):
    """A tiny VAE on 8x8 digits with the issue-17 parts chosen by the arguments."""
    keras.utils.set_random_seed(seed)
    ctx = CONTEXT if flow else 0
    if conv:
        enc = networks.conv_encoder((8, 8, 1), LATENT, width=8, context_dim=ctx, dropout=dropout)
        dec = networks.conv_decoder(LATENT, (8, 8, 1), 17, width=8, dropout=dropout)
    else:
        enc = networks.mlp_encoder((8, 8, 1), LATENT, width=32, depth=1, context_dim=ctx,
                                   dropout=dropout)
        dec = networks.mlp_decoder(LATENT, (8, 8, 1), 17, width=32, depth=1, dropout=dropout)
    extra = networks.build_vae_latent_networks(
        LATENT, top_latent_dim=TOP if layers == 2 else 0, top_width=16, flow_steps=flow,
        flow_width=16, context_dim=ctx)
    vae = VAE(enc, dec, LATENT, likelihood="categorical", prior=prior,
              pseudo_inputs=7 if prior == "vamp" else 0, seed=seed, ema_decay=ema_decay,
              **extra)
    if weights is not None:
        vae.set_weights(weights)
    compile_kwargs.setdefault("optimizer", keras.optimizers.Adam(1e-3))
    vae.compile(**compile_kwargs)
    return vae


def sequence_vae(weights=None, seed=0, segment=4, **compile_kwargs):
    """A tiny MusicVAE-style sequence VAE (NADE frames, conductor over 4-frame bars, frame and
    output dropout) on the JSB Chorales' 88 keys."""
    from tfgen.models import SequenceVAE

    keras.utils.set_random_seed(seed)
    likelihood = {"name": "nade", "hidden": 4}
    from tfgen import ingredients

    lik = ingredients.get("likelihood", likelihood)
    enc, dec = networks.sequence_vae_networks(88, lik, latent_dim=LATENT, encoder_units=6,
                                              decoder_units=8, segment=segment,
                                              conductor_units=6, frame_dropout=0.2,
                                              dropout=0.1)
    return _compiled(SequenceVAE(enc, dec, LATENT, likelihood=lik, seed=seed, sample_frames=8),
                     weights, compile_kwargs)


def _compiled(model, weights, compile_kwargs):
    """`model` with `weights` (if given), compiled with Adam(1e-3) unless told otherwise."""
    if weights is not None:
        model.set_weights(weights)
    compile_kwargs.setdefault("optimizer", keras.optimizers.Adam(1e-3))
    model.compile(**compile_kwargs)
    return model


def srnn(weights=None, seed=0, likelihood="bernoulli", **compile_kwargs):
    """A tiny SRNN (a latent per frame; frame and emission dropout) on the JSB Chorales' 88
    keys."""
    from tfgen import ingredients
    from tfgen.models import SRNN

    keras.utils.set_random_seed(seed)
    lik = ingredients.get("likelihood", likelihood)
    enc, dec = networks.srnn_networks(88, lik, latent_dim=LATENT, units=8, encoder_units=6,
                                      hidden=5, frame_dropout=0.2, dropout=0.1)
    return _compiled(SRNN(enc, dec, LATENT, likelihood=lik, seed=seed, sample_frames=8),
                     weights, compile_kwargs)


PROVERBS = None  # the shipped example text, loaded once


def text_vae(weights=None, seed=0, vocabulary=None, frame_dropout=0.2, decoder="lstm",
             **compile_kwargs):
    """A tiny sentence VAE (word dropout, output dropout) on the shipped proverbs' vocabulary
    (`text_batches`), or on `vocabulary` tokens; `decoder` "lstm" or "transformer" (one block
    of 8 units, 2 heads, z as a prefix)."""
    from tfgen import ingredients
    from tfgen.models import TextVAE

    keras.utils.set_random_seed(seed)
    size = vocabulary or len(text_source().info.vocabulary)
    lik = ingredients.get("likelihood", {"name": "softmax", "classes": size})
    enc, dec = networks.sequence_vae_networks(1, lik, latent_dim=LATENT, encoder_units=6,
                                              decoder_units=8, frame_dropout=frame_dropout,
                                              dropout=0.1, vocabulary=size, embedding_dim=5)
    if decoder == "transformer":
        dec = networks.TransformerDecoder(LATENT, size, lik.row_params(1), units=8, depth=1,
                                          heads=2, frame_dropout=frame_dropout, dropout=0.1,
                                          embedding_dim=5, name="decoder")
    return _compiled(TextVAE(enc, dec, LATENT, likelihood=lik, seed=seed, sample_frames=12),
                     weights, compile_kwargs)


def arae(weights=None, seed=0, vocabulary=None, frame_dropout=0.2, code_noise=0.1,
         dropout=0.1, **compile_kwargs):
    """A tiny ARAE (word dropout, code noise, WGAN-GP, 2 critic steps) on the shipped
    proverbs' vocabulary (`text_batches`), or on `vocabulary` tokens."""
    from tfgen.models import ARAE

    keras.utils.set_random_seed(seed)
    size = vocabulary or len(text_source().info.vocabulary)
    nets = networks.arae_networks(size, latent_dim=LATENT, code_dim=6, units=8,
                                  embedding_dim=5, width=8, frame_dropout=frame_dropout,
                                  dropout=dropout)
    model = ARAE(*nets, latent_dim=LATENT, seed=seed, sample_frames=12, code_noise=code_noise,
                 encoder_weight=0.5)
    if weights is not None:
        model.set_weights(weights)
    model.compile(**{"g_optimizer": keras.optimizers.Adam(1e-3),
                     "d_optimizer": keras.optimizers.Adam(1e-3),
                     "ae_optimizer": keras.optimizers.Adam(1e-3), "objective": "wasserstein",
                     "regularizers": ["gradient_penalty"], "n_critic": 2, **compile_kwargs})
    return model


def text_source():
    global PROVERBS
    if PROVERBS is None:
        import os

        import tfgen.data

        path = os.path.join(os.path.dirname(tfgen.data.__file__), "text_examples", "proverbs.txt")
        PROVERBS = data.source(f"text:{path}", max_length=16)
    return PROVERBS


def text_batches(batch=8, strategy=None):
    """The proverbs' training batches (cut to each global batch's longest sentence)."""
    name = text_source().info.name
    if strategy is not None:
        return data.load_distributed(name, batch_size=batch, seed=0, strategy=strategy,
                                     max_length=16)
    return data.load(name, batch_size=batch, seed=0, max_length=16)


def chorales(batch=8, strategy=None):
    """JSB Chorales training batches (cut to each global batch's longest piece)."""
    if strategy is not None:
        return data.load_distributed("jsb_chorales", batch_size=batch, seed=0,
                                     pixel_range="unit", strategy=strategy)
    return data.load("jsb_chorales", batch_size=batch, seed=0, pixel_range="unit")


def digits(batch=32, strategy=None, split="train"):
    if strategy is not None and split == "train":  # as the trainer feeds replicas
        return data.load_distributed("digits", batch_size=batch, seed=0, pixel_range="unit",
                                     strategy=strategy)
    return data.load("digits", split=split, batch_size=batch, seed=0, pixel_range="unit",
                     training=split == "train", strategy=strategy)


def images_of(n=16):
    x, _ = data.source("digits", pixel_range="unit").numpy("test")
    return x[:n]


def rewrite_config(path, edit) -> None:
    """Edit the config.json inside a `.keras` archive (what an earlier tfgen wrote)."""
    import json
    import zipfile

    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files["config.json"] = json.dumps(edit(json.loads(files["config.json"]))).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
