"""`RunDir`: the one owner of a run directory's layout.

    config.yaml       the resolved config, with its `family` (gan, vae)
    checkpoints/      tf.train checkpoints (resume), best.weights.h5 (model selection),
                      partial/ (a checkpoint inside an epoch, saved on SIGTERM/SIGINT)
    logs/             TensorBoard event files
    samples/          the sample grid of each picture epoch (epoch_NNNN.png)
    model.keras       the final model; the family adds generator.keras / decoder.keras
    epochs.json       each epoch's logs (epoch means), written before its checkpoint
    schedule.json     where a linear learning-rate decay continues after `epochs` was raised
    plan.json         steps per epoch and per execution, XLA: what a resumed run keeps
    metrics.json      what `tfgen train` measured (steps, wall time, final and quality values);
                      written last: its presence means the run is complete
    eval.json         what `tfgen evaluate` measured

`tfgen train`, `sample`, `evaluate`, `export` and `tune` reach these files only through it,
and it reaches them through `tfgen.fileio`: a run directory may be a local path or any
`scheme://` path TensorFlow can write (`gs://bucket/runs/x`).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import logging
import os
import socket
from typing import TYPE_CHECKING

from tfgen import fileio
from tfgen.errors import UserError, reason
from tfgen.trainers import config as config_lib

if TYPE_CHECKING:
    from tfgen.trainers import families

# Keys a run that trained may resume with changed: the plan's length, and the size of the
# end-of-run stages (e.g. to finish a run killed in its final NLL with fewer examples).
RESUMABLE_CHANGES = ("epochs", "evaluation.final_examples")
# Keys a resumed run may leave unset: it keeps what it trained with (plan.json), e.g. a run of
# an earlier version whose config.yaml holds the then default steps_per_execution: 1.
UNSET_KEEPS = ("training.steps_per_execution",)


class RunDir:
    """A run directory at `path` (it need not exist yet)."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)

    @classmethod
    def new(cls, cfg) -> RunDir:
        """runs/<preset>-<timestamp>."""
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        return cls(os.path.join("runs", f"{cfg.preset}-{stamp}"))

    def __str__(self) -> str:
        return self.path

    def file(self, *parts: str) -> str:
        return fileio.join(self.path, *parts)

    config_file = property(lambda self: self.file("config.yaml"))
    checkpoints = property(lambda self: self.file("checkpoints"))
    best_weights = property(lambda self: self.file("checkpoints", "best.weights.h5"))
    logs = property(lambda self: self.file("logs"))
    samples = property(lambda self: self.file("samples"))
    model_file = property(lambda self: self.file("model.keras"))
    metrics_file = property(lambda self: self.file("metrics.json"))
    eval_file = property(lambda self: self.file("eval.json"))
    epochs_file = property(lambda self: self.file("epochs.json"))
    schedule_file = property(lambda self: self.file("schedule.json"))
    plan_file = property(lambda self: self.file("plan.json"))

    def worker_checkpoints(self, task_id: int) -> str:
        """Checkpoints of a non-chief worker (every worker writes; only the chief's are kept)."""
        return self.file(f".worker-{task_id}")

    # -- state ------------------------------------------------------------------------------

    def has_config(self) -> bool:
        return fileio.exists(self.config_file)

    def has_trained(self) -> bool:
        """Whether a checkpoint was written (a run that never trained can be reused)."""
        if not fileio.isdir(self.checkpoints):
            return False
        return any(name.startswith("ckpt-") or name == "checkpoint"
                   for name in fileio.listdir(self.checkpoints))

    def is_finished(self) -> bool:
        """Whether the final artefacts were all written (the last step of a run)."""
        return fileio.exists(self.model_file) and fileio.exists(self.metrics_file)

    def check_usable(self) -> None:
        """One line if the path cannot hold a run (a file, or not writable)."""
        if fileio.exists(self.path) and not fileio.isdir(self.path):
            raise UserError(f"--run-dir {self.path} is a file; give a directory")
        if fileio.is_remote(self.path):  # written with the first file: errors name the bucket
            return
        parent = self.path if os.path.isdir(self.path) else os.path.dirname(
            os.path.abspath(self.path))
        while parent and not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if not os.access(parent, os.W_OK):
            raise UserError(f"--run-dir {self.path}: {parent} is not writable")

    @contextlib.contextmanager
    def lock(self):
        """Hold the run directory for this process (an advisory `flock` on `.lock`, released by
        the kernel when the process exits, so a dead holder leaves no stale lock). A remote run
        directory has no `flock`: it is used unlocked, with one line saying so."""
        if fileio.is_remote(self.path):
            fileio.makedirs(self.path)
            logging.getLogger("tfgen").info(
                "%s: a remote run directory has no file lock; start one run in it at a time",
                self.path)
            yield self
            return
        os.makedirs(self.path, exist_ok=True)
        path = self.file(".lock")
        fh = open(path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise UserError(f"run directory {self.path} is in use by {holder}; wait for it or "
                            "use another --run-dir") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}")
        fh.flush()
        try:
            yield self
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    def _check(self) -> None:
        if not fileio.isdir(self.path):
            raise UserError(f"run directory not found: {self.path}")
        if not self.has_config():
            raise UserError(f"{self.path} is not a tfgen run directory (no config.yaml)")

    # -- config -----------------------------------------------------------------------------

    def raw_config(self) -> dict:
        self._check()
        return config_lib.load_yaml(self.config_file)

    def _raw_and_family(self) -> tuple[dict, families.Family]:
        self._check()  # a mistyped run directory: one line, before TensorFlow is imported
        from tfgen.trainers import families  # the models, TensorFlow: not for `--help`

        raw = self.raw_config()
        if "family" not in raw:
            raise UserError(f"{self.config_file} names no model family (family: gan or vae); "
                            "it was not written by this version of tfgen")
        return raw, families.get(raw["family"])

    def family(self) -> families.Family:
        return self._raw_and_family()[1]

    def config(self):
        """The typed config the run was made with."""
        raw, family = self._raw_and_family()
        return config_lib.apply_dict(family.config(), {k: v for k, v in raw.items()
                                                      if k != "family"})

    def write_config(self, cfg) -> None:
        fileio.makedirs(self.path)
        config_lib.dump_yaml(cfg, self.config_file)

    def check_resumable(self, cfg) -> None:
        """A run that trained resumes only with the config it was made with (`RESUMABLE_CHANGES`
        may change); a directory whose run never trained takes any config."""
        if not self.has_trained():
            return
        if not self.has_config():
            raise UserError(f"run directory {self.path} has checkpoints but no config.yaml, so "
                            "they cannot be checked against this config; use a new --run-dir")
        stored_cfg = self.config()
        if stored_cfg.family != cfg.family:
            raise UserError(f"run directory {self.path} holds a {stored_cfg.family} run; "
                            "use a new --run-dir")
        stored, current = config_lib.to_dict(stored_cfg), config_lib.to_dict(cfg)

        def diff(a, b, prefix=""):  # ingredient sections: a key may be in one side only
            keys = []
            for k in dict.fromkeys([*a, *b]):
                x, y = a.get(k), b.get(k)
                if isinstance(x, dict) and isinstance(y, dict):
                    keys += diff(x, y, f"{prefix}{k}.")
                elif x != y and f"{prefix}{k}" not in RESUMABLE_CHANGES and not (
                        y is None and f"{prefix}{k}" in UNSET_KEEPS):
                    keys.append(f"{prefix}{k}")
            return keys

        changed = diff(stored, current)
        if changed:
            raise UserError(
                f"run directory {self.path} was made with a different config ("
                f"{', '.join(changed)} differ); resume with the same settings (only "
                f"{' and '.join(RESUMABLE_CHANGES)} may change) or use a new --run-dir")

    # -- model and results ------------------------------------------------------------------

    def model(self):
        """The final model (`model.keras`, loaded in safe mode); for a run that stopped before
        writing it (a non-finite loss, a kill), the model of its last good checkpoint."""
        self._check()
        if not fileio.exists(self.model_file):
            if self.has_trained():
                return self._checkpoint_model()
            raise UserError(f"{self.path} holds no finished run (no model.keras); train it first")
        import keras

        import tfgen.models  # noqa: F401  (registers the tfgen classes for deserialisation)

        try:
            return keras.saving.load_model(self.model_file, safe_mode=True)
        except Exception as err:  # truncated zip, a Lambda layer refused by safe mode, ...
            raise UserError(f"{self.model_file} cannot be loaded ({reason(err, 160)})") from None

    def epoch_records(self) -> list[dict]:
        """`epochs.json`: one record of logs per completed epoch ([] when none)."""
        return fileio.read_json(self.epochs_file, [])

    def plan(self) -> dict:
        """`plan.json`: the step plan the run trained with ({} for runs of older versions)."""
        return fileio.read_json(self.plan_file, {})

    def schedule(self) -> dict:
        """`schedule.json`: where a linear learning-rate decay was continued after the run's
        epochs changed ({} when never): {"epochs", "start_step", "start_factor"}."""
        return fileio.read_json(self.schedule_file, {})

    def _checkpoint_model(self):
        import logging

        from tfgen import data
        from tfgen.callbacks import Checkpointer
        from tfgen.trainers import families

        cfg = self.config()
        family = families.for_config(cfg)
        model = family.build(cfg, data.source(cfg.data, seed=cfg.seed).info, {}, total_steps=1)
        epoch = Checkpointer(self.checkpoints, model).restore()
        logging.getLogger("tfgen").warning(
            "%s has no final model (its training stopped); using its last good checkpoint: "
            "epoch %d, step %d", self.path, epoch, int(model.step.numpy()))
        return model

    def metrics(self) -> dict:
        """`metrics.json` ({} when the run has not finished)."""
        return fileio.read_json(self.metrics_file, {})
