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

Also measured in the same run: FLOPs of one training step (TensorFlow's profiler on the traced
`train_step` graph: forward, backward and optimizer), achieved GFLOP/s, and the machine's dense
float32 matmul peak (2048 x 2048 matmuls), to say how close each setting gets to the hardware.
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
    "ring8-mlp": ("ring8-gan", ["model.r1_penalty=0", "model.ema_decay=null",
                                "g_optimizer.schedule=constant", "d_optimizer.schedule=constant"]),
    "digits-dcgan": ("digits-dcgan", []),
    "mnist-dcgan": ("mnist-dcgan", []),  # 28x28x1, random data (no download)
    "digits-vae": ("digits-vae", []),
}
SPE = 50  # steps per execution of the "spe" settings (--spe)


def matmul_peak_gflops(n: int = 2048, reps: int = 10, repeats: int = 5) -> float:
    import tensorflow as tf

    a = tf.random.normal([n, n])
    b = tf.random.normal([n, n])

    @tf.function
    def run(a, b):
        acc = tf.zeros([n, n])
        for i in range(reps):
            acc += tf.matmul(a + float(i), b)
        return acc

    run(a, b).numpy()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run(a, b).numpy()
        times.append(time.perf_counter() - t)
    return 2 * n**3 * reps / statistics.median(times) / 1e9


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
    def __init__(self, name, model, dataset, steps_per_execution):
        self.name, self.model, self.dataset = name, model, dataset
        self.spe = steps_per_execution
        self.times: list[float] = []

    def fit(self, steps: int) -> float:
        start = time.perf_counter()
        self.model.fit(self.dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
        return time.perf_counter() - start


def build_settings(case: str, batch: int):
    import keras
    import tensorflow as tf

    from benchmarks.reference_models import ReferenceGAN, ReferenceVAE, keras_optimizer
    from tfgen import data, presets
    from tfgen.trainers import config as config_lib
    from tfgen.trainers import families

    preset, overrides = CASES[case]
    cfg = presets.resolve(preset, overrides=[*overrides, f"batch_size={batch}"])
    if case == "mnist-dcgan":
        source = random_source((28, 28, 1))
    else:
        source = data.source(cfg.data, seed=0)
    family = families.for_config(cfg)
    per_step = family.batches_per_step(cfg)
    x = source.numpy("train")[0]

    def tfgen_model(spe, jit):
        keras.utils.set_random_seed(0)
        return family.build(cfg, source.info, {"jit_compile": jit, "steps_per_execution": spe},
                            total_steps=10**6)

    tfgen_ds = data.load(source, "train", batch_size=batch * per_step, seed=0, labels=False)
    tutorial_ds = (tf.data.Dataset.from_tensor_slices(x).shuffle(10_000, seed=0)
                   .batch(batch, drop_remainder=True).repeat().prefetch(tf.data.AUTOTUNE))

    def reference(spe):
        keras.utils.set_random_seed(0)
        probe = tfgen_model(1, False)
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

    settings = [
        Setting("reference", reference(1), tutorial_ds, 1),
        Setting(f"reference spe={SPE}", reference(SPE), tutorial_ds, SPE),
        Setting("tfgen spe=1", tfgen_model(1, False), tfgen_ds, 1),
        Setting(f"tfgen spe={SPE}", tfgen_model(SPE, False), tfgen_ds, SPE),
        Setting(f"tfgen spe={SPE} XLA", tfgen_model(SPE, True), tfgen_ds, SPE),
        Setting(f"tfgen spe={SPE} tutorial tf.data", tfgen_model(SPE, False), tutorial_ds, SPE),
    ]
    batch_example = next(iter(tfgen_ds))
    return cfg, settings, batch_example


def run_case(case, batch, repeats, seconds, peak):
    cfg, settings, example = build_settings(case, batch)
    for s in settings:  # warm-up: tracing and compilation, and a rate estimate
        s.fit(2 * SPE)
        rate = 2 * SPE / s.fit(2 * SPE)
        s.steps = max(SPE, int(rate * seconds) // SPE * SPE)
    for _ in range(repeats):
        for s in settings:
            s.times.append(s.steps / s.fit(s.steps))
    flops = step_flops(settings[2].model, example)
    ref_flops = step_flops(settings[0].model, example)
    rows = {}
    for s in settings:
        rate = statistics.median(s.times)
        f = ref_flops if s.name.startswith("reference") else flops
        rows[s.name] = {"steps_per_s": round(rate, 2), "samples_per_s": round(rate * batch, 1),
                        "gflops_per_s": round(rate * f / 1e9, 2),
                        "fraction_of_peak": round(rate * f / 1e9 / peak, 3),
                        "repeats": [round(t, 2) for t in s.times]}
    best = max((n for n in rows if n.startswith("tfgen")), key=lambda n: rows[n]["steps_per_s"])
    return {
        "case": case, "batch": batch, "preset": cfg.preset,
        "flops_per_step": flops, "reference_flops_per_step": ref_flops,
        "settings": rows, "best_tfgen": best,
        "ratio_best_tfgen_over_reference": round(
            rows[best]["steps_per_s"] / rows["reference"]["steps_per_s"], 2),
    }


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
    out = {"machine": info, "matmul_peak_gflops": [round(p, 1) for p in peaks],
           "steps_per_execution": SPE, "repeats": args.repeats, "results": results}
    with open(path, "w") as fh:
        json.dump(out, fh, indent=2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--batches", nargs="+", type=int, default=[64, 256])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.5, help="target seconds per timing")
    parser.add_argument("--spe", type=int, default=50, help="steps per execution (default 50)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "throughput.json"))
    args = parser.parse_args(argv)
    global SPE
    SPE = args.spe

    info = machine()
    peak = matmul_peak_gflops()
    print(f"{info['cpu']}, {info['cores']} cores; float32 matmul peak {peak:.1f} GFLOP/s",
          flush=True)
    results = []
    for case in args.cases:
        for batch in args.batches:
            r = run_case(case, batch, args.repeats, args.seconds, peak)
            results.append(r)
            print(f"\n{case}, batch {batch}: {r['flops_per_step'] / 1e6:.1f} MFLOP/step "
                  f"(reference {r['reference_flops_per_step'] / 1e6:.1f}); best tfgen / "
                  f"reference = {r['ratio_best_tfgen_over_reference']}", flush=True)
            for name, row in r["settings"].items():
                print(f"  {name:34s} {row['steps_per_s']:9.1f} steps/s {row['samples_per_s']:10.0f}"
                      f" samples/s {row['gflops_per_s']:7.2f} GFLOP/s "
                      f"({100 * row['fraction_of_peak']:.1f}% of peak)", flush=True)
            write(args.out, info, [peak], results, args)  # partial results survive a stop
    peak_after = matmul_peak_gflops()
    write(args.out, info, [peak, peak_after], results, args)
    print(f"\nmatmul peak before/after: {peak:.1f} / {peak_after:.1f} GFLOP/s; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
