"""KerasTuner hypermodels for tfgen's GAN and VAE presets.

A `GenerativeHyperModel` turns a trial's hyperparameters into a tfgen run config (the preset,
the user's config file and `--set` overrides, then the values the preset's search space draws)
and trains it with `trainers.train.run` -- the code path of `tfgen train`: the run's strategy,
callbacks, checkpoints and run directory. `build(hp)` returns that config rather than a Keras
model because the model must be built by the trainer, inside the run's distribution strategy
(which, for multi-worker training, must exist before any other TensorFlow work).
"""

from __future__ import annotations

import copy
import logging

import keras_tuner

from tfgen import data
from tfgen.errors import ConfigError, Preempted, TrainingDiverged
from tfgen.metrics.evaluation import DIRECTIONS
from tfgen.trainers import config as config_lib
from tfgen.trainers import families, presets
from tfgen.trainers.rundir import RunDir


def objectives(names: list[str]):
    """The KerasTuner objective for evaluation metric names (direction from each metric): one
    `Objective`, or a list of them (KerasTuner sums them, each signed by its direction)."""
    out = []
    for name in names:
        if name not in DIRECTIONS:
            raise ConfigError(f"--objective {name!r}: choose from {', '.join(DIRECTIONS)}")
        out.append(keras_tuner.Objective(name, direction=DIRECTIONS[name]))
    return out[0] if len(out) == 1 else out


class GenerativeHyperModel(keras_tuner.HyperModel):
    """A preset's search space as a KerasTuner `HyperModel`.

    Args:
        base: the run config every trial starts from (a resolved preset).
        space: `space(hp) -> {dotted config key: value}` (declared with the preset).
        objective: evaluation metric names the trials report (the first selects each trial's
            best epoch).
        progress: show the messages of each trial's run (run directory, evaluations); the
            tuner's own per-trial lines are always shown.
    """

    def __init__(self, base, space, objective: list[str], progress: bool = True):
        super().__init__(name=base.preset)
        self.base, self.space, self.objective = base, space, list(objective)
        self.progress = progress

    def build(self, hp: keras_tuner.HyperParameters):
        """The run config of the trial `hp` (validated)."""
        values = {key: value.item() if hasattr(value, "item") else value
                  for key, value in self.space(hp).items()
                  if value is not None}  # None: inactive (its conditional scope is unmet)
        return config_lib.validate(config_lib.apply_dotted(copy.deepcopy(self.base), values))

    def training_config(self, cfg, epochs: int | None = None):
        """`cfg` as a trial trains it: evaluation on, selection on the first objective,
        collapse stops the trial."""
        cfg = copy.deepcopy(cfg)
        if epochs is not None:
            cfg.epochs = int(epochs)
        e = cfg.evaluation
        e.every = e.every or max(1, cfg.epochs // 4)
        e.metric = self.objective[0]
        e.stop_on_collapse = True
        return cfg

    def fit(self, hp, cfg, run_dir: str, epochs: int | None = None, **kwargs) -> dict:
        """Train the trial's config in `run_dir` (resuming it if it holds a checkpoint);
        returns the objective metrics of its selected model."""
        from tfgen.trainers import train

        metrics = RunDir(run_dir).metrics()  # finished before the search was interrupted?
        if not metrics:
            logger = logging.getLogger("tfgen")
            level = logger.level
            if not self.progress:
                logger.setLevel(logging.WARNING)
            try:
                metrics = train.run(self.training_config(cfg, epochs), run_dir=run_dir,
                                    progress=False)
            except TrainingDiverged as err:  # non-finite or collapsed: failed, not retried
                raise keras_tuner.errors.FailedTrialError(str(err)) from None
            except Preempted as err:  # the search stops (KerasTuner would go on to a new trial)
                raise TrialPreempted(str(err), err.signum, run_dir) from None
            finally:
                logger.setLevel(level)
        values = metrics["evaluation"]
        return {name: float(values[name]) for name in self.objective}


class TrialPreempted(Preempted, keras_tuner.errors.FatalError):
    """A trial stopped by SIGTERM/SIGINT: a `FatalError`, so KerasTuner stops the search and
    leaves the trial running; the same `tfgen tune` command resumes it from its checkpoint."""


def hypermodel_for(preset: str, config_file=None, overrides=(), objective=None,
                   progress: bool = True, space=None) -> GenerativeHyperModel:
    """The hypermodel of a preset (with a config file and overrides applied); `space` replaces
    the preset's declared search space."""
    base = presets.resolve(preset, config_file, overrides)
    space = space or presets.search_space(base.preset)
    if not objective:
        objective = [families.for_config(base).default_metric(data.kind(base.data.name))]
    return GenerativeHyperModel(base, space, objective, progress)
