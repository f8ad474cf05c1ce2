"""GAN presets. Each is a few lines of typed config; `tfgen presets` lists them."""

from __future__ import annotations

from tfgen.trainers.config import (
    DataOptions,
    EvaluationConfig,
    GANConfig,
    GANModelConfig,
    OptimizerConfig,
    TrainingConfig,
)
from tfgen.trainers.presets import conditional, register


def _optimizers(hp) -> dict:
    """One learning rate and beta_1 for both players; the discriminator's rate a multiple."""
    lr = hp.Float("learning_rate", 1e-4, 3e-3, sampling="log")
    beta_1 = hp.Choice("beta_1", [0.0, 0.5, 0.9])
    d_ratio = hp.Choice("d_lr_ratio", [0.5, 1.0, 2.0, 4.0])
    return {"g_optimizer.learning_rate": lr, "g_optimizer.beta_1": beta_1,
            "d_optimizer.learning_rate": lr * d_ratio, "d_optimizer.beta_1": beta_1}


def mixture_space(hp) -> dict:
    """ring8/grid25: optimisers, objective, R1 weight, n_critic, EMA decay, width, latent size."""
    return {
        **_optimizers(hp),
        "model.objective": hp.Choice("objective", ["non_saturating", "hinge", "least_squares"]),
        "model.regularizers.r1": {"gamma": hp.Float("r1_penalty", 0.01, 10.0, sampling="log")},
        "model.n_critic": hp.Int("n_critic", 1, 3),
        "model.ema_decay": hp.Choice("ema_decay", [0.99, 0.999]),
        "model.width": hp.Choice("width", [64, 128, 256]),
        "model.latent_dim": hp.Choice("latent_dim", [2, 8]),
    }


def image_space(hp) -> dict:
    """Image GANs: optimisers, objective, R1 weight, n_critic, EMA decay, width, latent size,
    and the small-data regularisers: augmentation (none / DiffAugment / ADA), LeCam, bCR,
    top-k."""
    augmentation = hp.Choice("augmentation", ["none", "diffaugment", "ada"])
    optimizers = _optimizers(hp)  # the draws in the order the searches recorded them
    objective = hp.Choice("objective", ["non_saturating", "hinge"])
    r1 = hp.Choice("r1_penalty", [0.0, 0.1, 1.0, 10.0])
    space = {
        **optimizers,
        "model.objective": objective,
        "model.n_critic": hp.Int("n_critic", 1, 2),
        "model.ema_decay": hp.Choice("ema_decay", [0.99, 0.999]),
        "model.width": hp.Choice("width", [32, 64]),
        "model.latent_dim": hp.Choice("latent_dim", [16, 32, 64]),
        "model.augment": {"none": {},
                          "diffaugment": {"name": "diffaugment", "policies": "translation,cutout"},
                          "ada": {"name": "ada", "ops": "blit,geom,color"}}[augmentation],
    }
    lecam = hp.Choice("lecam", [0.0, 0.3])
    consistency = hp.Choice("consistency", [0.0, 10.0])
    top_k = hp.Choice("top_k", [1.0, 0.5])
    space["model.regularizers"] = {  # None: off
        "r1": {"gamma": r1} if r1 else None, "lecam": {"weight": lecam} if lecam else None,
        "consistency": {"weight": consistency} if consistency else None,
        "top_k": {"fraction": top_k} if top_k < 1 else None}
    return space


def _mixture(name: str, epochs: int, steps_per_epoch: int) -> GANConfig:
    # MLP GAN with a 2-D latent (as PacGAN), R1 penalty, EMA sampling and a linearly decaying
    # learning rate: measured over 5 seeds in benchmarks/preset_quality.py (BENCHMARKS.md).
    # 50 steps per graph call: these small steps are dominated by per-call overhead.
    return GANConfig(
        epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=256,
        data=DataOptions(name=name),
        model=GANModelConfig(network="mlp", latent_dim=2, width=256, depth=3,
                             regularizers={"r1": {"gamma": 0.1}}, ema_decay=0.999),
        g_optimizer=OptimizerConfig(learning_rate=1e-3, beta_1=0.5, schedule="linear"),
        d_optimizer=OptimizerConfig(learning_rate=1e-3, beta_1=0.5, schedule="linear"),
        training=TrainingConfig(steps_per_execution=50),
    )


@register(
    "ring8-gan", "MLP GAN + R1 on the 8-Gaussian ring (PacGAN protocol), about a minute on CPU",
    space=mixture_space,
)
def ring8_gan() -> GANConfig:
    return _mixture("ring8", epochs=16, steps_per_epoch=500)


@register(
    "grid25-gan", "MLP GAN + R1 on the 25-Gaussian grid (PacGAN protocol), a few minutes on CPU",
    space=mixture_space,
)
def grid25_gan() -> GANConfig:
    return _mixture("grid25", epochs=16, steps_per_epoch=1000)


@register(
    "digits-dcgan", "DCGAN on scikit-learn's 8x8 digits (offline), about a minute on CPU",
    space=image_space,
)
def digits_dcgan() -> GANConfig:
    # EMA sampling (decay 0.999): test FD 9.58 vs 10.57 without, over seeds 0-2, at the same
    # 3,000 steps (benchmarks/preset_variants.py, BENCHMARKS.md "digits-dcgan variants").
    return GANConfig(
        epochs=30, steps_per_epoch=100, batch_size=64,
        data=DataOptions(name="digits"),
        model=GANModelConfig(network="dcgan", latent_dim=32, width=64, ema_decay=0.999),
    )


@register(
    "digits-cgan", "class-conditional DCGAN on 8x8 digits (projection discriminator)",
    space=image_space,
)
def digits_cgan() -> GANConfig:
    return conditional(digits_dcgan())


@register(
    "mnist-dcgan", "DCGAN on MNIST 28x28 from TFDS (downloads MNIST)",
    space=image_space,
)
def mnist_dcgan() -> GANConfig:
    return GANConfig(
        epochs=20, batch_size=64,
        data=DataOptions(name="tfds:mnist"),
        model=GANModelConfig(network="dcgan", latent_dim=128, width=64),
        # bfloat16 where the hardware has it (AMX, TPUs): 2.3x float32's samples/s on this CPU's
        # AMX units; float32 elsewhere, AVX-512 bfloat16 without AMX included (0.65x there).
        # BENCHMARKS.md, "precision=auto per CPU".
        training=TrainingConfig(precision="auto"),
    )


@register(
    "cifar10-sngan", "SNGAN (ResNet, spectral norm, hinge) on CIFAR-10 32x32 from TFDS",
    space=image_space,
)
def cifar10_sngan() -> GANConfig:
    return GANConfig(
        epochs=100, batch_size=64,
        data=DataOptions(name="tfds:cifar10"),
        model=GANModelConfig(
            network="resnet", latent_dim=128, width=128, objective="hinge", spectral_norm=True,
            n_critic=5,
        ),
        g_optimizer=OptimizerConfig(learning_rate=2e-4, beta_1=0.0, beta_2=0.9),
        d_optimizer=OptimizerConfig(learning_rate=2e-4, beta_1=0.0, beta_2=0.9),
    )


def _fmnist_gan() -> GANConfig:
    # Fashion-MNIST at 28x28 (PROTOCOLS.md section 4): DCGAN trunks, non-saturating loss with a
    # lazy R1 penalty, EMA sampling; the best epoch by validation Fréchet distance is kept.
    return GANConfig(
        epochs=12, steps_per_epoch=500, batch_size=64,
        data=DataOptions(name="fashion_mnist"),
        model=GANModelConfig(network="dcgan", latent_dim=64, width=32,
                             regularizers={"r1": {"gamma": 1.0, "interval": 4}},
                             ema_decay=0.999),
        g_optimizer=OptimizerConfig(learning_rate=2e-4, beta_1=0.5),
        d_optimizer=OptimizerConfig(learning_rate=2e-4, beta_1=0.5),
        # bfloat16 where the hardware has it (AMX: 1.5-2.0x float32's samples/s; float32 on AVX-512
        # bfloat16 without AMX, 0.73-0.83x there); figures measured in bf16.
        training=TrainingConfig(steps_per_execution=10, precision="auto"),
        evaluation=EvaluationConfig(every=2, num=5000),
    )


@register(
    "fmnist-dcgan", "DCGAN + R1 + EMA on Fashion-MNIST 28x28 (Debian's dataset-fashion-mnist), "
    "about 15 minutes on CPU", space=image_space,
)
def fmnist_dcgan() -> GANConfig:
    return _fmnist_gan()


@register(
    "fmnist-biggan", "BigGAN-style class-conditional GAN on Fashion-MNIST (conditional BN, "
    "self-attention, projection D, hinge, TTUR), untuned", space=image_space,
)
def fmnist_biggan() -> GANConfig:
    cfg = conditional(_fmnist_gan())
    cfg.model = GANModelConfig(network="biggan", latent_dim=64, width=32, objective="hinge",
                               spectral_norm=True, ema_decay=0.999, conditional=True,
                               orthogonal=1e-4)
    # BigGAN's optimiser settings: Adam(0, 0.999), the discriminator's rate 4x (TTUR).
    cfg.g_optimizer = OptimizerConfig(learning_rate=1e-4, beta_1=0.0, beta_2=0.999)
    cfg.d_optimizer = OptimizerConfig(learning_rate=4e-4, beta_1=0.0, beta_2=0.999)
    return cfg


@register(
    "fmnist-cgan", "class-conditional DCGAN (projection discriminator) on Fashion-MNIST",
    space=image_space,
)
def fmnist_cgan() -> GANConfig:
    return conditional(_fmnist_gan())


def pianoroll_space(hp) -> dict:
    """Piano-roll GANs: optimisers, objective, R1 weight, EMA decay, width, latent size, binary
    notes."""
    return {
        **_optimizers(hp),
        "model.objective": hp.Choice("objective", ["non_saturating", "hinge"]),
        "model.regularizers.r1": {"gamma": hp.Float("r1_penalty", 0.1, 10.0, sampling="log")},
        "model.ema_decay": hp.Choice("ema_decay", [0.99, 0.999]),
        "model.width": hp.Choice("width", [16, 32, 64]),
        "model.latent_dim": hp.Choice("latent_dim", [32, 128]),
        "model.binary": hp.Boolean("binary"),
    }


@register(
    "jsb-gan", "MuseGAN-style piano-roll GAN on 4-bar windows of the JSB Chorales (16th notes): "
    "convolutions over time and pitch, R1, EMA", space=pianoroll_space,
)
def jsb_gan() -> GANConfig:
    # Windows of 4 bars x 16 steps x 88 keys (MuseGAN's shape, one track); the model is judged
    # by Yang & Lerch's overlaps against the test windows (overlap_mean, each beside its
    # train-vs-test floor) and MuseGAN's statistics (BENCHMARKS.md, "Music").
    return GANConfig(
        epochs=40, steps_per_epoch=100, batch_size=32,
        data=DataOptions(name="jsb_chorales", steps_per_quarter=4, window_bars=4),
        model=GANModelConfig(network="pianoroll", latent_dim=128, width=32, ema_decay=0.999,
                             regularizers={"r1": {"gamma": 1.0}}),
        g_optimizer=OptimizerConfig(learning_rate=2e-4, beta_1=0.5),
        d_optimizer=OptimizerConfig(learning_rate=2e-4, beta_1=0.5),
        training=TrainingConfig(sample_every=5, num_samples=4),
    )


def text_gan_space(hp) -> dict:
    """Text GANs (ARAE): optimisers, the critic's gradient-penalty weight, the encoder's
    adversarial weight, code noise, code size."""
    return {
        **_optimizers(hp),
        "model.regularizers.gradient_penalty": {
            "weight": hp.Float("gradient_penalty", 0.1, 10.0, sampling="log")},
        "model.encoder_weight": hp.Float("encoder_weight", 0.01, 1.0, sampling="log"),
        "model.code_noise": hp.Choice("code_noise", [0.0, 0.1, 0.2]),
        "model.code_dim": hp.Choice("code_dim", [64, 128, 256]),
    }


@register(
    "wordnet-arae", "Text GAN: the adversarially regularised autoencoder (ARAE, Zhao et al. "
    "2018) on WordNet 3.0's example sentences: WGAN-GP over the codes of an LSTM autoencoder",
    space=text_gan_space,
)
def wordnet_arae() -> GANConfig:
    # ARAE: a masked BiLSTM encoder (256 each way) -> a code of 128 on the unit sphere (noise
    # 0.1 on it) -> an LSTM decoder of 512 units with the code in its initial state and every
    # input, over the 10,000-token vocabulary; a generator MLP (2 x 256) from noise of 64 to
    # codes, a critic MLP (2 x 256) with the gradient penalty (WGAN-GP in place of the paper's
    # weight clipping), 5 critic steps per generator step; the critic's loss pulls the encoder
    # (weight 0.1). Judged by forward/reverse PPL, self-BLEU and distinct-n (tfgen evaluate).
    return GANConfig(
        epochs=10, steps_per_epoch=200, batch_size=64,
        data=DataOptions(name="wordnet"),
        model=GANModelConfig(network="arae", latent_dim=64, width=256, depth=2,
                             objective="wasserstein", n_critic=5,
                             regularizers={"gradient_penalty": {"weight": 10.0}},
                             code_dim=128, autoencoder_width=512, embedding_dim=256,
                             code_noise=0.1, encoder_weight=0.1),
        g_optimizer=OptimizerConfig(learning_rate=1e-4, beta_1=0.5, beta_2=0.9),
        d_optimizer=OptimizerConfig(learning_rate=1e-4, beta_1=0.5, beta_2=0.9),
        ae_optimizer=OptimizerConfig(learning_rate=1e-3, beta_1=0.9, clipnorm=5.0),
        training=TrainingConfig(sample_every=1, num_samples=16),
    )


@register(
    "text-arae", "Text GAN (ARAE) on your own text (--set data.name=text:FILE or text:DIR; "
    "default: 100 example proverbs)", space=text_gan_space,
)
def text_arae() -> GANConfig:
    # wordnet-arae's model, smaller, for a user's corpus of any size; words seen once are
    # [UNK] (data.min_count 2), examples of up to 40 tokens; 2 critic steps, so that a step's
    # 2 x 32 sentences fit a small corpus.
    from tfgen.trainers.presets.vae import _shipped

    cfg = wordnet_arae()
    cfg.model.n_critic = 2
    cfg.data = DataOptions(name=f"text:{_shipped('text_examples', 'proverbs.txt')}",
                           min_count=2, max_length=40)
    cfg.model.autoencoder_width, cfg.model.embedding_dim, cfg.model.code_dim = 256, 128, 64
    cfg.epochs, cfg.steps_per_epoch, cfg.batch_size = 20, 25, 32
    return cfg


def specgan_space(hp) -> dict:
    """SpecGAN: optimisers, the gradient-penalty weight, critic steps, model size."""
    return {
        **_optimizers(hp),
        "model.regularizers.gradient_penalty": {
            "weight": hp.Float("gradient_penalty", 1.0, 30.0, sampling="log")},
        "model.n_critic": hp.Choice("n_critic", [1, 3, 5]),
        "model.width": hp.Choice("width", [16, 32, 64]),
    }


def audio_gan_space(hp) -> dict:
    """WaveGAN: SpecGAN's space and the phase shuffle."""
    return {**specgan_space(hp), "model.phase_shuffle": hp.Choice("phase_shuffle", [0, 2])}


@register(
    "fsdd-wavegan", "WaveGAN (Donahue et al. 2019) on the Free Spoken Digit Dataset: 8,192 "
    "samples at 8 kHz, WGAN-GP, 5 critic steps, phase shuffle 2", space=audio_gan_space,
)
def fsdd_wavegan() -> GANConfig:
    # The paper's recipe -- WGAN-GP (λ 10), 5 critic steps, Adam 1e-4 (β 0.5, 0.9), batch 64,
    # z of 100, phase shuffle 2 -- at 8 kHz (8,192 samples: 1.024 s; the generator starts at
    # 8 x 16d) with model size d = 32 (the paper's 64 quadruples the cost on a CPU). Judged in
    # the feature space of tfgen's spoken-digit classifier: inception score, FD, NDB.
    return GANConfig(
        epochs=20, steps_per_epoch=100, batch_size=64,
        data=DataOptions(name="fsdd"),
        model=GANModelConfig(network="wavegan", latent_dim=100, width=32,
                             objective="wasserstein", n_critic=5,
                             regularizers={"gradient_penalty": {"weight": 10.0}},
                             phase_shuffle=2),
        g_optimizer=OptimizerConfig(learning_rate=1e-4, beta_1=0.5, beta_2=0.9),
        d_optimizer=OptimizerConfig(learning_rate=1e-4, beta_1=0.5, beta_2=0.9),
        training=TrainingConfig(sample_every=1, num_samples=8),
    )


@register(
    "fsdd-cwavegan", "Class-conditional WaveGAN on FSDD: a label embedding into the generator, "
    "a projection discriminator; label accuracy of its clips", space=audio_gan_space,
)
def fsdd_cwavegan() -> GANConfig:
    cfg = fsdd_wavegan()
    cfg.model.conditional, cfg.data.labels = True, True
    return cfg


@register(
    "fsdd-specgan", "SpecGAN (Donahue et al. 2019) on FSDD: DCGAN on 128 x 128 normalised "
    "log-magnitude spectrograms, WGAN-GP, inverted by 16 Griffin-Lim iterations",
    space=specgan_space,
)
def fsdd_specgan() -> GANConfig:
    # The paper's SpecGAN: the clips' log-magnitude STFT (256-sample window; hop 64 at 8 kHz
    # makes 128 x 128), each frequency normalised by its train moments and clipped to 3
    # deviations, a DCGAN of five stride-2 layers, WGAN-GP (λ 10), 5 critic steps, Adam 1e-4
    # (β 0.5, 0.9); the images back to sound by 16 Griffin-Lim iterations, and measured so.
    cfg = fsdd_wavegan()
    cfg.data.representation = "spectrogram"
    cfg.model.network, cfg.model.phase_shuffle = "specgan", GANModelConfig().phase_shuffle
    return cfg


@register(
    "audio-wavegan", "WaveGAN on your own recordings (--set data.name=audio:DIR; WAV, one "
    "sub-folder per class or none; default: 16 synthetic chirps): 16,384 samples at 16 kHz",
    space=audio_gan_space,
)
def audio_wavegan() -> GANConfig:
    # fsdd-wavegan's model at WaveGAN's own rate and length (16 kHz, 1.024 s); a small folder
    # has few clips: 20% of them held out (val, test) by a hash of each file's path.
    from tfgen.trainers.presets.vae import _shipped

    cfg = fsdd_wavegan()
    cfg.data = DataOptions(name=f"audio:{_shipped('audio_examples')}", sample_rate=16000)
    return cfg
