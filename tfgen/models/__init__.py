"""Models: `GAN` (and, with its issue, `VAE`) on the shared `GenerativeModel` base."""

from tfgen.models.base import GenerativeModel
from tfgen.models.gan import GAN

__all__ = ["GAN", "GenerativeModel"]
