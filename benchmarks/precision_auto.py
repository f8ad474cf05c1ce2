"""float32 against mixed_bfloat16 on the presets that train with `training.precision=auto`, per
CPU instruction set: what `auto` should pick on a CPU with AMX and on one with AVX-512 bfloat16
units but no AMX (AMD EPYC Zen 4).

    python benchmarks/precision_auto.py [--isa native AVX512_CORE_BF16 AVX512_CORE]
                                        [--presets fmnist-dcgan ...] [--repeats 5]
                                        [--out benchmarks/results/precision-auto.json]

Each instruction set runs in its own process with oneDNN capped to it (`ONEDNN_MAX_CPU_ISA`,
read when oneDNN starts; "native": uncapped). On an Intel Xeon with AMX, AVX512_CORE_BF16 runs
the same bfloat16 dot-product kernels (avx512_core_bf16, VDPBF16PS) an AMD Zen 4 runs -- without
AMX tiles -- and AVX512_CORE those of a CPU with no bfloat16 instructions: the ratios stand in
for those CPUs' (Zen 4 executes 512-bit instructions in two halves, on float32 and bfloat16
alike, so its absolute speeds differ; its ratio is measured here, not on a Zen 4). The kernels
oneDNN actually ran are read back from its verbose log and recorded.

Per preset: the preset's model built twice through the `tfgen train` build path (float32, then
mixed_bfloat16), warmed up, then timed in alternating fits of `--steps` steps; samples/s by the
fastest repeat of each (this VM's speed steps between levels every few seconds: BENCHMARKS.md)
and by the median.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

PRESETS = ("fmnist-dcgan", "fmnist-cgan", "fmnist-biggan", "mnist-dcgan")  # precision=auto
ISAS = ("native", "AVX512_CORE_BF16", "AVX512_CORE")
RANDOM_DATA = {"mnist-dcgan": (28, 28, 1)}  # a TFDS preset: 28x28x1 random data (no download)


def measure(preset: str, batch: int, steps: int, repeats: int) -> dict:
    """samples/s of `preset`'s training step in float32 and in mixed_bfloat16."""
    import keras

    from benchmarks.throughput import random_source, tfgen_model
    from tfgen import data
    from tfgen.trainers import families, presets

    cfg = presets.resolve(preset, overrides=[f"batch_size={batch}"])
    source = (random_source(RANDOM_DATA[preset]) if preset in RANDOM_DATA
              else data.source(cfg.data, seed=0))
    family = families.for_config(cfg)
    per_step = family.batches_per_step(cfg)
    spe = math.gcd(cfg.training.steps_per_execution, steps)
    labels = cfg.data.labels and preset not in RANDOM_DATA
    ds = data.load(source, "train", batch_size=batch * per_step, seed=0, labels=labels)
    models = {}
    for precision in ("float32", "mixed_bfloat16"):
        keras.mixed_precision.set_global_policy(precision)
        try:
            models[precision] = tfgen_model(cfg, source, family, spe, False)
        finally:
            keras.mixed_precision.set_global_policy("float32")
    for model in models.values():  # trace and warm up
        model.fit(ds, epochs=1, steps_per_epoch=2 * spe, verbose=0)
    times = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
            times[name].append(time.perf_counter() - start)
    rate = {name: {"fastest": round(steps * batch / min(t), 1),
                   "median": round(steps * batch / statistics.median(t), 1)}
            for name, t in times.items()}
    return {"preset": preset, "batch": batch, "steps": steps, "steps_per_execution": spe,
            "repeats": repeats, "samples_per_s": rate,
            "bf16_over_f32": {k: round(rate["mixed_bfloat16"][k] / rate["float32"][k], 3)
                              for k in ("fastest", "median")},
            "data": "random 28x28x1" if preset in RANDOM_DATA else cfg.data.name}


def kernels_used(isa: str) -> list[str]:
    """oneDNN's implementation names for a bfloat16 matmul and convolution under `isa`."""
    code = ("import tensorflow as tf\n"
            "x = tf.cast(tf.random.normal([64, 14, 14, 64]), tf.bfloat16)\n"
            "w = tf.cast(tf.random.normal([3, 3, 64, 64]), tf.bfloat16)\n"
            "tf.nn.conv2d(x, w, 1, 'SAME'); tf.matmul(x[:, 0, 0], w[0, 0])\n")
    env = _env(isa, ONEDNN_VERBOSE="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300, check=False).stdout
    # e.g. "onednn_verbose,v1,primitive,exec,cpu,convolution,brg_conv_fwd:avx512_core_bf16,..."
    return sorted({m.group(0) for line in out.splitlines() if ",exec," in line
                   for m in re.finditer(r"\b[a-z_0-9]+:(avx|amx|sse|uni|any)[a-z_0-9]*", line)})


def _env(isa: str, **extra) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **extra)
    env.pop("ONEDNN_MAX_CPU_ISA", None)
    if isa != "native":
        env["ONEDNN_MAX_CPU_ISA"] = isa
    return env


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--isa", nargs="+", default=list(ISAS),
                        help="oneDNN instruction-set caps (native: none)")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="steps per timed fit")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results/precision-auto.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:  # one instruction set, set in this process's environment by the parent
        for preset in args.presets:
            print(json.dumps(measure(preset, args.batch, args.steps, args.repeats)), flush=True)
        return 0
    from tfgen.distribute.precision import cpu_flags

    results = {"cpu": _cpu_model(), "bf16_flags": sorted(cpu_flags() & {"amx_bf16",
                                                                        "avx512_bf16"}),
               "runs": []}
    for isa in args.isa:
        kernels = kernels_used(isa)
        print(f"{isa}: oneDNN kernels {', '.join(kernels)}", flush=True)
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--presets", *args.presets,
               "--batch", str(args.batch), "--steps", str(args.steps), "--repeats",
               str(args.repeats)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=_env(isa))
        for line in proc.stdout:
            row = {"isa": isa, "kernels": kernels, **json.loads(line)}
            results["runs"].append(row)
            print(f"  {row['preset']}: float32 {row['samples_per_s']['float32']['fastest']} / "
                  f"bfloat16 {row['samples_per_s']['mixed_bfloat16']['fastest']} samples/s "
                  f"(fastest repeats): bf16/f32 {row['bf16_over_f32']['fastest']} "
                  f"(medians {row['bf16_over_f32']['median']})", flush=True)
            _write(args.out, results)
        if proc.wait():
            raise SystemExit(f"worker for {isa} failed ({proc.returncode})")
    return 0


def _cpu_model() -> str:
    with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
        return next((line.split(":", 1)[1].strip() for line in fh
                     if line.startswith("model name")), "unknown")


def _write(path: str, results: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as fh:
        json.dump(results, fh, indent=1)
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    sys.exit(main())
