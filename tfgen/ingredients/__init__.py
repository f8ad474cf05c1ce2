"""Training ingredients: the optional parts of a model's objective -- a GAN's regularisers and
augmentations, a VAE's prior and likelihood -- each one registered, serialisable object in its
own module, which owns its options (ranges and help), its checks against the model it joins,
its state, its random streams, its loss hook and its config (see `tfgen.ingredients.base`).

The registry (`REGISTRY` in `tfgen.ingredients.base`) names each ingredient's module and class;
this package exports every registered class by its name, and `tfgen ingredients` lists them
with their options, defaults and help.

Importing this package, and any ingredient module, imports no TensorFlow: the `tfgen` command
checks configs with these classes before any training.

Example:

>>> from tfgen import ingredients
>>> ingredients.get("regularizer", {"name": "r1", "gamma": 10.0, "interval": 4})
R1(gamma=10.0, interval=4)
>>> ingredients.get("regularizer", {"name": "lecam", "decay": 1.0})
Traceback (most recent call last):
...
tfgen.errors.OptionError: decay: must be < 1.0; got 1.0
"""

from tfgen import lazy
from tfgen.ingredients.base import REGISTRY

_BASES = {
    "REGISTRY": "base", "Facts": "base", "Ingredient": "base", "get": "base",
    "Augmentation": "adversarial", "DiscriminatorStep": "adversarial",
    "Regularizer": "adversarial", "Prior": "priors", "Likelihood": "likelihoods",
}
_REGISTERED = {cls: module for names in REGISTRY.values()
               for module, cls in (spec.split(":") for spec in names.values())}
__all__ = sorted({**_BASES, **_REGISTERED})
__getattr__, __dir__ = lazy.attach(__name__, {**_BASES, **_REGISTERED})
