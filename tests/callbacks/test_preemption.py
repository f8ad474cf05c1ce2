"""Preemption: a signal saves a checkpoint inside the epoch under way; resuming from it gives
the weights and epoch logs of a run never stopped."""

import signal

import keras
import numpy as np
import pytest

from tests.models.helpers import tiny_gan, weights_of
from tfgen import data
from tfgen.callbacks import Checkpointer, Preemption, model_step
from tfgen.errors import Preempted

STEPS, EPOCHS, PER_EXECUTION = 6, 3, 2


class SignalAt(keras.callbacks.Callback):
    """Sends this process `signum` after the train step `step` (as `kill -TERM` would)."""

    def __init__(self, step: int, signum=signal.SIGTERM):
        super().__init__()
        self.step, self.signum = step, signum

    def on_train_batch_end(self, batch, logs=None):
        if model_step(self.model) == self.step:
            signal.raise_signal(self.signum)


def fit(directory, *first):
    """A run as `tfgen train` makes it: restore, data from the restored step, fit."""
    gan = tiny_gan(compile_kwargs={"steps_per_execution": PER_EXECUTION})
    checkpointer = Checkpointer(directory, gan)
    preemption = Preemption(checkpointer)
    checkpointer.restore()
    ds = data.load("ring8", batch_size=32, seed=0, start_batch=model_step(gan))
    try:
        history = gan.fit(ds, epochs=EPOCHS, steps_per_epoch=STEPS, verbose=0,
                          callbacks=[*first, preemption, checkpointer])
    finally:
        preemption.uninstall()
    return gan, checkpointer, history.history


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    gan, _, logs = fit(tmp_path_factory.mktemp("whole"))
    return weights_of(gan), logs


@pytest.mark.parametrize("signum, at, saved_at", [
    (signal.SIGTERM, 8, 8),    # inside epoch 2 (steps 7-12): saved there
    (signal.SIGINT, 12, 14),   # on epoch 2's last step: the epoch ends, saved a step later
])
def test_signal_saves_inside_the_epoch_and_resume_matches(tmp_path, uninterrupted, signum, at,
                                                          saved_at):
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with pytest.raises(Preempted) as stopped:
        fit(tmp_path, SignalAt(at, signum))
    assert stopped.value.signum == signum
    assert f"stopped by {signal.Signals(signum).name} at step {saved_at}, in epoch " in str(
        stopped.value)
    # The handlers are the process's own again.
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    assert (tmp_path / "partial").is_dir()

    gan, checkpointer, logs = fit(tmp_path)
    done = saved_at - (saved_at - 1) // STEPS * STEPS
    assert checkpointer.partial_steps() == 0  # saved again at the epochs' ends
    assert not (tmp_path / "partial").exists()  # superseded by the epoch-end checkpoint
    assert 0 < done < STEPS
    weights, whole_logs = uninterrupted
    for a, b in zip(weights, weights_of(gan), strict=True):
        np.testing.assert_array_equal(a, b)
    # The resumed epoch's logged means include the steps before the stop.
    epochs_run = len(logs["d_loss"])
    for key, values in logs.items():
        np.testing.assert_array_equal(values, whole_logs[key][-epochs_run:], err_msg=key)


def test_restored_mid_epoch_checkpoint_is_newer_than_the_epoch_end_one(tmp_path):
    gan = tiny_gan()
    checkpointer = Checkpointer(tmp_path, gan)
    gan.fit(data.load("ring8", batch_size=32, seed=0), epochs=1, steps_per_epoch=3, verbose=0)
    checkpointer.save(1)
    checkpointer.on_epoch_begin(1)
    gan.fit(data.load("ring8", batch_size=32, seed=0), epochs=1, steps_per_epoch=2, verbose=0)
    checkpointer.save_partial()
    fresh = Checkpointer(tmp_path, tiny_gan(seed=5))
    assert [p.rsplit("/", 2)[-2:] for p in fresh.candidates()] == [
        ["partial", "ckpt-1"], [tmp_path.name, "ckpt-1"]]
    assert fresh.restore() == 1 and fresh.partial_steps() == 2
    assert model_step(fresh.model) == 5
