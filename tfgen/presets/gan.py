"""GAN presets. Each is a few lines of typed config; `tfgen presets` lists them."""

from __future__ import annotations

from tfgen.config import DataConfig, GANConfig, GANModelConfig, OptimizerConfig
from tfgen.presets import register


def _mixture(name: str, epochs: int, steps_per_epoch: int) -> GANConfig:
    # MLP GAN with a 2-D latent (as PacGAN), R1 penalty, EMA sampling and a linearly decaying
    # learning rate: measured over 5 seeds in benchmarks/preset_quality.py (BENCHMARKS.md).
    return GANConfig(
        epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=256,
        data=DataConfig(name=name),
        model=GANModelConfig(network="mlp", latent_dim=2, width=256, depth=3, r1_penalty=0.1,
                             ema_decay=0.999),
        g_optimizer=OptimizerConfig(learning_rate=1e-3, beta_1=0.5, schedule="linear"),
        d_optimizer=OptimizerConfig(learning_rate=1e-3, beta_1=0.5, schedule="linear"),
    )


@register("ring8-gan", "MLP GAN + R1 on the 8-Gaussian ring (PacGAN protocol), about a minute on CPU")
def ring8_gan() -> GANConfig:
    return _mixture("ring8", epochs=16, steps_per_epoch=500)


@register("grid25-gan", "MLP GAN + R1 on the 25-Gaussian grid (PacGAN protocol), a few minutes on CPU")
def grid25_gan() -> GANConfig:
    return _mixture("grid25", epochs=16, steps_per_epoch=1000)


@register("digits-dcgan", "DCGAN on scikit-learn's 8x8 digits (offline), a few minutes on CPU")
def digits_dcgan() -> GANConfig:
    return GANConfig(
        epochs=30, steps_per_epoch=100, batch_size=64,
        data=DataConfig(name="digits"),
        model=GANModelConfig(network="dcgan", latent_dim=32, width=64),
    )


@register("digits-cgan", "class-conditional DCGAN on 8x8 digits (projection discriminator)")
def digits_cgan() -> GANConfig:
    cfg = digits_dcgan()
    cfg.data.labels = True
    cfg.model.conditional = True
    return cfg


@register("mnist-dcgan", "DCGAN on MNIST 28x28 from TFDS (downloads MNIST)")
def mnist_dcgan() -> GANConfig:
    return GANConfig(
        epochs=20, batch_size=64,
        data=DataConfig(name="tfds:mnist"),
        model=GANModelConfig(network="dcgan", latent_dim=128, width=64),
    )


@register("cifar10-sngan", "SNGAN (ResNet, spectral norm, hinge) on CIFAR-10 32x32 from TFDS")
def cifar10_sngan() -> GANConfig:
    return GANConfig(
        epochs=100, batch_size=64,
        data=DataConfig(name="tfds:cifar10"),
        model=GANModelConfig(
            network="resnet", latent_dim=128, width=128, objective="hinge", spectral_norm=True,
            n_critic=5,
        ),
        g_optimizer=OptimizerConfig(learning_rate=2e-4, beta_1=0.0, beta_2=0.9),
        d_optimizer=OptimizerConfig(learning_rate=2e-4, beta_1=0.0, beta_2=0.9),
    )
