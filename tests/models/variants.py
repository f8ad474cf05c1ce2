"""One table of model variants (`VARIANTS`) and the invariants every variant keeps
(`check_variant`), as keras-hub's `run_backbone_test` checks every backbone alike:

- "replicas": 4 steps on one device and on two mirrored replicas (the global batch split)
  give the same weights and the same logged (global) values;
- "xla": the XLA-compiled step runs, agrees with the plain one where noise plays no part (XLA
  draws other numbers for runtime seeds), counts its steps and trains;
- "bf16": a mixed_bfloat16 step from the same weights gives the float32 step's logged values
  to bfloat16's precision, with float32 variables and samples;
- "save": `model.keras` round trip: the same class, weights and seeded samples;
- "resume": the training state (`training_state()`, what the trainer checkpoints) written after
  2 steps and read into a fresh model continues bit for bit as the uninterrupted model does.

A new model part adds a row here; its own tests then check only what is its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from tests.models.helpers import (
    arae,
    chorales,
    deep_vae,
    digits,
    dtype_policy,
    sequence_vae,
    srnn,
    text_batches,
    text_vae,
    tiny_data,
    tiny_gan,
    weights_of,
)
from tfgen.distribute import resolve_strategy

CHECKS = ("replicas", "xla", "bf16", "save", "resume")


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    build: Callable  # build(weights=None, **compile_kwargs) -> a compiled model
    data: Callable  # data(strategy=None) -> its training batches
    checks: tuple[str, ...] = CHECKS
    # checks run with -m slow only: long XLA compiles, and what a quicker row of the same
    # check already covers (CI's quick tier keeps one row per check and model family; CI's
    # 20 minutes cannot hold every row)
    slow: tuple[str, ...] = ()
    noise_free: tuple[str, ...] = ()  # logs of a first step that no random draw enters
    replica_atol: float = 1e-5  # weights after 4 steps, one device vs two replicas


def _gan(kind, n_critic=1, conditional=False, **options):
    compile_kwargs = options.pop("compile_kwargs", {})

    def build(weights=None, **extra):
        # Adam's epsilon well above float32 rounding: a gradient that cancels to ~1e-7 (the
        # critic's first layer under the gradient penalty) moves a weight by lr * g / (|g| + eps),
        # so at Keras's 1e-7 another summation order (another CPU's kernels, a split batch)
        # moved weights by 1e-4 in 4 steps; at 1e-4 the same 1e-8 of rounding moves them by 1e-8.
        optimizers = {name: keras.optimizers.Adam(1e-3, beta_1=0.5, epsilon=1e-4)
                      for name in ("g_optimizer", "d_optimizer")}
        return tiny_gan(kind, conditional=conditional, weights=weights,
                        compile_kwargs={**optimizers, **compile_kwargs, **extra}, **options)

    def data(strategy=None):
        return tiny_data(kind, 16 * n_critic, conditional, strategy=strategy)

    return build, data


def _vae(**options):
    def build(weights=None, **extra):
        return deep_vae(weights=weights, **options, **extra)

    def data(strategy=None):
        return digits(32, strategy)

    return build, data


# The GAN's regularisers together, on augmented reals (ADA's target below -1: p only rises).
REGULARIZED = dict(regularizers=[{"name": "r1", "gamma": 0.5}, {"name": "lecam", "weight": 0.3},
                                 {"name": "consistency", "weight": 1.0},
                                 {"name": "top_k", "fraction": 0.5, "period": 2}])

VARIANTS = [
    Variant("gan-mlp-gp-ncritic2-ema",
            *_gan("mlp", n_critic=2, ema_decay=0.9,
                  compile_kwargs={"n_critic": 2, "regularizers": ["gradient_penalty"]}),
            checks=("replicas", "xla", "save", "resume")),
    Variant("gan-mlp-pac4-r1",
            *_gan("mlp", pac=4, compile_kwargs={"regularizers": [{"name": "r1", "gamma": 1.0}]}),
            checks=("replicas", "xla", "save", "resume"), noise_free=("d_real",),
            slow=("xla",)),
    Variant("gan-mlp-r1-r2", *_gan("mlp", compile_kwargs={"regularizers": ["r1", "r2"]}),
            checks=("replicas", "xla", "save", "resume"), noise_free=("d_real",),
            slow=("xla",)),
    Variant("gan-dcgan-conditional-diffaugment-lazy-r1-hinge",
            *_gan("dcgan", conditional=True, augment="color,translation,cutout",
                  compile_kwargs={"objective": "hinge",
                                  "regularizers": [{"name": "r1", "gamma": 0.5,
                                                    "interval": 2}]}),
            slow=("xla", "bf16", "save", "resume")),  # XLA: 25-40 s to compile
    Variant("gan-dcgan-ada-r1-lecam-bcr-topk",
            *_gan("dcgan", augment={"name": "ada", "ops": "blit,geom,color,cutout",
                                    "kimg": 0.05, "interval": 2, "target": -2.0},
                  compile_kwargs=REGULARIZED),
            slow=CHECKS),  # XLA: 35-60 s to compile; replicas 33 s
    Variant("gan-biggan-conditional-hinge",
            *_gan("biggan", conditional=True, compile_kwargs={"objective": "hinge"}),
            checks=("replicas", "xla", "save", "resume"),
            slow=("replicas", "xla", "save", "resume")),  # 40-80 s to compile; replicas 34 s
    # audio: 1-D transposed convolutions, phase shuffle keyed by each clip, WGAN-GP, projection
    Variant("wavegan-conditional-wgan-gp-phase-shuffle",
            *_gan("wavegan", conditional=True,
                  compile_kwargs={"objective": "wasserstein", "regularizers": [
                      "gradient_penalty"]}),
            slow=("xla", "bf16")),
    Variant("vae-mlp-linear-warmup", *_vae(kl_schedule="linear", warmup_steps=3),
            checks=("replicas", "xla", "save", "resume")),  # bf16: test_precision's likelihoods
    Variant("vae-vamp-two-layers-iaf-iwae-ema",
            *_vae(prior="vamp", layers=2, flow=2, iw_samples=2, ema_decay=0.9),
            slow=("xla", "save", "resume")),
    Variant("vae-two-layers-dreg-dropout",
            *_vae(layers=2, iw_samples=3, estimator="dreg", dropout=0.2),
            checks=("replicas", "xla", "save", "resume"),
            slow=("replicas", "xla", "save", "resume")),  # XLA: ~20 s to compile
    # dropout masks on the examples' rows, the IWAE draws' rows and the pseudo-inputs; a weight
    # whose gradient nearly cancels may differ more across replicas, as Adam's m/sqrt(v)
    # magnifies the two sums' different rounding (one of 9,984 by 1.9e-5)
    # piano-rolls: masked BiLSTM encoder, conductor decoder, NADE frames, frame dropout, on
    # batches cut to the global batch's longest chorale
    Variant("sequence-vae-conductor-nade-frame-dropout",
            lambda weights=None, **extra: sequence_vae(weights=weights, **extra),
            lambda strategy=None: chorales(8, strategy), slow=("xla", "bf16")),
    # a latent per frame: the recurrence over z_t (tf.scan) inside the step, IWAE over paths
    Variant("srnn-nade-iwae-dropout",
            lambda weights=None, **extra: srnn(weights=weights, likelihood={
                "name": "nade", "hidden": 4}, iw_samples=2, **extra),
            lambda strategy=None: chorales(8, strategy), slow=CHECKS),
    # tokens: embeddings, word dropout (previous tokens shown as [UNK]), softmax over the
    # vocabulary, sentences cut to their batch's longest
    Variant("text-vae-word-dropout-cyclical",
            lambda weights=None, **extra: text_vae(weights=weights, **{
                "kl_schedule": "cyclical", "cycle_steps": 4, **extra}),
            lambda strategy=None: text_batches(8, strategy),
            slow=("replicas", "xla", "bf16")),  # replicas of tokens: the ARAE row's
    # the Transformer decoder (causal attention, z as a prefix) and a KL capacity
    Variant("text-vae-transformer-capacity",
            lambda weights=None, **extra: text_vae(weights=weights, decoder="transformer", **{
                "kl_capacity": 2.0, "capacity_steps": 4, **extra}),
            lambda strategy=None: text_batches(8, strategy), slow=("bf16",)),
    # a GAN over the codes of a text autoencoder: the critic's steps on the encoder's codes,
    # the autoencoder's step (word dropout, code noise, the critic's loss into the encoder)
    Variant("text-arae-wgan-gp-word-dropout",
            lambda weights=None, **extra: arae(weights=weights, **extra),
            lambda strategy=None: text_batches(16, strategy), slow=("xla", "bf16")),
    Variant("vae-vamp-two-layers-conv-dropout-iwae",
            *_vae(prior="vamp", layers=2, conv=True, dropout=0.3, iw_samples=2),
            checks=("replicas", "bf16", "resume"), slow=("replicas", "bf16", "resume"),
            replica_atol=1e-4),
]


def cases(*checks: str) -> list:
    """`pytest.param`s of the variants that run any of `checks`, marked slow where every one of
    them they run is slow for them."""
    import pytest

    out = []
    for v in VARIANTS:
        run = [c for c in checks if c in v.checks]
        if run:
            slow = all(c in v.slow for c in run)
            out.append(pytest.param(v, id=v.name, marks=[pytest.mark.slow] if slow else []))
    return out


def _fit(model, ds, steps):
    history = model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return {k: float(np.ravel(v[-1])[0]) for k, v in history.history.items()}


def _sample(model, n=6):
    labels = list(range(n)) if model.conditional else None
    return keras.ops.convert_to_numpy(model.sample(n, seed=3, labels=labels))


def check_variant(v: Variant, checks: tuple[str, ...] = CHECKS, tmp_path=None) -> None:
    """Run `checks` (of `CHECKS`) on variant `v`; "save" and "resume" share one trained model."""
    unknown = set(checks) - set(CHECKS)
    assert not unknown, f"unknown checks {sorted(unknown)}; the checks: {CHECKS}"
    for check in ("replicas", "xla", "bf16"):
        if check in checks:
            keras.backend.clear_session()
            {"replicas": _replicas, "xla": _xla, "bf16": _bf16}[check](v)
    if {"save", "resume"} & set(checks):
        keras.backend.clear_session()
        _save_and_resume(v, tmp_path, save="save" in checks, resume="resume" in checks)


def _replicas(v):
    single = v.build()
    initial = weights_of(single)
    logs_1 = _fit(single, v.data(), 4)
    strategy = resolve_strategy("mirrored")
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        mirrored = v.build(weights=initial)
    logs_2 = _fit(mirrored, v.data(strategy), 4)
    diffs = []
    for a, b, w in zip(weights_of(single), weights_of(mirrored), single.weights, strict=True):
        np.testing.assert_allclose(a, b, atol=v.replica_atol, rtol=0, err_msg=w.path)
        diffs.append(np.abs(a - b).ravel())
    assert (np.concatenate(diffs) > 1e-6).mean() < 1e-3  # all but a few to float rounding
    for key in logs_1:  # logged values are global: what a single device reports
        np.testing.assert_allclose(logs_2[key], logs_1[key], rtol=1e-4, atol=1e-5, err_msg=key)
    assert not all(np.array_equal(a, b) for a, b in zip(initial, weights_of(single)))


def _xla(v):
    plain = v.build()
    initial = weights_of(plain)
    want = _fit(plain, v.data(), 1)
    xla = v.build(weights=initial, jit_compile=True)
    got = _fit(xla, v.data(), 1)
    assert xla.jit_compile is True
    for key in v.noise_free:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, err_msg=key)
    logs = _fit(xla, v.data(), 3)
    assert all(np.isfinite(x) for x in logs.values()), logs
    assert int(xla.step.numpy()) == 4
    assert not all(np.array_equal(a, b) for a, b in zip(initial, weights_of(xla)))


def _bf16(v):
    reference = v.build()
    initial = weights_of(reference)
    want = _fit(reference, v.data(), 1)
    with dtype_policy("mixed_bfloat16"):
        model = v.build(weights=initial)
        got = _fit(model, v.data(), 1)
        assert all(w.dtype == "float32" for w in model.trainable_weights)
        assert _sample(model).dtype == np.float32
    for key in want:  # bfloat16's 8-bit mantissa: 3%
        np.testing.assert_allclose(got[key], want[key], rtol=0.03, atol=0.02, err_msg=key)


def _own_config(model) -> dict:
    """The model's config without its networks' (whose layer configs Keras rewrites on load)."""
    return {k: c for k, c in model.get_config().items()
            if not (isinstance(c, dict) and "class_name" in c)}


def _save_and_resume(v, tmp_path, save: bool, resume: bool):
    model = v.build()
    _fit(model, v.data(), 2)
    if save:
        model.save(tmp_path / "model.keras")
        loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
        assert type(loaded) is type(model)
        assert _own_config(loaded) == _own_config(model)
        assert loaded.get_compile_config() == model.get_compile_config()  # its regularisers
        for a, b, w in zip(weights_of(model), weights_of(loaded), model.weights, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=w.path)
        np.testing.assert_array_equal(_sample(loaded), _sample(model))
    if not resume:
        return
    path = tf.train.Checkpoint(**model.training_state()).write(str(tmp_path / "ckpt"))
    _fit(model, v.data(), 2)  # the uninterrupted run's steps 3-4

    fresh = v.build()
    fresh.set_weights([np.asarray(w) + 1 for w in fresh.get_weights()])  # not the saved ones
    tf.train.Checkpoint(**fresh.training_state()).read(path).assert_consumed()
    assert int(fresh.step.numpy()) == 2
    _fit(fresh, v.data(), 2)
    for a, b, w in zip(weights_of(model), weights_of(fresh), model.weights, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=w.path)
    for name, variables in model.training_state().items():
        for a, b in zip(variables, fresh.training_state()[name], strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{name}: {a.path}")
