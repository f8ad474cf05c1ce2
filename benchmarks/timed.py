"""Train a preset for a fixed wall time: the training half of the benchmarks that compare rows
"at equal wall time" (small_data.py, conditional.py). A plain `fit` over tfgen's library objects,
built from the preset's config as `tfgen train` builds them, without a run directory.

    cfg, model, source, run = train_for("fmnist-cgan", ["seed=1"], seed=1, seconds=480)
"""

from __future__ import annotations

import os
import time


def build(preset: str, overrides: list[str], seed: int):
    """The preset's model (with config `overrides`), built as `tfgen train` builds it, in the
    preset's precision (the global policy stays set: reset it to float32 when done). Returns
    (cfg, model, source, train dataset, precision)."""
    import keras
    import tensorflow as tf

    from tfgen import data, distribute
    from tfgen.trainers import families, presets

    cfg = presets.resolve(preset, overrides=list(overrides))
    precision = cfg.training.precision
    if precision == "auto":
        precision, _ = distribute.auto_precision(tf.distribute.get_strategy())
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(seed)
    source = data.source(cfg.data, seed=seed)
    model = families.for_config(cfg).build(
        cfg, source.info, {"steps_per_execution": cfg.training.steps_per_execution or 1},  # unset: 1 on CPU
        total_steps=cfg.epochs * cfg.steps_per_epoch)
    ds = data.load(source, "train", batch_size=cfg.batch_size, seed=seed, labels=cfg.data.labels)
    return cfg, model, source, ds, precision


def train_for(preset: str, overrides: list[str], seed: int, seconds: float | None,
              steps: int | None = None):
    """Build the preset (with config `overrides`) and fit it until `seconds` of wall time are
    spent or, with `steps` (and `seconds` None), until the model has taken that many steps
    (checked after every execution of `steps_per_execution` steps, so a run ends within one
    execution of the budget). Returns (cfg, model, source, run) with `run` the facts to
    record: dtype, cpus, steps, wall_s, the last value of the ADA logs where they exist and
    their per-epoch trace (`ada_trace`: [epoch, p, r_t] at each epoch's end), which shows
    whether and when the discriminator began to overfit in long runs."""
    import keras

    if (seconds is None) == (steps is None):
        raise ValueError("give a wall-time budget (seconds) or a step budget (steps), not both")
    try:
        cfg, model, source, ds, precision = build(preset, overrides, seed)
        start = time.perf_counter()

        class Budget(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if (seconds is not None and time.perf_counter() - start > seconds) or (
                        steps is not None and int(self.model.step.numpy()) >= steps):
                    self.model.stop_training = True

        history = model.fit(ds, epochs=10_000, steps_per_epoch=cfg.steps_per_epoch, verbose=0,
                            callbacks=[Budget()], shuffle=False)
        wall = time.perf_counter() - start
    finally:  # evaluation (and the next run's data) in float32
        keras.mixed_precision.set_global_policy("float32")
    run = {"dtype": precision, "cpus": len(os.sched_getaffinity(0)),
           "steps": int(model.step.numpy()), "wall_s": round(wall, 1),
           **{k: float(v[-1]) for k, v in history.history.items() if k in ("ada_p", "ada_rt")}}
    if "ada_p" in history.history:
        run["ada_trace"] = [[i + 1, round(float(p), 4), round(float(rt), 4)] for i, (p, rt)
                            in enumerate(zip(history.history["ada_p"], history.history["ada_rt"]))]
    return cfg, model, source, run
