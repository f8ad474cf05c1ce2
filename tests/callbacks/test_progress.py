"""ProgressLogger: epoch lines that fit 120 columns, without repeated or health-flag values, with
progress and time left; a live status line only on a terminal."""

import io
import logging
import subprocess
import sys

from tests.models.helpers import tiny_data, tiny_gan
from tests.processes import tfgen_env
from tfgen.callbacks import ProgressLogger
from tfgen.callbacks.progress import duration, headline


def test_headline_drops_repeats_and_flags_and_fits():
    logs = {"d_loss": 1.25, "d_adversarial": 1.25, "g_loss": 0.5, "d_grad_norm": 3.0,
            "weights_finite": 1.0, "r1_penalty": 0.0123456, "eval_reverse_kl": 0.031}
    text = headline(logs, 120)
    assert text == "reverse_kl 0.031  d_loss 1.25  g_loss 0.5  r1_penalty 0.01235"
    # A VAE's loss is its -elbo: shown once.
    assert headline({"val_elbo": -9.0, "kl": 2.0, "loss": 9.5, "elbo": -9.5}, 120) == (
        "val_elbo -9  loss 9.5  kl 2")
    assert headline(logs, 30) == "reverse_kl 0.031  d_loss 1.25"  # whole items only


def test_verbose_shows_every_value():
    logs = {"d_loss": 1.25, "d_adversarial": 1.25, "weights_finite": 1.0, "d_grad_norm": 3.0}
    assert headline(logs, 120, everything=True) == (
        "d_adversarial 1.25  d_grad_norm 3  d_loss 1.25  weights_finite 1")


def test_duration():
    assert [duration(s) for s in (4.4, 65, 3600 * 2 + 7 * 60)] == ["4s", "1m05s", "2h07m"]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_epoch_lines_and_live_status(caplog):
    gan = tiny_gan(compile_kwargs={"steps_per_execution": 2})
    terminal = Terminal()
    with caplog.at_level(logging.INFO, logger="tfgen"):
        gan.fit(tiny_data(), epochs=3, steps_per_epoch=4, verbose=0,
                callbacks=[ProgressLogger(refresh=0.0, stream=terminal)])
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch ")]
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/3 33%", "epoch 2/3 66%",
                                                       "epoch 3/3 100%"]
    assert all(len("tfgen: " + line) <= 120 for line in lines)
    assert all("d_loss " in line and "weights_finite" not in line for line in lines)
    assert lines[-1].endswith("left 0s")
    drawn = terminal.getvalue()
    assert "\repoch 1/3  step 2/4" in drawn and "\repoch 3/3  step 4/4" in drawn
    assert all(len(part) <= 119 for part in drawn.split("\r"))
    # Not a terminal: no status line at all.
    plain = io.StringIO()
    gan.fit(tiny_data(), epochs=1, steps_per_epoch=4, verbose=0,
            callbacks=[ProgressLogger(refresh=0.0, stream=plain)])
    assert plain.getvalue() == ""


def test_train_console_fits_120_columns(tmp_path):
    env = tfgen_env()
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user's shell has it (tests set it)
    proc = subprocess.run(
        [sys.executable, "-m", "tfgen.trainers.cli", "train", "--preset", "digits-vae", "--set",
         "epochs=2", "--set", "steps_per_epoch=5", "--run-dir", str(tmp_path / "r")],
        env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stderr.splitlines()
    assert not [ln for ln in lines if not ln.startswith("tfgen: ")], lines  # no TF chatter
    at = next(i for i, ln in enumerate(lines) if ln.startswith("tfgen: training "))
    assert lines[at].startswith("tfgen: training digits-vae on digits: ") and (
        "10 classes" in lines[at])
    assert lines[at + 1].startswith("tfgen: model: encoder ") and ", decoder " in lines[at + 1]
    assert lines[at + 2].startswith("tfgen: plan: 2 epochs x 5 steps, batch 100") and (
        "default strategy (1 replica)" in lines[at + 2])
    epochs = [ln for ln in lines if ln.startswith("tfgen: epoch ")]
    assert len(epochs) == 2 and "val_bound " in epochs[0] and " left " in epochs[0]
    too_long = [ln for ln in lines if len(ln) > 120 and str(tmp_path) not in ln]
    assert not too_long, too_long
    assert proc.stdout == ""
