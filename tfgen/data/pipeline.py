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
) -> tf.data.Dataset:
    """Batches of `arrays` (equal first dimension) passed through `transform`.

    Training: an endless stream; batch `b` holds the stream positions [bB, (b+1)B), position `p`
    being element `perm_e(p mod n)` of epoch `e = p // n`, `perm_e` a stateless permutation seeded
    by (seed, e). Batches run across epoch boundaries, so every batch is full.
    Evaluation: one pass in file order.
    """
    n = len(arrays[0])
    tensors = tuple(tf.constant(a) for a in arrays)
    if training:
        if n == 0:
            raise ValueError("cannot train on an empty dataset")
        n64 = tf.constant(n, tf.int64)
        seed64 = tf.constant(seed, tf.int64)
        offsets = tf.range(batch_size, dtype=tf.int64)

        def batch_indices(b):
            positions = b * batch_size + offsets
            epochs = positions // n64
            # One key per position, (seed, epoch, salt): a batch may span epochs. 8 rounds: the
            # op's default 4 leaves visible runs of neighbouring indices for small keys.
            salt = tf.fill([batch_size], tf.constant(0x9E3779B9, tf.int64))
            seeds = tf.stack([tf.fill([batch_size], seed64), epochs, salt], axis=1)
            return tf.raw_ops.RandomIndexShuffle(
                index=positions % n64, seed=seeds, max_index=n64 - 1, rounds=8
            )

        ds = tf.data.Dataset.counter(start=start_batch, dtype=tf.int64).map(batch_indices)
    else:
        ds = tf.data.Dataset.range(n).batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(
        lambda idx: transform(*(tf.gather(t, idx) for t in tensors)),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )
    return ds.with_options(_options()).prefetch(AUTOTUNE)


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
