"""`tfgen train`: config -> data -> strategy -> model -> fit, in a run directory.

A run directory holds `config.yaml`, `logs/` (TensorBoard), `checkpoints/`, `samples/`, the final
models and `metrics.json`. Running again on the same directory resumes from its last checkpoint.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
import sys
import time

from tfgen import config as config_lib
from tfgen.errors import UserError

log = logging.getLogger("tfgen")


def default_run_dir(cfg) -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join("runs", f"{cfg.preset}-{stamp}")


def _check_resumable(run_dir: str, cfg) -> None:
    """A run directory resumes only with the config it was made with (epochs may grow)."""
    stored = config_lib.to_dict(
        config_lib.apply_dict(type(cfg)(), config_lib.load_yaml(os.path.join(run_dir, "config.yaml")))
    )
    current = config_lib.to_dict(cfg)

    def diff(a, b, prefix=""):
        keys = []
        for k in a:
            if isinstance(a[k], dict):
                keys += diff(a[k], b[k], f"{prefix}{k}.")
            elif a[k] != b[k] and f"{prefix}{k}" != "epochs":
                keys.append(f"{prefix}{k}")
        return keys

    changed = diff(stored, current)
    if changed:
        raise UserError(
            f"run directory {run_dir} was made with a different config ({', '.join(changed)} "
            "differ); resume with the same settings (only epochs may change) or use a new --run-dir"
        )


def _reference_batch(source, labels: bool, n: int = 16):
    """A fixed batch of real data for reconstruction pictures: (samples, labels or None)."""
    import numpy as np

    for split in ("val", "test", "train"):
        if split in source.info.splits and hasattr(source, "numpy"):
            x, y = source.numpy(split)
            return x[:n], (None if not labels or y is None else np.asarray(y[:n]))
    batch = next(iter(source.dataset("train", n, seed=0, training=False, labels=labels)))
    if labels:
        return batch[0].numpy(), batch[1].numpy()
    return batch.numpy(), None


def _single_threaded_kernels() -> None:
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


def _evaluation_callback(cfg, source, model):
    """The `Evaluation` callback the `evaluation` config section asks for and the metric it
    selects on, or (None, None)."""
    from tfgen import callbacks
    from tfgen.metrics.evaluation import Evaluator, default_metric

    e = cfg.evaluation
    if not e.every:
        return None, None
    splits = source.info.splits
    split = e.split if e.split in splits else "test" if "test" in splits else "train"
    if split != e.split:
        log.info("evaluation: dataset %s has no %s split; evaluating on %s", source.info.name,
                 e.split, split)
    evaluator = Evaluator(source, split, num=e.num, seed=cfg.seed,
                          features=e.features or "auto", nll_samples=getattr(
                              cfg.model, "eval_samples", 1000), baseline=False, progress=True)
    available = evaluator.available(model)
    metric = e.metric or default_metric(source.info.kind, hasattr(model, "log_likelihood"))
    if metric not in available:
        raise UserError(f"config key 'evaluation.metric': {metric!r} does not apply to this "
                        f"run; choose from: {', '.join(available)}")
    return callbacks.Evaluation(evaluator, every=e.every,
                                stop_on_collapse=e.stop_on_collapse), metric


def final_quality(model, source, cfg) -> dict | None:
    """The cheap part of `tfgen evaluate`, on the test split at the end of every run: PacGAN's
    mode metrics (2-D mixtures) and the test NLL, ELBO and active units (VAEs). Image metrics
    need a feature extractor: `tfgen evaluate` or the `evaluation` config section."""
    from tfgen.metrics.evaluation import Evaluator

    likelihood = hasattr(model, "log_likelihood")
    if "test" not in source.info.splits or not (source.info.kind == "points" or likelihood):
        return None
    evaluator = Evaluator(source, "test", seed=cfg.seed, features=None, baseline=False,
                          nll_samples=getattr(cfg.model, "eval_samples", 1000))
    quality = {"split": "test", **evaluator.values(model)}
    if likelihood:
        x, y = source.numpy("test") if hasattr(source, "numpy") else (None, None)
        quality.update(num_examples=source.num_examples("test"),
                       nll_importance_samples=evaluator.nll_samples)
        if x is not None:
            quality["active_units"] = model.active_units(x, y if model.conditional else None)
    else:
        quality["num_samples"] = evaluator.num
    return quality


def run(cfg, run_dir: str | None = None, progress: bool = True) -> dict:
    """Train `cfg` in `run_dir` (resuming if it holds a run); returns the metrics written."""
    from tfgen import distribute

    run_dir = run_dir or default_run_dir(cfg)
    resume = os.path.exists(os.path.join(run_dir, "config.yaml"))
    if resume:
        _check_resumable(run_dir, cfg)
    if cfg.training.deterministic:
        _single_threaded_kernels()
    # Multi-worker and TPU strategies must be created before any other TensorFlow work.
    strategy = distribute.resolve_strategy(cfg.strategy, cfg.tpu)

    import keras
    import tensorflow as tf

    from trainers.families import family_for

    chief = distribute.is_chief(strategy)
    family = family_for(cfg)
    t = cfg.training

    keras.utils.set_random_seed(cfg.seed)
    if t.deterministic:
        tf.config.experimental.enable_op_determinism()
    previous_policy = keras.config.dtype_policy()
    precision = t.precision
    if precision == "auto":
        precision, why = distribute.auto_precision(strategy)
        log.info("precision: %s (%s)", precision, why)
    keras.mixed_precision.set_global_policy(precision)
    try:
        return _train(cfg, run_dir, strategy, chief, family, progress)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


def _train(cfg, run_dir, strategy, chief, family, progress) -> dict:
    import tensorflow as tf

    from tfgen import callbacks, data, distribute

    t = cfg.training

    source = data.source(cfg.data, seed=cfg.seed)
    per_step = family.batches_per_step(cfg)
    steps_per_epoch = cfg.steps_per_epoch or max(
        1, source.num_examples("train") // (cfg.batch_size * per_step)
    )
    jit = t.jit_compile
    if jit is None:  # XLA pays off on a single accelerator; on CPU it was slower here
        accelerators = tf.config.list_logical_devices("GPU") + tf.config.list_logical_devices("TPU")
        jit = bool(accelerators) and strategy.num_replicas_in_sync == 1
    # Keras runs whole executions: one that does not divide the epoch would overrun it.
    spe = math.gcd(t.steps_per_execution, steps_per_epoch)
    if spe != t.steps_per_execution:
        log.info("training.steps_per_execution %d does not divide %d steps per epoch; using %d",
                 t.steps_per_execution, steps_per_epoch, spe)
    with strategy.scope():
        model = family.build(cfg, source.info, {
            "jit_compile": jit, "steps_per_execution": spe,
        }, total_steps=cfg.epochs * steps_per_epoch)

    os.makedirs(run_dir, exist_ok=True)
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    if not chief:  # every worker takes part in saving; only the chief's files are kept
        ckpt_dir = os.path.join(run_dir, f".worker-{strategy.cluster_resolver.task_id}")
    val_ds = None
    if family.validates and "val" in source.info.splits:
        val_ds = data.load(source, "val", batch_size=cfg.batch_size, seed=cfg.seed,
                           labels=cfg.data.labels, training=False, strategy=strategy)
    evaluation, metric = _evaluation_callback(cfg, source, model)
    best = None
    if evaluation is not None:  # model selection and stopping on the chosen quality metric
        from tfgen.metrics.evaluation import DIRECTIONS

        e = cfg.evaluation
        best = callbacks.BestEpoch(os.path.join(ckpt_dir, "best.weights.h5"), f"eval_{metric}",
                                   DIRECTIONS[metric], patience=e.patience, target=e.target,
                                   every=e.every)
    elif val_ds is not None:  # model selection: the final weights are the best epoch's
        best = callbacks.BestEpoch(os.path.join(ckpt_dir, "best.weights.h5"), "val_elbo", "max",
                                   patience=getattr(cfg, "patience", None))
    checkpointer = callbacks.Checkpointer(ckpt_dir, model, every=t.checkpoint_every,
                                          extra=best.state() if best is not None else None)
    initial_epoch = checkpointer.restore()
    if best is not None and best.stopped():
        raise UserError(
            f"run directory {run_dir} stopped early at epoch {initial_epoch} ({best.reason()}); "
            f"its best epoch is {int(best.best_epoch.numpy())}"
        )
    step = callbacks.model_step(model)
    if initial_epoch >= cfg.epochs:
        raise UserError(
            f"run directory {run_dir} already completed {initial_epoch} epochs; raise epochs to "
            "train further"
        )
    if initial_epoch:
        log.info("resuming %s from epoch %d (step %d)", run_dir, initial_epoch, step)
    else:
        log.info("run directory: %s", run_dir)
    if chief:
        config_lib.dump_yaml(cfg, os.path.join(run_dir, "config.yaml"))

    ds = data.load(source, "train", batch_size=cfg.batch_size * per_step, seed=cfg.seed,
                   labels=cfg.data.labels, start_batch=step, strategy=strategy)
    info = source.info
    cbs = [callbacks.NonFiniteGuard()]
    if evaluation is not None:
        cbs.append(evaluation)  # before the logger and BestEpoch, which read its logs
    if chief:
        cbs.append(callbacks.TensorBoardLogger(
            os.path.join(run_dir, "logs"), samples_dir=os.path.join(run_dir, "samples"),
            image_every=t.sample_every, seed=cfg.seed,
            # 2-D data: as many points as the PacGAN evaluation draws, so the plot shows coverage
            num_samples=2500 if info.kind == "points" else t.num_samples,
            value_range=info.value_range,
            modes=info.mixture.means if info.mixture is not None else None,
            columns=info.num_classes if getattr(model, "conditional", False) else None,
            column_names=info.class_names if getattr(model, "conditional", False) else None,
            reference=_reference_batch(source, cfg.data.labels) if family.validates else None,
        ))
    if best is not None:
        cbs.append(best)  # before the checkpointer: its state is saved with the epoch
    cbs.append(checkpointer)

    start = time.time()
    history = model.fit(
        ds, epochs=cfg.epochs, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
        validation_data=val_ds, callbacks=cbs, shuffle=False,
        verbose=(1 if sys.stdout.isatty() else 2) if progress else 0,
    )
    wall = time.time() - start
    steps_run = checkpointer.steps_saved() - step
    final = {k: float(v[-1]) if not hasattr(v[-1], "__len__") else float(v[-1][0])
             for k, v in history.history.items() if k != "weights_finite"}
    metrics = {
        "preset": cfg.preset,
        "epochs": cfg.epochs,
        "steps": checkpointer.steps_saved(),
        "model_step": callbacks.model_step(model),  # the best epoch's, under model selection
        "steps_this_run": steps_run,
        "wall_time_s": round(wall, 3),
        "steps_per_s": round(steps_run / wall, 3) if wall > 0 else None,
        "samples_per_s": round(steps_run * cfg.batch_size * per_step / wall, 1) if wall else None,
        "final": final,
        "strategy": distribute.describe(strategy),
        # For pictures drawn later (`tfgen sample`) without loading the dataset again.
        "class_names": list(info.class_names) if info.class_names else None,
    }
    expost = family.finish(model, source, cfg)
    if expost:
        metrics["expost"] = expost
        log.info("ex-post density: %d-component Gaussian mixture on %d training codes",
                 expost["components"], expost["examples"])
    if best is not None:
        metrics["best_epoch"] = int(best.best_epoch.numpy())
        metrics["monitor"] = best.monitor
        metrics["best_value"] = float(best.best.numpy())
        if best.stopped():
            metrics["stopped"] = best.reason()
    if evaluation is not None:  # the final (selected) model's values, for the tuner
        metrics["evaluation"] = {"metric": metric, "split": evaluation.evaluator.split,
                                 **evaluation.evaluator.values(model)}
    quality = final_quality(model, source, cfg)
    if quality:
        metrics["quality"] = quality
        log.info("%s", ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                 for k, v in quality.items()))
    if chief:
        family.export(model, run_dir)
        with open(os.path.join(run_dir, "metrics.json"), "w") as fh:
            json.dump(metrics, fh, indent=2)
        log.info("done: %d steps in %.1f s; models and metrics in %s", metrics["steps"], wall, run_dir)
    return metrics

