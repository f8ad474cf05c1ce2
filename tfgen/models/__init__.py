"""Models: `GAN` and `VAE` on the shared `GenerativeModel` base."""

# Importing these registers every saveable tfgen class (models, FusedAdam) with Keras, so that
# `keras.saving.load_model` finds them, including in a saved model's compile config.
from tfgen.models import optimizers
from tfgen.models.base import GenerativeModel
from tfgen.models.gan import GAN
from tfgen.models.vae import VAE

__all__ = ["GAN", "VAE", "GenerativeModel", "optimizers"]
