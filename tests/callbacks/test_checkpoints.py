"""Checkpointer: round trip of the full training state; an interrupted write keeps the last good one."""

import numpy as np

from tests.models.helpers import tiny_data, tiny_gan, weights_of
from tfgen.callbacks import Checkpointer


def test_restore_brings_back_everything(tmp_path):
    gan = tiny_gan(ema_decay=0.9)
    gan.fit(tiny_data(), epochs=1, steps_per_epoch=3, verbose=0)
    Checkpointer(tmp_path, gan).save(1)
    fresh = tiny_gan(ema_decay=0.9, seed=1)
    assert Checkpointer(tmp_path, fresh).restore() == 1
    for a, b in zip(weights_of(gan), weights_of(fresh)):
        np.testing.assert_array_equal(a, b)  # networks, EMA copies and the step counter
    for name, opt in gan.named_optimizers().items():
        other = fresh.named_optimizers()[name]
        for a, b in zip(opt.variables, other.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(fresh.g_optimizer.iterations.numpy()) == 3


def test_interrupted_write_keeps_previous_checkpoint(tmp_path):
    gan = tiny_gan()
    checkpointer = Checkpointer(tmp_path, gan)
    gan.fit(tiny_data(), epochs=1, steps_per_epoch=2, verbose=0)
    checkpointer.save(1)
    good = weights_of(gan)
    gan.fit(tiny_data(), epochs=1, steps_per_epoch=2, verbose=0)
    # A write of checkpoint 2 killed half-way: data files partly there, index and the
    # `checkpoint` pointer never updated.
    (tmp_path / "ckpt-2.data-00000-of-00001").write_bytes(b"\x00" * 100)
    (tmp_path / "ckpt-2_temp").mkdir()
    (tmp_path / "ckpt-2_temp" / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"\x01" * 50)
    fresh = tiny_gan(seed=3)
    assert Checkpointer(tmp_path, fresh).restore() == 1
    for a, b in zip(good, weights_of(fresh)):
        np.testing.assert_array_equal(a, b)
    # And a later complete save works over the debris.
    Checkpointer(tmp_path, gan).save(2)
    assert Checkpointer(tmp_path, tiny_gan(seed=4)).restore() == 2


def test_no_checkpoint_means_epoch_zero(tmp_path):
    assert Checkpointer(tmp_path / "empty", tiny_gan()).restore() == 0
