"""Every shipped preset, as shipped, under every strategy: default, mirrored over two logical
CPUs, two workers on loopback (MultiWorkerMirroredStrategy), and the TPU code path as far as it
runs here (XLA-compiled multi-step functions on CPU). Each cell is a few steps of the preset with
its own steps per execution and precision (width-8 networks; mock data for the TFDS presets);
tests/distribute/preset_matrix.py runs one strategy's column in one process (per worker)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.distribute.test_strategy import _on_workers
from tests.processes import tfgen_env
from tfgen.distribute import cpu_has_amx_bf16
from tfgen.trainers import presets

SCRIPT = Path(__file__).with_name("preset_matrix.py")
PRESETS = [p.name for p in presets.all_presets()]
# One preset per code path: MLP GAN with R1 and EMA; conditional DCGAN
# with precision=auto (bfloat16 here), lazy R1 and 10 steps per execution; ResNet SNGAN with
# hinge and 5 critic steps (TFDS mock data); conv VAE with a logistic-mixture likelihood and the
# ex-post mixture. The whole matrix: `pytest -m slow tests/distribute/test_preset_matrix.py`.
CODE_PATHS = ["ring8-gan", "fmnist-cgan", "cifar10-sngan", "fmnist-vae"]
STRATEGIES = [("default", 1, 1), ("mirrored", 1, 2), ("multi_worker", 2, 2), ("tpu-path", 1, 1)]


def _column(strategy: str, out: Path, names, workers: int = 1) -> dict:
    if workers > 1:
        # One pair of processes per preset, as users run it: several `train.run` calls in one
        # process under MultiWorkerMirroredStrategy desynchronise the workers' collective
        # instance keys (found here: the chief and worker 1 broadcast different variables in
        # the fourth run of a process).
        results = {}
        for name in names:
            _on_workers(workers, [sys.executable, str(SCRIPT), strategy, str(out / name), name],
                        timeout=1200)
            results.update(json.loads((out / name / "results.json").read_text()))
        return results
    proc = subprocess.run([sys.executable, str(SCRIPT), strategy, str(out), *names],
                          env=tfgen_env(), capture_output=True, text=True, timeout=900,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((out / "results.json").read_text())


def _check(results, names, replicas):
    assert sorted(results) == sorted(names)
    failed = {name: r["error"] for name, r in results.items() if "error" in r}
    assert not failed, json.dumps(failed, indent=1)
    for name, r in results.items():
        cfg = presets.resolve(name)
        assert r["steps"] == 2 * r["spe"] == 2 * (cfg.training.steps_per_execution or 1), name
        assert f"{replicas} replica" in r["strategy"], (name, r["strategy"])
        want = cfg.training.precision
        if want == "auto":
            want = "mixed_bfloat16" if cpu_has_amx_bf16() else "float32"
        assert r["precision"] == want, name
        assert all(np.isfinite(v) for v in r["final"].values()
                   if isinstance(v, (int, float))), (name, r["final"])


# 369 s for the four columns here: past what CI's 20 minutes leave, so -m slow as well.
@pytest.mark.slow
@pytest.mark.parametrize("strategy, workers, replicas", STRATEGIES)
def test_each_code_path_trains_under_the_strategy(tmp_path, strategy, workers, replicas):
    _check(_column(strategy, tmp_path, CODE_PATHS, workers), CODE_PATHS, replicas)


@pytest.mark.slow
@pytest.mark.parametrize("strategy, workers, replicas", STRATEGIES)
def test_every_preset_trains_under_the_strategy(tmp_path, strategy, workers, replicas):
    _check(_column(strategy, tmp_path, PRESETS, workers), PRESETS, replicas)
