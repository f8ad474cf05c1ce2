"""`RunDir`: the one owner of a run directory's layout.

    config.yaml       the resolved config, with its `family` (gan, vae)
    checkpoints/      tf.train checkpoints (resume), best.weights.h5 (model selection)
    logs/             TensorBoard event files
    samples/          the sample grid of each picture epoch (epoch_NNNN.png)
    model.keras       the final model; the family adds generator.keras / decoder.keras
    metrics.json      what `tfgen train` measured (steps, wall time, final and quality values)
    eval.json         what `tfgen evaluate` measured

`tfgen train`, `sample`, `evaluate`, `export` and `tune` reach these files only through it.
"""

from __future__ import annotations

import datetime
import json
import os

from tfgen.trainers import config as config_lib
from tfgen.trainers import families

from tfgen.errors import UserError


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
        return os.path.join(self.path, *parts)

    config_file = property(lambda self: self.file("config.yaml"))
    checkpoints = property(lambda self: self.file("checkpoints"))
    best_weights = property(lambda self: self.file("checkpoints", "best.weights.h5"))
    logs = property(lambda self: self.file("logs"))
    samples = property(lambda self: self.file("samples"))
    model_file = property(lambda self: self.file("model.keras"))
    metrics_file = property(lambda self: self.file("metrics.json"))
    eval_file = property(lambda self: self.file("eval.json"))

    def worker_checkpoints(self, task_id: int) -> str:
        """Checkpoints of a non-chief worker (every worker writes; only the chief's are kept)."""
        return self.file(f".worker-{task_id}")

    # -- state ------------------------------------------------------------------------------

    def has_config(self) -> bool:
        return os.path.exists(self.config_file)

    def has_trained(self) -> bool:
        """Whether a checkpoint was written (a run that never trained can be reused)."""
        return os.path.exists(os.path.join(self.checkpoints, "checkpoint"))

    def _check(self) -> None:
        if not os.path.isdir(self.path):
            raise UserError(f"run directory not found: {self.path}")
        if not self.has_config():
            raise UserError(f"{self.path} is not a tfgen run directory (no config.yaml)")

    # -- config -----------------------------------------------------------------------------

    def raw_config(self) -> dict:
        self._check()
        return config_lib.load_yaml(self.config_file)

    def family(self) -> families.Family:
        raw = self.raw_config()
        if "family" not in raw:
            raise UserError(f"{self.config_file} names no model family (family: gan or vae); "
                            "it was not written by this version of tfgen")
        return families.get(raw["family"])

    def config(self):
        """The typed config the run was made with."""
        raw = self.raw_config()
        family = self.family()
        return config_lib.apply_dict(family.config(), {k: v for k, v in raw.items()
                                                      if k != "family"})

    def write_config(self, cfg) -> None:
        os.makedirs(self.path, exist_ok=True)
        config_lib.dump_yaml(cfg, self.config_file)

    def check_resumable(self, cfg) -> None:
        """A run that trained resumes only with the config it was made with (epochs may grow);
        a directory whose run never trained takes any config."""
        if not self.has_config() or not self.has_trained():
            return
        stored = config_lib.to_dict(self.config())
        current = config_lib.to_dict(cfg)

        def diff(a, b, prefix=""):
            keys = []
            for k in a:
                if isinstance(a[k], dict):
                    keys += diff(a[k], b[k], f"{prefix}{k}.")
                elif a[k] != b[k] and f"{prefix}{k}" != "epochs":
                    keys.append(f"{prefix}{k}")
            return keys

        if type(self.config()) is not type(cfg):
            raise UserError(f"run directory {self.path} holds a {self.family().name} run; "
                            "use a new --run-dir")
        changed = diff(stored, current)
        if changed:
            raise UserError(
                f"run directory {self.path} was made with a different config ("
                f"{', '.join(changed)} differ); resume with the same settings (only epochs may "
                "change) or use a new --run-dir")

    # -- model and results ------------------------------------------------------------------

    def model(self):
        """The final model (`model.keras`), loaded in safe mode."""
        self._check()
        if not os.path.exists(self.model_file):
            raise UserError(f"{self.path} holds no finished run (no model.keras); train it first")
        import keras

        import tfgen.models  # noqa: F401  (registers the tfgen classes for deserialisation)

        return keras.saving.load_model(self.model_file, safe_mode=True)

    def metrics(self) -> dict:
        """`metrics.json` ({} when the run has not finished)."""
        try:
            with open(self.metrics_file) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return {}


def write_json(path: str, value: dict) -> None:
    """Write `value` to `path` atomically (a temporary file, then a rename)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        json.dump(value, fh, indent=2)
    os.replace(tmp, path)
