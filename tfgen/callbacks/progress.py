"""`ProgressLogger`: one line per epoch that fits a terminal, with overall progress and ETA."""

from __future__ import annotations

import logging
import math
import sys
import time

import keras

from tfgen.callbacks.common import scalar

log = logging.getLogger("tfgen")

# Logged every epoch but not worth a person's attention there (TensorBoard and epochs.json
# keep them): health flags, gradient norms, schedule values.
QUIET = ("weights_finite", "grad_norm", "kl_weight", "loss_scale")


def duration(seconds: float) -> str:
    """12s, 3m05s, 2h07m."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def headline(logs: dict, width: float, everything: bool = False) -> str:
    """The epoch's values in at most `width` characters: evaluation and validation values
    first, then losses, then the rest (each group alphabetical); quiet values, and values equal
    (up to sign) to one already shown (a GAN's `d_adversarial` is its `d_loss` without
    penalties, a VAE's `loss` is its `-elbo`), left out. `everything`: all values, alphabetically."""
    values = {k: scalar(v) for k, v in (logs or {}).items()}
    if everything:
        return "  ".join(f"{k} {values[k]:.4g}" for k in sorted(values))

    def rank(key):
        group = (0 if key.startswith("eval_") else 1 if key.startswith("val_")
                 else 2 if "loss" in key else 3)
        return group, key

    shown, text = [], ""
    for key in sorted(values, key=rank):
        value = values[key]
        if any(q in key for q in QUIET) or any(abs(value) == abs(values[k]) for k in shown):
            continue
        item = f"{key.removeprefix('eval_')} {value:.4g}"
        if len(text) + len(item) + 2 > width:
            break
        text = f"{text}  {item}" if text else item
        shown.append(key)
    return text


class ProgressLogger(keras.callbacks.Callback):
    """The console of a run: at each epoch's end one line of at most `width` characters --
    epoch, overall progress, the epoch's headline values, its time, the time since training
    started and the time left -- through
    the `tfgen` logger. On a terminal, a status line (step within the epoch and time left) is
    redrawn in place at most every `refresh` seconds while an epoch runs.

    Args:
        width: characters per line (120: a terminal that is not full screen).
        everything: every logged value on the epoch lines, however long (`tfgen train -v`).
        refresh: seconds between redraws of the in-epoch status line.
        stream: where the status line goes (default stderr); only if it is a terminal.
    """

    def __init__(self, width: int = 120, refresh: float = 1.0, stream=None,
                 everything: bool = False):
        super().__init__()
        self.width, self.refresh, self.everything = width, refresh, everything
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())

    def on_train_begin(self, logs=None):
        self._begin, self._epochs_done, self._first = time.time(), 0, None
        self._drawn = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._epoch_begin = epoch, time.time()
        if self._first is None:  # the epoch this fit started at (a resumed run's is not 0)
            self._first = epoch

    def _left(self, fraction_of_epoch: float) -> str:
        """Time left of the whole run, from this fit's pace (evaluation time included)."""
        done = self._epochs_done + fraction_of_epoch
        if done <= 0:
            return "?"
        epochs = self.params.get("epochs", 0) - self._first
        return duration((time.time() - self._begin) / done * max(0.0, epochs - done))

    def on_train_batch_end(self, batch, logs=None):
        if not self.live or time.time() - self._drawn < self.refresh:
            return
        self._drawn = time.time()
        steps = self.params.get("steps") or 0
        fraction = min(1.0, (batch + 1) / steps) if steps else 0.0
        text = (f"epoch {self._epoch + 1}/{self.params.get('epochs')}  step {batch + 1}/{steps}"
                f"  {headline(logs, 60)}  left {self._left(fraction)}")
        self.stream.write("\r" + text[: self.width - 1].ljust(self.width - 1))
        self.stream.flush()

    def on_epoch_end(self, epoch, logs=None):
        self._epochs_done += 1
        if self.live and self._drawn:
            self.stream.write("\r" + " " * (self.width - 1) + "\r")
            self.stream.flush()
        epochs = self.params.get("epochs") or 0
        head = f"epoch {epoch + 1}/{epochs} {math.floor(100 * (epoch + 1) / max(1, epochs))}%"
        tail = (f"{duration(time.time() - self._epoch_begin)} (total "
                f"{duration(time.time() - self._begin)}), left {self._left(0.0)}")
        # "tfgen: " (7) and two separators (4) go around the values.
        room = self.width - 7 - len(head) - len(tail) - 4
        log.info("%s", f"{head}  {headline(logs, room, self.everything)}  {tail}")


class Stage:
    """Console lines for one long piece of work outside `fit` (e.g. a run's final NLL): a line
    when it starts, then at most every `every` seconds the fraction done and the time left, and
    a line with its time when it ends. A context manager; `update(done)` reports progress.

    Args:
        title: what runs, with its size.
        detail: a second line, e.g. why that size and which key changes it (None: none).
        total: units of work (e.g. examples), for the fraction and the time left.
        unit: what a unit is, in the progress lines.
        every: seconds between progress lines.
        enabled: False: silent (a run without progress output).

    Example:

    >>> with Stage("test NLL on 1,000 examples", total=1000, enabled=False) as stage:
    ...     stage.update(1000)
    >>> stage.seconds >= 0
    True
    """

    def __init__(self, title: str, total: int | None = None, unit: str = "examples",
                 every: float = 10.0, enabled: bool = True, detail: str | None = None):
        self.title, self.detail, self.total, self.unit = title, detail, total, unit
        self.every, self.enabled = every, enabled
        self.seconds = 0.0

    def __enter__(self) -> Stage:
        self._start = self._shown = time.time()
        if self.enabled:
            log.info("%s", self.title)
            if self.detail:
                log.info("  %s", self.detail)
        return self

    def update(self, done: int) -> None:
        now = time.time()
        if not self.enabled or not self.total or now - self._shown < self.every:
            return
        self._shown = now
        spent, fraction = now - self._start, min(1.0, done / self.total)
        left = duration(spent / fraction * (1 - fraction)) if fraction else "?"
        log.info("  %d%% (%s of %s %s), %s, about %s left", 100 * fraction, f"{done:,}",
                 f"{self.total:,}", self.unit, duration(spent), left)

    def __exit__(self, kind, error, trace) -> None:
        self.seconds = time.time() - self._start
        if self.enabled and kind is None:
            log.info("  done in %.1f s", self.seconds)
