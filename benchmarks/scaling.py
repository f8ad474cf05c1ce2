"""How a DCGAN training step's time grows with batch size and image size on this machine.

    python benchmarks/scaling.py [--sizes 8 16 32 64] [--batches 16 32 64 128 256]
        [--out benchmarks/results/scaling.json] [--plot benchmarks/results/scaling.png]

The `digits-dcgan` recipe (DCGAN, width 64, latent 32, non-saturating loss) on random images of
each size, steps_per_execution 2: the median over 3 timings of the step time after a warm-up,
with the step's FLOPs (TensorFlow profiler) and the achieved GFLOP/s. Writes a JSON table and a
log-log plot.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


from benchmarks.throughput import matmul_peak_gflops, random_source, step_flops

SPE = 2


def time_step(size: int, batch: int, seconds: float = 1.0) -> dict:
    import keras

    from tfgen import data, presets
    from tfgen.trainers import families

    cfg = presets.resolve("digits-dcgan", overrides=[f"batch_size={batch}"])
    source = random_source((size, size, 1), n=max(1024, 4 * batch))
    keras.utils.set_random_seed(0)
    model = families.FAMILIES["gan"].build(
        cfg, source.info, {"jit_compile": False, "steps_per_execution": SPE}, total_steps=10**6)
    ds = data.load(source, "train", batch_size=batch, seed=0)

    def fit(steps):
        start = time.perf_counter()
        model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
        return (time.perf_counter() - start) / steps

    fit(SPE)
    steps = max(SPE, int(seconds / fit(SPE)) // SPE * SPE)
    step_s = statistics.median(fit(steps) for _ in range(3))
    flops = step_flops(model, next(iter(ds)))
    return {"size": size, "batch": batch, "step_ms": round(1000 * step_s, 2),
            "samples_per_s": round(batch / step_s, 1), "mflops_per_step": round(flops / 1e6, 1),
            "gflops_per_s": round(flops / step_s / 1e9, 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[8, 16, 32, 64])
    parser.add_argument("--batches", nargs="+", type=int, default=[16, 64, 256])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "scaling.json"))
    parser.add_argument("--plot", default=os.path.join(os.path.dirname(__file__), "results",
                                                       "scaling.png"))
    args = parser.parse_args(argv)
    peak = matmul_peak_gflops()
    rows = []
    for size in args.sizes:
        for batch in args.batches:
            row = time_step(size, batch)
            rows.append(row)
            print(f"{size:3d}x{size:<3d} batch {batch:4d}: {row['step_ms']:9.2f} ms/step "
                  f"{row['samples_per_s']:9.0f} samples/s {row['mflops_per_step']:10.1f} MFLOP "
                  f"{row['gflops_per_s']:7.2f} GFLOP/s", flush=True)
    with open(args.out, "w") as fh:
        json.dump({"matmul_peak_gflops": round(peak, 1), "steps_per_execution": SPE,
                   "rows": rows}, fh, indent=2)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for size in args.sizes:
        sub = [r for r in rows if r["size"] == size]
        axes[0].plot([r["batch"] for r in sub], [r["step_ms"] for r in sub], "o-",
                     label=f"{size}x{size}")
        axes[1].plot([r["batch"] for r in sub], [r["gflops_per_s"] for r in sub], "o-",
                     label=f"{size}x{size}")
    axes[1].axhline(peak, color="k", ls="--", label=f"matmul peak {peak:.0f}")
    for ax, label in zip(axes, ("step time (ms)", "achieved GFLOP/s")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("DCGAN training step on this CPU (tfgen, steps_per_execution 2)")
    fig.tight_layout()
    fig.savefig(args.plot, dpi=100)
    print(f"wrote {args.out} and {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
