"""RunDir and the trainer's structure: config.yaml records the family, `tfgen train --run-dir R`
continues R with its own config, a directory that never trained is reused, the callbacks run
in their required order."""

import json

import pytest
import tensorflow as tf
import yaml

from tfgen import callbacks, data
from tfgen.trainers import families, presets, train
from tfgen.trainers.cli import main
from tfgen.trainers.rundir import RunDir

SMALL = ["--set", "steps_per_epoch=5", "--set", "batch_size=64", "--set", "model.width=16",
         "--set", "model.depth=2", "--set", "training.steps_per_execution=1", "-q"]


def test_train_with_only_a_run_dir_continues_with_its_own_config(tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", "--preset", "ring8-gan", "--set", "epochs=1", *SMALL,
                 "--run-dir", str(run)]) == 0
    stored = yaml.safe_load((run / "config.yaml").read_text())
    assert list(stored)[:2] == ["family", "preset"] and stored["family"] == "gan"
    assert main(["train", "--run-dir", str(run), "--set", "epochs=2", "-q"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["steps"] == 10 and metrics["family"] == "gan"
    assert metrics["epochs_planned"] == 2 and len(RunDir(run).epoch_records()) == 2
    # The end-of-run block: what ran, quality, files, next commands.
    err = capsys.readouterr().err
    assert "done: 2 of 2 epochs, 10 steps (this part of the run: 5 steps in " in err
    assert "stopped: all epochs done" in err and "quality (test split): modes_covered" in err
    assert f"next: tensorboard --logdir {run}/logs | tfgen sample {run} --out" in err
    assert RunDir(run).config().model.width == 16  # its own config, not the preset's
    # The size of the end-of-run stages may change too (nothing else: tests/trainers/test_train).
    assert main(["train", "--run-dir", str(run), "--set", "epochs=3", "--set",
                 "evaluation.final_examples=50", "-q"]) == 0
    assert RunDir(run).config().evaluation.final_examples == 50


def test_a_directory_that_never_trained_takes_a_new_config(tmp_path):
    run = RunDir(tmp_path / "r")
    run.write_config(presets.resolve("digits-vae"))  # a config, no checkpoint
    assert main(["train", "--preset", "ring8-gan", "--set", "epochs=1", *SMALL,
                 "--run-dir", run.path]) == 0
    assert run.family().name == "gan" and run.has_trained()


def test_config_without_family_is_one_line(tmp_path, capsys):
    (tmp_path / "config.yaml").write_text("preset: ring8-gan\n")
    assert main(["evaluate", str(tmp_path), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "names no model family" in err


def test_a_config_file_of_another_family_is_refused(tmp_path):
    path = tmp_path / "vae.yaml"
    RunDir(tmp_path).write_config(presets.resolve("digits-vae"))
    (tmp_path / "config.yaml").rename(path)
    from tfgen.errors import ConfigError

    with pytest.raises(ConfigError, match="is a vae config; preset 'ring8-gan' trains a gan"):
        presets.resolve("ring8-gan", path)


def _callbacks(preset, tmp_path, **overrides):
    cfg = presets.resolve(preset, overrides=[f"{k}={v}" for k, v in overrides.items()])
    family = families.for_config(cfg)
    source = data.source(cfg.data, seed=cfg.seed)
    strategy = tf.distribute.get_strategy()
    plan = train.Plan.make(cfg, source, strategy, family)
    model = family.build(cfg, source.info, plan.compile_kwargs, plan.total_steps)
    cbs = train.Callbacks.make(cfg, RunDir(tmp_path), source, model, family, strategy, True,
                               progress=True)
    return [type(c) for c in cbs.ordered], cbs


def test_callback_order(tmp_path):
    order, cbs = _callbacks("ring8-gan", tmp_path, **{"evaluation.every": 1})
    assert order == [callbacks.NonFiniteGuard, callbacks.Preemption, callbacks.Evaluation,
                     callbacks.BestEpoch, callbacks.TensorBoardLogger, train.EpochRecorder,
                     callbacks.ProgressLogger, callbacks.Checkpointer]
    assert cbs.metric == "reverse_kl" and cbs.best.monitor == "eval_reverse_kl"
    # A VAE selects on validation ELBO (no Evaluation callback); its logger draws diagnostics.
    order, cbs = _callbacks("digits-vae", tmp_path / "vae")
    assert order == [callbacks.NonFiniteGuard, callbacks.Preemption, callbacks.BestEpoch,
                     callbacks.TensorBoardLogger, train.EpochRecorder, callbacks.ProgressLogger,
                     callbacks.Checkpointer]
    assert cbs.best.monitor == "val_bound"
    logger = cbs.ordered[3]
    assert [type(d) for d in logger.diagnostics] == [callbacks.LatentDiagnostics]


@pytest.mark.slow  # 2,500 training steps (45 s)
def test_short_run_of_the_readme_example_is_not_judged_on_a_lagging_average(tmp_path):
    # The README's `ring8-gan --set epochs=5 --set g_optimizer.learning_rate=1e-3` (2,500 steps,
    # EMA 0.999): before the EMA warm-up the averaged generator covered 0 modes.
    run = tmp_path / "r"
    assert main(["train", "--preset", "ring8-gan", "--set", "epochs=5", "--set",
                 "g_optimizer.learning_rate=1e-3", "-q", "--run-dir", str(run)]) == 0
    quality = json.loads((run / "metrics.json").read_text())["quality"]
    assert quality["modes_covered"] >= 6, quality


def test_a_run_model_loads_with_only_import_tfgen(tmp_path):
    # The model's compile config names tfgen's FusedAdam: `import tfgen` must register it.
    import subprocess
    import sys

    from tests.processes import tfgen_env

    run = tmp_path / "r"
    assert main(["train", "--preset", "ring8-gan", "--set", "epochs=1", *SMALL,
                 "--run-dir", str(run)]) == 0
    code = ("import sys, keras, tfgen; m = keras.saving.load_model(sys.argv[1]); "
            "print(m.compiled, type(m.g_optimizer).__name__, int(m.g_optimizer.iterations))")
    proc = subprocess.run([sys.executable, "-c", code, str(run / "model.keras")],
                          capture_output=True, text=True, timeout=300, env=tfgen_env(),
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True", "FusedAdam", "5"]
