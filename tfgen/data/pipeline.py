"""tf.data pipelines with a deterministic order for a given (seed, epoch).

Array sources (data held in memory) use a stateless random permutation per epoch
(the stateless `RandomIndexShuffle` op): batch `b` of the training stream is a pure function of
(seed, b), so a resumed run starts at its batch counter and sees exactly the batches an
uninterrupted run would, at no cost. Streaming sources (TFDS) reshuffle each epoch from a seeded
shuffle; resuming skips the batches already seen.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def _options() -> tf.data.Options:
    options = tf.data.Options()
    options.deterministic = True
    # Our pipelines do not read files per worker: every worker builds the same global batches and
    # keeps its share, which is what DATA sharding does.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def array_dataset(
    arrays: tuple[np.ndarray, ...],
    batch_size: int,
    *,
    seed: int,
    training: bool,
    transform: Callable[..., tuple],
    start_batch: int = 0,
    drop_remainder: bool = True,
    crop: tuple[np.ndarray, int] | None = None,
) -> tf.data.Dataset:
    """Batches of `arrays` (equal first dimension) passed through `transform`.

    Training: an endless stream; batch `b` holds the stream positions [bB, (b+1)B), position `p`
    being element `perm_e(p mod n)` of epoch `e = p // n`, `perm_e` a stateless permutation seeded
    by (seed, e). Batches run across epoch boundaries, so every batch is full.
    Evaluation: one pass in file order.

    `crop` = (lengths, multiple): sequences padded along axis 1 are cut to their batch's longest
    (`lengths[i]`: example i's), rounded up to a multiple of `multiple` -- a pure function of
    the batch, so the order and resume guarantees hold, and a batch of short pieces costs what
    short pieces cost.
    """
    n = len(arrays[0])
    if training:
        ds = tf.data.Dataset.counter(start=start_batch, dtype=tf.int64).map(
            lambda b: _stream_indices(b * batch_size, batch_size, n, seed))
    else:
        ds = tf.data.Dataset.range(n).batch(batch_size, drop_remainder=drop_remainder)
    if crop is not None:
        ds = ds.map(lambda idx: (idx, _crop_length(idx, crop)))
    return _gathered(ds, arrays, transform)


def replica_array_dataset(
    arrays: tuple[np.ndarray, ...],
    batch_size: int,
    *,
    seed: int,
    transform: Callable[..., tuple],
    start_batch: int,
    replicas: int,
    first_replica: int,
    local_replicas: int,
    crop: tuple[np.ndarray, int] | None = None,
) -> tf.data.Dataset:
    """The training stream of `array_dataset` as one worker's replicas take it: for each global
    batch b, the rows of replicas first_replica .. first_replica + local_replicas - 1 in turn
    (what `distribute_datasets_from_function` hands its local replicas one after another),
    replica r's rows being [r·B/N, (r+1)·B/N) of global batch b -- the rows it gets of
    `array_dataset`'s global batches, but gathered and transformed by its own worker only
    (with `crop`, cut to the global batch's crop length)."""
    n, local = len(arrays[0]), batch_size // replicas

    def replica_indices(k):
        b, j = k // local_replicas, k % local_replicas
        idx = _stream_indices(b * batch_size + (first_replica + j) * local, local, n, seed)
        if crop is None:
            return idx
        # the global batch's longest sequence: every replica cuts its rows to the same length
        return idx, _crop_length(_stream_indices(b * batch_size, batch_size, n, seed), crop)

    ds = tf.data.Dataset.counter(start=start_batch * local_replicas, dtype=tf.int64)
    return _gathered(ds.map(replica_indices), arrays, transform, shard=False)


def _crop_length(indices, crop) -> tf.Tensor:
    lengths, multiple = crop
    longest = tf.reduce_max(tf.gather(tf.constant(lengths, tf.int64), indices))
    return (longest + multiple - 1) // multiple * multiple


def _stream_indices(first, size: int, n: int, seed: int) -> tf.Tensor:
    """The array indices of training-stream positions [first, first + size): position p is
    element perm_e(p mod n) of epoch e = p // n, perm_e a stateless permutation of (seed, e)."""
    if n == 0:
        raise ValueError("cannot train on an empty dataset")
    n64 = tf.constant(n, tf.int64)
    positions = first + tf.range(size, dtype=tf.int64)
    epochs = positions // n64
    # One key per position, (seed, epoch, salt): a batch may span epochs. 8 rounds: the op's
    # default 4 leaves visible runs of neighbouring indices for small keys.
    salt = tf.fill([size], tf.constant(0x9E3779B9, tf.int64))
    seeds = tf.stack([tf.fill([size], tf.constant(seed, tf.int64)), epochs, salt], axis=1)
    return tf.raw_ops.RandomIndexShuffle(index=positions % n64, seed=seeds, max_index=n64 - 1,
                                         rounds=8)


def _gathered(indices: tf.data.Dataset, arrays, transform, shard: bool = True):
    tensors = tuple(tf.constant(a) for a in arrays)

    def gather(idx, length=None):
        # (only the first array -- the sequences -- is cut; labels are per example)
        parts = [tf.gather(t, idx) for t in tensors]
        if length is not None:
            parts[0] = parts[0][:, :length]
        return transform(*parts)

    ds = indices.map(gather, num_parallel_calls=AUTOTUNE, deterministic=True)
    options = _options()
    if not shard:  # already this worker's rows
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.OFF)
    return ds.with_options(options).prefetch(AUTOTUNE)


def stream_dataset(
    base: tf.data.Dataset,
    batch_size: int,
    *,
    seed: int,
    training: bool,
    start_batch: int = 0,
    shuffle_buffer: int = 10_000,
    drop_remainder: bool = True,
    cache: bool = True,
    transform: Callable[..., tuple] | None = None,
) -> tf.data.Dataset:
    """Batches of a streaming dataset whose elements are already decoded: tuples, passed
    through `transform` after the cache (so the cache holds them as decoded, e.g. uint8, and
    the float32 scaling is recomputed each epoch) -- one tensor for a 1-tuple.

    Training: epochs repeat forever, each reshuffled; epoch `e`'s order is fixed by (seed, e); the
    order also depends on TensorFlow's global seed, which tfgen's trainers set from `seed`.
    Resuming at batch `start_batch` skips the batches already consumed.
    """
    if cache:
        base = base.cache()
    if transform is not None:
        base = base.map(transform, num_parallel_calls=AUTOTUNE, deterministic=True)
    base = base.map(lambda *xs: xs[0] if len(xs) == 1 else xs)
    if training:
        # A fresh pipeline reshuffles on every repetition from the same seed sequence, so epoch
        # e's order is fixed by (seed, e) (and the global seed).
        ds = base.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True).repeat()
        ds = ds.batch(batch_size, drop_remainder=True)
        if start_batch:
            ds = ds.skip(start_batch)
    else:
        ds = base.batch(batch_size, drop_remainder=drop_remainder)
    return ds.with_options(_options()).prefetch(AUTOTUNE)
