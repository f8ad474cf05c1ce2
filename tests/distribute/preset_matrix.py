"""Every shipped preset, as shipped (its own steps per execution and precision), trained for a
few steps in one process under one strategy: the preset x strategy matrix of
tests/distribute/test_preset_matrix.py.

    python tests/distribute/preset_matrix.py STRATEGY OUT_DIR [PRESET ...]

STRATEGY is a `strategy=` value (default, mirrored, multi_worker; the TPU code path is
`default` with `training.jit_compile=true`, written `tpu-path`). Each preset trains one epoch of
two executions with width-8 networks; the TFDS presets read mock data. Writes OUT_DIR/
results.json: per preset its metrics.json fields that matter here, or the error.
"""

import json
import os
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

STRATEGY, OUT = sys.argv[1], sys.argv[2]
if STRATEGY == "mirrored":  # two logical CPUs, before TensorFlow starts its runtime
    from tfgen.distribute import split_cpu

    split_cpu(2)

import tensorflow_datasets as tfds  # noqa: E402

from tfgen.trainers import config as config_lib  # noqa: E402
from tfgen.trainers import presets, train  # noqa: E402


def overrides(cfg) -> list[str]:
    spe = cfg.training.steps_per_execution or 1  # unset: 1 on this CPU
    out = ["epochs=1", f"steps_per_epoch={2 * spe}", "model.width=8", "evaluation.every=0",
           "training.num_samples=16"]
    if isinstance(cfg, config_lib.VAEConfig):
        out.append("model.eval_samples=2")
    if STRATEGY == "tpu-path":
        out += ["training.jit_compile=true", "strategy=default"]
    else:
        out.append(f"strategy={STRATEGY}")
    return out


def main() -> int:
    names = sys.argv[3:] or [p.name for p in presets.all_presets()]
    os.makedirs(OUT, exist_ok=True)
    results = {}
    for name in names:
        cfg = presets.resolve(name, overrides=overrides(presets.resolve(name)))
        try:
            with tfds.testing.mock_data(num_examples=640):
                metrics = train.run(cfg, run_dir=os.path.join(OUT, name), progress=False)
            results[name] = {k: metrics.get(k) for k in ("steps", "strategy", "precision",
                                                         "final")}
            results[name]["spe"] = cfg.training.steps_per_execution or 1
        except Exception as err:  # reported per preset: the matrix goes on
            results[name] = {"error": f"{type(err).__name__}: {err}"[:2000],
                             "trace": traceback.format_exc()[-3000:]}
        print(f"{name}: {results[name].get('error', 'ok')}", file=sys.stderr, flush=True)
    task = json.loads(os.environ.get("TF_CONFIG") or '{"task": {"index": 0}}')["task"]["index"]
    with open(os.path.join(OUT, "results.json" if task == 0 else f"results-{task}.json"),
              "w") as fh:
        json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
