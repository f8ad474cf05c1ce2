"""`tfgen train`: config -> data -> strategy -> model -> fit, in a run directory.

Read top to bottom, one run is: `run` (run directory, strategy, seeds, precision) ->
`_train`: the data source, the step `Plan`, the model (built in the strategy's scope), the
`Callbacks` in their required order, the resume point, `fit`, then the `_summary` that
becomes `metrics.json` and the family's exported files. Running again on the same directory
resumes from its last checkpoint (see `tfgen.trainers.rundir.RunDir` for the layout).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import re
import time

import keras

from tfgen import modalities
from tfgen.errors import ConfigError, Preempted, UserError
from tfgen.fileio import write_json
from tfgen.metrics.evaluation import DIRECTIONS, MIN_IMAGE_SAMPLES
from tfgen.trainers import families
from tfgen.trainers.rundir import RunDir

log = logging.getLogger("tfgen")


def run(cfg, run_dir: str | RunDir | None = None, progress: bool = True,
        verbose: bool = False) -> dict:
    """Train `cfg` in `run_dir` (resuming if it holds a run); returns the metrics written."""
    from tfgen import distribute

    run_dir = RunDir.new(cfg) if run_dir is None else RunDir(str(run_dir))
    run_dir.check_usable()
    run_dir.check_resumable(cfg)
    if cfg.training.deterministic and not _accelerated():
        single_threaded_kernels()  # on a GPU/TPU host one thread would starve the input
    # Multi-worker and TPU strategies must be created before any other TensorFlow work.
    strategy = distribute.resolve_strategy(cfg.strategy, cfg.tpu)

    import tensorflow as tf

    keras.utils.set_random_seed(cfg.seed)
    if cfg.training.deterministic:
        tf.config.experimental.enable_op_determinism()
    # The chief holds the run directory (other workers write only their own .worker-N files).
    held = run_dir.lock() if distribute.is_chief(strategy) else contextlib.nullcontext()
    recorded = run_dir.plan() if run_dir.has_trained() else {}
    with held, _precision(cfg.training.precision, strategy, recorded.get("precision")):
        run_dir.check_resumable(cfg)  # again, now that no other process can change it
        return _train(cfg, run_dir, strategy, families.for_config(cfg), progress, verbose,
                      recorded)


def _train(cfg, run_dir: RunDir, strategy, family, progress, verbose=False,
           recorded: dict | None = None) -> dict:
    from tfgen import data, distribute

    chief = distribute.is_chief(strategy)
    source = data.source(cfg.data, seed=cfg.seed)
    plan = Plan.make(cfg, source, strategy, family,
                     recorded=_recorded_plan(run_dir, recorded or {}, source, family))
    with strategy.scope():
        model = family.build(cfg, source.info, plan.compile_kwargs, plan.total_steps)
    cbs = Callbacks.make(cfg, run_dir, source, model, family, strategy, chief,
                         progress=progress, verbose=verbose)
    initial_epoch, step = _resume(cfg, run_dir, cbs)
    _continue_schedules(cfg, run_dir, model, plan, step, chief)
    if initial_epoch >= cfg.epochs:  # trained, but killed before its final files were written
        log.info("%s finished training (epoch %d); writing its final files", run_dir, cfg.epochs)
        if cbs.best is not None:
            cbs.best.set_model(model)
            cbs.best.on_train_end()  # the selected epoch's weights, as after fit
        return _finish(cfg, run_dir, source, model, family, plan, cbs, step, strategy, chief,
                       wall=0.0, progress=progress)
    if chief:
        run_dir.write_config(cfg)
        write_json(run_dir.plan_file, plan.record())

    ds = data.load_distributed(source, "train", batch_size=plan.batch_size, seed=cfg.seed,
                               labels=cfg.data.labels, start_batch=step, strategy=strategy)
    val_ds = None
    if family.validates and "val" in source.info.splits:
        val_ds = data.load(source, "val", batch_size=cfg.batch_size, seed=cfg.seed,
                           labels=cfg.data.labels, training=False, strategy=strategy)
    if chief and progress:
        for line in banner(cfg, source, model, plan, strategy, initial_epoch, step):
            (log.warning if line.startswith("warning: ") else log.info)("%s", line)
    start = time.time()
    try:
        model.fit(
            ds, epochs=cfg.epochs, initial_epoch=initial_epoch,
            steps_per_epoch=plan.steps_per_epoch, validation_data=val_ds, callbacks=cbs.ordered,
            shuffle=False, verbose=0,  # the console is `ProgressLogger`'s
        )
    except Preempted as err:
        err.run_dir = str(run_dir)
        raise
    finally:
        cbs.preemption.uninstall()  # also when fit raised
    wall = time.time() - start
    return _finish(cfg, run_dir, source, model, family, plan, cbs, step, strategy, chief, wall,
                   progress)


def _finish(cfg, run_dir, source, model, family, plan, cbs, step, strategy, chief,
            wall: float, progress: bool = True) -> dict:
    """The end of a run: the summary, the family's files and `metrics.json` (last, so its
    presence means the run is complete). Also what a re-run does for a run that finished
    training but was killed before these were written (with `wall` 0: nothing trained)."""
    metrics = _summary(cfg, source, model, family, plan, cbs, run_dir, step, wall, strategy,
                       progress=progress and chief)
    if chief:
        family.export(model, run_dir.path)
        write_json(run_dir.metrics_file, metrics)
        for line in summary_lines(metrics, run_dir, family):
            log.info("%s", line)
    return metrics


def banner(cfg, source, model, plan, strategy, initial_epoch: int, step: int) -> list[str]:
    """The run's first console lines: the data (splits, shape, classes), the networks' sizes,
    the plan, the strategy and precision; a warning for a split smaller than one batch."""
    info = source.info
    splits = " / ".join(f"{n:,} {split}" for split, n in info.splits.items() if n)
    classes = f", {info.num_classes} classes" if info.num_classes else ""
    shape = "x".join(str(d) for d in info.shape)
    networks = ", ".join(f"{name} {_millions(getattr(model, name).count_params())}"
                         for name in model.submodels if getattr(model, name) is not None)
    replicas = strategy.num_replicas_in_sync
    left = (cfg.epochs - initial_epoch) * plan.steps_per_epoch
    where = f"from step {step}, " if step else ""
    lines = [
        f"training {cfg.preset or families.for_config(cfg).name} on {info.name}: {splits}; "
        f"{shape}{classes}",
        f"model: {networks} parameters; {keras.config.dtype_policy().name}"
        + (", XLA" if plan.compile_kwargs.get("jit_compile") else ""),
        f"plan: {cfg.epochs} epochs x {plan.steps_per_epoch} steps, batch {cfg.batch_size} "
        f"({where}{left:,} steps to go) on {_strategy_name(strategy)} strategy ({replicas} "
        f"replica{'s' if replicas > 1 else ''})",
    ]
    for split, n in info.splits.items():
        if n and n < cfg.batch_size:
            lines.append(f"warning: the {split} split has {n} examples, fewer than one batch "
                         f"({cfg.batch_size})")
    return lines


def _strategy_name(strategy) -> str:
    """"default", "mirrored", "multi worker mirrored", "TPU", ... (from the class name)."""
    name = type(strategy).__name__.lstrip("_").replace("DistributionStrategy", "")
    name = name.removesuffix("Strategy") or "default"
    words = re.findall(r"TPU|[A-Z][a-z]*", name)
    return " ".join(w if w == "TPU" else w.lower() for w in words) if words else name


def _millions(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}k"


def summary_lines(metrics: dict, run_dir: RunDir, family) -> list[str]:
    """The end-of-run block: what ran and why it stopped, the selected epoch, quality, where the
    files are and what to run next."""
    run = "this run" if metrics["steps_this_run"] == metrics["steps"] else "this part of the run"
    lines = [f"done: {metrics['epochs']} of {metrics['epochs_planned']} epochs, {metrics['steps']} "
             f"steps ({run}: {metrics['steps_this_run']} steps in {metrics['wall_time_s']:.1f} s)"
             f"; stopped: {metrics.get('stopped') or 'all epochs done'}"]
    if "best_epoch" in metrics:
        lines.append(f"selected epoch {metrics['best_epoch']} by {metrics['monitor']} = "
                     f"{metrics['best_value']:.4g} (its weights are the final model's)")
    for key in ("evaluation", "quality"):
        values = metrics.get(key)
        if values:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in values.items()
                              if isinstance(v, (int, float)) and k in DIRECTIONS)
            if shown:
                lines.append(f"{key} ({values.get('split', 'test')} split): {shown}")
    modality = modalities.get(metrics.get("modality", "images"))
    lines.append(f"files in {run_dir}: {', '.join(family.files)}, metrics.json; "
                 f"{'samples' if modality.name == 'text' else 'pictures'} in samples/")
    lines.append(f"next: tensorboard --logdir {run_dir.logs} | tfgen sample {run_dir} --out "
                 f"{modality.default_out} | tfgen evaluate {run_dir}")
    return lines


# -- precision and determinism ----------------------------------------------------------------


@contextlib.contextmanager
def _precision(precision: str, strategy, recorded: str | None = None):
    """The global dtype policy for the block (`auto` resolved and logged; `recorded`: the
    policy `auto` gave a resumed run when it started, which it keeps)."""
    import keras

    from tfgen import distribute

    previous = keras.config.dtype_policy()
    if precision == "auto":
        precision, why = distribute.auto_precision(strategy)
        if recorded and recorded != precision:
            log.info("precision: %s, the run's own (auto here: %s, %s)", recorded, precision, why)
            precision = recorded
        else:
            log.info("precision: %s (%s)", precision, why)
    keras.mixed_precision.set_global_policy(precision)
    try:
        yield precision
    finally:
        keras.mixed_precision.set_global_policy(previous)


def single_threaded_kernels() -> None:
    """One intra-op and one inter-op thread. With op determinism alone, runs of the same
    `ring8-gan` command (R1 penalty: double-backprop graphs) differed in the last bits in 3 of 6
    tries, still in 3 of 6 with one intra-op thread, and in 0 of 6 with both set to one thread.
    Must precede the runtime's start."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        log.warning("TensorFlow was already initialised: kernels stay multi-threaded, and "
                    "training.deterministic may not be bit-identical across runs")


# -- the step plan ----------------------------------------------------------------------------


@dataclasses.dataclass
class Plan:
    """How many steps, how they are grouped into executions, and whether XLA compiles them."""

    steps_per_epoch: int
    total_steps: int
    batch_size: int  # examples per train step (a GAN takes one batch per discriminator step)
    compile_kwargs: dict

    @classmethod
    def make(cls, cfg, source, strategy, family, recorded: dict | None = None) -> Plan:
        """The plan on this machine; `recorded`: the plan a resumed run trained with
        (`plan.json`), whose steps per epoch and per execution it keeps -- the machine's own
        choice (about 32 per execution on a GPU, 1 on a CPU) could move the epochs' ends -- and
        whose XLA setting, when this machine's differs, is named in a warning (the steps from
        here are then not bit-identical to an uninterrupted run's)."""
        t = cfg.training
        per_step = family.batches_per_step(cfg)
        steps_per_epoch = cfg.steps_per_epoch or max(
            1, source.num_examples("train") // (cfg.batch_size * per_step))
        examples = cfg.batch_size * per_step
        if source.num_examples("train") and examples > source.num_examples("train"):
            raise ConfigError(
                f"config key 'batch_size': a step takes {examples} examples but the training "
                f"split has {source.num_examples('train')}; lower batch_size"
                + (f" (or model.n_critic={per_step})" if per_step > 1 else ""))
        replicas, pac = strategy.num_replicas_in_sync, getattr(cfg.model, "pac", 1)
        if cfg.batch_size % replicas == 0 and (cfg.batch_size // replicas) % pac:
            raise ConfigError(
                f"config key 'batch_size': each of the {replicas} replicas takes "
                f"{cfg.batch_size // replicas} examples, not a multiple of model.pac={pac}; use a "
                f"multiple of {replicas * pac}")
        jit = _jit(t.jit_compile, strategy)
        spe, steps_per_epoch = _executions(t.steps_per_execution, steps_per_epoch, strategy,
                                           explicit=cfg.steps_per_epoch is not None)
        recorded = recorded or {}
        if "steps_per_epoch" in recorded and (recorded["steps_per_epoch"], recorded[
                "steps_per_execution"]) != (steps_per_epoch, spe):
            log.info("resuming with the run's own %d steps per epoch, %d per execution (this "
                     "machine would take %d and %d)", recorded["steps_per_epoch"],
                     recorded["steps_per_execution"], steps_per_epoch, spe)
            steps_per_epoch, spe = recorded["steps_per_epoch"], recorded["steps_per_execution"]
        if "jit_compile" in recorded and bool(recorded["jit_compile"]) != jit:
            log.warning("the run trained with XLA %s and resumes with it %s (training.jit_compile "
                        "unset picks it per machine): the resumed steps are not bit-identical to "
                        "an uninterrupted run's", *(("on", "off") if jit is False else ("off", "on")))
        return cls(steps_per_epoch, cfg.epochs * steps_per_epoch, cfg.batch_size * per_step,
                   {"jit_compile": jit, "steps_per_execution": spe})

    def record(self) -> dict:
        """What `plan.json` keeps (see `make`; and the dtype policy, which `auto` resolved)."""
        import keras

        return {"steps_per_epoch": self.steps_per_epoch, **self.compile_kwargs,
                "precision": keras.config.dtype_policy().name}


def _recorded_plan(run_dir: RunDir, recorded: dict, source, family) -> dict | None:
    """The plan a run that trained had: its `plan.json` (`recorded`), or for a run of an
    earlier version (none written) the steps its config gave then -- the epoch from the data,
    steps per execution shrunk to a divisor of it (gcd)."""
    if recorded or not run_dir.has_trained():
        return recorded or None
    stored = run_dir.config()
    steps = stored.steps_per_epoch or max(1, source.num_examples("train") // (
        stored.batch_size * family.batches_per_step(stored)))
    return {"steps_per_epoch": steps,
            "steps_per_execution": math.gcd(stored.training.steps_per_execution or 1, steps)}


AUTO_STEPS_PER_EXECUTION = 32  # on GPUs and TPUs: one host round trip per this many steps


def _accelerated() -> bool:
    """Whether TensorFlow lists a GPU or TPU (listing physical devices does not start the
    runtime, so thread limits can still follow)."""
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU") or tf.config.list_physical_devices("TPU"))


def _jit(asked: bool | None, strategy) -> bool:
    """Whether Keras XLA-compiles the step: asked, or by default on one GPU (it was slower on
    CPU here). Never under TPUStrategy, which compiles the whole step with XLA itself; refused
    with more than one replica of another strategy (keras-team/keras#19005: the compiled
    mirrored step reads another replica's variables and crashes)."""
    from tfgen import distribute

    if distribute.is_tpu(strategy):
        if asked:
            log.info("training.jit_compile: TPUStrategy compiles the step with XLA itself")
        return False
    replicas = strategy.num_replicas_in_sync
    if asked and replicas > 1:
        raise ConfigError(
            f"config key 'training.jit_compile': XLA cannot compile a step mirrored over "
            f"{replicas} replicas (keras-team/keras#19005); leave it unset or run on one device")
    if asked is None:
        return _accelerated() and replicas == 1
    return bool(asked)


def _executions(asked: int | None, steps_per_epoch: int, strategy,
                explicit: bool) -> tuple[int, int]:
    """(steps per execution, steps per epoch). Keras runs whole executions, so an epoch is
    rounded up to a whole number of them (the data stream runs on; a user's choice of
    steps per execution is kept, no more than the epoch). Unset: 1 on CPU, and on GPUs and
    TPUs about AUTO_STEPS_PER_EXECUTION, split evenly over the epoch so it grows by less
    than one step per execution."""
    from tfgen import distribute

    if asked is None:
        if not (_accelerated() or distribute.is_tpu(strategy)):  # a TPU node: no local chips
            return 1, steps_per_epoch
        executions = math.ceil(steps_per_epoch / AUTO_STEPS_PER_EXECUTION)
        asked = math.ceil(steps_per_epoch / executions)
    spe = min(asked, steps_per_epoch)
    if spe != asked:
        log.info("training.steps_per_execution %d is more than the %d steps per epoch; using %d",
                 asked, steps_per_epoch, spe)
    rounded = math.ceil(steps_per_epoch / spe) * spe
    if rounded != steps_per_epoch:
        log.info("%s %d rounded up to %d: a whole number of executions of %d steps",
                 "steps_per_epoch" if explicit else "steps per epoch", steps_per_epoch,
                 rounded, spe)
    return spe, rounded


# -- callbacks --------------------------------------------------------------------------------


@dataclasses.dataclass
class Callbacks:
    """The run's callbacks. Their order in `ordered` matters (tested):

    1. `NonFiniteGuard` first: a non-finite step stops before anything is logged or saved.
    2. `Preemption`: after the guard (a non-finite step is never checkpointed), before any
       callback that may stop training at an epoch end (it ends a resumed epoch early).
    3. `Evaluation` before `BestEpoch` and the loggers, which read the `eval_*` values it adds
       to the epoch's logs.
    4. `BestEpoch` before the `Checkpointer` (its state is saved with the epoch) and before the
       `TensorBoardLogger`, whose `on_train_end` (the projector) must see the selected weights
       that `BestEpoch.on_train_end` loads.
    5. `TensorBoardLogger` (chief only).
    6. `EpochRecorder` (chief only): the epoch's logs, for `metrics.json`, before the checkpoint
       that makes the epoch count as done.
    7. `ProgressLogger` (chief, with progress): the console line, with the evaluation's values.
    8. `Checkpointer` last: a checkpoint holds everything the epoch changed.
    """

    ordered: list
    checkpointer: object
    preemption: object
    best: object | None = None
    evaluation: object | None = None
    metric: str | None = None

    @classmethod
    def make(cls, cfg, run_dir: RunDir, source, model, family, strategy, chief,
             progress: bool = False, verbose: bool = False) -> Callbacks:
        from tfgen import callbacks

        ckpt_dir = (run_dir.checkpoints if chief
                    else run_dir.worker_checkpoints(strategy.cluster_resolver.task_id))
        best_path = f"{ckpt_dir}/best.weights.h5"
        evaluation, metric = _evaluation(cfg, source, model, family)
        best = None
        if evaluation is not None:  # model selection and stopping on the chosen metric
            e = cfg.evaluation
            best = callbacks.BestEpoch(best_path, f"eval_{metric}", DIRECTIONS[metric],
                                       patience=e.patience, target=e.target, every=e.every)
        elif family.validates and "val" in source.info.splits:  # best epoch by the val bound
            best = callbacks.BestEpoch(best_path, "val_bound", "max",
                                       patience=family.patience(cfg))
        checkpointer = callbacks.Checkpointer(ckpt_dir, model, every=cfg.training.checkpoint_every,
                                              extra=best.state() if best is not None else None)
        preemption = callbacks.Preemption(checkpointer)
        ordered = [callbacks.NonFiniteGuard(), preemption]
        if evaluation is not None:
            ordered.append(evaluation)
        if best is not None:
            ordered.append(best)
        if chief:
            ordered.append(_logger(cfg, run_dir, source, model, family))
        if chief:
            ordered.append(EpochRecorder(run_dir))
        if chief and progress:
            ordered.append(callbacks.ProgressLogger(everything=verbose))
        ordered.append(checkpointer)
        return cls(ordered, checkpointer, preemption, best, evaluation, metric)


class EpochRecorder(keras.callbacks.Callback):
    """Each epoch's logs (epoch means) in the run directory's `epochs.json` (atomically), so the
    summary of a run -- also of one finished by a re-run after a kill -- has its last epoch's
    values. Records of epochs after the restored checkpoint (redone on resume) are dropped."""

    def __init__(self, run_dir: RunDir):
        super().__init__()
        self.run_dir = run_dir

    def on_train_begin(self, logs=None):
        self.records = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.records is None:  # the first epoch of this fit: `epoch` epochs are done
            self.records = [r for r in self.run_dir.epoch_records() if r["epoch"] <= epoch]

    def on_epoch_end(self, epoch, logs=None):
        from tfgen.callbacks import common

        values = {k: common.scalar(v) for k, v in (logs or {}).items()}
        self.records.append({"epoch": epoch + 1, "step": common.model_step(self.model), **values})
        write_json(self.run_dir.epochs_file, self.records)


def _evaluation(cfg, source, model, family):
    """The `Evaluation` callback the `evaluation` config section asks for and the metric it
    selects on, or (None, None)."""
    from tfgen import callbacks
    from tfgen.metrics.evaluation import Evaluator

    e = cfg.evaluation
    if not e.every:
        return None, None
    splits = source.info.splits
    split = e.split if e.split in splits else "test" if "test" in splits else "train"
    if split != e.split:
        log.info("evaluation: dataset %s has no %s split; evaluating on %s", source.info.name,
                 e.split, split)
    num = e.num
    if modalities.get(source.info.kind).images:  # equal counts of generated and real images
        size = source.num_examples(split)
        if size < MIN_IMAGE_SAMPLES:
            raise ConfigError(
                f"config key 'evaluation.every': the {split} split of {source.info.name} has "
                f"{size} examples, fewer than the {MIN_IMAGE_SAMPLES} image metrics need; raise "
                f"data.val_fraction, choose another evaluation.split, or set evaluation.every=0")
        if num is not None and num > size:
            log.info("evaluation: the %s split has %d examples, so each evaluation compares %d "
                     "generated with %d real images (evaluation.num=%d asks for more)", split,
                     size, size, size, num)
            num = size
    evaluator = Evaluator(source, split, num=num, seed=cfg.seed, features=e.features or "auto",
                          nll_samples=family.nll_samples(cfg), baseline=False, progress=True)
    available = evaluator.available(model)
    metric = e.metric or family.default_metric(source.info.kind)
    if metric not in available:
        raise UserError(f"config key 'evaluation.metric': {metric!r} does not apply to this "
                        f"run; choose from: {', '.join(available)}")
    return callbacks.Evaluation(evaluator, every=e.every,
                                stop_on_collapse=e.stop_on_collapse), metric


def _logger(cfg, run_dir: RunDir, source, model, family):
    from tfgen import callbacks

    info, t = source.info, cfg.training
    modality = modalities.get(info.kind)
    by_class = model.conditional and modality.images
    return callbacks.TensorBoardLogger(
        run_dir.logs, samples_dir=run_dir.samples, image_every=t.sample_every, seed=cfg.seed,
        num_samples=modality.summary_samples(t.num_samples),
        value_range=info.value_range,
        modes=info.mixture.means if info.mixture is not None else None,
        columns=info.num_classes if by_class else None,
        column_names=info.class_names if by_class else None,
        diagnostics=family.diagnostics(source, cfg.data.labels),
        modality=modality, context=modality.context(source),
    )


# -- resume -----------------------------------------------------------------------------------


def _resume(cfg, run_dir: RunDir, cbs: Callbacks) -> tuple[int, int]:
    """(epochs done, model step) of the latest checkpoint; fails with one line when the run is
    already complete or stopped early."""
    from tfgen.callbacks import model_step

    initial_epoch = cbs.checkpointer.restore()
    best = cbs.best
    if best is not None and best.stopped():
        raise UserError(
            f"run directory {run_dir} stopped early at epoch {initial_epoch} ({best.reason()}); "
            f"its best epoch is {int(best.best_epoch.numpy())}")
    if initial_epoch >= cfg.epochs and run_dir.is_finished():
        raise UserError(f"run directory {run_dir} already completed {initial_epoch} epochs; "
                        "raise epochs to train further")
    step = model_step(cbs.checkpointer.model)
    if initial_epoch:
        within = cbs.checkpointer.partial_steps()
        log.info("resuming %s from epoch %d (step %d)%s", run_dir, initial_epoch, step,
                 f", {within} steps into epoch {initial_epoch + 1}" if within else "")
    else:
        log.info("run directory: %s", run_dir)
    return initial_epoch, step


def _continue_schedules(cfg, run_dir: RunDir, model, plan: Plan, step: int, chief) -> None:
    """The rule for a linear learning-rate decay when a run is resumed with other `epochs`: the
    rate continues from the value it had reached at the resume step and decays linearly to 0 at
    the new last step (no jump). One exception, logged: if the old plan had already decayed to
    0 (the run was complete), the rate restarts from what the new plan gives at that step --
    training on at 0 would change nothing. The continuation point is kept in `schedule.json`
    (written before the new `config.yaml`, so a kill between the two repeats the same step)."""
    from tfgen.models.optimizers import schedules_of

    schedules = [s for opt in model.named_optimizers().values() for s in schedules_of(opt)]
    if not schedules:
        return
    anchor = run_dir.schedule()
    if anchor.get("epochs") != cfg.epochs:
        old = run_dir.config().epochs if step and run_dir.has_config() else cfg.epochs
        anchor = {}
        if old != cfg.epochs:
            previous = run_dir.schedule()
            if previous.get("epochs") != old:
                previous = {"start_step": 0, "start_factor": 1.0}
            end = old * plan.steps_per_epoch
            factor = previous["start_factor"] * max(0, end - step) / max(
                1, end - previous["start_step"])
            if factor > 0:
                anchor = {"epochs": cfg.epochs, "start_step": step, "start_factor": factor}
                log.info("epochs %d -> %d: the learning rate continues from %.3g of its base "
                         "value at step %d and decays to 0 at step %d", old, cfg.epochs, factor,
                         step, plan.total_steps)
            else:
                log.warning("epochs %d -> %d: the learning rate had decayed to 0 (the run was "
                            "complete); it restarts at the new plan's %.3g of its base value",
                            old, cfg.epochs, 1 - step / plan.total_steps)
        if chief and (anchor or run_dir.schedule()):
            write_json(run_dir.schedule_file, anchor)
    for schedule in schedules:
        if anchor:  # in each optimizer's own updates (a GAN's D makes n_critic per step)
            per_step = schedule.decay_steps // max(1, plan.total_steps)
            schedule.continue_from(anchor["start_step"] * per_step,
                                   schedule.initial_learning_rate * anchor["start_factor"])
        else:
            schedule.continue_from(0)


# -- summary ----------------------------------------------------------------------------------


def _summary(cfg, source, model, family, plan: Plan, cbs: Callbacks, run_dir: RunDir,
             step: int, wall: float, strategy, progress: bool = False) -> dict:
    """What `metrics.json` records: steps and speed, the last epoch's logs, the selected epoch,
    the evaluation of the final model and the test-split quality."""
    from tfgen import callbacks, distribute

    steps_saved = cbs.checkpointer.steps_saved()
    steps_run = steps_saved - step
    records = run_dir.epoch_records()
    final = {k: v for k, v in records[-1].items() if k not in ("epoch", "step",
                                                              "weights_finite")} if records else {}
    info = source.info
    metrics = {
        "preset": cfg.preset,
        "family": family.name,
        "modality": info.kind,
        # The epochs that ran (fewer than planned after early stopping), and the plan.
        "epochs": records[-1]["epoch"] if records else 0,
        "epochs_planned": cfg.epochs,
        "steps": steps_saved,
        "model_step": callbacks.model_step(model),  # the best epoch's, under model selection
        "steps_this_run": steps_run,
        "wall_time_s": round(wall, 3),
        "steps_per_s": round(steps_run / wall, 3) if wall > 0 else None,
        "samples_per_s": round(steps_run * plan.batch_size / wall, 1) if wall else None,
        "final": final,
        "strategy": distribute.describe(strategy),
        "precision": keras.mixed_precision.global_policy().name,  # what `auto` resolved to
        # For pictures drawn later (`tfgen sample`) without loading the dataset again.
        "class_names": list(info.class_names) if info.class_names else None,
        "sample_context": {k: v for k, v in modalities.get(info.kind).context(source).items()
                           if isinstance(v, (int, float, str)) or (
                               isinstance(v, list) and all(isinstance(t, (str, int, float))
                                                           for t in v))},
        # (a piano-roll's grid; text's token level and vocabulary, the one built on train;
        # audio's rate and, for spectrograms, their normalisation)
    }
    stages = FinalStages(cfg, source, model, family, cbs, trained=steps_saved * plan.batch_size,
                         progress=progress)
    expost = stages.expost()
    if expost:
        metrics["expost"] = expost
    best = cbs.best
    if best is not None:
        metrics["best_epoch"] = int(best.best_epoch.numpy())
        metrics["selected"] = next((r for r in records if r["epoch"] == metrics["best_epoch"]),
                                   None)  # the selected epoch's logs
        metrics["monitor"] = best.monitor
        metrics["best_value"] = float(best.best.numpy())
        if best.stopped():
            metrics["stopped"] = best.reason()
    evaluation = stages.evaluation()
    if evaluation:  # the final (selected) model's values, for the tuner
        metrics["evaluation"] = evaluation
    quality = stages.quality()
    if quality:
        metrics["quality"] = quality
    metrics["final_stages_s"] = stages.seconds
    return metrics


FINAL_MIN_EXAMPLES = 1000  # a short run's end-of-run figures still rest on this many examples


class FinalStages:
    """What runs after training, before the files are written: the family's `finish` (a VAE's
    ex-post mixture), the evaluation of the selected weights (on `evaluation.num` samples, as
    during training) and the test-split quality. Each logs what it does on how many examples,
    its progress and its time (`seconds`, recorded in metrics.json). The ex-post fit and the
    test quality follow the run's size: at most `evaluation.final_examples` examples of a
    split, by default as many as training drew (steps x batch), at least `FINAL_MIN_EXAMPLES`
    -- so a 5-step smoke test does not spend minutes on 55,000 codes and 10,000 test NLLs,
    while a full run's figures cover the whole split."""

    def __init__(self, cfg, source, model, family, cbs, trained: int, progress: bool = True):
        self.cfg, self.source, self.model, self.family, self.cbs = cfg, source, model, family, cbs
        self.progress = progress
        self.examples = cfg.evaluation.final_examples or max(FINAL_MIN_EXAMPLES, trained)
        self.why = ("(evaluation.final_examples)" if cfg.evaluation.final_examples else
                    f"(the run trained on {trained:,} examples: as many, at least "
                    f"{FINAL_MIN_EXAMPLES:,}; evaluation.final_examples sets the number)")
        likelihood = model.has_likelihood and "test" in source.info.splits
        self.names = [name for name, runs in (
            ("ex-post mixture", bool(getattr(model, "expost_components", 0))),
            ("evaluation", cbs.evaluation is not None),
            ("test quality", likelihood or (modalities.get(source.info.kind).cheap_metrics
                                            is not None and "test" in source.info.splits)))
            if runs]
        self.seconds: dict[str, float] = {}

    def _stage(self, name: str, what: str, total: int | None = None, unit: str = "examples",
               detail: str | None = None):
        from tfgen.callbacks import Stage

        number = f"{self.names.index(name) + 1}/{len(self.names)}"
        return Stage(f"after training {number}: {what}", total=total, unit=unit,
                     enabled=self.progress, detail=detail)

    def _of(self, split: str) -> tuple[int, str, str | None]:
        """(examples used, "N of M SPLIT", why N, or None for the whole split) for a split."""
        size = self.source.num_examples(split)
        n = min(size, self.examples)
        return (n, f"all {size:,} {split}", None) if n == size else (
            n, f"{n:,} of {size:,} {split}", self.why)

    def expost(self) -> dict | None:
        if "ex-post mixture" not in self.names:
            return None
        n, which, why = self._of("train")
        k = self.model.expost_components
        with self._stage("ex-post mixture", f"ex-post mixture, {k} components "
                         f"(model.expost_components), on {which} codes", total=n, unit="codes",
                         detail=why) as stage:
            result = self.family.finish(self.model, self.source, self.cfg, examples=n,
                                        progress=stage.update)
        self.seconds["expost"] = round(stage.seconds, 2)
        return result

    def evaluation(self) -> dict | None:
        if self.cbs.evaluation is None:
            return None
        evaluator = self.cbs.evaluation.evaluator
        with self._stage("evaluation", f"evaluation of the final weights, {evaluator.num:,} "
                         f"samples against the {evaluator.split} split (evaluation.num)"
                         ) as stage:
            values = evaluator.values(self.model)
        self.seconds["evaluation"] = round(stage.seconds, 2)
        return {"metric": self.cbs.metric, "split": evaluator.split,
                "num_samples": evaluator.num, **values}

    def quality(self) -> dict | None:
        """The cheap part of `tfgen evaluate`, on the test split: PacGAN's mode metrics (2-D
        mixtures) and the test NLL, ELBO and active units (likelihood models). Image metrics
        need a feature extractor: `tfgen evaluate` or the `evaluation` section."""
        from tfgen.metrics.evaluation import Evaluator

        if "test quality" not in self.names:
            return None
        model, likelihood = self.model, self.model.has_likelihood
        n, which, why = self._of("test") if likelihood else (None, "", None)
        k = self.family.nll_samples(self.cfg)
        evaluator = Evaluator(self.source, "test", seed=self.cfg.seed, features=None,
                              baseline=False, nll_samples=k, nll_examples=n)
        title = (f"test NLL (K={k}: model.eval_samples), ELBO and active units on {which} "
                 "examples" if likelihood else
                 f"{evaluator.modality.cheap_metrics} of {evaluator.num:,} samples")
        with self._stage("test quality", title, total=n, detail=why) as stage:
            quality = {"split": "test", **evaluator.values(model, progress=stage.update)}
            if likelihood:
                quality.update(num_examples=n, nll_importance_samples=evaluator.nll_samples)
                x, y = evaluator.likelihood_arrays(model)
                units = model.active_units_per_layer(x, y if model.conditional else None)
                quality["active_units"] = units[0]
                if len(units) > 1:
                    quality["active_units_2"] = units[1]
            else:
                quality["num_samples"] = evaluator.num
        self.seconds["quality"] = round(stage.seconds, 2)
        return quality
