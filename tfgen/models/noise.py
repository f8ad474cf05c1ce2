"""Stateless, per-replica randomness: the part of `GenerativeModel` that draws a train step's
noise and a network's dropout masks.

Draw `i` of step `t` uses the key (seed, t·STREAMS + i) to generate the numbers for the whole
global batch, of which each replica takes its own rows (inputs every replica holds whole, such
as a VampPrior's pseudo-inputs, take all rows: `replica_shared_inputs`). One replica and N
replicas therefore use the same noise for the same example, and the only random state to
checkpoint is the step counter. A VAE's dropout masks are drawn this way too (`bind_dropout`).
"""

from __future__ import annotations

import contextlib
import functools

import tensorflow as tf

from tfgen.models.reductions import _replica_context

STREAMS = 1024  # random draws available to one train step
# Streams [512, 768): the networks' dropout layers, one each (`bind_dropout`); [768, 1024): the
# same layers on inputs every replica holds whole (`replica_shared_inputs`). Lower streams: the
# models' own draws.
DROPOUT_STREAM, MAX_DROPOUT_LAYERS = 512, 256


class StatelessNoise:
    """Mixin of `GenerativeModel`: needs `self.seed`, `self.step` and the thread-local
    `self._shared_inputs` its `__init__` sets."""

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

