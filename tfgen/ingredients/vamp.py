"""The VampPrior (Tomczak & Welling 2018, "VAE with a VampPrior")."""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

from tfgen import lazy
from tfgen.errors import OptionError
from tfgen.ingredients.priors import Prior
from tfgen.options import param

tf = lazy.Module("tensorflow")
keras = lazy.Module("keras")
base = lazy.Module("tfgen.models.base")
vae_lib = lazy.Module("tfgen.models.vae")


@dataclasses.dataclass(eq=False)
class VampPrior(Prior):
    """p(z) = (1/C) Σ_c q0(z | u_c): a mixture of the encoder's Gaussians at C trainable
    pseudo-inputs u_c of the encoder's sample shape, initialised uniformly in [0, 1] (with two
    stochastic layers, q(z2 | z1 = μ1(u_c))). Unconditional VAEs only. Its ancestral draw takes
    the component c = ⌊Φ(n)·C⌋ from one more noise coordinate n (not truncated: truncating it
    would favour the middle components)."""

    name: ClassVar[str] = "vamp"
    title: ClassVar[str] = "VampPrior"
    noise_dim: ClassVar[int] = 1

    pseudo_inputs: int = param(100, min=1, max=5000, help="C, the trainable pseudo-inputs "
                               "(mixture components; the paper's MNIST setting: 500)")

    def check(self, facts) -> None:
        super().check(facts)
        if facts.conditional:
            raise OptionError("name", "the VampPrior is for unconditional VAEs")

    def attach(self, model) -> None:
        shape = tuple(model.encoder.inputs[0].shape[1:])
        self.values = model.add_weight(
            shape=(self.pseudo_inputs, *shape), name="pseudo_inputs",
            initializer=keras.initializers.RandomUniform(0.0, 1.0, seed=model.seed))

    def components(self, model, training):
        """The top layer's posterior Gaussians at the pseudo-inputs (the encoder's Gaussian
        q0, before any flow; with two layers q(z2 | z1 = its mean))."""
        with model.replica_shared_inputs():
            mean, log_var, _ = model._encode(self.values, None, training)
            if model.hierarchical:
                mean, log_var = model._gaussian(model.top_encoder, mean, model.top_dim, training)
        return mean, log_var

    def log_prob(self, model, z, training):
        return vae_lib.log_mixture_prior(z, *self.components(model, training))

    def draw(self, model, z, extra):
        u = 0.5 * tf.math.erfc(-extra[:, 0] / math.sqrt(2.0))
        c = tf.minimum(tf.cast(u * self.pseudo_inputs, tf.int32), self.pseudo_inputs - 1)
        means, log_vars = self.components(model, False)
        return tf.gather(means, c) + tf.exp(0.5 * tf.gather(log_vars, c)) * z

    def truncate_noise(self, z, psi):
        import numpy as np

        if isinstance(z, np.ndarray):
            return np.concatenate([base.truncate(z[:, :-1], psi), z[:, -1:]], axis=1)
        return tf.concat([base.truncate(z[:, :-1], psi), z[:, -1:]], axis=1)
