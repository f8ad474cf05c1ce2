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

from tfgen import startup

if startup.is_cli():
    startup.import_tensorflow_quietly()  # before the subpackages, which import TensorFlow

from tfgen import callbacks, data, distribute, losses, metrics, models, networks

# Importing the models registers them with Keras, so `keras.saving.load_model` finds them.
from tfgen.models import GAN, VAE, GenerativeModel

__all__ = ["GAN", "VAE", "GenerativeModel", "__version__", "callbacks", "data", "distribute",
           "losses", "metrics", "models", "networks"]
