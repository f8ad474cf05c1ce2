"""The adversarially regularized autoencoder (ARAE; Zhao, Kim, Zhang, Rush & LeCun 2018,
"Adversarially regularized autoencoders"): a GAN in the code space of a text autoencoder."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgen import ingredients
from tfgen.models.averaging import on_averaged_weights
from tfgen.models.decoding import TokenDecoding
from tfgen.models.gan import GAN
from tfgen.models.sequence_vae import _pair, sequence_log_prob


@keras.saving.register_keras_serializable(package="tfgen")
class ARAE(TokenDecoding, GAN):
    """A text autoencoder whose codes a GAN learns to generate: the encoder (a masked BiLSTM
    over the sentence's embedded tokens, `tfgen.networks.sequence_encoder(deterministic=True)`)
    maps a sentence to a code c on the unit sphere, the decoder (`FrameDecoder` over the
    vocabulary, c in its initial state and every input) writes the sentence back, and the GAN's
    generator maps noise z to codes that its discriminator (the critic) cannot tell from the
    encoder's. Sentences are in the packed layout of `tfgen.data.text`.

    Each `train_step` takes `n_critic` × b sentences (rows as the GAN's) and does:

    1. `n_critic` critic updates, each the GAN's discriminator step with real = the codes of
       its rows (no gradient into the encoder) and fake = G(z): every GAN objective and
       discriminator regulariser (gradient penalty, R1, LeCam, ...) applies unchanged;
    2. one autoencoder update on the first rows: the reconstruction loss -log p(x | c + ε)
       (softmax over the vocabulary, padding masked out, ε ~ N(0, `code_noise`² I) as ARAE
       adds) minus `encoder_weight` × the critic's loss on the real codes -- the adversarial
       regularisation that moves the encoder's codes toward the generator's (ARAE's step of
       the encoder, folded into the autoencoder's update);
    3. the GAN's generator update.

    `sample` decodes generator codes under `decoding` (`tfgen.models.decoding`); `encode`,
    `decode`, `reconstruct` and `interpolate` work on the autoencoder's codes.

    Args:
        generator: noise [batch, latent_dim] -> codes [batch, code_dim] (e.g.
            `tfgen.networks.mlp_generator(latent_dim, code_dim)`).
        discriminator: codes -> one score each (e.g. `tfgen.networks.mlp_discriminator`).
        encoder: packed sentences -> codes [batch, code_dim] (normalised to unit length here).
        decoder: `FrameDecoder` with a vocabulary and latent size code_dim.
        latent_dim: size of the generator's noise.
        likelihood: "softmax" over the decoder's vocabulary (a name, config or object).
        sample_frames: the longest sentence `sample` writes (tokens, `<eos>` included).
        code_noise: standard deviation of the noise added to codes the decoder reconstructs.
        encoder_weight: λ of the adversarial term in the encoder's loss.
        **kwargs: the GAN's (`ema_decay`: of the generator's weights; `seed`).

    Example:

    >>> import keras, tfgen
    >>> from tfgen.data import text
    >>> lines = ["the cat sat", "the dog ran", "a cat ran", "a dog sat"] * 4
    >>> vocab = text.vocabulary(lines)
    >>> x, _ = text.encode(lines, vocab, max_length=8)
    >>> arae = tfgen.ARAE(*tfgen.networks.arae_networks(len(vocab), latent_dim=4, code_dim=8,
    ...     units=16, embedding_dim=8, width=16), latent_dim=4, sample_frames=8)
    >>> arae.compile(g_optimizer=keras.optimizers.Adam(1e-3),
    ...              d_optimizer=keras.optimizers.Adam(1e-3),
    ...              ae_optimizer=keras.optimizers.Adam(1e-2))
    >>> _ = arae.fit(x.astype("float32"), batch_size=8, epochs=2, verbose=0)
    >>> len(text.decode(arae.sample(3, seed=1), vocab))
    3
    """

    submodels = ("generator", "discriminator", "encoder", "decoder")
    has_code = True  # encode / decode / interpolate through the autoencoder's codes

    def __init__(self, generator, discriminator, encoder, decoder, latent_dim: int,
                 likelihood="softmax", sample_frames: int = 32, code_noise: float = 0.1,
                 encoder_weight: float = 0.1, **kwargs):
        if kwargs.get("num_classes") is not None:
            raise ValueError("the ARAE is unconditional")
        if kwargs.get("augment") or kwargs.get("ada") or kwargs.get("pac", 1) != 1:
            raise ValueError("the ARAE's critic judges codes: no augmentation or PacGAN")
        if not getattr(decoder, "vocabulary", 0):
            raise ValueError("the ARAE's decoder reads tokens: build it with a vocabulary "
                             "(tfgen.networks.arae_networks)")
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.likelihood = ingredients.get("likelihood", likelihood)
        if self.likelihood.name != "softmax":
            raise ValueError(f"the ARAE's likelihood is softmax over the vocabulary; got "
                             f"{self.likelihood.name}")
        self.code_dim = int(encoder.output.shape[-1])
        for what, size in (("generator output", generator.output.shape[-1]),
                           ("discriminator input", discriminator.inputs[0].shape[-1]),
                           ("decoder code", decoder.latent_dim)):
            if int(size) != self.code_dim:
                raise ValueError(f"the {what} has {size} values; the encoder's codes have "
                                 f"{self.code_dim}")
        self.sample_frames = int(sample_frames)
        self.code_noise, self.encoder_weight = float(code_noise), float(encoder_weight)
        self.bind_dropout()  # the autoencoder's dropout (word dropout) on the model's noise

    def get_config(self):
        return {**super().get_config(), "likelihood": self.likelihood.get_config(),
                "sample_frames": self.sample_frames, "code_noise": self.code_noise,
                "encoder_weight": self.encoder_weight}

    def compile(self, g_optimizer="adam", d_optimizer="adam", ae_optimizer="adam", **kwargs):
        """The GAN's `compile` (objective, regularisers, `n_critic`, ...) and the optimizer of
        the autoencoder (encoder and decoder)."""
        self.ae_optimizer = self.prepare_optimizer(ae_optimizer, self._ae_variables())
        super().compile(g_optimizer=g_optimizer, d_optimizer=d_optimizer, **kwargs)
        self.track([*self.log_trackers, "reconstruction", "encoder_adversarial",
                    "ae_grad_norm"])

    optimizer_arguments = ("g_optimizer", "d_optimizer", "ae_optimizer")

    def named_optimizers(self):
        return {**super().named_optimizers(), "ae_optimizer": self.ae_optimizer}

    def _ae_variables(self):
        return self.encoder.trainable_weights + self.decoder.trainable_weights

    def call(self, inputs, training: bool = False):
        """Generate codes: `inputs` is the noise z."""
        return self.generator(inputs, training=training)

    # -- training -----------------------------------------------------------------------------

    def _code(self, x, training: bool):
        """The encoder's codes of packed sentences, on the unit sphere (ARAE's normalisation)."""
        return tf.math.l2_normalize(tf.cast(self.encoder(x, training=training), tf.float32),
                                    axis=-1)

    def _autoencoder_step(self, x, codes_fake) -> tuple[dict, dict]:
        batch = tf.shape(x)[0]
        opt, variables = self.ae_optimizer, self._ae_variables()
        noise = self.normal(batch, [self.code_dim], "autoencoder/noise") * self.code_noise
        with tf.GradientTape() as tape:
            codes = self._code(x, training=True)
            log_px = sequence_log_prob(self.decoder, self.likelihood, 1, x, codes + noise,
                                       training=True)
            reconstruction = self.batch_loss(-log_px)
            adversarial = tf.constant(0.0)
            if self.encoder_weight:
                d_real, d_fake = self._score_many([codes, codes_fake], None, [None, None])
                adversarial = -self.batch_loss(self.objective.discriminator(d_real, d_fake))
            loss = (reconstruction + self.encoder_weight * adversarial
                    + self.regularization(self.encoder) + self.regularization(self.decoder))
            scaled = opt.scale_loss(loss)
        grads = self.apply_gradients(opt, self.gradients(tape, scaled, variables), variables)
        return ({"reconstruction": reconstruction, "encoder_adversarial": adversarial},
                {"ae_grad_norm": self.global_norm(grads)})

    def train_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        n = self.n_critic
        x = tf.cast(x, tf.float32)
        batch = tf.shape(x)[0] // n
        x = tf.reshape(x, [batch, n, tf.shape(x)[1], x.shape[-1]])
        for k in range(n):  # the logs are those of the last critic step
            real = tf.stop_gradient(self._code(x[:, k], training=True))
            shares, values = self._discriminator_step(real, None, k)
        z = self.normal(batch, [self.latent_dim], "autoencoder/fake")
        fake = tf.stop_gradient(self.generator(z, training=True))
        ae_shares, ae_values = self._autoencoder_step(x[:, 0], fake)
        g_shares, g_values = self._generator_step(batch, None)
        shares.update(ae_shares, **g_shares)
        values.update(ae_values, **g_values)
        return self.end_step(shares, values)

    # -- codes and sentences ------------------------------------------------------------------

    @on_averaged_weights
    def sample(self, num: int, seed: int = 0, labels=None, batch_size: int = 256,
               progress=None, truncation: float | None = None) -> np.ndarray:
        """`num` sentences (packed): generator codes (EMA weights when enabled) of the noise
        `latent(num, seed, truncation)`, decoded by `decoding` with draws keyed by `seed`."""
        self.sample_labels(num, labels)  # (refuses labels)
        z = self.latent(num, seed, truncation)
        out = []
        for start in range(0, num, batch_size):
            codes = self.generator(z[start:start + batch_size], training=False)
            key = tf.constant([int(seed), start], tf.int64)
            out.append(self._packed_tokens(self._frames(codes, key)).numpy())
            if progress is not None:
                progress(min(num, start + batch_size))
        return np.concatenate(out).astype(np.float32)

    def generate(self, z, labels):
        """Sentences (packed, float32) for noise z, drawn by `decoding` with a seed derived
        from z's values (the SavedModel's `sample`)."""
        codes = tf.cast(self.generator(z, training=False), tf.float32)
        bits = tf.bitcast(tf.reduce_sum(tf.abs(codes)), tf.int32)
        seed = tf.stack([tf.cast(bits, tf.int64), tf.constant(self.seed, tf.int64)])
        return self._packed_tokens(self._frames(codes, seed))

    def encode(self, x, batch_size: int = 256) -> np.ndarray:
        """The codes of packed sentences x, [N, code_dim] on the unit sphere."""
        x = tf.convert_to_tensor(np.asarray(x, np.float32))
        return np.concatenate([self._code(x[i:i + batch_size], False).numpy()
                               for i in range(0, int(x.shape[0]), batch_size)])

    def decode(self, codes, labels=None, seed: int | None = None, decoding=None) -> np.ndarray:
        """Sentences (packed) for codes: greedy when `seed` is None and no `decoding` is
        given, else by `decoding` (default: the model's) with the stateless `seed`."""
        codes = tf.convert_to_tensor(codes, tf.float32)
        if seed is None and decoding is None:
            return self._packed_tokens(self._frames(codes, tf.constant([0, 0], tf.int64),
                                                    greedy=True)).numpy()
        key = tf.constant([0 if seed is None else int(seed), 1], tf.int64)
        return self.decode_with(decoding, lambda: self._packed_tokens(
            self._frames(codes, key)).numpy())

    def reconstruct(self, x, labels=None) -> np.ndarray:
        """Greedy sentences decoded from the codes of x."""
        return self.decode(self.encode(x))

    def interpolate(self, a, b, steps: int = 5, seed: int | None = None) -> np.ndarray:
        """Sentences decoded along the line between the codes of sentences `a` and `b` (each
        packed [tokens, 2]), the ends included: the homotopy of Bowman et al. (2016, Table 3)
        in ARAE's code space; greedy unless `seed`."""
        codes = self.encode(_pair(a, b))
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        return self.decode((1 - t) * codes[0] + t * codes[1], seed=seed)
