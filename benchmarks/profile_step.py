"""Where a training step's time goes: TensorFlow's profiler over a few executions, per op kind,
and each convolution layer alone against the convolution peak of its precision.

    python benchmarks/profile_step.py [--case mnist-dcgan] [--batch 64]
        [--precisions float32 mixed_bfloat16] [--steps 30] [--spe 5]
        [--out benchmarks/results/profile-mnist-dcgan.json]

1. Step breakdown: the model of `benchmarks/throughput.py`'s case (the `tfgen train` build path)
   trains `--steps` steps under `tf.profiler`; the executor's op events (host threads
   `tf_Compute`, each op's kernel including its intra-op parallel work) are summed per kind:
   convolutions (forward and both backward passes), matmuls, batch norm, casts, optimizer
   updates, random numbers, input pipeline, and the rest (elementwise). With two inter-op
   threads the kinds can add up to more than the wall time; the table gives each kind's share of
   the summed op time and its milliseconds per step.
2. Convolution layers alone: every Conv2D / Conv2DTranspose layer of the case's networks, at its
   shape in the step (batch --batch; the discriminator sees real and fake together, 2x), timed
   forward + both backward convolutions in one graph, FLOPs counted exactly (3x the forward's
   2*N*H*W*k*k*Cin*Cout), against the 3x3-convolution peak of its precision measured in the same
   run (`throughput.peaks_gflops`).
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

KINDS = (  # (kind, test on the op type or full name), first match wins
    ("input", lambda t, n: t.startswith(("IteratorGetNext", "OptionalGetValue",
                                        "OptionalHasValue"))),
    ("convolution", lambda t, n: "Conv2D" in t or "Conv3D" in t),
    ("matmul", lambda t, n: "MatMul" in t or t.startswith("Einsum")),
    # Keras's batch norm is a dozen small float32 ops (moments, normalisation, their gradients,
    # casts), found by name scope.
    ("batch norm", lambda t, n: "BatchNorm" in t or "batch_normalization" in n),
    ("cast", lambda t, n: t == "Cast"),
    ("optimizer", lambda t, n: t.startswith(("ResourceApply", "ApplyAdam")) or "optimizer" in n
     .lower()),
    ("health checks", lambda t, n: t in ("IsFinite", "L2Loss", "All")),  # grad norms, finiteness
    ("random", lambda t, n: "Random" in t or t.startswith("Stateless")),
    ("collectives", lambda t, n: "Collective" in t or "NcclAll" in t),
)


# Function calls and control flow: their events span the ops they run (counted themselves).
CALLS = {"StatefulPartitionedCall", "PartitionedCall", "While", "StatelessWhile", "If",
         "StatelessIf", "Case", "StatelessCase", "_Retval", "_Arg"}


def kind_of(op_type: str, name: str) -> str:
    return next((k for k, test in KINDS if test(op_type, name)), "elementwise and other")


def op_times(logdir: str) -> dict[str, float]:
    """Summed op-kernel seconds per kind from the profiler's XSpace in `logdir`."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    path = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True))[-1]
    space = xplane_pb2.XSpace()
    with open(path, "rb") as fh:
        space.ParseFromString(fh.read())
    totals: dict[str, float] = collections.defaultdict(float)
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        names = plane.event_metadata
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = names[event.metadata_id].name
                if ":" not in name or "::" in name:  # executor bookkeeping, not an op
                    continue
                op_name, op_type = name.rsplit(":", 1)
                if op_type in CALLS:
                    continue
                totals[kind_of(op_type, op_name)] += event.duration_ps * 1e-12
    return dict(totals)


def step_breakdown(case, batch, precision, steps, spe) -> dict:
    import keras
    import tensorflow as tf

    from benchmarks.throughput import prepare, tfgen_model
    from tfgen import data

    cfg, source, family = prepare(case, batch)
    keras.mixed_precision.set_global_policy(precision)
    try:
        model = tfgen_model(cfg, source, family, spe, False)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    ds = data.load(source, "train", batch_size=batch * family.batches_per_step(cfg), seed=0,
                   labels=False)
    model.fit(ds, epochs=1, steps_per_epoch=2 * spe, verbose=0)  # tracing, warm-up
    start = time.perf_counter()
    model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
    plain = (time.perf_counter() - start) / steps
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
        profiled = (time.perf_counter() - start) / steps
        tf.profiler.experimental.stop()
        totals = op_times(logdir)
    total = sum(totals.values())
    return {
        "precision": precision, "steps": steps, "steps_per_execution": spe,
        "step_ms": round(1e3 * plain, 2), "step_ms_profiled": round(1e3 * profiled, 2),
        "op_ms_per_step": round(1e3 * total / steps, 2),
        "kinds": {k: {"ms_per_step": round(1e3 * v / steps, 3), "share": round(v / total, 4)}
                  for k, v in sorted(totals.items(), key=lambda kv: -kv[1])},
    }


def conv_layers(case, batch):
    """(network, layer, input shape in the step, FLOPs of one forward) of every convolution."""
    import keras

    from benchmarks.throughput import prepare, tfgen_model

    cfg, source, family = prepare(case, batch)
    model = tfgen_model(cfg, source, family, 1, False)
    out = []
    for net, n in (("generator", batch), ("discriminator", 2 * batch)):
        for layer in getattr(model, net).layers:
            inner = getattr(layer, "layer", layer)  # spectral normalisation wraps its layer
            if not isinstance(inner, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
                continue
            k = inner.kernel.shape
            in_shape = (n, *layer.input.shape[1:])
            out_shape = layer.output.shape
            if isinstance(inner, keras.layers.Conv2DTranspose):  # k: h, w, out, in
                flops = 2 * n * in_shape[1] * in_shape[2] * k[0] * k[1] * k[2] * k[3]
            else:  # k: h, w, in, out
                flops = 2 * n * out_shape[1] * out_shape[2] * k[0] * k[1] * k[2] * k[3]
            out.append((net, inner, in_shape, flops))
    return out


def time_layer(layer, in_shape, precision, reps=10, repeats=5) -> float:
    """Seconds of forward + input and kernel gradients of `layer` at `in_shape` (median)."""
    import tensorflow as tf

    dtype = "bfloat16" if precision == "mixed_bfloat16" else "float32"
    kernel = tf.cast(layer.kernel, dtype)
    strides, padding = layer.strides, layer.padding.upper()
    transpose = layer.__class__.__name__ == "Conv2DTranspose"
    x = tf.cast(tf.random.normal(in_shape), dtype)

    def forward(x, k):
        if transpose:
            n, h, w, _ = x.shape
            out = [n, h * strides[0], w * strides[1], k.shape[2]]
            return tf.nn.conv2d_transpose(x, k, out, strides, padding)
        return tf.nn.conv2d(x, k, strides, padding)

    dy = tf.cast(tf.random.normal(forward(x, kernel).shape), dtype)

    @tf.function
    def run(x, k, dy):
        # Every repetition has its own input and output gradient, and uses its forward output,
        # so no convolution can be shared between repetitions or pruned.
        acc = tf.zeros([], tf.float32)
        for i in range(reps):
            xi, dyi = x + tf.cast(i, x.dtype), dy + tf.cast(i, dy.dtype)
            with tf.GradientTape() as tape:
                tape.watch([xi, k])
                y = forward(xi, k)
            dx, dk = tape.gradient(y, [xi, k], output_gradients=dyi)
            acc += tf.cast(y[0, 0, 0, 0] + dx[0, 0, 0, 0] + dk[0, 0, 0, 0], tf.float32)
        return acc

    run(x, kernel, dy).numpy()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run(x, kernel, dy).numpy()
        times.append(time.perf_counter() - t)
    return statistics.median(times) / reps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", default="mnist-dcgan")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_bfloat16"])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--spe", type=int, default=5)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                   f"profile-{args.case}.json")
    from benchmarks.throughput import machine, peaks_gflops

    peaks = peaks_gflops()
    print(f"peaks (GFLOP/s): {peaks}", flush=True)
    result = {"machine": machine(), "case": args.case, "batch": args.batch, "peaks_gflops": peaks,
              "steps": [], "conv_layers": []}
    for precision in args.precisions:
        row = step_breakdown(args.case, args.batch, precision, args.steps, args.spe)
        result["steps"].append(row)
        print(f"\n{precision}: {row['step_ms']} ms/step ({row['step_ms_profiled']} profiled), "
              f"op time {row['op_ms_per_step']} ms/step", flush=True)
        for kind, v in row["kinds"].items():
            print(f"  {kind:24s} {v['ms_per_step']:8.2f} ms/step  {100 * v['share']:5.1f}%")
    for net, layer, in_shape, flops in conv_layers(args.case, args.batch):
        entry = {"network": net, "layer": layer.name, "type": layer.__class__.__name__,
                 "input": list(in_shape), "kernel": list(layer.kernel.shape),
                 "gflop_fwd_bwd": round(3 * flops / 1e9, 3)}
        for precision in args.precisions:
            seconds = time_layer(layer, in_shape, precision)
            key = "bfloat16" if precision == "mixed_bfloat16" else "float32"
            rate = 3 * flops / seconds / 1e9
            entry[precision] = {"ms": round(1e3 * seconds, 3), "gflops_per_s": round(rate, 1),
                                "fraction_of_conv_peak": round(rate / peaks[f"conv_{key}"], 3)}
        result["conv_layers"].append(entry)
        print(f"{net:13s} {entry['layer']:22s} {str(entry['input']):20s} "
              f"{entry['gflop_fwd_bwd']:6.2f} GFLOP " + "  ".join(
                  f"{p}: {entry[p]['gflops_per_s']:.0f} GFLOP/s "
                  f"({100 * entry[p]['fraction_of_conv_peak']:.0f}%)"
                  for p in args.precisions), flush=True)
    result["peaks_after"] = peaks_gflops()
    with open(out, "w") as fh:
        json.dump(result, fh, indent=2)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
