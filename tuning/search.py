"""`tfgen tune`: a KerasTuner search over a preset's search space.

Layout of a search directory `DIR`:

    DIR/<preset>/oracle.json, tuner0.json, ...     KerasTuner's state (resume, workers)
    DIR/<preset>/trial_NN/run/                     the trial's tfgen run directory
    DIR/<preset>/trial_NN/trial_summary.json       hyperparameters, scores, status, worker
    DIR/<preset>/hparams/                          TensorBoard HParams experiment
    DIR/best_config.yaml                           the best trial's config (`tfgen train --config`)
    DIR/results.json                               every trial, best first

Re-running the same command on `DIR` continues the search: completed trials are kept and an
interrupted one is retried (its run directory resumes from its last checkpoint). With
`KERASTUNER_ORACLE_IP`/`KERASTUNER_ORACLE_PORT` set, the process with
`KERASTUNER_TUNER_ID=chief` serves the oracle and the others run trials.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import time

import keras_tuner

from tfgen import fileio
from tfgen.errors import UserError
from tfgen.fileio import write_json
from tfgen.trainers import config as config_lib
from tfgen.trainers.rundir import RunDir
from tfgen.tuning.hypermodels import GenerativeHyperModel, hypermodel_for, objectives

log = logging.getLogger("tfgen")
TUNERS = ("random", "bayesian", "hyperband")


def make_oracle(kind: str, objective, max_trials: int, max_epochs: int, seed: int):
    common = {"objective": objective, "seed": seed, "max_consecutive_failed_trials": max_trials + 1}
    if kind == "random":
        oracle = keras_tuner.oracles.RandomSearchOracle(max_trials=max_trials, **common)
    elif kind == "bayesian":
        oracle = keras_tuner.oracles.BayesianOptimizationOracle(max_trials=max_trials, **common)
    elif kind == "hyperband":
        oracle = keras_tuner.oracles.HyperbandOracle(max_epochs=max_epochs, factor=3, **common)
        oracle.max_trials = max_trials  # a cap on the bracket schedule's trials
    else:
        raise UserError(f"--tuner {kind!r}: choose from {', '.join(TUNERS)}")
    # KerasTuner reads seed=0 as "no seed" (`seed or random.randint(...)`): set it after.
    oracle.seed = oracle._seed_state = seed
    if hasattr(oracle, "_random_state"):  # the Bayesian oracle's own generator
        import numpy as np

        oracle._random_state = np.random.RandomState(seed)
    return oracle


def _plain(values: dict) -> dict:
    return {k: v for k, v in values.items() if not k.startswith("tuner/")}


class GenerativeTuner(keras_tuner.Tuner):
    """Runs each trial as a tfgen run in the trial's directory (see the module docstring).

    Hyperband's later rounds continue the earlier round's run directory with more epochs.
    """

    hypermodel: GenerativeHyperModel

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        cfg = self.hypermodel.build(hp)
        trial_dir = self.get_trial_dir(trial.trial_id)
        run = RunDir(fileio.join(trial_dir, "run"))
        epochs = hp.values.get("tuner/epochs")
        parent = hp.values.get("tuner/trial_id")
        if parent and not run.has_config():
            fileio.copytree(fileio.join(self.get_trial_dir(parent), "run"), run.path)
            for path in (run.metrics_file, run.eval_file):  # the parent's, not this trial's
                if fileio.exists(path):
                    fileio.remove(path)
        self._write_hparams(run, trial)
        summary = {"trial_id": trial.trial_id, "tuner_id": self.tuner_id,
                   "hyperparameters": _plain(hp.values), "epochs": epochs or cfg.epochs}
        label = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in summary["hyperparameters"].items())
        log.info("trial %s (%s) starts: %s", trial.trial_id, self.tuner_id, label)
        start = time.time()
        try:
            scores = self.hypermodel.fit(hp, cfg, run_dir=run.path, epochs=epochs)
        except keras_tuner.errors.FailedTrialError as err:
            summary.update(status="FAILED", message=str(err))
            log.info("trial %s failed: %s", trial.trial_id, err)
            self._end_hparams_session(run, success=False)
            raise
        finally:
            summary["wall_time_s"] = round(time.time() - start, 1)
            write_json(fileio.join(trial_dir, "trial_summary.json"), summary)
        summary.update(status="COMPLETED", scores=scores)
        self._end_hparams_session(run, success=True)
        write_json(fileio.join(trial_dir, "trial_summary.json"), summary)
        log.info("trial %s done in %.0f s: %s", trial.trial_id, summary["wall_time_s"],
                 ", ".join(f"{k} {v:.4g}" for k, v in scores.items()))
        objective = self.oracle.objective
        if objective.name not in scores:  # a MultiObjective ("multi_objective")
            # KerasTuner looks up a dict result by the objective's name: give it the sum
            # (each metric signed by its direction) it would compute from a History.
            scores = {**scores, objective.name: objective.get_value(scores)}
        return scores

    def _write_hparams(self, run: RunDir, trial):
        import tensorflow as tf
        from tensorboard.plugins.hparams import api as hp_api

        # In the run's own log directory, beside the `evaluation/*` scalars its TensorBoardLogger
        # writes: TensorBoard joins a session with the metrics of the same run only.
        with tf.summary.create_file_writer(run.logs).as_default():
            hp_api.hparams(_plain(trial.hyperparameters.values), trial_id=trial.trial_id)

    @staticmethod
    def _end_hparams_session(run: RunDir, success: bool):
        """The session's end and status, so the HParams dashboard shows it as done (without
        one, every trial's status reads "Unknown")."""
        import tensorflow as tf
        from tensorboard.plugins.hparams import api_pb2
        from tensorboard.plugins.hparams import summary as hp_summary

        status = api_pb2.STATUS_SUCCESS if success else api_pb2.STATUS_FAILURE
        with tf.summary.create_file_writer(run.logs).as_default():
            tf.summary.experimental.write_raw_pb(
                hp_summary.session_end_pb(status).SerializeToString(), step=0)

    def write_hparams_config(self):
        """The HParams dashboard's experiment: every tuned hyperparameter and the objectives
        (logged by each trial's run as `evaluation/<metric>`)."""
        import tensorflow as tf
        from tensorboard.plugins.hparams import api as hp_api

        hparams = [hp_api.HParam(p.name) for p in self.oracle.hyperparameters.space]
        metrics = [hp_api.Metric(f"evaluation/{name}", display_name=name)
                   for name in self.hypermodel.objective]
        with tf.summary.create_file_writer(fileio.join(self.project_dir, "hparams")).as_default():
            hp_api.hparams_config(hparams=hparams, metrics=metrics)


def run(preset: str | None, tuner: str = "random", max_trials: int = 10, objective=None,
        overrides=(), config_file=None, directory: str | None = None, seed: int = 0,
        progress: bool = True, space=None) -> dict:
    """Run (or continue) a search; returns the results written to `DIR/results.json`.

    `space(hp) -> {dotted key: value}` replaces the preset's declared search space."""
    if max_trials < 1:
        raise UserError(f"--max-trials must be at least 1, got {max_trials}")
    from tfgen.trainers import presets, train

    if presets.resolve(preset, config_file, overrides).training.deterministic:
        # Before anything starts TensorFlow's runtime: every trial of this process then runs
        # single-threaded kernels, as `tfgen train` does (else R1's graphs differ in the last
        # bits from run to run, and a resumed search would not repeat its scores).
        train.single_threaded_kernels()
    hypermodel = hypermodel_for(preset, config_file, overrides, objective, progress, space)
    base = hypermodel.base
    directory = directory or os.path.join("runs", f"tune-{base.preset}")
    if fileio.exists(directory) and not fileio.isdir(directory):
        raise UserError(f"--dir {directory} is a file; give a directory")
    oracle = make_oracle(tuner, objectives(hypermodel.objective), max_trials, base.epochs, seed)
    with contextlib.redirect_stdout(io.StringIO()) as said:  # KerasTuner print()s
        search = GenerativeTuner(oracle, hypermodel, directory=directory,
                                 project_name=base.preset, overwrite=False)
    for line in said.getvalue().splitlines():  # "Reloading Tuner from ...", as our own line
        log.info("%s", line.replace("Reloading Tuner from", "continuing the search saved in"))
    _check_same_search(search.project_dir, tuner, hypermodel)
    chief = os.environ.get("KERASTUNER_TUNER_ID", "tuner0") == "chief"
    if chief or "KERASTUNER_ORACLE_IP" not in os.environ:
        search.write_hparams_config()
    log.info("search %s: %s tuner, up to %d trials, objective %s, in %s", base.preset, tuner,
             max_trials, ", ".join(hypermodel.objective), directory)
    search.search(verbose=0)
    if "KERASTUNER_ORACLE_IP" in os.environ and not chief:
        return {}  # a worker: the chief reports
    return report(search, directory)


def _check_same_search(project_dir, tuner, hypermodel):
    """A search directory continues only the search it was made for."""
    path = fileio.join(project_dir, "search.json")
    current = {"tuner": tuner, "objective": hypermodel.objective,
               "config": config_lib.to_dict(hypermodel.base)}
    if fileio.exists(path):
        with fileio.open(path) as fh:
            stored = json.loads(fh.read())
        if stored != current:
            changed = [k for k in current if stored.get(k) != current[k]]
            raise UserError(f"search directory {project_dir} holds a different search "
                            f"({', '.join(changed)} differ); use a new --dir")
    elif os.environ.get("KERASTUNER_TUNER_ID", "tuner0") in ("chief", "tuner0"):
        write_json(path, current)


def report(search: GenerativeTuner, directory: str) -> dict:
    """Every trial (best first) to results.json, the best config to best_config.yaml, and a
    table of the best trials."""
    oracle = search.oracle
    names = search.hypermodel.objective
    trials = list(oracle.trials.values())
    done = [t for t in trials if t.status == "COMPLETED" and t.score is not None]
    best = oracle.get_best_trials(len(done)) if done else []
    rows = []
    for t in best + [t for t in trials if t not in best]:
        rows.append({
            "trial_id": t.trial_id, "status": t.status, "score": t.score,
            "metrics": {n: t.metrics.get_last_value(n) for n in names
                        if t.metrics.exists(n)},
            "hyperparameters": _plain(t.hyperparameters.values),
        })
    results = {"objective": names, "trials": rows}
    if best:
        cfg = search.hypermodel.build(best[0].hyperparameters)
        path = fileio.join(directory, "best_config.yaml")
        config_lib.dump_yaml(cfg, path)
        results.update(best_trial=best[0].trial_id, best_config=path)
    write_json(fileio.join(directory, "results.json"), results)
    print(format_table(rows, names))
    failed = sum(r["status"] == "FAILED" for r in rows)
    log.info("%d trials completed, %d failed; best config: %s", len(done), failed,
             results.get("best_config", "none"))
    return results


def format_table(rows, names, top: int = 10) -> str:
    keys = sorted({k for r in rows for k in r["hyperparameters"]})
    header = ["trial", "status", *names, *keys]
    lines = [header]
    for r in rows[:top]:
        cells = [r["trial_id"], r["status"]]
        cells += [f"{r['metrics'][n]:.4g}" if n in r["metrics"] else "-" for n in names]
        for k in keys:
            v = r["hyperparameters"].get(k, "-")
            cells.append(f"{v:.3g}" if isinstance(v, float) else str(v))
        lines.append(cells)
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in lines)
