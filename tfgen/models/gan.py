"""`GAN`: a generator and a discriminator trained adversarially by `fit`."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgen import ingredients, losses, rules
from tfgen.errors import OptionError
from tfgen.ingredients import legacy
from tfgen.ingredients.adversarial import DiscriminatorStep, d_stream
from tfgen.losses import adversarial
from tfgen.models.averaging import on_averaged_weights
from tfgen.models.base import GenerativeModel

# The random streams of one train step (`tfgen.models.noise`): the generator step draws
# "generator/<name>"; discriminator step k draws "discriminator/<k>/<name>", for the step's own
# names below and each ingredient's (`Ingredient.streams`, which must not repeat one of them).
D_STREAMS = ("noise", "augment_real", "augment_fake")

@keras.saving.register_keras_serializable(package="tfgen")
class GAN(GenerativeModel):
    """A generator and a discriminator trained adversarially by `fit`.

    Each `train_step` does `n_critic` discriminator updates and one generator update. It consumes
    a batch of `n_critic × batch_size` samples (and labels, when conditional): discriminator step k
    uses rows k, k + n_critic, k + 2·n_critic, ... — so a batch split across replicas gives every
    replica its share of each discriminator step's batch.

    Args:
        generator: maps latent vectors `z` (and labels, if conditional) to samples.
        discriminator: maps samples (and labels) to one real/fake score per sample.
        latent_dim: size of the latent vector.
        num_classes: number of classes for a class-conditional GAN (None: unconditional).
        ema_decay: keep an exponential moving average of the generator's weights with this
            decay; `sample()` and the saved generator use the average (None: off). The decay
            warms up as min(ema_decay, (1 + t) / (10 + t)) at step t (`average_updates`), so
            a short run's average is not dominated by the initial weights.
        augment: an augmentation of every sample the discriminator sees (images only): an
            ingredient of `tfgen.ingredients` -- `DiffAugment` (Zhao et al. 2020) or `ADA`,
            adaptive discriminator augmentation (Karras et al. 2020), whose probability p is
            training state -- by name, config dict or object; or, as before, DiffAugment's
            policies ("color,translation,cutout"). None / "": off.
        ada, ada_target, ada_p, ada_kimg, ada_interval: the keywords of ADA before it was an
            object (its `ops`, `target`, `p`, `kimg`, `interval`); `augment` takes it now.
        pac: PacGAN packing (Lin et al. 2018): the discriminator judges `pac` samples at once,
            concatenated (flat samples) or stacked along channels (images); its input is built
            for that. Each replica's batch must be a multiple of `pac`. Unconditional only.
        seed: seed of all training noise.

    Example:

    >>> import keras, tfgen
    >>> g, d = tfgen.networks.mlp_generator(8, 2), tfgen.networks.mlp_discriminator(2)
    >>> gan = tfgen.GAN(g, d, latent_dim=8)
    >>> gan.compile(g_optimizer=keras.optimizers.Adam(1e-3),
    ...             d_optimizer=keras.optimizers.Adam(1e-3), objective="hinge")
    >>> history = gan.fit(tfgen.data.load("ring8", batch_size=256), epochs=2,
    ...                   steps_per_epoch=20, verbose=0)
    >>> sorted(history.history)[:3]  # epoch means of what each step logs
    ['d_adversarial', 'd_fake', 'd_grad_norm']
    >>> gan.sample(2500, seed=0).shape
    (2500, 2)
    """

    submodels = ("generator", "discriminator")

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int,
        num_classes: int | None = None,
        ema_decay: float | None = None,
        augment=None,
        ada: str = "",
        ada_target: float | None = 0.6,
        ada_p: float = 0.0,
        ada_kimg: float = 500.0,
        ada_interval: int = 4,
        pac: int = 1,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        rules.check_pac(pac, num_classes is not None)
        if not ada and (ada_target, ada_p, ada_kimg, ada_interval) != (0.6, 0.0, 500.0, 4):
            raise OptionError("ada", "ada_target, ada_p, ada_kimg and ada_interval are options "
                              "of ada=...; with augment=ADA(...) give them there")
        self.pac = int(pac)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.num_classes = num_classes
        self.augment = legacy.augmentation(
            augment, **({"ada": ada, "ada_target": ada_target, "ada_p": ada_p,
                         "ada_kimg": ada_kimg, "ada_interval": ada_interval} if ada else {}))
        self.regularizers = ()  # compile's
        if self.augment is not None:
            self.augment.check(self.facts())
            self.augment.join(self)
        self.init_averages(ema_decay)
        self.bind_step()  # phase shuffle's shifts change with the step
        # No bind_dropout: the discriminator scores [real, fake] stacked in one call, whose rows
        # are not a replica's slice of one global batch; a tfgen Dropout in a GAN's networks
        # stays Keras's (stateful) dropout.
        self.built = True

    def facts(self, objective: str | None = None) -> ingredients.Facts:
        """What the GAN's ingredients are checked against."""
        return ingredients.Facts(conditional=self.conditional,
                                 images=len(self.generator.output.shape) == 4,
                                 objective=objective)

    def ingredient(self, name: str):
        """The attached regulariser or augmentation called `name` (None: none)."""
        return next((i for i in (self.augment, *self.regularizers)
                     if i is not None and i.name == name), None)

    # -- Keras plumbing -----------------------------------------------------------------------

    def compile(
        self,
        g_optimizer="adam",
        d_optimizer="adam",
        objective="non_saturating",
        regularizers=(),
        n_critic: int = 1,
        **kwargs,
    ):
        """Configure training.

        Args:
            g_optimizer: the generator's optimizer.
            d_optimizer: the discriminator's optimizer.
            objective: a name in `tfgen.losses.OBJECTIVES` (non_saturating, minimax,
                wasserstein, hinge, least_squares), a `tfgen.losses.Objective`, or a pair of
                callables `(discriminator(real, fake), generator(fake))` giving per-example
                losses (register them with `keras.saving.register_keras_serializable` for a
                saved model to compile again on load).
            regularizers: the ingredients of `tfgen.ingredients` that regularise training, by
                name, config dict or object: `gradient_penalty` (WGAN-GP), `r1` (incl. lazy),
                `lecam`, `consistency` (bCR) on the discriminator, `top_k` on the generator.
                Each is checked against this GAN and creates its state (e.g. LeCam's anchors)
                here. The keywords these replaced still work: `gradient_penalty`,
                `r1_penalty`, `r1_interval`, `lecam`, `lecam_decay`, `consistency`,
                `consistency_ops`, `top_k`, `top_k_gamma`, `top_k_period`.
            n_critic: discriminator steps per generator step.
            **kwargs: `keras.Model.compile` options such as `jit_compile`, `steps_per_execution`.
        """
        keywords = {k: kwargs.pop(k) for k in list(kwargs)
                    if k in {k for k, _, _ in legacy.REGULARIZER_KEYWORDS}}
        regularizers = [ingredients.get("regularizer", r) for r in regularizers]
        regularizers += legacy.regularizers(**keywords)
        names = [r.name for r in regularizers]
        if len(set(names)) < len(names):
            raise OptionError("regularizers", f"a regulariser given twice: {names}")
        if sum(r.side == "generator" for r in regularizers) > 1:
            raise OptionError("regularizers", "at most one regulariser weights the generator's "
                              "examples")
        super().compile(optimizer=None, **kwargs)  # no phantom optimizer
        self.g_optimizer = self.prepare_optimizer(g_optimizer, self.generator.trainable_weights)
        self.d_optimizer = self.prepare_optimizer(d_optimizer, self.discriminator.trainable_weights)
        self.objective = losses.get_objective(objective)
        facts = self.facts(adversarial.objective_name(self.objective))
        taken = set(D_STREAMS)
        for ingredient in (self.augment, *regularizers):
            if ingredient is not None:
                ingredient.check(facts)
                clash = taken & set(ingredient.streams)
                if clash:  # two draws of one name would share their numbers
                    raise ValueError(f"{ingredient.name}: random stream(s) {sorted(clash)} "
                                     "already drawn by the discriminator step or another "
                                     "ingredient; name them after the ingredient")
                taken |= set(ingredient.streams)
        self._d_streams = frozenset(taken)
        for regularizer in regularizers:
            regularizer.join(self)
        self.regularizers = tuple(regularizers)
        self.n_critic = int(n_critic)
        logs = [name for i in (*regularizers, self.augment) if i is not None for name in i.logs]
        self.track(["d_loss", "d_adversarial", "d_real", "d_fake", "d_grad_norm", "g_loss",
                    "g_grad_norm", "weights_finite", *logs])
        self.remember_compile(
            objective=losses.objective_config(self.objective),
            regularizers=[r.get_config() for r in regularizers], n_critic=self.n_critic,
            **kwargs)

    optimizer_arguments = ("g_optimizer", "d_optimizer")

    def compile_arguments(self, config: dict) -> dict:
        return {**config, "objective": losses.objective_from_config(config["objective"])}

    def named_optimizers(self):
        return {"g_optimizer": self.g_optimizer, "d_optimizer": self.d_optimizer}

    def call(self, inputs, training: bool = False):
        """Generate: `inputs` is `z`, or `[z, labels]` for a conditional GAN."""
        return self.generator(inputs, training=training)

    def get_config(self):
        return {
            **super().get_config(),  # name, trainable, dtype
            **self.submodel_config(),
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "ema_decay": self.ema_decay,
            "augment": None if self.augment is None else self.augment.get_config(),
            "pac": self.pac,
            "seed": self.seed,
        }

    # -- training -----------------------------------------------------------------------------

    def _pack(self, x):
        """[b, *shape] -> [b / pac, pac·d] (flat) or [b / pac, H, W, pac·C] (images)."""
        if self.pac == 1:
            return x
        shape = x.shape[1:]
        x = tf.reshape(x, [-1, self.pac, *shape])
        if len(shape) == 1:
            return tf.reshape(x, [-1, self.pac * shape[0]])
        x = tf.transpose(x, [0, 2, 3, 1, 4])
        return tf.reshape(x, [-1, shape[0], shape[1], self.pac * shape[2]])

    def _score(self, x, labels, u):
        """D(pack(augment(x))) in training mode; `u` holds the augmentation's random numbers."""
        if self.augment is not None:
            x = self.augment.apply(x, u)
        return self.discriminator(self.with_labels(self._pack(x), labels), training=True)

    def _score_many(self, batches, labels, us):
        """[D(x) for x in batches] from one discriminator call on the batches stacked: the
        same values as one call each (the discriminator has no batch statistics; packing groups
        stay within each batch, as it is a multiple of `pac`), with matrix products taller,
        which is faster on CPUs. `us` holds each batch's augmentation numbers (or Nones)."""
        n = len(batches)
        both_labels = None if labels is None else tf.concat([labels] * n, axis=0)
        u = None if us[0] is None else tf.concat(us, axis=0)
        return tf.split(self._score(tf.concat(batches, axis=0), both_labels, u), n, axis=0)

    def _aug_random(self, batch, stream):
        return None if self.augment is None else self.augment.random(self, batch, stream)

    def _discriminator_step(self, real, labels, k: int) -> tuple[dict, dict]:
        """One discriminator update: a loop over the regularisers (see
        `tfgen.ingredients.adversarial`). Returns (logged shares, global values)."""
        batch = tf.shape(real)[0]
        z = self.normal(batch, [self.latent_dim], d_stream(k, "noise"))
        fake = tf.stop_gradient(self.generator(self.with_labels(z, labels), training=True))
        step = DiscriminatorStep(self, real, fake, labels,
                                 self._aug_random(batch, d_stream(k, "augment_real")),
                                 self._aug_random(batch, d_stream(k, "augment_fake")),
                                 k, self._d_streams)
        regularizers = [r for r in self.regularizers if r.side == "discriminator"]
        opt = self.d_optimizer
        variables = self.discriminator.trainable_weights
        logs = {}
        with tf.GradientTape() as tape:
            batches, us, extra = [real, fake], [step.u_real, step.u_fake], []
            for regularizer in regularizers:
                pairs = regularizer.inputs(step)
                extra.append((len(batches), len(pairs)))
                batches += [x for x, _ in pairs]
                us += [u for _, u in pairs]
            scores = self._score_many(batches, labels, us)
            step.d_real, step.d_fake = scores[0], scores[1]
            adv = self.batch_loss(self.objective.discriminator(step.d_real, step.d_fake))
            loss = adv + self.regularization(self.discriminator)
            for regularizer, (start, n) in zip(regularizers, extra, strict=True):
                out = regularizer.penalty(step, scores[start:start + n])
                if out is not None:
                    loss += out[0]
                    logs[regularizer.logs[0]] = out[1]
            scaled = opt.scale_loss(loss)
        grads = self.gradients(tape, scaled, variables)
        for regularizer in regularizers:
            out = regularizer.separate(step)
            if out is not None:
                value, own, term = out
                grads = [g + r for g, r in zip(grads, own, strict=True)]
                loss += term
                logs[regularizer.logs[0]] = value
        grads = self.apply_gradients(opt, grads, variables)
        logs.update(
            d_loss=loss,
            d_adversarial=adv,
            d_real=self.batch_loss(step.d_real),
            d_fake=self.batch_loss(step.d_fake),
        )
        if self.augment is not None:
            self.augment.observe(self, step.d_real)
        return logs, {"d_grad_norm": self.global_norm(grads)}

    def _generator_step(self, batch, labels) -> tuple[dict, dict]:
        z = self.normal(batch, [self.latent_dim], "generator/noise")
        u = self._aug_random(batch, "generator/augment")
        weighting = next((r for r in self.regularizers if r.side == "generator"), None)
        opt = self.g_optimizer
        variables = self.generator.trainable_weights
        logs = {}
        with tf.GradientTape() as tape:
            fake = self.generator(self.with_labels(z, labels), training=True)
            scores = self._score(fake, labels, u)
            per_example = self.objective.generator(scores)
            if weighting is not None:
                weights, extra = weighting.example_weights(self, scores)
                loss = tf.reduce_sum(weights * per_example)
                logs.update(extra)
            else:
                loss = self.batch_loss(per_example)
            loss += self.regularization(self.generator)
            scaled = opt.scale_loss(loss)
        grads = self.apply_gradients(opt, self.gradients(tape, scaled, variables), variables)
        return {"g_loss": loss}, {**logs, "g_grad_norm": self.global_norm(grads)}

    def train_step(self, data):
        if self.conditional:
            if not isinstance(data, (tuple, list)) or len(data) != 2:
                raise ValueError("a conditional GAN trains on (samples, labels) batches")
            real, labels = data
        else:
            real, labels = (data[0] if isinstance(data, (tuple, list)) else data), None
        n = self.n_critic
        real = tf.cast(real, tf.float32)
        batch = tf.shape(real)[0] // n
        real = tf.reshape(real, [batch, n, *real.shape[1:]])
        if labels is not None:
            labels = tf.reshape(tf.cast(labels, tf.int32), [batch, n])
        for k in range(n):  # the logs are those of the last discriminator step
            shares, values = self._discriminator_step(
                real[:, k], None if labels is None else labels[:, k], k)
        g_shares, g_values = self._generator_step(batch, None if labels is None else labels[:, 0])
        shares.update(g_shares)
        values.update(g_values)
        if self.augment is not None:
            values.update(self.augment.end_step(self))
        return self.end_step(shares, values)

    # -- sampling -----------------------------------------------------------------------------

    def averaged_variables(self) -> list:
        return self.generator.trainable_weights

    def generate(self, z, labels):
        inputs = z if labels is None else [z, labels]
        return tf.cast(self.generator(inputs, training=False), tf.float32)

    @on_averaged_weights
    def sample(
        self, num: int, seed: int = 0, labels=None, batch_size: int = 256, progress=None,
        truncation: float | None = None,
    ) -> np.ndarray:
        """`num` samples from the generator (EMA weights when enabled), as a NumPy array.

        Args:
            num: number of samples.
            seed: noise seed; the same seed gives the same samples.
            labels: class labels (conditional GANs): one per sample, or fewer to be cycled;
                default: 0, 1, 2, ... cycled.
            batch_size: generate in batches of this size.
            progress: optional callable, called with the number of samples done after each batch.
            truncation: ψ of the truncation trick (see `latent`; None: off).
        """
        z = self.latent(num, seed, truncation)
        labels = self.sample_labels(num, labels)
        out = []
        for start in range(0, num, batch_size):
            zb = z[start:start + batch_size]
            inputs = zb if labels is None else [zb, labels[start:start + batch_size]]
            out.append(keras.ops.convert_to_numpy(self.generator(inputs, training=False)))
            if progress is not None:
                progress(min(num, start + batch_size))
        return np.concatenate(out).astype(np.float32)
