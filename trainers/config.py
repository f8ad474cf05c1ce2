"""Typed run configuration: dataclasses, YAML round-trip, dotted `--set` overrides, validation.

A config is a tree of dataclasses. Each field declares its type and, through `param`, its valid
range or choices and a one-line help. Sources are applied in a fixed order -- a named preset,
then a YAML file, then `key.sub=value` overrides -- and the result is validated before any work
starts. Every mistake is a `ConfigError` whose message is one line naming the key and what is
valid.

Example:

>>> cfg = RunConfig()
>>> cfg = apply_overrides(cfg, ["batch_size=128", "data.name=ring8"])
>>> cfg.batch_size, cfg.data.name
(128, 'ring8')
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import types
import typing
from typing import Any, ClassVar, Literal, get_args, get_origin, get_type_hints

import yaml

from tfgen import modalities, rules
from tfgen.data.names import kind as data_kind
from tfgen.data.options import DataOptions
from tfgen.errors import ConfigError, OptionError
from tfgen.ingredients import REGISTRY, Facts
from tfgen.options import Registry, did_you_mean, param, problem
from tfgen.trainers import sections

# Choice lists come from the library's registries: what a config accepts is what exists. They
# are read when a value is first checked, so that defining, building and listing configs
# (`tfgen presets`) imports no TensorFlow.
STRATEGIES = Registry("tfgen.distribute.strategies", "STRATEGIES")
PRECISIONS = Registry("tfgen.distribute.precision", "PRECISIONS")
OPTIMIZERS = Registry("tfgen.models.optimizers", "OPTIMIZERS")
LR_SCHEDULES = Registry("tfgen.models.optimizers", "LR_SCHEDULES")
OBJECTIVES = Registry("tfgen.losses.adversarial", "OBJECTIVES")
GAN_NETWORKS = Registry("tfgen.networks.build", "GAN_NETWORKS")
VAE_NETWORKS = Registry("tfgen.networks.build", "VAE_NETWORKS")
KL_SCHEDULES, ESTIMATORS = rules.KL_SCHEDULES, rules.ESTIMATORS


def ingredients_param(kind: str, many: bool = False, default=None, help: str = ""):
    """A config field holding the library's ingredient(s) of `kind` as their config dicts
    (`tfgen.trainers.sections`): one (`{name: ..., options}`, {} for none) or, `many`, a
    mapping name -> options."""
    names = ", ".join(REGISTRY[kind])
    return dataclasses.field(
        default_factory=lambda: dict(default or {}),
        metadata={"help": f"{help} ({names}; options: tfgen ingredients)", "ingredients": kind,
                  "many": many})


class _Loader(yaml.SafeLoader):
    """YAML with YAML 1.2's booleans: only true/false. (YAML 1.1 also reads yes/no/on/off/y/n,
    so `training.deterministic=yes` would pass silently; here it is refused as a string.)"""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                              re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _yaml(text_or_stream):
    return yaml.load(text_or_stream, Loader=_Loader)


_EXPONENT_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")








@dataclasses.dataclass
class EvaluationConfig:
    """Evaluation during training -- model selection and convergence stopping on a quality
    metric -- and the size of the end-of-run stages."""

    every: int = param(0, min=0, help="evaluate every N epochs during training (0: off)")
    metric: str = param(
        "", choices=Registry("tfgen.metrics.evaluation", "DIRECTIONS", first=("",)),
        help="metric to select the best epoch and stop on ('': reverse_kl for 2-D mixtures, "
        "nll for VAEs, frechet_distance for image GANs)",
    )
    split: str = param("val", help="reference split (test where the data have no val split)")
    num: int | None = param(None, min=2, help="generated samples per evaluation (None: default)")
    patience: int | None = param(
        None, min=1, help="stop after N evaluations without improvement (None: never)")
    target: float | None = param(None, help="stop once the metric reaches this value")
    features: str | None = param(None, help="Keras feature model file (None: tfgen's classifier)")
    stop_on_collapse: bool = param(
        False, help="fail the run when an evaluation shows mode collapse (one class or mode)")
    final_examples: int | None = param(
        None, min=1, help="end of run: the ex-post fit and the test NLL, ELBO and active units "
        "use at most N examples of their split (None: as many as the run trained on, at least "
        "1000; tfgen evaluate uses the whole split)")


@dataclasses.dataclass
class RunConfig:
    """Keys every preset accepts. Model families extend it with their own sections."""

    family: ClassVar[str | None] = None  # set by each family's config class

    preset: str = param("", help="name of the preset this config was built from")
    epochs: int = param(10, min=1, help="number of epochs")
    steps_per_epoch: int | None = param(
        None, min=1, help="training steps per epoch (None: one pass over the training split)"
    )
    batch_size: int = param(64, min=1, help="global batch size, split across replicas")
    seed: int = param(0, min=0, max=2**31 - 1, help="seed for data order, noise and weights")
    strategy: str = param("auto", choices=STRATEGIES, help="tf.distribute strategy")
    tpu: str | None = param(None, help="TPU name or address (default: $TPU_NAME)")
    data: DataOptions = param(default_factory=DataOptions, help="training data")
    evaluation: EvaluationConfig = param(
        default_factory=EvaluationConfig, help="evaluation during training")


# ---------------------------------------------------------------------------------------------
# Conversion between dicts and configs


def to_dict(cfg: Any) -> dict:
    """The config as plain Python data (dicts, lists, scalars), ready for YAML."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return plain(cfg)


def _type_name(tp: Any) -> str:
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is bool:
        return "true or false"
    if tp is str:
        return "a string"
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(map(str, get_args(tp)))
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    if get_origin(tp) in (list, tuple):
        return "a list"
    if tp is dict or get_origin(tp) is dict:
        return "a mapping"
    return str(tp)


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check `value` against the annotation `tp`; return it converted (int -> float, list -> tuple)."""
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = get_args(tp)
        if value is None:
            if type(None) in options:
                return None
            raise ConfigError(f"config key '{key}': must not be null")
        inner = [t for t in options if t is not type(None)]
        if len(inner) == 1:
            return _coerce(value, inner[0], key)
        for t in inner:
            try:
                return _coerce(value, t, key)
            except ConfigError:
                pass
        raise ConfigError(f"config key '{key}': got {_describe(value)}")
    if value is None:
        raise ConfigError(f"config key '{key}': expected {_type_name(tp)}, got null")
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and _EXPONENT_NUMBER.match(value.strip()):
            return float(value)  # YAML 1.1 reads 1e-3 (no dot) as a string
    elif tp is str:
        if isinstance(value, str):
            return value
    elif origin is Literal:
        if value in get_args(tp):
            return value
    elif origin in (list, tuple):
        if isinstance(value, (list, tuple)):
            args = [a for a in get_args(tp) if a is not Ellipsis]
            elem = args[0] if args else Any
            items = [
                v if elem is Any else _coerce(v, elem, f"{key}[{i}]") for i, v in enumerate(value)
            ]
            return tuple(items) if origin is tuple else items
    elif tp is dict or origin is dict:
        if isinstance(value, dict):
            return dict(value)
    elif dataclasses.is_dataclass(tp):
        raise AssertionError("nested configs are merged by _merge")
    else:
        raise AssertionError(f"unsupported config type {tp!r} for '{key}'")
    raise ConfigError(f"config key '{key}': expected {_type_name(tp)}, got {_describe(value)}")


def _merge(cfg: Any, updates: dict, prefix: str = "") -> Any:
    """Return a copy of `cfg` with `updates` (a nested dict) applied and type-checked."""
    if not isinstance(updates, dict):
        where = f"'{prefix[:-1]}'" if prefix else "the config"
        raise ConfigError(f"{where} must be a mapping of keys to values, got {_describe(updates)}")
    cfg = copy.deepcopy(cfg)
    if hasattr(cfg, "migrate"):  # flat keys of earlier configs
        updates = cfg.migrate(updates, prefix)
    hints = get_type_hints(type(cfg))
    fields = {f.name: f for f in dataclasses.fields(cfg)}
    for name, value in updates.items():
        key = f"{prefix}{name}"
        if name not in fields:
            where = f" under '{prefix[:-1]}'" if prefix else ""
            raise ConfigError(
                f"unknown config key '{key}'{did_you_mean(name, fields)}; valid keys{where}: "
                f"{', '.join(fields)}"
            )
        current = getattr(cfg, name)
        kind = fields[name].metadata.get("ingredients")
        if dataclasses.is_dataclass(current):
            setattr(cfg, name, _merge(current, value, prefix=f"{key}."))
        elif kind is not None:
            setattr(cfg, name, sections.merge(current, value, key, kind,
                                              fields[name].metadata["many"]))
        else:
            setattr(cfg, name, _coerce(value, hints[name], key))
    return cfg


def validate(cfg: Any, prefix: str = "") -> Any:
    """Check ranges, choices and each section's own `validate(prefix)` rule; return `cfg`."""
    hints = get_type_hints(type(cfg))
    for f in dataclasses.fields(cfg):
        key = f"{prefix}{f.name}"
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            validate(value, prefix=f"{key}.")
            continue
        value = _coerce(value, hints[f.name], key)
        why = problem(value, f.metadata)
        if why is not None:
            raise ConfigError(f"config key '{key}': {why}")
    if hasattr(cfg, "validate"):
        cfg.validate(prefix)
    return cfg


def apply_dict(cfg: Any, updates: dict) -> Any:
    """`cfg` with a nested dict of updates (e.g. a parsed YAML file) applied."""
    return _merge(cfg, updates)


def nest(key: str, value: Any) -> dict:
    """'data.name', 'ring8' -> {'data': {'name': 'ring8'}}."""
    nested: dict = {}
    node = nested
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return nested


def apply_dotted(cfg: Any, values: dict[str, Any]) -> Any:
    """`cfg` with `{'dotted.key': value}` applied in order (values already parsed)."""
    for key, value in values.items():
        cfg = _merge(cfg, nest(key, value))
    return cfg


def parse_override(text: str) -> dict:
    """'data.name=ring8' -> {'data': {'name': 'ring8'}}; the value is parsed as YAML."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {text!r} must look like key=value or section.key=value")
    try:
        value = _yaml(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return nest(key, value)


def apply_overrides(cfg: Any, overrides: list[str] | tuple[str, ...]) -> Any:
    """`cfg` with `--set`-style `dotted.key=value` overrides applied in order."""
    for text in overrides:
        cfg = _merge(cfg, parse_override(text))
    return cfg


def load_yaml(path: str | os.PathLike) -> dict:
    """Read a YAML config file into a dict, with one-line errors for missing or malformed files."""
    from tfgen import fileio

    if fileio.is_remote(path) and not fileio.exists(path):
        raise ConfigError(f"config file not found: {path}")
    try:
        with fileio.open(path, "r", encoding="utf-8") as fh:
            data = _yaml(fh.read())
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file is a directory: {path}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not text (YAML expected)") from None
    except OSError as err:
        raise ConfigError(f"config file {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise ConfigError(f"config file {path}{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys, got {type(data).__name__}")
    return data


def dump_yaml(cfg: Any, path: str | os.PathLike) -> None:
    """Write the resolved config (atomically), its `family` first; `load_yaml` + `apply_dict`
    (without the family) reads it back to an equal config."""
    values = to_dict(cfg)
    if cfg.family:
        values = {"family": cfg.family, **values}
    from tfgen import fileio

    with fileio.atomic(path) as tmp, fileio.open(tmp, "w", encoding="utf-8") as fh:
        fh.write(yaml.safe_dump(values, sort_keys=False, default_flow_style=False))


def describe_fields(cfg: Any, prefix: str = "") -> list[tuple[str, Any, str]]:
    """(dotted key, value, help) for every leaf of the config, for `tfgen presets --show`."""
    rows = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            rows.extend(describe_fields(value, prefix=f"{prefix}{f.name}."))
        elif f.metadata.get("ingredients") and value:  # one row per option, as --set takes it
            nested = value if f.metadata["many"] else {None: value}
            for name, options in nested.items():
                key = f"{prefix}{f.name}" + ("" if name is None else f".{name}")
                helps = sections.option_help(f.metadata["ingredients"],
                                             options.get("name", name))
                rows.extend([(f"{key}.{k}", v, helps.get(k, f.metadata["help"]))
                             for k, v in options.items()] or [(key, {}, f.metadata["help"])])
        else:
            rows.append((f"{prefix}{f.name}", value, f.metadata.get("help", "")))
    return rows


# ---------------------------------------------------------------------------------------------
# Training sections shared by the model families


@dataclasses.dataclass
class OptimizerConfig:
    """One player's optimizer."""

    name: str = param("adam", choices=OPTIMIZERS, help="optimizer")
    learning_rate: float = param(2e-4, gt=0.0, max=10.0, help="learning rate")
    beta_1: float = param(0.5, min=0.0, max=0.9999, help="Adam beta_1 / SGD momentum")
    beta_2: float = param(0.999, min=0.0, max=0.99999, help="Adam beta_2")
    weight_decay: float = param(0.0, min=0.0, help="decoupled weight decay (adamw)")
    clipnorm: float | None = param(
        None, gt=0.0, help="clip each step's gradients to this global norm (None: off)")
    schedule: str = param(
        "constant", choices=LR_SCHEDULES,
        help="learning rate schedule: constant, or linear decay to 0 over the whole run",
    )


@dataclasses.dataclass
class TrainingConfig:
    """How steps run: precision, compilation, determinism, checkpoints and logging."""

    precision: str = param(
        "float32", choices=PRECISIONS,
        help="dtype policy; auto: mixed_bfloat16 on TPUs, GPUs of compute capability >= 8.0 "
        "and CPUs with AMX, else float32",
    )
    jit_compile: bool | None = param(
        None, help="XLA-compile the train step (None: on for one GPU; TPUs always compile)"
    )
    steps_per_execution: int | None = param(
        None, min=1, help="train steps per tf.function call (None: 1 on CPU, ~32 on GPU/TPU); "
        "an epoch is rounded up to whole executions")
    deterministic: bool = param(
        False, help="op determinism (bit-identical reruns and resumes); on a CPU-only host "
        "also single-threaded ops"
    )
    checkpoint_every: int = param(1, min=1, help="write a checkpoint every N epochs")
    sample_every: int = param(1, min=1, help="log sample images every N epochs")
    num_samples: int = param(64, min=1, max=1024, help="samples in the fixed-noise grid")


def _check_conditional(cfg, prefix: str) -> None:
    """A conditional model (GAN or VAE) needs labelled data."""
    if cfg.model.conditional and not cfg.data.labels:
        raise ConfigError(
            f"config key '{prefix}model.conditional': needs data.labels=true (a labelled dataset)"
        )


@dataclasses.dataclass
class GANModelConfig:
    """Generator, discriminator and adversarial objective."""

    network: str = param("dcgan", choices=GAN_NETWORKS, help="architecture")
    latent_dim: int = param(64, min=1, help="size of the latent vector")
    width: int = param(64, min=1, help="hidden units (mlp) or base channels (conv)")
    depth: int = param(3, min=1, max=16, help="hidden layers (mlp)")
    objective: str = param(
        "non_saturating",
        choices=OBJECTIVES,
        help="adversarial loss",
    )
    regularizers: dict = ingredients_param(
        "regularizer", many=True, help="the discriminator's and generator's regularisers by "
        "name, each with its options, e.g. {r1: {gamma: 1.0}, lecam: {weight: 0.3}}")
    spectral_norm: bool = param(False, help="spectral normalisation in the discriminator")
    orthogonal: float = param(
        0.0, min=0.0, help="biggan: generator's orthogonal regularisation beta (0: off; 1e-4)")
    binary: bool = param(
        False, help="pianoroll: the generator's notes are binary neurons (straight-through "
        "estimator, BinaryMuseGAN), so the discriminator sees 0/1 rolls as the real ones are")
    n_critic: int = param(1, min=1, max=100, help="discriminator steps per generator step")
    ema_decay: float | None = param(
        None, min=0.0, max=0.99999, help="EMA of generator weights (None: off)"
    )
    augment: dict = ingredients_param(
        "augmentation", help="augmentation of everything D sees, e.g. {name: diffaugment, "
        "policies: translation,cutout} or {name: ada, ops: blit,geom,color} ({}: none)")
    conditional: bool = param(False, help="class-conditional generator and discriminator")
    pac: int = param(1, min=1, max=16, help="PacGAN: samples the discriminator judges jointly")
    code_dim: int = param(128, min=1, help="arae: size of the autoencoder's code, which the "
                          "generator makes and the discriminator judges")
    autoencoder_width: int = param(256, min=1, help="arae: the decoder LSTM's units (the "
                                   "BiLSTM encoder's: half each way)")
    embedding_dim: int = param(128, min=1, help="arae: size of the token embeddings")
    code_noise: float = param(0.1, min=0.0, help="arae: std of the noise on codes the "
                              "decoder reconstructs")
    encoder_weight: float = param(0.1, min=0.0, help="arae: weight of the critic's loss in "
                                  "the encoder's (the adversarial regularisation)")

    phase_shuffle: int = param(2, min=0, max=16, help="wavegan: the discriminator's phase "
                               "shuffle (samples each way; 0: off)")

    ARAE_KEYS: ClassVar[tuple[str, ...]] = ("code_dim", "autoencoder_width", "embedding_dim",
                                            "code_noise", "encoder_weight")

    def migrate(self, updates: dict, prefix: str) -> dict:
        return sections.migrate_gan(self, updates, prefix)

    def ingredients(self, top_k_period: int = 1, prefix: str = "model."):
        """(augmentation or None, [regularisers]): the library's ingredients of the sections;
        `top_k_period`: steps per epoch (top-k's period unless its section sets one)."""
        return (sections.build(self.augment, f"{prefix}augment", "augmentation", many=False),
                sections.build(self.regularizers, f"{prefix}regularizers", "regularizer",
                               many=True, period=top_k_period))


def _option_error(prefix: str, err: OptionError) -> ConfigError:
    """The `ConfigError` of the config key that set the option an `OptionError` names."""
    return ConfigError(f"config key '{prefix}{err.key}': {err}")


@dataclasses.dataclass
class GANConfig(RunConfig):
    """A GAN run."""

    family: ClassVar[str] = "gan"  # the entry of tfgen.trainers.families.FAMILIES

    model: GANModelConfig = param(default_factory=GANModelConfig, help="the GAN")
    g_optimizer: OptimizerConfig = param(default_factory=OptimizerConfig, help="generator")
    d_optimizer: OptimizerConfig = param(default_factory=OptimizerConfig, help="discriminator")
    ae_optimizer: OptimizerConfig = param(default_factory=OptimizerConfig,
                                          help="arae: the autoencoder (encoder and decoder)")
    training: TrainingConfig = param(default_factory=TrainingConfig, help="how steps run")

    def validate(self, prefix: str) -> None:
        """The library's own rules (`tfgen.rules`, and each ingredient's `check`) on the
        config's values, with the data's kind and pixel range."""
        m, where = self.model, f"{prefix}model."
        try:
            rules.check_pac(m.pac, m.conditional)
            rules.check_orthogonal(m.network, m.orthogonal)
        except OptionError as err:
            raise _option_error(where, err) from None
        augment, regularizers = m.ingredients(prefix=where)
        facts = Facts(conditional=m.conditional,
                      images=modalities.get(data_kind(self.data.name)).images,
                      objective=m.objective, pixel_range=self.data.pixel_range)
        for ingredient in filter(None, (augment, *regularizers)):
            key = where + ("augment" if ingredient is augment
                           else f"regularizers.{ingredient.name}")
            try:
                ingredient.check(facts)
            except OptionError as err:
                raise sections.option_error(key, err) from None
        _check_gan_modality(self, where)
        if self.batch_size % self.model.pac:
            raise ConfigError(
                f"config key '{prefix}batch_size': {self.batch_size} is not a multiple of "
                f"model.pac={self.model.pac}"
            )
        _check_conditional(self, prefix)


@dataclasses.dataclass
class VAEModelConfig:
    """Encoder, decoder, likelihood and the training bound."""

    network: str = param("mlp", choices=VAE_NETWORKS, help="architecture (lstm, conductor, srnn: "
                         "sequence networks for piano-rolls; srnn: a latent per frame; text: "
                         "lstm or transformer, the decoder)")
    latent_dim: int = param(16, min=1, help="size of z")
    width: int = param(256, min=1, help="hidden units (mlp), base channels (conv), the "
                       "decoder LSTM's units (lstm, conductor) or the SRNN's GRU and MLP units")
    depth: int = param(2, min=1, max=16, help="hidden layers (mlp), blocks (transformer)")
    likelihood: dict = ingredients_param(
        "likelihood", default={"name": "bernoulli"}, help="decoder likelihood p(x|z), e.g. "
        "{name: categorical, levels: 17} or {name: discretized_logistic, levels: 256}")
    kl_weight: float = param(1.0, min=0.0, help="beta of the beta-VAE")
    kl_schedule: str = param(
        "constant", choices=KL_SCHEDULES, help="KL weight schedule"
    )
    warmup_steps: int = param(0, min=0, help="linear KL warm-up length (steps)")
    cycle_steps: int = param(0, min=0, help="cyclical KL schedule: cycle length (steps)")
    free_bits: float = param(0.0, min=0.0, help="free bits per latent dimension (nats)")
    kl_capacity: float = param(0.0, min=0.0, help="KL capacity C (nats): the KL term becomes "
                               "|KL - C_t| (Burgess et al. 2018); an alternative to free bits")
    capacity_steps: int = param(0, min=0, help="the KL capacity's linear rise from 0 (steps)")
    iw_samples: int = param(1, min=1, max=1000, help="importance samples (K > 1: IWAE bound)")
    conditional: bool = param(False, help="conditional VAE: labels to encoder and decoder")
    dropout: float = param(0.0, min=0.0, max=0.9,
                           help="dropout after each hidden layer (mlp), activation (conv) or "
                           "on the decoder LSTM's outputs (lstm, conductor; srnn: the emission's)")
    frame_dropout: float = param(
        0.0, min=0.0, max=0.9, help="lstm/conductor/srnn: probability of hiding a previous frame "
        "from the decoder in training (word dropout for piano-rolls, against posterior collapse)")
    encoder_width: int | None = param(
        None, min=1, help="lstm/conductor: units of the encoder's LSTM each way (None: width/2); srnn: "
        "the backward inference GRU's (None: width)")
    sample_frames: int = param(64, min=1, max=4096,
                               help="lstm/conductor/srnn: frames of each generated piece "
                               "(text: the data's max_length)")
    embedding_dim: int = param(256, min=1, help="text: size of the token embeddings")
    heads: int = param(4, min=1, max=64, help="transformer: attention heads (width a multiple "
                       "of them; depth: its blocks)")
    eval_samples: int = param(1000, min=1, help="importance samples K of the final test NLL")
    expost_components: int = param(
        0, min=0, max=256,
        help="fit a K-component Gaussian mixture on the training codes after training "
        "(ex-post sampling: tfgen sample --sampler expost; 0: off)")
    prior: dict = ingredients_param(
        "prior", default={"name": "normal"}, help="prior of the top latent layer, e.g. "
        "{name: vamp, pseudo_inputs: 100} (VampPrior) or normal, N(0, I)")
    top_latent_dim: int = param(
        0, min=0, help="a second stochastic layer z2 of this size (0: one layer)")
    top_width: int = param(100, min=1, help="two layers: hidden units of q(z2|z1), p(z1|z2)")
    flow_steps: int = param(0, min=0, max=16,
                            help="IAF steps on the posterior (0: a Gaussian posterior)")
    flow_width: int = param(64, min=1, help="IAF: hidden units of each MADE step")
    flow_context: int = param(16, min=0, help="IAF: context values the encoder passes the flow")
    estimator: str = param("standard", choices=ESTIMATORS,
                           help="encoder gradient: standard or dreg (doubly reparameterised, "
                           "IWAE training)")
    ema_decay: float | None = param(
        None, min=0.0, max=0.99999,
        help="EMA of all the VAE's weights, used for validation, evaluation and sampling "
        "(None: off)")


    def migrate(self, updates: dict, prefix: str) -> dict:
        return sections.migrate_vae(self, updates, prefix)

    def prior_object(self, prefix: str = "model."):
        """The library's prior (`tfgen.ingredients`) of the `prior` section."""
        return sections.build(self.prior, f"{prefix}prior", "prior", many=False)

    def likelihood_object(self, prefix: str = "model."):
        """The library's likelihood (`tfgen.ingredients`) of the `likelihood` section."""
        return sections.build(self.likelihood, f"{prefix}likelihood", "likelihood", many=False)


@dataclasses.dataclass
class VAEConfig(RunConfig):
    """A VAE run. With a validation split, the best epoch by validation ELBO is kept."""

    family: ClassVar[str] = "vae"

    model: VAEModelConfig = param(default_factory=VAEModelConfig, help="the VAE")
    optimizer: OptimizerConfig = param(
        default_factory=lambda: OptimizerConfig(learning_rate=1e-3, beta_1=0.9), help="optimizer"
    )
    training: TrainingConfig = param(default_factory=TrainingConfig, help="how steps run")
    patience: int | None = param(
        None, min=1, help="early stopping: epochs without a better validation ELBO (None: off)"
    )

    def validate(self, prefix: str) -> None:
        if self.data.pixel_range != "unit" and data_kind(self.data.name) != "text":
            raise ConfigError(
                f"config key '{prefix}data.pixel_range': VAE likelihoods need unit ([0, 1]) data"
            )
        _check_conditional(self, prefix)
        m, where = self.model, f"{prefix}model."
        prior = m.prior_object(where)
        if prior is None:
            raise ConfigError(f"config key '{where}prior': a VAE needs a prior (e.g. normal)")
        if m.likelihood_object(where) is None:
            raise ConfigError(f"config key '{where}likelihood': a VAE needs a likelihood (e.g. "
                              "bernoulli)")
        try:
            prior.check(Facts(conditional=m.conditional))
        except OptionError as err:
            raise sections.option_error(f"{where}prior", err) from None
        _check_vae_modality(self, where)
        try:
            rules.check_vae_model(conditional=m.conditional,
                                  expost_components=m.expost_components)
            rules.check_vae_training(
                analytic_kl=prior.name == "normal" and not m.top_latent_dim
                and not m.flow_steps,
                prior=prior.name, flow=bool(m.flow_steps), kl_schedule=m.kl_schedule,
                warmup_steps=m.warmup_steps, cycle_steps=m.cycle_steps, free_bits=m.free_bits,
                iw_samples=m.iw_samples, estimator=m.estimator, kl_capacity=m.kl_capacity,
                capacity_steps=m.capacity_steps)
        except OptionError as err:
            raise _option_error(where, err) from None


SEQUENCE_NETWORKS = Registry("tfgen.networks.build", "SEQUENCE_VAE_NETWORKS")


def _check_vae_modality(cfg: VAEConfig, where: str) -> None:
    """Sequence networks for sequence modalities (piano-rolls, text), each its own, and only
    there; the likelihoods that go with them; what the sequence VAE does not have."""
    m, kind = cfg.model, data_kind(cfg.data.name)
    modality = modalities.get(kind)
    sequence = m.network in SEQUENCE_NETWORKS
    allowed = (m.network in modality.sequence_networks if modality.sequence_networks
               else not sequence)
    if not allowed:
        default = modality.default_networks.get("vae", "mlp")
        raise ConfigError(f"config key '{where}network': {m.network} is not a network for "
                          f"{modality.title} ({cfg.data.name}); use e.g. {default}")
    if kind == "audio" and cfg.data.representation != "spectrogram":
        raise ConfigError(f"config key '{where}network': a VAE on audio trains on spectrogram "
                          "images: set data.representation=spectrogram (a waveform decoder is "
                          "not built)")
    likelihood = m.likelihood_object(where).name
    if (likelihood == "softmax") != (kind == "text"):
        raise ConfigError(f"config key '{where}likelihood': " + (
            "text takes {name: softmax} (over its vocabulary)" if kind == "text" else
            "softmax is the likelihood of text (over a vocabulary)"))
    if not sequence:
        if likelihood == "nade":
            raise ConfigError(f"config key '{where}likelihood': nade is a frame likelihood of "
                              f"the sequence networks ({', '.join(SEQUENCE_NETWORKS)})")
        return
    refused = {"conditional": m.conditional, "top_latent_dim": m.top_latent_dim,
               "flow_steps": m.flow_steps, "expost_components": m.expost_components}
    for key, value in refused.items():
        if value:
            raise ConfigError(f"config key '{where}{key}': the sequence models ({m.network}) "
                              "are unconditional, with one Gaussian layer, no flow and no "
                              "ex-post density")
    if m.prior_object(where).name != "normal":
        raise ConfigError(f"config key '{where}prior': the sequence models take the normal "
                          "prior")
    if m.network == "srnn" and m.estimator != "standard":
        raise ConfigError(f"config key '{where}estimator': the SRNN trains with the standard "
                          "estimator")


def _check_gan_modality(cfg: GANConfig, where: str) -> None:
    """Each modality's GAN networks only (`Modality.gan_networks`: the piano-roll network for
    piano-rolls in fixed windows, the ARAE for text), and the ARAE's keys only with it."""
    m, kind = cfg.model, data_kind(cfg.data.name)
    modality = modalities.get(kind)
    if m.network not in modality.gan_networks:
        default = modality.default_networks.get("gan", "dcgan")
        raise ConfigError(f"config key '{where}network': {m.network} is not a network for "
                          f"{modality.title} ({cfg.data.name}); use e.g. {default}")
    if m.network != "arae":
        defaults = GANModelConfig()
        for key in GANModelConfig.ARAE_KEYS:
            if getattr(m, key) != getattr(defaults, key):
                raise ConfigError(f"config key '{where}{key}' is an option of the text GAN "
                                  f"(model.network=arae), not of {m.network}")
    if kind == "audio":
        try:
            rules.check_audio_gan(m.network, cfg.data.representation)
        except OptionError as err:
            raise _option_error(where, err) from None
    if m.network != "wavegan" and m.phase_shuffle != GANModelConfig().phase_shuffle:
        raise ConfigError(f"config key '{where}phase_shuffle' is an option of WaveGAN "
                          f"(model.network=wavegan), not of {m.network}")
    if kind == "pianoroll" and not cfg.data.window_bars:
        raise ConfigError("config key 'data.window_bars': the piano-roll GAN makes fixed "
                          "windows; set a window length in bars (e.g. 4)")
    if m.binary and kind != "pianoroll":
        raise ConfigError(f"config key '{where}binary': binary neurons are for piano-rolls")
