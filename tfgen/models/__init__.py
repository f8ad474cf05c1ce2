"""Models: `GAN` and `VAE` on the shared `GenerativeModel` base."""

from tfgen.models.base import GenerativeModel
from tfgen.models.gan import GAN
from tfgen.models.vae import VAE

__all__ = ["GAN", "VAE", "GenerativeModel"]
