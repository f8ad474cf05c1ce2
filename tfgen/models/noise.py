"""Stateless, per-replica randomness: the part of `GenerativeModel` that draws a train step's
noise and a network's dropout masks.

Every draw of a train step has a name, its stream ("generator/noise", "discriminator/2/r1",
"dropout/3", ...). The draw of stream `name` at step `t` uses the key
`stateless_fold_in((seed, t), stream_id(name))` -- a Philox key whose second word is a 63-bit
hash of the name -- to generate the numbers for the whole global batch, of which each replica
takes its own rows (inputs every replica holds whole, such as a VampPrior's pseudo-inputs, take
all rows: `replica_shared_inputs`). So:
- two draws with different names never share a key, whatever `n_critic`, the number of
  ingredients or of dropout layers (the names are checked to be distinct where they are made);
- one replica and N replicas use the same noise for the same example;
- the only random state to checkpoint is the step counter.
A VAE's dropout masks are drawn this way too (`bind_dropout`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib

import tensorflow as tf

from tfgen.distribute.strategies import is_tpu
from tfgen.models.reductions import _replica_context


def stream_id(name: str) -> int:
    """The number a stream's name folds into the step's key: the first 63 bits of its BLAKE2b
    digest, the same in every process (Python's `hash` is salted per process)."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"a random stream is named by a non-empty string, not {name!r}")
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big") >> 1


def dropout_stream(index: int, shared: bool = False) -> str:
    """The stream of the model's `index`-th dropout layer (`bind_dropout`); `shared`: the same
    layer called on inputs every replica holds whole (`replica_shared_inputs`)."""
    return f"dropout{'_shared' if shared else ''}/{index}"


_PHILOX_V2 = {tf.random.stateless_normal: tf.raw_ops.StatelessRandomNormalV2,
              tf.random.stateless_uniform: tf.raw_ops.StatelessRandomUniformV2}


def _philox_rows(draw, seed, start, rows, tail) -> tf.Tensor:
    """Rows [start, start + rows) of `draw([N, *tail], seed, alg="philox")` for any N >= start +
    rows, drawn alone (see `StatelessNoise._replica_rows`); float32 draws only (four numbers
    per counter value: float64 would take two)."""
    per_row = tf.reduce_prod(tf.cast(tail, tf.int64)) if tail else tf.constant(1, tf.int64)
    first = tf.cast(start, tf.int64) * per_row
    key, counter = tf.raw_ops.StatelessRandomGetKeyCounter(seed=seed)
    low = counter[0] + tf.cast(first // 4, tf.uint64)
    high = counter[1] + tf.cast(low < counter[0], tf.uint64)  # the carry into the high word
    skip = first % 4
    flat = _PHILOX_V2[draw](shape=tf.reshape(tf.cast(rows, tf.int64) * per_row + skip, [1]),
                            key=key, counter=tf.stack([low, high]), alg=1)  # 1: Philox
    return tf.reshape(flat[skip:], [rows, *tail])


class StatelessNoise:
    """Mixin of `GenerativeModel`: needs `self.seed`, `self.step` and the thread-local
    `self._shared_inputs` its `__init__` sets."""

    def _key(self, stream: str) -> tf.Tensor:
        step_key = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(self.step.value, tf.int64)])
        return tf.random.experimental.stateless_fold_in(
            step_key, tf.constant(stream_id(stream), tf.int64), alg="philox")

    def _replica_rows(self, draw, local_batch, tail, stream: str,
                      shared: bool = False) -> tf.Tensor:
        """This replica's rows of a global draw; `shared`: rows every replica holds whole (the
        whole draw of `local_batch` rows, the same on every replica).

        A replica draws only its own rows: Philox numbers its outputs by a 128-bit counter,
        four numbers per counter value (uniform and normal float32 alike), so the rows from
        global row `start` on are the draw that begins at counter + start·row/4, its first
        (start·row mod 4) numbers dropped -- the same numbers as slicing the global draw
        (tested), at 1/N of the work. Under TPUStrategy the step is XLA's, whose normal kernel
        does not number its outputs that way: there the replica draws the global batch and
        keeps its rows.
        """
        ctx = None if shared else _replica_context()
        replicas = 1 if shared else ctx.num_replicas_in_sync
        # why: Philox explicitly -- "auto_select" picks ThreeFry on TPUs. The numbers are then
        # the same for one kernel (any replica count, a resume), but XLA's kernel orders its
        # output differently from the CPU/GPU one for runtime keys: a compiled step, or a
        # resume on another kind of device, draws other numbers (the variants' XLA check
        # compares noise-free logs only; a resume that changes XLA says so in a warning).
        seed = self._key(stream)
        if replicas == 1:
            return draw([local_batch, *tail], seed=seed, alg="philox")
        start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * local_batch
        if is_tpu(tf.distribute.get_strategy()):
            full = draw([local_batch * replicas, *tail], seed=seed, alg="philox")
            return full[start:start + local_batch]
        return _philox_rows(draw, seed, start, local_batch, tail)

    def bind_dropout(self) -> None:
        """Bind every tfgen `Dropout` layer (`bind_noise`) of the model's networks (`submodels`)
        to a stream of its own, so that dropout masks follow this contract too: called by the
        VAE once its networks are set (each network call's rows must be the replica's slice of
        the global batch, or `replica_shared_inputs`)."""
        found = [layer for layer in self._network_layers() if hasattr(layer, "bind_noise")]
        for i, layer in enumerate(found):
            layer.bind_noise(functools.partial(self._dropout_noise, index=i))

    def _network_layers(self) -> list:
        """Every layer of the model's networks (`submodels`; absent ones skipped), in order."""
        return [layer for name in self.submodels if getattr(self, name, None) is not None
                for layer in getattr(self, name)._flatten_layers(include_self=False)]

    def bind_step(self) -> None:
        """Hand every layer of the model's networks that keys itself by the training step
        (`bind_step(counter)`: WaveGAN's `PhaseKey`) a reader of this model's step counter --
        the same on every replica, restored with the training state, and float-free."""
        for layer in self._network_layers():
            if hasattr(layer, "bind_step"):
                layer.bind_step(lambda: self.step.value)

    def _dropout_noise(self, rows, shape, index: int) -> tf.Tensor:
        shared = getattr(self._shared_inputs, "on", False)
        return self._replica_rows(tf.random.stateless_uniform, rows, list(shape),
                                  dropout_stream(index, shared), shared=shared)

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

    def normal(self, local_batch, tail, stream: str) -> tf.Tensor:
        """Standard normal numbers [local_batch, *tail]: this replica's rows of a global draw."""
        return self._replica_rows(tf.random.stateless_normal, local_batch, list(tail), stream)

    def uniform(self, local_batch, tail, stream: str) -> tf.Tensor:
        """U[0, 1) numbers [local_batch, *tail]: this replica's rows of a global draw."""
        return self._replica_rows(tf.random.stateless_uniform, local_batch, list(tail), stream)

