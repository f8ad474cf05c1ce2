"""Each rule that ties options together is written once: the library refuses a bad combination
with an `OptionError`, and the `tfgen` command refuses the same combination in its config with
that very message, behind the config key that set it, before any training."""

import keras
import pytest

from tests.models.helpers import deep_vae, tiny_gan
from tfgen import data, ingredients, networks
from tfgen.errors import OptionError
from tfgen.models import GAN, VAE
from tfgen.trainers.cli import main


def _pac_conditional():
    g = networks.dcgan_generator(8, (8, 8, 1), width=8, num_classes=10)
    d = networks.dcgan_discriminator((8, 8, 2), width=8, num_classes=10)
    GAN(g, d, latent_dim=8, num_classes=10, pac=2)


def _vae(**options):
    enc = networks.mlp_encoder((8, 8, 1), 4, width=8, depth=1, num_classes=10)
    dec = networks.mlp_decoder(4, (8, 8, 1), 17, width=8, depth=1, num_classes=10)
    VAE(enc, dec, 4, likelihood="categorical", num_classes=10, **options)


def _orthogonal_on_dcgan():
    networks.build_gan_networks(data.source("digits").info, network="dcgan", width=8,
                                orthogonal=1e-4)


CASES = [
    # (library call, preset, --set values, the config key, the message)
    (_pac_conditional, "digits-cgan", ["model.pac=2"], "pac",
     "PacGAN packing is for unconditional GANs"),
    # One augment slot holds one augmentation; the flat keys of earlier configs could ask for
    # both, and their migration refuses that.
    (lambda: tiny_gan("dcgan", augment="color", ada="blit"), "digits-dcgan",
     ["model.augment=color", "model.ada=blit"], "ada", "choose DiffAugment or ADA, not both"),
    (lambda: tiny_gan("dcgan", ada="blit", compile_kwargs={"objective": "least_squares"}),
     "digits-dcgan", ["model.augment={name: ada, ops: blit}", "model.objective=least_squares"],
     "augment.target",
     "ADA's r_t = E[sign D(real)] needs D's outputs centred at 0 (non_saturating, minimax, "
     "hinge); with least_squares fix p (target None)"),
    (lambda: tiny_gan("mlp", ada="blit"), "ring8-gan", ["model.augment={name: ada, ops: blit}"],
     "augment",
     "ADA transforms images (B, H, W, C)"),
    (lambda: tiny_gan("mlp", augment="translation"), "ring8-gan", ["model.augment.name=diffaugment",
                                                   "model.augment.policies=translation"],
     "augment", "DiffAugment transforms images (B, H, W, C)"),
    (lambda: tiny_gan("mlp", compile_kwargs={"consistency": 10.0}), "ring8-gan",
     ["model.regularizers.consistency.weight=10"], "regularizers.consistency",
     "consistency regularisation transforms images (B, H, W, C)"),
    # A library model does not know its data's pixel range: the ingredient checks the facts.
    (lambda: ingredients.ADA(ops="blit,color").check(ingredients.Facts(pixel_range="unit")),
     "digits-dcgan", ["model.augment={name: ada, ops: 'blit,color'}", "data.pixel_range=unit"],
     "augment.ops",
     "ADA's colour and cutout operations expect images in [-1, 1] (pixel range symmetric); "
     "use blit,geom on [0, 1] images"),
    (lambda: _vae(prior="vamp"), "digits-cvae", ["model.prior=vamp"], "prior",
     "the VampPrior is for unconditional VAEs"),
    (lambda: _vae(expost_components=3), "digits-cvae", ["model.expost_components=3"],
     "expost_components", "the ex-post density is for unconditional VAEs"),
    (lambda: deep_vae("vamp", free_bits=0.5), "digits-vamp", ["model.free_bits=0.5"],
     "free_bits", "free bits need the closed-form KL (the normal prior, one stochastic layer, "
     "no flow)"),
    (lambda: deep_vae("vamp", estimator="dreg", iw_samples=5), "digits-vamp",
     ["model.estimator=dreg"], "estimator",
     "the dreg estimator needs Gaussian posteriors and the normal prior (no flow, no VampPrior)"),
    (lambda: deep_vae(estimator="dreg", iw_samples=1), "digits-vae",
     ["model.estimator=dreg", "model.iw_samples=1"], "estimator",
     "the dreg estimator is for IWAE training: iw_samples >= 2"),
    # Two rules the library and the config used to disagree on: both refuse now.
    (lambda: deep_vae(kl_schedule="linear", warmup_steps=0), "digits-vae",
     ["model.kl_schedule=linear", "model.warmup_steps=0"], "warmup_steps",
     "the linear KL schedule needs warmup_steps >= 1"),
    (lambda: deep_vae(kl_schedule="cyclical", cycle_steps=0), "digits-vae",
     ["model.kl_schedule=cyclical", "model.cycle_steps=0"], "cycle_steps",
     "the cyclical KL schedule needs cycle_steps >= 1"),
    (_orthogonal_on_dcgan, "digits-dcgan", ["model.orthogonal=1e-4"], "orthogonal",
     "the orthogonal regularisation is part of the biggan network, not 'dcgan'"),
]


@pytest.mark.parametrize("library,preset,sets,key,message", CASES,
                         ids=[f"{c[1]}:{','.join(c[2])}" for c in CASES])
def test_library_and_command_refuse_alike(library, preset, sets, key, message, tmp_path,
                                          capsys):
    keras.backend.clear_session()
    with pytest.raises(OptionError) as err:
        library()
    assert str(err.value) == message

    argv = ["train", "--preset", preset, "--run-dir", str(tmp_path / "run")]
    for item in sets:
        argv += ["--set", item]
    assert main(argv) == 2
    *notices, error = capsys.readouterr().err.splitlines()
    assert error == f"tfgen: error: config key 'model.{key}': {message}"
    # flat keys of earlier configs are read into the ingredient sections, with a notice
    assert all(n.startswith("tfgen: config: old flat keys read into") for n in notices)
    assert not (tmp_path / "run").exists()  # refused before anything was written
