"""Training throughput: tfgen against a plain Keras reference, alternately in one run.

    python benchmarks/throughput.py [--cases ring8-mlp digits-dcgan mnist-dcgan digits-vae]
        [--batches 64 256] [--repeats 5] [--seconds 1.5] [--out benchmarks/results/throughput.json]

For every case and batch size it builds tfgen's model from the preset (the `tfgen train` build
path) in several settings -- steps_per_execution 1 or S, XLA off or on, tfgen's data pipeline or
the tutorial one -- and the reference model of `benchmarks/reference_models.py` with the same
networks, optimiser, batch size and data, with `compile()` defaults (and with
steps_per_execution=S, what a user could add). Each timing is `model.fit` over a fixed number of
steps after a warm-up (tracing, compilation); settings take turns within each repeat and the
median of the repeats is reported, so drift on the machine hits all of them alike.

Every setting runs in each of --precisions (default float32 and mixed_bfloat16; " bf16" in a
setting's name). Also measured in the same run: FLOPs of one training step (TensorFlow's profiler
on the traced `train_step` graph: forward, backward and optimizer), achieved GFLOP/s, and the
machine's peaks per precision -- dense 2048 x 2048 matmuls and a 3x3 convolution, float32 and
bfloat16 -- so each setting is reported against the peak of its own precision (convolutional
cases against the convolution peak, the others against the matmul peak).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


# case -> (preset, overrides). ring8-mlp drops R1 and EMA so the mathematics equal the reference's.
CASES = {
    "ring8-mlp": ("ring8-gan", ["model.regularizers.r1=null", "model.ema_decay=null",
                                "g_optimizer.schedule=constant", "d_optimizer.schedule=constant"]),
    "digits-dcgan": ("digits-dcgan", []),
    "mnist-dcgan": ("mnist-dcgan", []),  # 28x28x1, random data (no download)
    "digits-vae": ("digits-vae", []),
    "fmnist-vae": ("fmnist-vae", []),  # conv VAE, 256-level logistic mixture (real data)
    "fmnist-dcgan": ("fmnist-dcgan", []),  # the precision=auto preset (real data)
    "cifar10-sngan": ("cifar10-sngan", []),  # ResNet + spectral norm, 32x32x3, random data
}
RANDOM_DATA = {"mnist-dcgan": (28, 28, 1), "cifar10-sngan": (32, 32, 3)}  # TFDS presets: no download
SPE = 50  # steps per execution of the "spe" settings (--spe)


def _chained_peak(op, args, flops_per_op, reps=10, repeats=5) -> float:
    """GFLOP/s of `reps` chained `op`s in one graph (each input shifted so none is reused), on
    the fastest of `repeats` timings: a peak is what the machine can do, and this shared VM
    drops to a slower level for seconds at a time."""
    import tensorflow as tf

    @tf.function
    def run(a, b):
        acc = tf.zeros_like(op(a, b))
        for i in range(reps):
            acc += op(a + tf.cast(i, a.dtype), b)
        return acc

    run(*args).numpy()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run(*args).numpy()
        times.append(time.perf_counter() - t)
    return flops_per_op * reps / min(times) / 1e9


def peaks_gflops() -> dict:
    """The machine's peaks per precision, measured now: dense 2048 x 2048 matmuls and a 3x3
    convolution (batch 256, 28 x 28, 64 -> 128 channels, the size of the 28x28 DCGANs' large
    layers), in float32 and in bfloat16 (oneDNN runs bfloat16 on AMX/AVX512-BF16 units)."""
    import tensorflow as tf

    out = {}
    for dtype in ("float32", "bfloat16"):
        n = 2048
        a, b = (tf.cast(tf.random.normal([n, n]), dtype) for _ in range(2))
        out[f"matmul_{dtype}"] = _chained_peak(tf.matmul, (a, b), 2 * n**3)
        x = tf.cast(tf.random.normal([256, 28, 28, 64]), dtype)
        k = tf.cast(tf.random.normal([3, 3, 64, 128]), dtype)
        conv = lambda x, k: tf.nn.conv2d(x, k, 1, "SAME")  # noqa: E731
        out[f"conv_{dtype}"] = _chained_peak(conv, (x, k), 2 * 256 * 28 * 28 * 128 * 9 * 64)
    return {k: round(v, 1) for k, v in out.items()}


def step_flops(model, batch) -> int:
    """Float operations of one `train_step` on `batch` (TensorFlow profiler, static shapes)."""
    import tensorflow as tf

    spec = tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape, t.dtype), batch)
    graph = tf.function(model.train_step).get_concrete_function(spec).graph
    opts = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    opts["output"] = "none"
    return int(tf.compat.v1.profiler.profile(graph=graph, options=opts).total_float_ops)


def random_source(shape, n: int = 10_000):
    import numpy as np

    from tfgen import data

    info = data.DatasetInfo(name="random", kind="images", shape=tuple(shape),
                            splits={"train": n}, value_range=(-1.0, 1.0))
    x = np.random.default_rng(0).integers(0, 256, (n, *shape), dtype=np.uint8)
    return data.ArraySource(info, {"train": (x, None)}, max_value=255.0)


class Setting:
    def __init__(self, name, model, dataset, steps_per_execution, precision="float32"):
        self.name, self.model, self.dataset = name, model, dataset
        self.spe, self.precision = steps_per_execution, precision
        self.times: list[float] = []

    def fit(self, steps: int) -> float:
        start = time.perf_counter()
        self.model.fit(self.dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
        return time.perf_counter() - start


def _suffix(precision: str) -> str:
    return "" if precision == "float32" else " bf16" if precision == "mixed_bfloat16" else " fp16"


def prepare(case: str, batch: int):
    """(config, data source, family) of a case at a batch size."""
    from tfgen import data
    from tfgen.trainers import families, presets

    preset, overrides = CASES[case]
    cfg = presets.resolve(preset, overrides=[*overrides, f"batch_size={batch}"])
    source = (random_source(RANDOM_DATA[case]) if case in RANDOM_DATA
              else data.source(cfg.data, seed=0))
    return cfg, source, families.for_config(cfg)


def tfgen_model(cfg, source, family, spe: int, jit: bool):
    """The case's model through the `tfgen train` build path, under the current global policy."""
    import keras

    keras.utils.set_random_seed(0)
    return family.build(cfg, source.info, {"jit_compile": jit, "steps_per_execution": spe},
                        total_steps=10**6)


def build_settings(case: str, batch: int, precisions=("float32",)):
    import functools

    import keras
    import tensorflow as tf

    from benchmarks.reference_models import ReferenceGAN, ReferenceVAE, keras_optimizer
    from tfgen import data
    from tfgen.trainers import config as config_lib

    cfg, source, family = prepare(case, batch)
    per_step = family.batches_per_step(cfg)
    x = source.numpy("train")[0]
    tfgen_model_ = functools.partial(tfgen_model, cfg, source, family)

    tfgen_ds = data.load(source, "train", batch_size=batch * per_step, seed=0, labels=False)
    tutorial_ds = (tf.data.Dataset.from_tensor_slices(x).shuffle(10_000, seed=0)
                   .batch(batch, drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE))

    def reference(spe):
        keras.utils.set_random_seed(0)
        probe = tfgen_model_(1, False)
        if isinstance(cfg, config_lib.VAEConfig):
            model = ReferenceVAE(probe.encoder, probe.decoder, cfg.model.latent_dim,
                                 probe.likelihood.log_prob)
            model.compile(optimizer=keras_optimizer(cfg.optimizer, 10**6),
                          steps_per_execution=spe)
        else:
            model = ReferenceGAN(probe.discriminator, probe.generator, cfg.model.latent_dim)
            model.compile(d_optimizer=keras_optimizer(cfg.d_optimizer, 10**6),
                          g_optimizer=keras_optimizer(cfg.g_optimizer, 10**6),
                          steps_per_execution=spe)
        return model

    settings = []
    for precision in precisions:
        # Layers take the global policy when built: each setting is built under its precision.
        keras.mixed_precision.set_global_policy(precision)
        try:
            p = _suffix(precision)
            settings += [
                Setting(f"reference{p}", reference(1), tutorial_ds, 1, precision),
                Setting(f"reference spe={SPE}{p}", reference(SPE), tutorial_ds, SPE, precision),
                Setting(f"tfgen spe=1{p}", tfgen_model_(1, False), tfgen_ds, 1, precision),
                Setting(f"tfgen spe={SPE}{p}", tfgen_model_(SPE, False), tfgen_ds, SPE,
                        precision),
                Setting(f"tfgen spe={SPE} XLA{p}", tfgen_model_(SPE, True), tfgen_ds, SPE,
                        precision),
            ]
            if precision == "float32":
                settings.append(Setting(f"tfgen spe={SPE} tutorial tf.data",
                                        tfgen_model_(SPE, False), tutorial_ds, SPE))
        finally:
            keras.mixed_precision.set_global_policy("float32")
    batch_example = next(iter(tfgen_ds))
    return cfg, settings, batch_example


def run_case(case, batch, repeats, seconds, peaks, precisions):
    cfg, settings, example = build_settings(case, batch, precisions)
    for s in settings:  # warm-up: tracing and compilation, and a rate estimate
        s.fit(2 * SPE)
        rate = 2 * SPE / s.fit(2 * SPE)
        s.steps = max(SPE, int(rate * seconds) // SPE * SPE)
    for _ in range(repeats):
        for s in settings:
            s.times.append(s.steps / s.fit(s.steps))
    float32 = [s for s in settings if s.precision == "float32"] or settings
    flops = step_flops(next(s for s in float32 if s.name.startswith("tfgen")).model, example)
    ref_flops = step_flops(float32[0].model, example)
    # Convolutional cases against the convolution peak of their precision, the others against
    # the matmul peak of theirs.
    kind = "conv" if "gan" in case and "mlp" not in case else "matmul"
    rows = {}
    for s in settings:
        rate = statistics.median(s.times)
        f = ref_flops if s.name.startswith("reference") else flops
        peak = f"{kind}_{'float32' if s.precision == 'float32' else 'bfloat16'}"
        rows[s.name] = {"precision": s.precision, "steps_per_s": round(rate, 2),
                        "samples_per_s": round(rate * batch, 1),
                        "gflops_per_s": round(rate * f / 1e9, 2),
                        "peak": peak,
                        "fraction_of_peak": round(rate * f / 1e9 / peaks[peak], 3),
                        "repeats": [round(t, 2) for t in s.times]}

    def best(prefix, precision):
        names = [n for n in rows if n.startswith(prefix) and rows[n]["precision"] == precision]
        return max(names, key=lambda n: rows[n]["steps_per_s"]) if names else None

    bests = {p: best("tfgen", p) for p in precisions}
    headline = bests.get("float32") or next(iter(bests.values()))  # float32 when measured
    out = {
        "case": case, "batch": batch, "preset": cfg.preset,
        "flops_per_step": flops, "reference_flops_per_step": ref_flops,
        "settings": rows, "best_tfgen": headline, "best_tfgen_by_precision": bests,
        "ratio_best_tfgen_over_reference": round(
            rows[headline]["steps_per_s"] / rows[float32[0].name]["steps_per_s"], 2),
    }
    if "float32" in bests and "mixed_bfloat16" in bests:
        bf16 = rows[bests["mixed_bfloat16"]]["steps_per_s"]
        out["bf16_over_tfgen_float32"] = round(bf16 / rows[bests["float32"]]["steps_per_s"], 2)
        out["bf16_over_reference_float32"] = round(bf16 / rows["reference"]["steps_per_s"], 2)
    return out


def machine() -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if "model name" in line)
    except (OSError, StopIteration):
        pass
    import keras
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {"cpu": cpu, "cores": os.cpu_count(), "gpus": gpus, "tensorflow": tf.__version__,
            "keras": keras.__version__}


def write(path, info, peaks, results, args):
    out = {"machine": info, "peaks_gflops": peaks, "steps_per_execution": SPE,
           "repeats": args.repeats, "precisions": args.precisions, "results": results}
    with open(path, "w") as fh:
        json.dump(out, fh, indent=2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--batches", nargs="+", type=int, default=[64, 256])
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"],
                        choices=["float32", "mixed_bfloat16", "mixed_float16"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.5, help="target seconds per timing")
    parser.add_argument("--spe", type=int, default=50, help="steps per execution (default 50)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "throughput.json"))
    args = parser.parse_args(argv)
    global SPE
    SPE = args.spe

    info = machine()
    peaks = {"before": peaks_gflops()}
    print(f"{info['cpu']}, {info['cores']} cores; peaks (GFLOP/s): {peaks['before']}", flush=True)
    results = []
    for case in args.cases:
        for batch in args.batches:
            r = run_case(case, batch, args.repeats, args.seconds, peaks["before"],
                         args.precisions)
            results.append(r)
            print(f"\n{case}, batch {batch}: {r['flops_per_step'] / 1e6:.1f} MFLOP/step "
                  f"(reference {r['reference_flops_per_step'] / 1e6:.1f}); best tfgen / "
                  f"reference = {r['ratio_best_tfgen_over_reference']}; bf16 / tfgen float32 = "
                  f"{r.get('bf16_over_tfgen_float32')}", flush=True)
            for name, row in r["settings"].items():
                print(f"  {name:34s} {row['steps_per_s']:9.1f} steps/s {row['samples_per_s']:10.0f}"
                      f" samples/s {row['gflops_per_s']:7.2f} GFLOP/s "
                      f"({100 * row['fraction_of_peak']:.1f}% of {row['peak']})", flush=True)
            write(args.out, info, peaks, results, args)  # partial results survive a stop
    peaks["after"] = peaks_gflops()
    write(args.out, info, peaks, results, args)
    print(f"\npeaks after: {peaks['after']}; wrote {args.out}")
    return 0


def matmul_peak_gflops() -> float:
    """The float32 matmul peak alone (benchmarks/scaling.py)."""
    return peaks_gflops()["matmul_float32"]


if __name__ == "__main__":
    sys.exit(main())
