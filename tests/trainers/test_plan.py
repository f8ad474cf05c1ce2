"""The step plan: steps per execution and XLA, as the strategy and the devices allow."""

import pytest

from tfgen.distribute import resolve_strategy
from tfgen.errors import ConfigError
from tfgen.trainers import train
from tfgen.trainers.cli import main


@pytest.fixture
def accelerated(monkeypatch):
    monkeypatch.setattr(train, "_accelerated", lambda: True)


def test_an_epoch_is_rounded_up_to_whole_executions():
    """A prime epoch length (mnist's 937 steps of 64) keeps the steps per execution asked for
    (the previous rule, their gcd, shrank it to 1) and runs 938 steps: 134 executions of 7."""
    strategy = resolve_strategy("default")
    assert train._executions(7, 937, strategy, explicit=False) == (7, 938)
    assert train._executions(50, 500, strategy, explicit=True) == (50, 500)
    assert train._executions(100, 28, strategy, explicit=False) == (28, 28)  # at most the epoch
    assert train._executions(None, 937, strategy, explicit=False) == (1, 937)  # CPU: 1


def test_unset_steps_per_execution_on_accelerators_is_about_32(accelerated):
    strategy = resolve_strategy("default")
    assert train._executions(None, 937, strategy, explicit=False) == (32, 960)  # 30 x 32
    assert train._executions(None, 859, strategy, explicit=False) == (32, 864)  # fashion_mnist
    assert train._executions(None, 33, strategy, explicit=False) == (17, 34)  # < 1 per execution
    assert train._executions(None, 5, strategy, explicit=False) == (5, 5)
    assert train._executions(4, 859, strategy, explicit=False) == (4, 860)  # asked: kept


def test_jit_by_default_on_one_accelerator_only(accelerated, cpu_devices):
    assert train._jit(None, resolve_strategy("default")) is True
    assert train._jit(None, resolve_strategy("mirrored")) is False
    assert train._jit(False, resolve_strategy("default")) is False


def test_jit_under_tpu_strategy_is_left_to_the_strategy(monkeypatch):
    from tfgen import distribute

    monkeypatch.setattr(distribute, "is_tpu", lambda strategy: True)
    assert train._jit(True, resolve_strategy("default")) is False
    assert train._jit(None, resolve_strategy("default")) is False


def test_jit_with_several_replicas_is_refused_in_one_line(cpu_devices, tmp_path, capsys):
    """It was accepted and crashed in the first step ("Trying to access resource ...
    replica_1 ... from device CPU:0", keras-team/keras#19005)."""
    code = main(["train", "--preset", "ring8-gan", "--set", "strategy=mirrored",
                 "--set", "training.jit_compile=true", "--set", "epochs=1",
                 "--set", "steps_per_epoch=2", "--run-dir", str(tmp_path / "run"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not any("Traceback" in line for line in err), err
    assert err[-1].startswith("tfgen: error: config key 'training.jit_compile': XLA cannot")
    with pytest.raises(ConfigError, match="XLA cannot compile a step mirrored over 2 replicas"):
        train._jit(True, resolve_strategy("mirrored"))


def test_a_resumed_run_keeps_its_recorded_plan_and_names_an_xla_change(tmp_path, caplog,
                                                                         monkeypatch):
    """Trained with about 32 steps per execution on an accelerator (ring8's 100,000 points in
    batches of 128: 781 steps per epoch, run as 25 x 32 = 800), resumed on a CPU (which would
    take 781 x 1): the epochs keep their length and steps per execution; XLA differs, and is
    named."""
    import logging

    from tfgen import data
    from tfgen.trainers import families, presets
    from tfgen.trainers.rundir import RunDir

    cfg = presets.resolve("ring8-gan", overrides=["steps_per_epoch=null", "batch_size=128",
                                                  "training.steps_per_execution=null"])
    source = data.source(cfg.data, seed=0)
    family = families.for_config(cfg)
    strategy = resolve_strategy("default")
    monkeypatch.setattr(train, "_accelerated", lambda: True)
    on_gpu = train.Plan.make(cfg, source, strategy, family)
    monkeypatch.setattr(train, "_accelerated", lambda: False)
    on_cpu = train.Plan.make(cfg, source, strategy, family)
    spe = on_gpu.compile_kwargs["steps_per_execution"]
    assert on_gpu.compile_kwargs["jit_compile"] is True and spe == 32
    assert on_cpu.compile_kwargs["steps_per_execution"] == 1
    assert (on_gpu.steps_per_epoch, on_cpu.steps_per_epoch) == (800, 781)
    caplog.set_level(logging.INFO, logger="tfgen")
    resumed = train.Plan.make(cfg, source, strategy, family, recorded=on_gpu.record())
    assert resumed.steps_per_epoch == on_gpu.steps_per_epoch
    assert resumed.compile_kwargs == {"jit_compile": False, "steps_per_execution": spe}
    assert "trained with XLA on and resumes with it off" in caplog.text
    # what `tfgen train` writes and reads back
    run = RunDir(tmp_path / "run")
    assert main(["train", "--preset", "ring8-gan", "--set", "epochs=1", "--set",
                 "steps_per_epoch=3", "--set", "training.steps_per_execution=3",
                 "--set", "evaluation.num=200", "--run-dir", run.path, "-q"]) == 0
    assert run.plan() == {"steps_per_epoch": 3, "jit_compile": False, "steps_per_execution": 3,
                          "precision": "float32"}


def test_pacgan_packs_within_each_replica(cpu_devices, tmp_path, capsys):
    """PacGAN4 with a batch of 4 x 2 + 4 = 12 passes the config's check (a multiple of 4) but
    gives each of 2 replicas 6 examples, which cannot be packed in fours: refused in one line."""
    code = main(["train", "--preset", "ring8-gan", "--set", "strategy=mirrored",
                 "--set", "model.pac=4", "--set", "batch_size=12", "--set", "epochs=1",
                 "--set", "steps_per_epoch=2", "--run-dir", str(tmp_path / "run"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert err[-1] == ("tfgen: error: config key 'batch_size': each of the 2 replicas takes 6 "
                       "examples, not a multiple of model.pac=4; use a multiple of 8")


def test_a_run_of_an_earlier_version_resumes_with_its_own_epochs(tmp_path, capsys):
    """Its config.yaml holds steps_per_execution: 7 (shrunk then to gcd(7, 10) = 1 for its 10
    steps per epoch) and it wrote no plan.json: resumed, it keeps 10 steps per epoch (the new
    rule would round them up to 14). A run whose config.yaml holds the old default 1 resumes
    with steps_per_execution left unset (it used to be refused as a changed config)."""
    import yaml

    from tfgen.trainers.rundir import RunDir

    run = RunDir(tmp_path / "old")
    base = ["train", "--preset", "ring8-gan", "--set", "steps_per_epoch=10",
            "--set", "evaluation.num=200", "--run-dir", run.path, "-q"]
    assert main([*base, "--set", "epochs=1", "--set", "training.steps_per_execution=1"]) == 0
    stored = yaml.safe_load(open(run.config_file))
    stored["training"]["steps_per_execution"] = 7
    with open(run.config_file, "w") as fh:
        yaml.safe_dump(stored, fh, sort_keys=False)
    (tmp_path / "old" / "plan.json").unlink()
    (tmp_path / "old" / "metrics.json").unlink()
    assert main([*base, "--set", "epochs=2", "--set", "training.steps_per_execution=7"]) == 0
    assert run.metrics()["steps"] == 20
    assert run.plan()["steps_per_epoch"] == 10 and run.plan()["steps_per_execution"] == 1
    stored["training"]["steps_per_execution"] = 1
    with open(run.config_file, "w") as fh:
        yaml.safe_dump(stored, fh, sort_keys=False)
    (tmp_path / "old" / "metrics.json").unlink()
    assert main([*base, "--set", "epochs=3", "--set", "training.steps_per_execution=null"]) == 0
    assert run.metrics()["steps"] == 30


def test_a_resumed_run_keeps_the_precision_auto_gave_it(tmp_path, monkeypatch, capsys):
    """precision=auto resolved again on resume could change the dtype mid-run (a CPU run
    resumed on a GPU of compute capability 8.0 would get bfloat16): the run keeps its own."""
    from tfgen import distribute
    from tfgen.trainers.rundir import RunDir

    run = RunDir(tmp_path / "run")
    base = ["train", "--preset", "ring8-gan", "--set", "steps_per_epoch=4",
            "--set", "training.precision=auto", "--set", "evaluation.num=200",
            "--run-dir", run.path, "-q"]
    monkeypatch.setattr(distribute, "auto_precision", lambda strategy: ("float32", "a CPU"))
    assert main([*base, "--set", "epochs=1"]) == 0
    assert run.plan()["precision"] == "float32"
    monkeypatch.setattr(distribute, "auto_precision",
                        lambda strategy: ("mixed_bfloat16", "a GPU of compute capability 9.0"))
    capsys.readouterr()
    (tmp_path / "run" / "metrics.json").unlink()
    assert main([*base, "--set", "epochs=2"]) == 0
    assert run.plan()["precision"] == "float32"
    assert "precision: float32, the run's own (auto here: mixed_bfloat16" in capsys.readouterr().err
