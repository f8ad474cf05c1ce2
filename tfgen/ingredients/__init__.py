"""Training ingredients: the optional parts of a model's objective -- a GAN's regularisers and
augmentations, a VAE's prior -- each one registered, serialisable object in its own module, which owns its
options (ranges and help), its checks against the model it joins, its state, its random streams,
its loss hook and its config (see `tfgen.ingredients.base`).

    gradient_penalty  GradientPenalty   WGAN-GP (Gulrajani et al. 2017)
    r1                R1                R1, lazy (Mescheder et al. 2018; Karras et al. 2020)
    lecam             LeCam             LeCam regularisation (Tseng et al. 2021)
    consistency       Consistency       balanced consistency regularisation (Zhao et al. 2020)
    top_k             TopK              top-k generator updates (Sinha et al. 2020)
    diffaugment       DiffAugment       differentiable augmentation (Zhao et al. 2020)
    ada               ADA               adaptive discriminator augmentation (Karras et al. 2020)
    normal            NormalPrior       a VAE's N(0, I) prior
    vamp              VampPrior         the VampPrior (Tomczak & Welling 2018)

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

__all__ = ["ADA", "REGISTRY", "Augmentation", "Consistency", "DiffAugment", "DiscriminatorStep",
           "Facts", "GradientPenalty", "Ingredient", "LeCam", "NormalPrior", "Prior", "R1",
           "Regularizer", "TopK", "VampPrior", "get"]
__getattr__, __dir__ = lazy.attach(__name__, {
    "REGISTRY": "base", "Facts": "base", "Ingredient": "base", "get": "base",
    "Augmentation": "adversarial", "DiscriminatorStep": "adversarial",
    "Regularizer": "adversarial",
    "GradientPenalty": "gradient_penalty", "R1": "r1", "LeCam": "lecam",
    "Consistency": "consistency", "TopK": "top_k", "DiffAugment": "diffaugment", "ADA": "ada",
    "Prior": "priors", "NormalPrior": "normal_prior", "VampPrior": "vamp",
})
