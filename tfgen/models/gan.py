"""`GAN`: a generator and a discriminator trained adversarially by `fit`."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgen import losses
from tfgen.models import ada as ada_lib
from tfgen.models import augment as augment_lib
from tfgen.models.base import GenerativeModel, _replica_context, on_averaged_weights

# Random streams of one train step (see GenerativeModel): the generator step uses streams
# 0-7; discriminator step k the 8 streams from 8·(k + 1) (so n_critic < STREAMS / 8 - 1).
_D_NOISE, _D_AUG_REAL, _D_AUG_FAKE, _D_GP, _D_BCR_REAL, _D_BCR_FAKE = 0, 1, 2, 3, 4, 5
G_STREAM = 0


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
            warms up as min(ema_decay, (1 + t) / (10 + t)) at step t (`update_averages`), so
            a short run's average is not dominated by the initial weights.
        augment: differentiable augmentation policies for the discriminator's inputs, any of
            "color", "translation", "cutout" (comma-separated; images only), applied to every
            example (DiffAugment, Zhao et al. 2020).
        ada: adaptive discriminator augmentation (Karras et al. 2020) instead: its operations,
            groups "blit", "geom", "color", "cutout" or single operations (see
            `tfgen.models.ada`), comma-separated; "" = off. Each operation is applied to an
            example with probability p, which the model adjusts (and checkpoints) as below.
        ada_target: the ADA heuristic's target for r_t = E[sign(D(real))] (0.6 in the paper):
            every `ada_interval` steps p moves up when r_t exceeds it (D is overfitting), down
            otherwise. None: p stays at `ada_p`. The sign needs D's outputs centred at 0
            (non-saturating, minimax, hinge): `compile` refuses least squares and Wasserstein
            with a target.
        ada_p: the initial augmentation probability.
        ada_kimg: p can move from 0 to 1 in this many thousand real images (500 in the paper).
        ada_interval: train steps between adjustments of p (4 in the paper).
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
        augment: str = "",
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
        if pac < 1 or (pac > 1 and num_classes is not None):
            raise ValueError("pac must be >= 1, and packing is for unconditional GANs")
        self.pac = int(pac)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.num_classes = num_classes
        self.augment = augment
        self.policies = augment_lib.parse_policies(augment)
        self.ada = ada
        self.ada_ops = ada_lib.parse_ops(ada) if ada else ()
        if self.policies and self.ada_ops:
            raise ValueError("choose DiffAugment (augment) or ADA (ada), not both")
        if (self.policies or self.ada_ops) and len(generator.output.shape) != 4:
            raise ValueError("differentiable augmentation needs image samples (B, H, W, C)")
        if not 0.0 <= ada_p <= 1.0 or ada_kimg <= 0 or ada_interval < 1:
            raise ValueError("ADA needs 0 <= ada_p <= 1, ada_kimg > 0 and ada_interval >= 1")
        self.ada_target = None if ada_target is None else float(ada_target)
        self.ada_p, self.ada_kimg, self.ada_interval = float(ada_p), float(ada_kimg), int(ada_interval)
        if self.ada_ops:
            # p and the heuristic's running sums are training state (checkpointed, resumed).
            def state(name, value):
                return self.add_weight(shape=(), dtype="float32", trainable=False, name=name,
                                       initializer=keras.initializers.Constant(value),
                                       aggregation="only_first_replica")

            self.ada_probability = state("ada_probability", self.ada_p)
            self.ada_sign_sum = state("ada_sign_sum", 0.0)
            self.ada_count = state("ada_count", 0.0)
        self.init_averages(ema_decay)
        # No bind_dropout: the discriminator scores [real, fake] stacked in one call, whose rows
        # are not a replica's slice of one global batch; a tfgen Dropout in a GAN's networks
        # stays Keras's (stateful) dropout.
        self.built = True

    # -- Keras plumbing -----------------------------------------------------------------------

    def compile(
        self,
        g_optimizer="adam",
        d_optimizer="adam",
        objective="non_saturating",
        gradient_penalty: float = 0.0,
        r1_penalty: float = 0.0,
        r1_interval: int = 1,
        n_critic: int = 1,
        lecam: float = 0.0,
        lecam_decay: float = 0.99,
        consistency: float = 0.0,
        consistency_ops: str = "xflip,xint",
        top_k: float = 1.0,
        top_k_gamma: float = 0.99,
        top_k_period: int = 1000,
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
            gradient_penalty: WGAN-GP weight λ (0: off).
            r1_penalty: R1 weight γ; the penalty term is γ/2 · ‖∇D(x)‖² (0: off).
            r1_interval: lazy R1: compute it every `r1_interval` discriminator steps, scaled by
                the interval (StyleGAN2).
            n_critic: discriminator steps per generator step.
            lecam: LeCam regularisation weight λ (Tseng et al. 2021; 0: off; the paper uses
                0.3 on CIFAR-10 at 10-20% of the data); see `tfgen.losses.lecam_penalty`.
                The anchors are moving averages (decay `lecam_decay`) of D's mean output on
                real and on generated samples, updated every discriminator step before use.
            lecam_decay: decay of the LeCam anchors (0.99 in the paper).
            consistency: balanced consistency regularisation weight λ (bCR, Zhao et al. 2020;
                0: off; the paper uses λ_real = λ_fake = 10): the discriminator's outputs on
                real and on generated samples should not change under a transform T
                (`consistency_ops`); see `tfgen.losses.consistency_penalty`.
            consistency_ops: the transform T, ADA operations applied to every sample (the
                paper: flips and translations by a few pixels; images only).
            top_k: top-k generator updates (Sinha et al. 2020): the generator's loss uses only
                the k samples of each global batch the discriminator scores highest, k =
                ⌈max(γ^⌊t / period⌋, ν) · batch⌉ at train step t; this is ν (the paper: 0.5;
                1: off).
            top_k_gamma: γ, the decay of the kept fraction per `top_k_period` steps (0.99).
            top_k_period: train steps per decay of the kept fraction (the paper decays per
                epoch; the trainer passes its steps per epoch).
            **kwargs: `keras.Model.compile` options such as `jit_compile`, `steps_per_execution`.
        """
        super().compile(optimizer=None, **kwargs)  # no phantom optimizer
        self.g_optimizer = self.prepare_optimizer(g_optimizer, self.generator.trainable_weights)
        self.d_optimizer = self.prepare_optimizer(d_optimizer, self.discriminator.trainable_weights)
        self.objective = losses.get_objective(objective)
        if self.ada_ops and self.ada_target is not None and self.objective in (
                losses.least_squares, losses.wasserstein):
            raise ValueError("ADA's r_t = E[sign D(real)] needs D's outputs centred at 0 "
                             "(non_saturating, minimax, hinge); with least squares or "
                             "Wasserstein fix p (ada_target=None)")
        self.gradient_penalty = float(gradient_penalty)
        self.r1_penalty = float(r1_penalty)
        self.r1_interval = int(r1_interval)
        self.n_critic = int(n_critic)
        if lecam < 0 or not 0.0 <= lecam_decay < 1.0 or consistency < 0:
            raise ValueError("lecam and consistency must be >= 0 and 0 <= lecam_decay < 1")
        if not 0.0 < top_k <= 1.0 or not 0.0 < top_k_gamma <= 1.0 or top_k_period < 1:
            raise ValueError("top_k and top_k_gamma must lie in (0, 1], top_k_period >= 1")
        self.lecam, self.lecam_decay = float(lecam), float(lecam_decay)
        self.consistency = float(consistency)
        self.consistency_ops = consistency_ops
        if self.consistency > 0:
            self.bcr_ops = ada_lib.parse_ops(consistency_ops)
            if len(self.generator.output.shape) != 4:
                raise ValueError("consistency regularisation transforms images (B, H, W, C)")
        self.top_k = float(top_k)
        self.top_k_gamma, self.top_k_period = float(top_k_gamma), int(top_k_period)
        if self.lecam > 0 and not hasattr(self, "lecam_anchors"):
            # (anchor of D(real), anchor of D(fake)): training state, checkpointed.
            self.lecam_anchors = [
                self.add_weight(shape=(), dtype="float32", trainable=False, name=f"lecam_{n}",
                                initializer="zeros", aggregation="only_first_replica")
                for n in ("real", "fake")]
        self.track(["d_loss", "d_adversarial", "d_real", "d_fake", "d_grad_norm", "g_loss",
                    "g_grad_norm", "weights_finite"]
                   + ["gradient_penalty"] * (self.gradient_penalty > 0)
                   + ["r1_penalty"] * (self.r1_penalty > 0)
                   + ["lecam_penalty"] * (self.lecam > 0)
                   + ["consistency_penalty"] * (self.consistency > 0)
                   + ["top_k_fraction"] * (self.top_k < 1)
                   + ["ada_p", "ada_rt"] * bool(self.ada_ops))
        self.remember_compile(
            objective=losses.objective_config(self.objective),
            gradient_penalty=self.gradient_penalty, r1_penalty=self.r1_penalty,
            r1_interval=self.r1_interval, n_critic=self.n_critic, lecam=self.lecam,
            lecam_decay=self.lecam_decay, consistency=self.consistency,
            consistency_ops=self.consistency_ops, top_k=self.top_k,
            top_k_gamma=self.top_k_gamma, top_k_period=self.top_k_period, **kwargs)

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
            "augment": self.augment,
            "ada": self.ada,
            "ada_target": self.ada_target,
            "ada_p": self.ada_p,
            "ada_kimg": self.ada_kimg,
            "ada_interval": self.ada_interval,
            "pac": self.pac,
            "seed": self.seed,
        }

    # -- training -----------------------------------------------------------------------------

    def _inputs(self, x, labels):
        return x if labels is None else [x, labels]

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
        if self.policies:
            x = augment_lib.augment(x, self.policies, u)
        elif self.ada_ops:
            x = ada_lib.augment(x, self.ada_probability.value, u, self.ada_ops)
        return self.discriminator(self._inputs(self._pack(x), labels), training=True)

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
        if self.policies:
            return self.uniform(batch, [augment_lib.NUM_RANDOM], stream)
        if self.ada_ops:
            return self.uniform(batch, [ada_lib.NUM_RANDOM], stream)
        return None

    def _transform(self, x, stream):
        """bCR's transform T of a batch (its operations applied to every sample)."""
        u = self.uniform(tf.shape(x)[0], [ada_lib.NUM_RANDOM], stream)
        return ada_lib.augment(x, tf.constant(1.0), u, self.bcr_ops)

    def _discriminator_step(self, real, labels, k: int) -> dict:
        batch = tf.shape(real)[0]
        base = 8 * (k + 1)
        z = self.normal(batch, [self.latent_dim], base + _D_NOISE)
        fake = tf.stop_gradient(self.generator(self._inputs(z, labels), training=True))
        u_real = self._aug_random(batch, base + _D_AUG_REAL)
        u_fake = self._aug_random(batch, base + _D_AUG_FAKE)
        opt = self.d_optimizer
        variables = self.discriminator.trainable_weights
        logs = {}
        with tf.GradientTape() as tape:
            batches, us = [real, fake], [u_real, u_fake]
            if self.consistency > 0:
                batches += [self._transform(real, base + _D_BCR_REAL),
                            self._transform(fake, base + _D_BCR_FAKE)]
                us += us
            scores = self._score_many(batches, labels, us)
            d_real, d_fake = scores[0], scores[1]
            adv = self.batch_loss(self.objective.discriminator(d_real, d_fake))
            loss = adv + self.regularization(self.discriminator)
            if self.gradient_penalty > 0:
                eps = self.uniform(batch, [], base + _D_GP)
                gp = self.batch_loss(losses.gradient_penalty(
                    lambda x: self._score(x, labels, u_real), real, fake, eps))
                loss += self.gradient_penalty * gp
                logs["gradient_penalty"] = gp
            if self.lecam > 0:
                anchor_real, anchor_fake = self._update_lecam_anchors(d_real, d_fake)
                lecam = self.batch_loss(
                    losses.lecam_penalty(d_real, d_fake, anchor_real, anchor_fake))
                loss += self.lecam * lecam
                logs["lecam_penalty"] = lecam
            if self.consistency > 0:
                bcr = self.batch_loss(losses.consistency_penalty(d_real, scores[2])
                                      + losses.consistency_penalty(d_fake, scores[3]))
                loss += self.consistency * bcr
                logs["consistency_penalty"] = bcr
            scaled = opt.scale_loss(loss)
        grads = self.gradients(tape, scaled, variables)
        if self.r1_penalty > 0:
            r1, r1_grads = self._r1(real, labels, u_real)
            grads = [g + r for g, r in zip(grads, r1_grads, strict=True)]
            loss += 0.5 * self.r1_penalty * self.r1_interval * r1
            logs["r1_penalty"] = r1
        grads = self.apply_gradients(opt, grads, variables)
        logs.update(
            d_loss=loss,
            d_adversarial=adv,
            d_real=self.batch_loss(d_real),
            d_fake=self.batch_loss(d_fake),
        )
        logs = {k_: self.all_sum(v) for k_, v in logs.items()}
        logs["d_grad_norm"] = self.global_norm(grads)
        if self.ada_ops:
            self._accumulate_ada_signs(d_real)
        return logs

    def _update_lecam_anchors(self, d_real, d_fake):
        """α ← decay·α + (1 - decay)·mean D over the global batch, for real and fake; returns
        the new anchors (constants for the gradient). At step 0 the anchors take the batch's
        means (the authors' warm-up: no pull towards the zero they start from)."""
        decay = tf.where(tf.equal(self.step.value, 0), 0.0, self.lecam_decay)
        out = []
        for anchor, scores in zip(self.lecam_anchors, (d_real, d_fake), strict=True):
            mean = tf.stop_gradient(self.all_sum(self.batch_loss(scores)))
            anchor.assign(decay * anchor.value + (1.0 - decay) * mean)
            out.append(tf.identity(anchor.value))
        return out

    def _accumulate_ada_signs(self, d_real):
        """Σ sign D(real) and the number of real scores, over all replicas, for ADA's r_t."""
        d_real = tf.cast(tf.reshape(d_real, [-1]), tf.float32)
        signs = self.all_sum(tf.reduce_sum(tf.sign(d_real)))
        count = self.all_sum(tf.cast(tf.size(d_real) * self.pac, tf.float32))  # images
        self.ada_sign_sum.assign_add(signs)
        self.ada_count.assign_add(count)

    def _adjust_ada(self) -> dict:
        """Every `ada_interval` steps: p from the heuristic (when it has a target), sums reset."""
        due = tf.equal((self.step.value + 1) % self.ada_interval, 0)
        p = tf.identity(self.ada_probability.value)  # the value before the update
        rt = self.ada_sign_sum.value / tf.maximum(self.ada_count.value, 1.0)
        if self.ada_target is not None:
            new_p, _ = ada_lib.adjust_probability(p, self.ada_sign_sum.value,
                                                  self.ada_count.value, self.ada_target,
                                                  self.ada_kimg)
            self.ada_probability.assign(tf.where(due, new_p, p))
        zero = tf.zeros([], tf.float32)
        self.ada_sign_sum.assign(tf.where(due, zero, self.ada_sign_sum.value))
        self.ada_count.assign(tf.where(due, zero, self.ada_count.value))
        return {"ada_p": p, "ada_rt": rt}

    def _r1(self, real, labels, u_real):
        """(R1 value, scaled gradients of its loss term) -- lazy: computed only every
        `r1_interval` discriminator steps, weighted by the interval (zeros otherwise).

        Its gradients are taken on their own, so that no gradient has to flow through the
        `tf.cond` of the lazy schedule (TensorFlow fails differentiating double-backprop there).
        """
        opt = self.d_optimizer
        variables = self.discriminator.trainable_weights
        weight = 0.5 * self.r1_penalty * self.r1_interval

        def penalty():
            with tf.GradientTape() as tape:
                r1 = self.batch_loss(
                    losses.r1_penalty(lambda x: self._score(x, labels, u_real), real))
                scaled = opt.scale_loss(weight * r1)
            return [r1, *self.gradients(tape, scaled, variables)]

        if self.r1_interval == 1:
            out = penalty()
        else:
            due = tf.equal(opt.iterations % self.r1_interval, 0)
            out = tf.cond(due, penalty,
                          lambda: [tf.constant(0.0)] + [tf.zeros_like(v) for v in variables])
        return out[0], out[1:]

    def _generator_step(self, batch, labels) -> dict:
        z = self.normal(batch, [self.latent_dim], G_STREAM)
        u = self._aug_random(batch, G_STREAM + 1)
        opt = self.g_optimizer
        variables = self.generator.trainable_weights
        logs = {}
        with tf.GradientTape() as tape:
            fake = self.generator(self._inputs(z, labels), training=True)
            scores = self._score(fake, labels, u)
            per_example = self.objective.generator(scores)
            if self.top_k < 1:
                fraction = self._top_k_fraction()
                weights = self._top_k_weights(scores, fraction)
                loss = tf.reduce_sum(weights * per_example)
                logs["top_k_fraction"] = fraction
            else:
                loss = self.batch_loss(per_example)
            loss += self.regularization(self.generator)
            scaled = opt.scale_loss(loss)
        grads = self.apply_gradients(opt, self.gradients(tape, scaled, variables), variables)
        return {**logs, "g_loss": self.all_sum(loss), "g_grad_norm": self.global_norm(grads)}

    def _top_k_fraction(self):
        """max(γ^⌊t / period⌋, ν) at train step t."""
        decays = tf.cast(self.step.value // self.top_k_period, tf.float32)
        return tf.maximum(tf.pow(self.top_k_gamma, decays), self.top_k)

    def _top_k_weights(self, scores, fraction):
        """This replica's rows of w over the global batch: 1/k for the k highest scores
        (ties by position), else 0; k = ⌈fraction · global batch⌉. The selection is global,
        so one and N replicas update with the same samples."""
        ctx = _replica_context()
        local = tf.cast(tf.reshape(scores, [-1]), tf.float32)
        n = tf.shape(local)[0]
        replicas = ctx.num_replicas_in_sync
        if replicas > 1:
            rid = tf.cast(ctx.replica_id_in_sync_group, tf.int32)
            scores_all = self.all_sum(tf.pad(local, [[rid * n, (replicas - 1 - rid) * n]]))
        else:
            rid, scores_all = 0, local
        total = n * replicas
        k = tf.maximum(tf.cast(tf.math.ceil(fraction * tf.cast(total, tf.float32)), tf.int32), 1)
        order = tf.argsort(-scores_all, stable=True)
        rank = tf.scatter_nd(order[:, None], tf.range(total), [total])  # XLA has no inverse
        chosen = tf.cast(rank < k, tf.float32) / tf.cast(k, tf.float32)
        return tf.stop_gradient(chosen[rid * n:(rid + 1) * n])

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
            logs = self._discriminator_step(real[:, k], None if labels is None else labels[:, k], k)
        logs.update(self._generator_step(batch, None if labels is None else labels[:, 0]))
        if self.ada_ops:
            logs.update(self._adjust_ada())
        if self.ema_weights:
            self.update_averages()
        self.step.assign_add(1)
        logs["weights_finite"] = self.all_finite(self.weights)
        return self.report(logs)

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
