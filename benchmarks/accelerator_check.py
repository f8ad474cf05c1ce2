"""What `benchmarks/accelerator_check.sh` runs on a machine with a GPU (tfgen installed).

    python benchmarks/accelerator_check.py devices
    python benchmarks/accelerator_check.py loss-scale      # 2 replicas: GPUs, or one split in two
    python benchmarks/accelerator_check.py throughput [--presets digits-dcgan fmnist-dcgan]
        [--seconds 20] [--out FILE.json]

`throughput` trains each preset as `tfgen train` builds it (its step plan: steps per execution,
XLA) in float32, mixed_float16, mixed_bfloat16 and float32 + XLA for about --seconds each after a
warm-up, and prints samples/s; with several GPUs also on all of them (MirroredStrategy, no XLA).
Fashion-MNIST presets train on random data of its shape when Debian's files are absent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

SETTINGS = {  # name -> (precision, jit_compile)
    "float32": ("float32", False),
    "mixed_float16": ("mixed_float16", False),
    "mixed_bfloat16": ("mixed_bfloat16", False),
    "float32 + XLA": ("float32", True),
}


def devices() -> dict:
    import tensorflow as tf

    from tfgen.distribute.precision import gpu_capability

    gpus = tf.config.list_physical_devices("GPU")
    found = {"tensorflow": tf.__version__, "gpus": [
        {"name": g.name, "compute_capability": gpu_capability(g),
         **tf.config.experimental.get_device_details(g)} for g in gpus]}
    print(json.dumps(found, indent=1, default=str))
    return found


def loss_scale() -> bool:
    """An overflow on replica 1 only: no weight may change and the scale must halve."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) == 1:  # one GPU split into two logical ones (before TensorFlow starts)
        tf.config.set_logical_device_configuration(
            gpus[0], [tf.config.LogicalDeviceConfiguration(memory_limit=4096)] * 2)
    elif not gpus:
        from tfgen.distribute import split_cpu

        split_cpu(2)
    import keras
    import numpy as np

    from tfgen.distribute import resolve_strategy
    from tfgen.models.base import GenerativeModel

    strategy = resolve_strategy("mirrored")
    keras.mixed_precision.set_global_policy("mixed_float16")
    with strategy.scope():
        w = keras.Variable(np.ones(4, np.float32), name="w")
        opt = GenerativeModel.prepare_optimizer(keras.optimizers.SGD(0.1), [w])
    scale = float(opt.dynamic_scale.numpy())

    @tf.function
    def step():
        def fn():
            ctx = tf.distribute.get_replica_context()
            g = tf.ones([4]) * tf.cast(opt.dynamic_scale, tf.float32)
            g = tf.where(tf.equal(ctx.replica_id_in_sync_group, 1),
                         tf.constant([np.inf, 0.0, 0.0, 0.0]), g)
            GenerativeModel.apply_gradients(opt, [g], [w])

        strategy.run(fn)

    step()
    copies = [v.numpy() for v in strategy.experimental_local_results(w.value)]
    ok = all(np.array_equal(c, np.ones(4)) for c in copies) and \
        float(opt.dynamic_scale.numpy()) == scale / 2
    print(f"loss scale over {strategy.num_replicas_in_sync} replicas "
          f"({', '.join(strategy.extended.worker_devices)}): "
          f"{'PASS' if ok else 'FAIL'} (weights {copies}, scale {scale} -> "
          f"{float(opt.dynamic_scale.numpy())})")
    return ok


def _source(cfg):
    import numpy as np

    from tfgen import data

    try:
        return data.source(cfg.data, seed=0)
    except Exception as err:  # Fashion-MNIST absent: random images of its shape
        print(f"  {cfg.data.name}: {err}; random 28x28x1 data instead")
        info = data.DatasetInfo(name="random", kind="images", shape=(28, 28, 1),
                                splits={"train": 10_000}, num_classes=10, value_range=(-1.0, 1.0))
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, (10_000, 28, 28, 1), dtype=np.uint8)
        y = rng.integers(0, 10, 10_000).astype(np.int32)
        return data.ArraySource(info, {"train": (x, y)}, max_value=255.0)


def _rate(preset: str, precision: str, jit: bool, strategy, seconds: float) -> dict:
    import keras

    from tfgen import data
    from tfgen.trainers import families, presets
    from tfgen.trainers.train import Plan

    cfg = presets.resolve(preset, overrides=[f"training.precision={precision}",
                                             f"training.jit_compile={str(jit).lower()}"])
    keras.mixed_precision.set_global_policy(precision)
    try:
        source = _source(cfg)
        family = families.for_config(cfg)
        plan = Plan.make(cfg, source, strategy, family)
        with strategy.scope():
            model = family.build(cfg, source.info, plan.compile_kwargs, plan.total_steps)
        ds = data.load(source, "train", batch_size=plan.batch_size, seed=0,
                       labels=cfg.data.labels, strategy=strategy)
        spe = plan.compile_kwargs["steps_per_execution"]
        model.fit(ds, epochs=1, steps_per_epoch=2 * spe, verbose=0)  # trace, compile
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            model.fit(ds, epochs=1, steps_per_epoch=spe * 5, verbose=0)
            steps += spe * 5
        wall = time.perf_counter() - start
        return {"preset": preset, "precision": precision, "jit": jit,
                "replicas": strategy.num_replicas_in_sync, "steps_per_execution": spe,
                "batch": plan.batch_size, "steps": steps, "wall_s": round(wall, 2),
                "samples_per_s": round(steps * plan.batch_size / wall, 1)}
    except Exception as err:  # one setting failing must not hide the others
        return {"preset": preset, "precision": precision, "jit": jit,
                "replicas": strategy.num_replicas_in_sync, "error": f"{type(err).__name__}: "
                f"{str(err).splitlines()[0][:300] if str(err) else ''}"}
    finally:
        keras.mixed_precision.set_global_policy("float32")
        keras.backend.clear_session()


def throughput(preset_names, seconds: float, out: str | None) -> list[dict]:
    import tensorflow as tf

    from tfgen.distribute import resolve_strategy

    gpus = tf.config.list_logical_devices("GPU")
    rows = []
    for preset in preset_names:
        for name, (precision, jit) in SETTINGS.items():
            row = _rate(preset, precision, jit, resolve_strategy("one_device"), seconds)
            rows.append(row)
            print(f"{preset:14s} {name:15s} 1 device: {row.get('samples_per_s', row.get('error'))}"
                  " samples/s", flush=True)
        if len(gpus) > 1:
            for name in ("float32", "mixed_bfloat16"):
                precision, _ = SETTINGS[name]
                row = _rate(preset, precision, False, resolve_strategy("mirrored"), seconds)
                rows.append(row)
                print(f"{preset:14s} {name:15s} {len(gpus)} GPUs: "
                      f"{row.get('samples_per_s', row.get('error'))} samples/s", flush=True)
    if out:
        with open(out, "w") as fh:
            json.dump(rows, fh, indent=1)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("devices", "loss-scale", "throughput"))
    parser.add_argument("--presets", nargs="+", default=["digits-dcgan", "fmnist-dcgan"])
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="timed training per setting, after the warm-up")
    parser.add_argument("--out", default=None, help="write the throughput rows as JSON")
    args = parser.parse_args(argv)
    if args.what == "devices":
        devices()
    elif args.what == "loss-scale":
        return 0 if loss_scale() else 1
    else:
        rows = throughput(args.presets, args.seconds, args.out)
        return 1 if any("error" in r for r in rows) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
