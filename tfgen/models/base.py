"""What every tfgen model shares: seeded per-replica randomness, a step counter, losses reduced
over the global batch, global log values, and optimizers prepared for mixed precision.

Distribution contract (the same for GANs and VAEs):
- A train step sees the replica's slice of the global batch. Per-example losses are summed over
  the slice and divided by the *global* batch size; the optimizer sums gradients over replicas, so
  N replicas apply exactly the gradient one device would.
- Randomness is stateless: draw `i` of step `t` uses the key (seed, t·STREAMS + i) to generate the
  numbers for the whole global batch, of which each replica takes its own rows (inputs every
  replica holds whole, such as a VampPrior's pseudo-inputs, take all rows: `replica_shared_inputs`).
  One replica and N replicas therefore use the same noise for the same example, and the only
  random state to checkpoint is the step counter. A VAE's dropout masks are drawn this way too
  (`bind_dropout`).
- Logged values are global (all-reduced) and identical on every replica.
"""

from __future__ import annotations

import contextlib
import functools
import threading

import keras
import numpy as np
import tensorflow as tf

STREAMS = 1024  # random draws available to one train step
# Streams [512, 768): the networks' dropout layers, one each (`bind_dropout`); [768, 1024): the
# same layers on inputs every replica holds whole (`replica_shared_inputs`). Lower streams: the
# models' own draws.
DROPOUT_STREAM, MAX_DROPOUT_LAYERS = 512, 256
SAMPLE_SEED_STREAM = 0x5EED  # second key word of the latent draws of `sample(num, seed)`


def _replica_context():
    ctx = tf.distribute.get_replica_context()
    if ctx is None:  # cross-replica context: called outside strategy.run
        raise RuntimeError("tfgen models draw per-replica noise inside a replica context")
    return ctx


def _is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and getattr(
        strategy.extended, "_in_multi_worker_mode", lambda: False
    )()


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


class FirstNonFinite:
    """The step at which a train step first produced a non-finite logged value (-1: none).

    Updated inside every train step, so the step is exact even when `fit` runs several steps
    per execution (`steps_per_execution`) and sees the logs only at the execution's end. A plain
    object holding one variable, so Keras neither tracks it among the model's weights or
    metrics nor saves it (a model saved before it existed still loads).
    """

    def __init__(self):
        self.step = keras.Variable(-1, dtype="int64", trainable=False, name="first_nonfinite",
                                   aggregation="only_first_replica")

    def update_state(self, step, finite):
        first = tf.logical_and(self.step.value < 0, tf.logical_not(finite))
        self.step.assign(tf.where(first, tf.cast(step, tf.int64), self.step.value))

    def result(self):
        return self.step.value


class GenerativeModel(keras.Model):
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
        non-trainable weight of the model -- checkpointed, saved and loaded with it -- that
        keeps its first replica's value (ingredients update it from global values). Asked for
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

    # -- randomness ---------------------------------------------------------------------------

    def _key(self, stream: int) -> tf.Tensor:
        return tf.stack([tf.constant(self.seed, tf.int64), self.step.value * STREAMS + stream])

    def _replica_rows(self, draw, local_batch, tail, stream: int,
                      shared: bool = False) -> tf.Tensor:
        """This replica's rows of a global draw; `shared`: rows every replica holds whole (the
        whole draw of `local_batch` rows, the same on every replica)."""
        ctx = None if shared else _replica_context()
        replicas = 1 if shared else ctx.num_replicas_in_sync
        # Philox explicitly: "auto_select" may pick another generator under XLA, and a step must
        # draw the same numbers compiled or not.
        full = draw([local_batch * replicas, *tail], seed=self._key(stream), alg="philox")
        if replicas == 1:
            return full
        start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * local_batch
        return full[start:start + local_batch]

    def bind_dropout(self) -> None:
        """Bind every tfgen `Dropout` layer (`bind_noise`) of the model's networks (`submodels`)
        to a stream of its own, so that dropout masks follow this contract too: called by the
        VAE once its networks are set (each network call's rows must be the replica's slice of
        the global batch, or `replica_shared_inputs`)."""
        found = [layer for name in self.submodels if getattr(self, name, None) is not None
                 for layer in getattr(self, name)._flatten_layers(include_self=False)
                 if hasattr(layer, "bind_noise")]
        if len(found) > MAX_DROPOUT_LAYERS:
            raise ValueError(f"{len(found)} dropout layers; at most {MAX_DROPOUT_LAYERS}")
        for i, layer in enumerate(found):
            layer.bind_noise(functools.partial(self._dropout_noise, stream=DROPOUT_STREAM + i))

    def _dropout_noise(self, rows, shape, stream: int) -> tf.Tensor:
        shared = getattr(self._shared_inputs, "on", False)
        return self._replica_rows(tf.random.stateless_uniform, rows, list(shape),
                                  stream + MAX_DROPOUT_LAYERS * shared, shared=shared)

    @contextlib.contextmanager
    def replica_shared_inputs(self):
        """Network calls inside see inputs that every replica holds whole (a VampPrior's
        pseudo-inputs), not this replica's rows of the global batch: their dropout masks are
        then the same on every replica."""
        self._shared_inputs.on = True
        try:
            yield
        finally:
            self._shared_inputs.on = False

    def normal(self, local_batch, tail, stream: int) -> tf.Tensor:
        """Standard normal numbers [local_batch, *tail]: this replica's rows of a global draw."""
        return self._replica_rows(tf.random.stateless_normal, local_batch, list(tail), stream)

    def uniform(self, local_batch, tail, stream: int) -> tf.Tensor:
        """U[0, 1) numbers [local_batch, *tail]: this replica's rows of a global draw."""
        return self._replica_rows(tf.random.stateless_uniform, local_batch, list(tail), stream)

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

    # -- weight averaging (EMA) ---------------------------------------------------------------

    def averaged_variables(self) -> list:
        """The variables `ema_decay` averages (families override: the GAN's generator, all of
        the VAE's networks)."""
        return []

    def init_averages(self, ema_decay: float | None) -> None:
        """Keep an exponential moving average of `averaged_variables()` (None: off), as
        non-trainable weights: checkpointed, saved, and updated by `update_averages` in each
        train step. Call at the end of `__init__`, once the networks are in place."""
        if ema_decay is not None and not 0.0 <= ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1) or None, got {ema_decay}")
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.ema_weights = [] if ema_decay is None else [
            self.add_weight(
                shape=v.shape, dtype=v.dtype, trainable=False, name=f"ema_{i}",
                initializer=keras.initializers.Constant(keras.ops.convert_to_numpy(v)),
                aggregation="only_first_replica",
            )
            for i, v in enumerate(self.averaged_variables())
        ]

    def update_averages(self) -> None:
        """One EMA update (in a train step, before the step counter moves): a ← d·a + (1-d)·w
        with d = min(ema_decay, (1 + t) / (10 + t)) at step t (the `num_updates` warm-up of
        `tf.train.ExponentialMovingAverage`: a short run's average is not dominated by the
        initial weights -- decay 0.999 alone keeps e^-1 of them after 1,000 steps)."""
        t = tf.cast(self.step.value, tf.float32)
        decay = tf.minimum(tf.constant(self.ema_decay, tf.float32), (1.0 + t) / (10.0 + t))
        for average, w in zip(self.ema_weights, self.averaged_variables(), strict=True):
            value = tf.cast(w.value, tf.float32)
            old = tf.cast(average.value, tf.float32)
            average.assign(tf.cast(decay * old + (1.0 - decay) * value, average.dtype))

    @contextlib.contextmanager
    def averaged_weights(self):
        """Within the block the averaged variables hold their averages (when EMA is on); the
        live weights come back, bit for bit, after it. Re-entrant."""
        if not self.ema_weights or self._swapped_in:
            yield
            return
        variables = self.averaged_variables()
        live = [keras.ops.convert_to_numpy(w) for w in variables]
        for w, average in zip(variables, self.ema_weights, strict=True):
            w.assign(average)
        self._swapped_in = True
        try:
            yield
        finally:
            self._swapped_in = False
            for w, value in zip(variables, live, strict=True):
                w.assign(value)

    def evaluate(self, *args, **kwargs):
        """Keras's `evaluate` on the averaged weights (when EMA is on): `fit`'s validation,
        which calls it, scores the averages too, so best-epoch selection sees the model that
        `sample`, `log_likelihood` and the export use."""
        with self.averaged_weights():
            return super().evaluate(*args, **kwargs)

    # -- reductions ---------------------------------------------------------------------------

    @staticmethod
    def global_batch_size(local_batch) -> tf.Tensor:
        ctx = _replica_context()
        return tf.cast(local_batch * ctx.num_replicas_in_sync, tf.float32)

    @classmethod
    def batch_loss(cls, per_example: tf.Tensor) -> tf.Tensor:
        """Σ(this replica's per-example losses) / global batch size: the replica's share."""
        per_example = tf.cast(per_example, tf.float32)
        return tf.reduce_sum(per_example) / cls.global_batch_size(tf.shape(per_example)[0])

    @staticmethod
    def regularization(network: keras.Model) -> tf.Tensor:
        """The network's weight regularisation losses (e.g. kernel regularizers), this
        replica's share: divided by the replicas, as the optimizer sums their gradients."""
        if not network.losses:
            return tf.constant(0.0)
        replicas = _replica_context().num_replicas_in_sync
        return tf.add_n([tf.cast(v, tf.float32) for v in network.losses]) / replicas

    @staticmethod
    def all_sum(value: tf.Tensor) -> tf.Tensor:
        """Sum over replicas (a replica's share of a mean becomes the global mean)."""
        return _replica_context().all_reduce("sum", value)

    @classmethod
    def global_norm(cls, grads: list[tf.Tensor]) -> tf.Tensor:
        """‖g‖₂ of the gradient summed over replicas (what the optimizer applies, before scaling)."""
        grads = [tf.cast(g, tf.float32) for g in grads if g is not None]
        if _replica_context().num_replicas_in_sync > 1:
            grads = cls.all_sum(grads)
        return tf.linalg.global_norm(grads)

    @staticmethod
    def all_finite(variables) -> tf.Tensor:
        """1.0 when every value of `variables` is finite, else 0.0."""
        checks = [
            tf.reduce_all(tf.math.is_finite(v.value)) for v in variables if v.dtype.startswith("float")
        ]
        return tf.cast(tf.reduce_all(tf.stack(checks)), tf.float32)

    def track(self, names) -> None:
        """One `keras.metrics.Mean` per value the train step logs (called by `compile`, in the
        strategy's scope). Keras resets them at each epoch's start, so logs, `History` and
        TensorBoard see epoch means, as for every Keras model."""
        self.log_trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.nonfinite = FirstNonFinite()

    def first_nonfinite_step(self) -> int | None:
        """The step (1-based count of train steps) whose logged losses, penalties or weights
        were first non-finite, or None. Gradient norms do not count (under mixed float16 an
        overflowing gradient is expected: the loss-scale optimizer skips that update)."""
        tracker = getattr(self, "nonfinite", None)
        step = int(keras.ops.convert_to_numpy(tracker.result())) if tracker is not None else -1
        return step if step >= 0 else None

    @property
    def metrics(self):
        return list(getattr(self, "log_trackers", {}).values())

    def report(self, logs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Update the trackers with a train step's values and return their means so far this
        epoch. Values must already be global (see `all_sum`), so every replica's tracker holds
        the same mean and `fit`'s mean over replicas is that mean.

        Under MultiWorkerMirroredStrategy, `fit` reduces logs along axis 0, which fails for
        scalars (tensorflow/tensorflow#72388): there they are returned with shape [1].
        """
        if set(logs) != set(self.log_trackers):
            raise ValueError(f"train step logs {sorted(logs)} but tracks "
                             f"{sorted(self.log_trackers)}")
        finite = [tf.reduce_all(tf.math.is_finite(tf.cast(v, tf.float32)))
                  for k, v in logs.items() if "grad_norm" not in k]
        if "weights_finite" in logs:
            finite.append(tf.equal(tf.cast(logs["weights_finite"], tf.float32), 1.0))
        self.nonfinite.update_state(self.step.value, tf.reduce_all(tf.stack(finite)))
        out = {}
        for key, value in logs.items():
            tracker = self.log_trackers[key]
            tracker.update_state(tf.cast(value, tf.float32))
            out[key] = tracker.result()
        return self.worker_safe(out)

    def worker_safe(self, logs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Logs as `fit`/`evaluate` can reduce them: shape [1] under
        MultiWorkerMirroredStrategy, which fails reducing scalars along axis 0
        (tensorflow/tensorflow#72388); unchanged elsewhere."""
        if _is_multi_worker(self.distribute_strategy):
            return {k: tf.reshape(v, [1]) for k, v in logs.items()}
        return logs

    # -- optimizers ---------------------------------------------------------------------------

    @staticmethod
    def prepare_optimizer(optimizer: keras.optimizers.Optimizer, variables):
        """Wrap in a LossScaleOptimizer under mixed_float16 and build it on `variables`.

        Each player gets its own loss scale (`compile(auto_scale_loss=True)` would wrap only
        `model.optimizer`). Building before the first step is required for distributed steps.
        """
        optimizer = keras.optimizers.get(optimizer)
        mixed16 = keras.config.dtype_policy().name == "mixed_float16"
        if mixed16 and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        if not optimizer.built:
            optimizer.build(variables)
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
        """Apply scaled `grads` (of `optimizer.scale_loss(loss)`); returns them unscaled, for norms.

        Under mixed float16 the LossScaleOptimizer skips a step whose gradients are not finite
        and lowers its scale.
        """
        unscaled = grads
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            inv = 1.0 / tf.cast(optimizer.dynamic_scale, tf.float32)  # before apply() changes it
            unscaled = [tf.cast(g, tf.float32) * inv for g in grads]
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

    def make_train_function(self, force: bool = False):
        """Keras's train function, except under MultiWorkerMirroredStrategy with several steps
        per execution. There Keras's loop (`tf.while_loop` over `get_next_as_optional`, which
        all-reduces "has data" across workers inside a `tf.cond`) fails in its first epoch
        with "You must feed a value for placeholder tensor 'while/cond/Placeholder'". tfgen's
        training streams are endless, so the steps of an execution simply take the next batch:
        a `tf.range` loop of `steps_per_execution` distributed steps, no optional, no
        collective in a conditional."""
        if self.train_function is not None and not force:
            return self.train_function
        super().make_train_function(force)
        if _is_multi_worker(self.distribute_strategy) and self.steps_per_execution > 1:
            self.train_function = self._multi_worker_train_function()
        return self.train_function

    def make_test_function(self, force: bool = False):
        """Keras's test function, except under MultiWorkerMirroredStrategy with several steps
        per execution, where Keras's loop fails as in training (see `make_train_function`).
        Validation data is finite, so there the steps of an execution are single-step calls
        until the execution is done or the data ends."""
        if self.test_function is not None and not force:
            return self.test_function
        super().make_test_function(force)
        if _is_multi_worker(self.distribute_strategy) and self.steps_per_execution > 1:
            one_step = tf.function(self._distributed_step(self.test_step))
            steps = int(self.steps_per_execution)

            def function(iterator):
                logs = None
                for _ in range(steps):
                    try:
                        logs = one_step(iterator)
                    except tf.errors.OutOfRangeError:
                        break
                if logs is None:
                    raise StopIteration
                return logs

            self.test_function = function
        return self.test_function

    def _distributed_step(self, step):
        strategy = self.distribute_strategy

        def one_step(iterator):
            outputs = strategy.run(step, args=(next(iterator),))
            # Logs are global and [1]-shaped here (`worker_safe`): every replica holds the same.
            return {k: strategy.reduce("MEAN", v, axis=0) for k, v in outputs.items()}

        return one_step

    def _multi_worker_train_function(self):
        steps = int(self.steps_per_execution)
        one_step = self._distributed_step(self.train_step)

        @tf.function(jit_compile=self.jit_compile)
        def multi_step(iterator):
            logs = one_step(iterator)
            for _ in tf.range(steps - 1):
                logs = one_step(iterator)
            return logs

        def function(iterator):
            return multi_step(iterator)

        return function

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Our models are fully built before `fit`. Keras would otherwise pull a batch and reduce it
        # across replicas, which fails for (samples, labels) batches under
        # MultiWorkerMirroredStrategy.
        if self.built and all(layer.built for layer in self._flatten_layers()):
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)


def on_averaged_weights(method):
    """Decorator: run a model method inside `averaged_weights()` (what evaluation and sampling
    methods of a model with EMA should see)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.averaged_weights():
            return method(self, *args, **kwargs)
    return wrapper
