"""tfgen: train GANs and VAEs with Keras 3 / TensorFlow.

The library is plain Keras: models, layers, losses, metrics and callbacks that compose in a
user's own `fit` script. `trainers/` (the `tfgen` command) and `tuning/` are thin layers over it.
"""

__version__ = "0.1.0"

_LAZY = {"GAN": "tfgen.models", "GenerativeModel": "tfgen.models"}


def __getattr__(name):  # `import tfgen` stays fast; TensorFlow loads on first model access
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tfgen' has no attribute {name!r}")
