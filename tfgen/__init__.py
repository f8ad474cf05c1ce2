"""tfgen: train GANs and VAEs with Keras 3 / TensorFlow.

The library is plain Keras: models, networks, losses, metrics, callbacks and data pipelines
that compose in a user's own `fit` script. The training side -- `tfgen.trainers` (the `tfgen`
command, typed configs, presets, run directories) and `tfgen.tuning` (KerasTuner searches) -- is
built on it and is not imported here.

Example:

>>> import tfgen
>>> info = tfgen.data.source("digits").info
>>> generator, discriminator = tfgen.networks.build_gan_networks(info, width=16)
>>> gan = tfgen.GAN(generator, discriminator, latent_dim=64)
>>> gan.compile(objective=tfgen.losses.hinge)
"""

__version__ = "0.1.0"

from tfgen import lazy, startup

_SUBPACKAGES = ("callbacks", "data", "distribute", "ingredients", "losses", "metrics", "models",
                "networks")
__all__ = ["ARAE", "GAN", "VAE", "GenerativeModel", "SequenceVAE", "SRNN", "TextVAE", "__version__",
           *_SUBPACKAGES]
__getattr__, __dir__ = lazy.attach(__name__, {
    **{name: name for name in _SUBPACKAGES},
    **{name: "models" for name in ("ARAE", "GAN", "VAE", "GenerativeModel", "SequenceVAE", "SRNN",
                                         "TextVAE")},
})

if not startup.is_cli():
    # A script's `import tfgen` loads the whole library, and importing the models registers
    # them with Keras, so `keras.saving.load_model` finds them. The `tfgen` command imports
    # only what each command needs (its --help, presets and datasets need no TensorFlow).
    try:
        from tfgen import callbacks, data, distribute, ingredients, losses, metrics, models, networks  # noqa: F401
        from tfgen.models import ARAE, GAN, SRNN, VAE, GenerativeModel, SequenceVAE, TextVAE
    except ModuleNotFoundError as _err:
        if _err.name != "tensorflow":
            raise
        raise ModuleNotFoundError(startup.NO_TENSORFLOW, name="tensorflow") from None
