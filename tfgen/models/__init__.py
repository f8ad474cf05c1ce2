"""Models: `GAN`, `ARAE`, `VAE`, `SequenceVAE`, `SRNN` and `TextVAE` on the shared `GenerativeModel` base."""

# Importing these registers every saveable tfgen class (models, FusedAdam, and through
# `tfgen.networks` the layers the networks are built of) with Keras, so that
# `keras.saving.load_model` finds them, including in a saved model's compile config -- also in
# the `tfgen` command, where `import tfgen` imports nothing up front.
from tfgen import networks  # noqa: F401
from tfgen.models import optimizers
from tfgen.models.arae import ARAE
from tfgen.models.base import GenerativeModel
from tfgen.models.gan import GAN
from tfgen.models.sequence_vae import SequenceVAE
from tfgen.models.srnn import SRNN
from tfgen.models.text_vae import TextVAE
from tfgen.models.vae import VAE

__all__ = ["ARAE", "GAN", "VAE", "GenerativeModel", "SequenceVAE", "SRNN", "TextVAE", "optimizers"]
