"""tfgen: train GANs and VAEs with Keras 3 / TensorFlow.

The library is plain Keras: models, layers, losses, metrics and callbacks that compose in a
user's own `fit` script. `trainers/` (the `tfgen` command) and `tuning/` are thin layers over it.
"""

__version__ = "0.1.0"

# Importing the models registers them with Keras, so `keras.saving.load_model` finds them.
from tfgen.models import GAN, VAE, GenerativeModel

__all__ = ["GAN", "VAE", "GenerativeModel", "__version__"]
