"""`GenerativeModel`, the base of `GAN` and `VAE`: capabilities, sampling, optimizers and
serialisation here; the rest of what every tfgen model shares by concern, as Keras splits
`Model` from its trainers, in mixins of their own modules:

- `noise.StatelessNoise`: seeded per-replica randomness, the networks' dropout masks bound to it;
- `averaging.WeightAveraging`: the EMA of the weights, and the context that swaps it in;
- `reductions.Reductions`: losses over the global batch, global logs, the non-finite record;
- `multiworker.MultiWorkerSteps`: train and test functions under MultiWorkerMirroredStrategy.

Distribution contract (the same for GANs and VAEs):
- A train step sees the replica's slice of the global batch. Per-example losses are summed over
  the slice and divided by the *global* batch size; `apply_gradients` sums the gradients over
  replicas, so N replicas apply exactly the gradient one device would.
- Randomness is stateless and named: the draw of stream `name` ("generator/noise",
  "discriminator/<k>/<name>", "dropout/<i>", "vae/train", ...) at step `t` uses the key
  `stateless_fold_in((seed, t), stream_id(name))` to generate the numbers for the whole global
  batch, of which each replica takes its own rows (inputs every replica holds whole, such as a
  VampPrior's pseudo-inputs, take all rows: `replica_shared_inputs`). Draws of different names
  never share a key; one replica and N replicas use the same noise for the same example; the
  only random state to checkpoint is the step counter. A VAE's dropout masks are drawn this way
  too (`bind_dropout`). See `tfgen.models.noise`.
- Logged values are global (all-reduced) and identical on every replica.
"""

from __future__ import annotations

import contextlib
import threading

import keras
import numpy as np
import tensorflow as tf

from tfgen.models.averaging import WeightAveraging
from tfgen.models.multiworker import MultiWorkerSteps
from tfgen.models.noise import StatelessNoise
from tfgen.models.reductions import Reductions

SAMPLE_SEED_STREAM = 0x5EED  # second key word of the latent draws of `sample(num, seed)`


def truncate(z, psi):
    """The truncation trick's map of N(0, 1) draws onto N(0, 1) truncated to [-ψ, ψ] (see
    `GenerativeModel.latent`), computed in float64: tensors (in the graph, e.g. the SavedModel's
    `sample`) or NumPy arrays (ψ checked; NumPy returned)."""
    if isinstance(z, np.ndarray):
        if not psi > 0:
            raise ValueError(f"truncation must be > 0, got {psi}")
        return truncate(tf.constant(z), psi).numpy()

    def ndtr(x):
        return 0.5 * tf.math.erfc(-x / np.sqrt(2.0))

    low = ndtr(-tf.cast(psi, tf.float64))
    return tf.cast(tf.math.ndtri(low + ndtr(tf.cast(z, tf.float64)) * (1.0 - 2.0 * low)),
                   z.dtype)


_REDUCED_LOCK = threading.Lock()
_APPLYING: dict[int, int] = {}  # id(inner optimizer) -> calls of apply_gradients under way


def _take_reduced_gradients(optimizer) -> None:
    """Let `optimizer` take already-summed gradients: while `GenerativeModel.apply_gradients`
    applies them (it sums them over replicas first), the all-reduce Keras's TensorFlow optimizer
    does inside `apply` (`_all_reduce_sum_gradients`) is skipped for this optimizer (a
    LossScaleOptimizer's inner one); any other use of the object -- a user's own loop --
    reduces as Keras does. Refused, rather than summing twice, if Keras lacks that method."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    if getattr(inner, "_tfgen_takes_reduced", False):
        return
    keras_reduce = getattr(inner, "_all_reduce_sum_gradients", None)
    if not callable(keras_reduce):
        raise RuntimeError(
            f"keras {keras.__version__}: {type(inner).__name__} has no _all_reduce_sum_gradients; "
            "tfgen's models sum gradients over replicas themselves and cannot use this version")

    def reduce_unless_summed(grads_and_vars):
        # a count over threads, not thread-local: the LossScaleOptimizer applies its inner
        # optimizer from other replica threads while ours wait in its merge_call
        if _APPLYING.get(id(inner), 0) > 0:
            return grads_and_vars
        return keras_reduce(grads_and_vars)

    object.__setattr__(inner, "_all_reduce_sum_gradients", reduce_unless_summed)
    object.__setattr__(inner, "_tfgen_takes_reduced", True)


@contextlib.contextmanager
def _summed_gradients(optimizer):
    """Within the block, `optimizer` takes the gradients it is given as summed (see above)."""
    key = id(getattr(optimizer, "inner_optimizer", optimizer))
    with _REDUCED_LOCK:
        _APPLYING[key] = _APPLYING.get(key, 0) + 1
    try:
        yield
    finally:
        with _REDUCED_LOCK:
            _APPLYING[key] -= 1


class GenerativeModel(StatelessNoise, WeightAveraging, Reductions, MultiWorkerSteps,
                       keras.Model):
    """Base class of `GAN` and `VAE`.

    Args:
        seed: seed of all noise drawn in training steps.
    """

    # Attributes holding sub-models (serialised in get_config, rebuilt in from_config).
    submodels: tuple[str, ...] = ()

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed = int(seed)
        # Train steps done; with the seed it determines all training noise and the data position.
        self.step = self.add_weight(
            shape=(), dtype="int64", initializer="zeros", trainable=False, name="step",
            aggregation="only_first_replica",
        )
        self.ema_decay, self.ema_weights, self._swapped_in = None, [], False  # init_averages
        # replica_shared_inputs: per thread (MirroredStrategy runs each replica in a thread)
        object.__setattr__(self, "_shared_inputs", threading.local())
        object.__setattr__(self, "_states", {})  # state_variable's, by name

    def state_variable(self, name: str, value: float = 0.0):
        """A float32 scalar of training state (an ingredient's, e.g. ADA's probability): a
        non-trainable weight of the model -- checkpointed, saved and loaded with it -- written
        with `assign_replicated` from values equal on every replica (global sums), so its
        copies stay equal (read outside a step: the first replica's). Asked for
        again by the same name, e.g. when the model is compiled again, the same variable."""
        if name not in self._states:
            self._states[name] = self.add_weight(
                shape=(), dtype="float32", trainable=False, name=name,
                initializer=keras.initializers.Constant(value), aggregation="only_first_replica")
        return self._states[name]

    @staticmethod
    def with_labels(x, labels):
        """A network's input: `x`, or `[x, labels]` for a conditional model."""
        return x if labels is None else [x, labels]

    # -- sampling helpers ---------------------------------------------------------------------

    num_classes: int | None = None

    @property
    def conditional(self) -> bool:
        return self.num_classes is not None

    @property
    def noise_dim(self) -> int:
        """Size of the N(0, I) noise `generate` maps to a sample (the latent size; a VAE with
        more stochastic layers or a mixture prior needs more)."""
        return self.latent_dim

    def truncate_noise(self, z, psi):
        """The truncation trick on `generate`'s noise (`truncate` on every coordinate; a model
        whose noise holds coordinates that are not latent values overrides this)."""
        return truncate(z, psi)

    def latent(self, num: int, seed: int = 0, truncation: float | None = None) -> np.ndarray:
        """The noise `sample(num, seed)` uses: N(0, I) of `noise_dim`, stateless in (seed).

        truncation: ψ > 0 gives the truncation trick (Brock et al. 2019, BigGAN): each
            coordinate from N(0, 1) truncated to [-ψ, ψ], as the same draw z mapped monotonically
            by z ↦ Φ⁻¹(Φ(-ψ) + Φ(z)·(Φ(ψ) - Φ(-ψ))), so one seed's samples move smoothly from the
            untruncated ones as ψ shrinks. Smaller ψ trades diversity for sample quality.
        """
        seed = [int(seed), SAMPLE_SEED_STREAM]
        z = tf.random.stateless_normal([num, self.noise_dim], seed=seed).numpy()
        if truncation is None:
            return z
        return np.asarray(self.truncate_noise(z, truncation), np.float32)

    def sample_labels(self, num: int, labels=None) -> np.ndarray | None:
        """Labels for `num` samples: given ones cycled, default 0, 1, 2, ...; checked in range."""
        if not self.conditional:
            if labels is not None:
                raise ValueError(f"labels given to an unconditional {type(self).__name__}")
            return None
        labels = np.arange(num) % self.num_classes if labels is None else np.asarray(labels)
        if labels.size == 0 or labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"labels must lie in 0..{self.num_classes - 1}")
        return np.resize(labels, num).astype(np.int32)

    # -- what a model offers (evaluation, export and the trainer ask these, never guess) ---------

    # Whether the model has a likelihood: `log_likelihood`, `elbo` (test NLL, model selection
    # on validation ELBO).
    has_likelihood: bool = False

    @property
    def has_expost(self) -> bool:
        """Whether the model can sample from an ex-post density (`sample(sampler="expost")`)."""
        return False

    def generate(self, z: tf.Tensor, labels: tf.Tensor | None) -> tf.Tensor:
        """The float32 sample for latent codes `z` (and labels): a traceable function of
        tensors, used by the SavedModel export."""
        raise NotImplementedError

    def interpolation(self, rows: int = 6, steps: int = 10, seed: int = 0) -> np.ndarray:
        """Samples along `rows` latent paths of `steps` points, [rows · steps, ...] row-major:
        each path joins two draws of N(0, I) by spherical interpolation (slerp), which keeps
        the points at the norm typical of the prior, where a straight line would pass near the
        origin (an atypical code). Conditional models keep one class per row (0, 1, 2, ...).
        A smooth row means the model maps nearby codes to nearby samples; a row that jumps
        between unrelated samples, or repeats one, shows holes or collapse."""
        ends = self.latent(2 * rows, seed).astype(np.float64)
        a, b = ends[:rows], ends[rows:]
        cos = np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        omega = np.arccos(np.clip(cos, -1.0, 1.0))[:, None, None]
        t = np.linspace(0.0, 1.0, steps)[None, :, None]
        sin = np.maximum(np.sin(omega), 1e-8)
        z = (np.sin((1 - t) * omega) / sin * a[:, None] + np.sin(t * omega) / sin * b[:, None])
        z = z.reshape(rows * steps, -1).astype(np.float32)
        labels = self.sample_labels(rows)
        if labels is not None:
            labels = tf.constant(np.repeat(labels, steps).astype(np.int32))
        with self.exported_weights():
            return keras.ops.convert_to_numpy(self.generate(tf.constant(z), labels))

    def export_endpoints(self, archive) -> None:
        """Add the model's own endpoints to a `keras.export.ExportArchive` (besides `sample`)."""

    def exported_weights(self):
        """Context in which the weights to export are in place: the averages, when kept."""
        return self.averaged_weights()

    # -- optimizers ---------------------------------------------------------------------------

    @staticmethod
    def prepare_optimizer(optimizer: keras.optimizers.Optimizer, variables):
        """Wrap in a LossScaleOptimizer under mixed_float16 and build it on `variables`.

        Each player gets its own loss scale (`compile(auto_scale_loss=True)` would wrap only
        `model.optimizer`). Building before the first step is required for distributed steps.
        The optimizer takes gradients already summed over replicas (`apply_gradients`).
        """
        optimizer = keras.optimizers.get(optimizer)
        mixed16 = keras.config.dtype_policy().name == "mixed_float16"
        if mixed16 and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        if not optimizer.built:
            optimizer.build(variables)
        _take_reduced_gradients(optimizer)
        return optimizer

    @staticmethod
    def gradients(tape: tf.GradientTape, scaled_loss, variables,
                  output_gradients=None) -> list[tf.Tensor]:
        """Dense gradients of `scaled_loss` (zeros where a variable does not take part); a
        list of targets with `output_gradients` gives Σ_i ∂target_i/∂v · output_gradients_i.

        Sparse gradients (embeddings, gathers) are made dense: they would be all-gathered with
        per-replica shapes.
        """
        grads = tape.gradient(scaled_loss, variables, output_gradients=output_gradients)
        return [
            tf.zeros_like(v) if g is None
            else tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
            for g, v in zip(grads, variables, strict=True)
        ]

    @staticmethod
    def apply_gradients(optimizer, grads: list[tf.Tensor], variables) -> list[tf.Tensor]:
        """Sum scaled `grads` (of `optimizer.scale_loss(loss)`) over replicas -- one batched
        all-reduce -- and apply them; returns the sums unscaled, for norms.

        Summing before the optimizer makes every replica see the same gradients: under mixed
        float16 the LossScaleOptimizer skips a step whose gradients are not finite and halves
        its scale, and an overflow on any replica now reaches all of them (Keras's optimizer,
        reducing inside, decided from the first replica's own gradients and applied another
        replica's inf). Clipping options act on the global gradient too.
        """
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            grads = ctx.all_reduce("sum", list(grads))
        unscaled = grads
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            inv = 1.0 / tf.cast(optimizer.dynamic_scale, tf.float32)  # before apply() changes it
            unscaled = [tf.cast(g, tf.float32) * inv for g in grads]
        with _summed_gradients(optimizer):
            optimizer.apply(grads, variables)
        return unscaled

    def submodel_config(self) -> dict:
        return {k: keras.saving.serialize_keras_object(getattr(self, k)) for k in self.submodels}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in cls.submodels:  # optional ones are None (or absent from older files)
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    def remember_compile(self, **options) -> None:
        """Record `compile`'s arguments (called by `compile`) for `get_compile_config`: the
        optimizers (named as in `named_optimizers`) serialised by Keras, the rest as given."""
        self._tfgen_compile = {
            **{k: keras.saving.serialize_keras_object(v) for k, v in
               self.named_optimizers().items()},
            **options,
        }

    def get_compile_config(self):
        """What `compile_from_config` needs, so `keras.saving.load_model` returns a model that
        can `fit` again (its optimizers' state is restored with the weights)."""
        return getattr(self, "_tfgen_compile", None)

    def compile_from_config(self, config):
        config = dict(config)
        for name in self.optimizer_arguments:
            config[name] = keras.saving.deserialize_keras_object(config[name])
        self.compile(**self.compile_arguments(config))

    optimizer_arguments: tuple[str, ...] = ()  # compile's optimizer arguments

    def compile_arguments(self, config: dict) -> dict:
        """`compile`'s arguments from a compile config (subclasses decode their own)."""
        return config

    def named_optimizers(self) -> dict[str, keras.optimizers.Optimizer]:
        """The optimizers `compile` set up, by name (families override)."""
        return {}

    def training_state(self) -> dict[str, list]:
        """Every variable a resumed run needs, as flat lists for `tf.train.Checkpoint`: all model
        weights (networks, EMA copies, the step counter that keys the noise and the data
        position) and each optimizer's slots, iterations and loss scale."""
        state = {"weights": list(self.weights)}
        for name, optimizer in self.named_optimizers().items():
            state[name] = list(optimizer.variables)
        return state
