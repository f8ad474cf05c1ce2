"""Piano-roll sources and their pipelines: the shipped chorales as packed arrays, batches cut
to the global batch's longest piece (a pure function of (seed, b): resumed and per-replica
batches are the uninterrupted single-device ones), fixed windows of bars."""

import numpy as np
import pytest
import tensorflow as tf

from tfgen import data
from tfgen.data import music, pipeline
from tfgen.errors import DataError


def test_jsb_source_holds_the_benchmark_split_packed():
    src = data.source("jsb_chorales")
    info = src.info
    assert (info.kind, info.splits, info.shape) == (
        "pianoroll", {"train": 229, "val": 76, "test": 77}, (160, 89))
    assert (info.steps_per_quarter, info.steps_per_bar) == (1, 4)
    x, y = src.numpy("test")
    assert y is None and x[..., 88].sum() == 4725  # the frames the NLL per frame divides by
    for packed, roll in zip(x[:5], music.jsb_chorales()["test"][:5], strict=True):
        np.testing.assert_array_equal(music.unpack(packed[None])[0], roll)


def test_batches_are_cut_to_their_longest_piece_in_whole_bars():
    src = data.source("jsb_chorales")
    x, _ = src.numpy("train")
    lengths = music.lengths(x)
    stream = iter(data.load(src, batch_size=8, seed=3))
    for b in range(6):
        batch = next(stream).numpy()
        idx = pipeline._stream_indices(b * 8, 8, len(x), 3).numpy()
        longest = lengths[idx].max()
        assert batch.shape == (8, -(-longest // 4) * 4, 89)
        np.testing.assert_array_equal(batch, x[idx, :batch.shape[1]])


def test_resumed_and_per_replica_batches_are_the_uninterrupted_ones():
    src = data.source("jsb_chorales")
    whole = [b.numpy() for b in data.load(src, batch_size=8, seed=1).take(5)]
    resumed = [b.numpy() for b in data.load(src, batch_size=8, seed=1, start_batch=3).take(2)]
    for a, b in zip(whole[3:], resumed, strict=True):
        np.testing.assert_array_equal(a, b)
    replica = [src.replica_dataset("train", 8, seed=1, labels=False, start_batch=0, replicas=2,
                                   first_replica=r, local_replicas=1) for r in (0, 1)]
    halves = [[b.numpy() for b in ds.take(5)] for ds in replica]
    for b, batch in enumerate(whole):  # each replica: its rows, cut to the global length
        np.testing.assert_array_equal(np.concatenate([halves[0][b], halves[1][b]]), batch)


def test_windows_of_bars_and_the_finer_grids():
    src = data.source("jsb_chorales", steps_per_quarter=4, window_bars=2)
    assert src.info.shape == (32, 89) and src.info.steps_per_bar == 16
    x, _ = src.numpy("train")
    assert (x[..., 88] == 1).all()  # every window whole: no padding
    expected = sum(len(r) // 32 for r in music.jsb_chorales("16th")["train"])
    assert len(x) == expected


def test_crop_length_is_the_same_function_in_both_pipelines():
    lengths = np.array([3, 9, 5, 12], np.int64)
    got = pipeline._crop_length(tf.constant([0, 2], tf.int64), (lengths, 4)).numpy()
    assert got == 8
    assert pipeline._crop_length(tf.constant([1, 3], tf.int64), (lengths, 4)).numpy() == 12


@pytest.mark.parametrize("options,message", [
    ({"steps_per_quarter": 3}, "grids of 1, 2, 4"),
    ({"window_bars": 200}, "no piece is 200 bars long"),
])
def test_bad_options_name_what_is_wrong(options, message):
    with pytest.raises(DataError, match=message):
        data.source("jsb_chorales", **options)
