"""Strategy resolution, per-replica batches, and a real 2-worker MultiWorkerMirroredStrategy run."""

import json
import logging
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.processes import tfgen, tfgen_env
from tfgen import data
from tfgen.distribute import describe, resolve_strategy
from tfgen.errors import ConfigError

WORKER = Path(__file__).with_name("mw_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def test_auto_without_accelerators_is_default(monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    monkeypatch.delenv("COLAB_TPU_ADDR", raising=False)
    strategy = resolve_strategy("auto")
    assert strategy is tf.distribute.get_strategy()
    assert describe(strategy) == "strategy: DefaultDistributionStrategy, 1 replica"


@pytest.fixture
def no_tpu_env(monkeypatch):
    for name in ("TPU_NAME", "COLAB_TPU_ADDR"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_tpu_address_precedence(no_tpu_env):
    """Config value, then $TPU_NAME, then Colab's address with its grpc:// scheme, then "local"
    on a machine with TPU devices (a Cloud TPU VM), else no TPU."""
    from tfgen.distribute import tpu_address

    assert tpu_address() is None
    no_tpu_env.setattr(tf.config, "list_physical_devices",
                       lambda kind=None: ["TPU:0"] if kind == "TPU" else [])
    assert tpu_address() == "local"
    no_tpu_env.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    assert tpu_address() == "grpc://10.0.0.2:8470"
    no_tpu_env.setenv("COLAB_TPU_ADDR", "grpc://10.0.0.3:8470")
    assert tpu_address() == "grpc://10.0.0.3:8470"
    no_tpu_env.setenv("TPU_NAME", "my-node")
    assert tpu_address() == "my-node"
    assert tpu_address("other-node") == "other-node"


@pytest.mark.parametrize("env, want, connects", [
    ({}, "local", False),  # was tpu="" ("Please provide a TPU Name")
    ({"COLAB_TPU_ADDR": "10.0.0.2:8470"}, "grpc://10.0.0.2:8470", True),  # was without grpc://
    ({"TPU_NAME": "node-1"}, "node-1", True),
])
def test_tpu_strategy_gets_the_resolved_address(no_tpu_env, env, want, connects):
    from tfgen.distribute import strategies

    seen = {}

    class Resolver:
        def __init__(self, tpu):
            seen["tpu"] = tpu

    no_tpu_env.setattr(tf.config, "list_physical_devices",
                       lambda kind=None: ["TPU:0"] if kind == "TPU" else [])
    for key, value in env.items():
        no_tpu_env.setenv(key, value)
    no_tpu_env.setattr(tf.distribute.cluster_resolver, "TPUClusterResolver", Resolver)
    no_tpu_env.setattr(tf.config, "experimental_connect_to_cluster",
                       lambda r: seen.setdefault("connected", True))
    no_tpu_env.setattr(tf.tpu.experimental, "initialize_tpu_system", lambda r: None)
    no_tpu_env.setattr(tf.distribute, "TPUStrategy", lambda r: ("strategy", r))
    assert strategies._tpu_strategy(strategies.tpu_address() or "local")[0] == "strategy"
    assert seen["tpu"] == want
    assert seen.get("connected", False) is connects


def test_a_tpu_that_does_not_resolve_is_one_line(no_tpu_env):
    from tfgen.errors import UserError

    with pytest.raises(UserError, match=r"no TPU could be resolved \(grpc://10.9.9.9:1\)"):
        no_tpu_env.setenv("COLAB_TPU_ADDR", "10.9.9.9:1")
        no_tpu_env.setattr(tf.config, "experimental_connect_to_cluster",
                           lambda r: (_ for _ in ()).throw(ValueError("unreachable")))
        resolve_strategy("tpu")


def test_a_strategy_is_resolved_once_per_process(cpu_devices, caplog):
    caplog.set_level(logging.INFO, logger="tfgen")
    first = resolve_strategy("mirrored")
    assert resolve_strategy("mirrored") is first
    assert resolve_strategy("one_device") is resolve_strategy("one_device")
    assert caplog.text.count("MirroredStrategy, 2 replicas") == 2  # logged for each run


def test_an_nvidia_driver_without_a_gpu_in_tensorflow_is_one_warning(monkeypatch, caplog):
    from tfgen.distribute import strategies

    caplog.set_level(logging.WARNING, logger="tfgen")
    monkeypatch.setattr(strategies.shutil, "which", lambda name: None)
    assert not strategies.warn_unseen_gpu()
    monkeypatch.setattr(strategies.shutil, "which",
                        lambda name: "/usr/bin/nvidia-smi" if name == "nvidia-smi" else None)
    assert strategies.warn_unseen_gpu()
    assert caplog.text.count("nvidia-smi is here but TensorFlow sees no GPU") == 1
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: ["GPU:0"] if kind == "GPU" else [])
    assert not strategies.warn_unseen_gpu()


def test_one_device():
    strategy = resolve_strategy("one_device")
    assert isinstance(strategy, tf.distribute.OneDeviceStrategy)
    assert strategy.num_replicas_in_sync == 1


def test_mirrored_over_logical_cpus_splits_the_global_batch(cpu_devices, caplog):
    caplog.set_level(logging.INFO, logger="tfgen")
    strategy = resolve_strategy("mirrored")
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == len(cpu_devices) == 2
    assert "MirroredStrategy, 2 replicas" in caplog.text
    ds = data.load("digits", batch_size=64, seed=0, labels=True, strategy=strategy)
    batch = next(iter(strategy.experimental_distribute_dataset(ds)))
    xs = strategy.experimental_local_results(batch[0])
    assert [x.shape[0] for x in xs] == [32, 32]
    assert [x.shape[1:] for x in xs] == [(8, 8, 1), (8, 8, 1)]
    # The two replicas hold the two halves of the global batch.
    (full,) = data.load("digits", batch_size=64, seed=0, labels=True).take(1)
    np.testing.assert_array_equal(np.concatenate([x.numpy() for x in xs]), full[0].numpy())
    # Evaluation passes drop the ragged last batch when distributed (static shapes per replica).
    evals = list(data.load("digits", "test", batch_size=64, training=False, strategy=strategy))
    assert [len(b) for b in evals] == [64] * 6


def test_multi_worker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match=r"multi_worker needs the cluster in \$TF_CONFIG"):
        resolve_strategy("multi_worker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ConfigError, match=r"\$TF_CONFIG is not valid"):
        resolve_strategy("multi_worker")


def test_unknown_strategy():
    with pytest.raises(ConfigError, match="must be one of auto, default"):
        resolve_strategy("mirorred")


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _on_workers(n, command, timeout: float = 240) -> list[str]:
    """Run `command` as `n` workers of a cluster on 127.0.0.1 (each with its $TF_CONFIG); all
    must succeed; returns their stdouts. Never leaves a worker behind, even on timeout."""
    ports = _free_ports(n)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    try:
        for i in range(n):
            env = tfgen_env(TF_CONFIG=json.dumps({"cluster": cluster,
                                                  "task": {"type": "worker", "index": i}}))
            procs.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
        outputs = [p.communicate(timeout=timeout) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    return [out for out, _ in outputs]


def _run_workers(n, worker=WORKER, args=()):
    results = []
    for out in _on_workers(n, [sys.executable, str(worker), *args]):
        line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
        results.append(json.loads(line[len("RESULT "):]))
    return results


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_two_workers_on_localhost_train_like_one_process():
    results = _run_workers(2)
    assert [r["replicas"] for r in results] == [2, 2]
    assert [r["iterations"] for r in results] == [6, 6]
    # Both workers hold the same weights, and they equal a single-process run of the same model
    # on the same global batches.
    np.testing.assert_allclose(results[0]["weights"][0], results[1]["weights"][0], atol=0)
    sys.path.insert(0, str(WORKER.parent))
    try:
        import keras
        import mw_worker
    finally:
        sys.path.pop(0)
    keras.utils.set_random_seed(0)
    model = mw_worker.Regressor()
    model.build((None, 2))
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    history = model.fit(data.load("ring8", batch_size=64, seed=0), epochs=2, steps_per_epoch=3,
                        verbose=0)
    for got, want in zip(results[0]["weights"], model.get_weights()):
        np.testing.assert_allclose(np.array(got), want, atol=1e-6)
    np.testing.assert_allclose(results[0]["loss"], np.ravel(history.history["mse"]), rtol=1e-5)


def test_two_workers_train_a_gan_like_one_process():
    """The GAN's step under MultiWorkerMirroredStrategy: global losses, [1]-shaped logs, the
    same weights as a single process on the same global batches."""
    results = _run_workers(2, worker=ROOT / "tests" / "models" / "mw_gan_worker.py")
    assert [r["replicas"] for r in results] == [2, 2]
    from tests.models.helpers import tiny_data, tiny_gan, weights_of

    gan = tiny_gan(ema_decay=0.9)
    history = gan.fit(tiny_data(batch_size=32), epochs=2, steps_per_epoch=3, verbose=0,
                      shuffle=False)
    for worker in results:
        for got, want in zip(worker["weights"], weights_of(gan), strict=True):
            np.testing.assert_allclose(np.array(got), want, atol=1e-5)
        np.testing.assert_allclose(worker["g_loss"], np.ravel(history.history["g_loss"]),
                                   rtol=1e-4)


def test_auto_precision_reads_the_cpu_flags(tmp_path):
    # Issue 30: `auto` took mixed_bfloat16 wherever avx512_bf16 was listed; on AVX-512 bfloat16
    # units without AMX (an AMD Zen 4) the presets' bfloat16 steps ran at ~0.7x float32's speed
    # (benchmarks/precision_auto.py, BENCHMARKS.md): only AMX gets bfloat16.
    from tfgen.distribute import auto_precision, cpu_has_amx_bf16

    def cpuinfo(name, flags):
        path = tmp_path / name
        path.write_text(f"processor\t: 0\nvendor_id\t: x\nflags\t\t: {flags}\n\n"
                        f"processor\t: 1\nflags\t\t: {flags}\n")
        return str(path)

    strategy = tf.distribute.get_strategy()
    cases = {
        "sapphire-rapids": ("fpu sse2 avx512f avx512_bf16 amx_bf16 amx_tile", "mixed_bfloat16",
                            "AMX"),
        "zen4": ("fpu sse2 avx512f avx512_bf16 avx512_vnni", "float32", "no AMX"),
        "plain": ("fpu sse2 avx2", "float32", "without bfloat16"),
        "missing": (None, "float32", "without bfloat16"),
    }
    for name, (flags, policy, why) in cases.items():
        path = cpuinfo(name, flags) if flags else str(tmp_path / name)
        assert cpu_has_amx_bf16(path) == (policy == "mixed_bfloat16"), name
        got, reason = auto_precision(strategy, cpuinfo=path)
        assert got == policy and why in reason, (name, got, reason)
    got, _ = auto_precision(strategy)  # this machine
    assert got == ("mixed_bfloat16" if cpu_has_amx_bf16() else "float32")


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_a_signal_to_one_worker_stops_all_at_the_same_step(tmp_path):
    """SIGTERM to worker 1 only: the workers agree (an all-reduce after every execution), both
    save a mid-epoch checkpoint after the same step and raise `Preempted`."""
    import signal

    results = _run_workers(2, worker=ROOT / "tests" / "models" / "mw_gan_worker.py",
                           args=("preempt", str(tmp_path / "ckpt")))
    assert [r["stopped"] for r in results] == [signal.SIGTERM, signal.SIGTERM]
    assert [r["step"] for r in results] == [2, 2]
    assert [r["partial_steps"] for r in results] == [2, 2]
    assert (tmp_path / "ckpt" / "partial").is_dir()


def _train_on_two_workers(tmp_path, preset, *overrides):
    """`tfgen train` as the README runs it on two workers (127.0.0.1): the chief's run dir."""
    _on_workers(2, [sys.executable, "-m", "tfgen.trainers.cli", "train", "--preset", preset,
                    "--set", "strategy=multi_worker",
                    *[a for o in overrides for a in ("--set", o)],
                    "--run-dir", str(tmp_path / "run"), "-q"], timeout=400)
    return tmp_path / "run"


@pytest.mark.parametrize("preset, overrides", [
    # Several steps per execution (Keras's own loop failed here: a collective in a tf.cond).
    ("ring8-gan", ("epochs=2", "steps_per_epoch=20", "training.steps_per_execution=10",
                   "model.width=16")),
    # A VAE validates every epoch: its evaluation logs must be [1]-shaped too, and Keras's
    # evaluation loop over several steps per execution failed as its training loop did.
    # (slow: 60-100 s; the preset matrix's multi-worker column covers the VAE presets too)
    pytest.param("digits-vae", ("epochs=2", "steps_per_epoch=10",
                                "training.steps_per_execution=5", "model.width=16",
                                "training.precision=float32"), marks=pytest.mark.slow),
])
@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_presets_train_on_two_workers(tmp_path, preset, overrides):
    run = _train_on_two_workers(tmp_path, preset, *overrides)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == (40 if preset == "ring8-gan" else 20)
    assert "2 replicas" in metrics["strategy"]
    if preset == "digits-vae":  # validation covered the whole split: as one process saw it
        one = tmp_path / "one"
        proc = tfgen("train", "--preset", preset, *[a for o in overrides for a in ("--set", o)],
                     "--run-dir", one, "-q")
        assert proc.returncode == 0, proc.stderr[-3000:]
        two, single = (json.loads((d / "epochs.json").read_text()) for d in (run, one))
        # Distributed validation drops the split's last partial batch (300 of digits' 350
        # examples in batches of 100): 0.08% apart here.
        for a, b in zip(two, single, strict=True):
            np.testing.assert_allclose(a["val_elbo"], b["val_elbo"], rtol=3e-3)


@pytest.mark.parametrize("capabilities, want", [
    ([(9, 0)], "mixed_bfloat16"), ([(8, 0), (8, 6)], "mixed_bfloat16"),
    ([(7, 5)], "float32"), ([(8, 0), (7, 0)], "float32"), ([None], "float32"),
])
def test_auto_precision_on_gpus_takes_bfloat16_from_compute_capability_8(monkeypatch,
                                                                          capabilities, want):
    from tfgen.distribute import auto_precision, precision

    gpus = [f"GPU:{i}" for i in range(len(capabilities))]
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: gpus if kind == "GPU" else [])
    monkeypatch.setattr(precision, "gpu_capability", lambda gpu: capabilities[gpus.index(gpu)])
    got, why = auto_precision(tf.distribute.get_strategy())
    assert got == want and "GPU" in why


@pytest.mark.parametrize("name, labels, start", [("digits", True, 0), ("digits", True, 5),
                                                 ("ring8", False, 3)])
def test_each_replica_gathers_its_own_rows_of_the_global_batches(cpu_devices, name, labels,
                                                                 start):
    """load_distributed: every replica gets the rows it gets of `load`'s global batches (so 1
    and N replicas see the same examples), built by its own worker's pipeline for its own
    replicas only (distribute_datasets_from_function) instead of every worker building whole
    global batches."""
    strategy = resolve_strategy("mirrored")
    whole = strategy.experimental_distribute_dataset(
        data.load(name, batch_size=64, seed=3, labels=labels, start_batch=start,
                  strategy=strategy))
    own = data.load_distributed(name, batch_size=64, seed=3, labels=labels, start_batch=start,
                                strategy=strategy)
    assert isinstance(own, tf.distribute.DistributedDataset)
    for a, b in zip([next(it) for it in [iter(whole)] for _ in range(3)],
                    [next(it) for it in [iter(own)] for _ in range(3)], strict=True):
        for x, y in zip(tf.nest.flatten(strategy.experimental_local_results(a)),
                        tf.nest.flatten(strategy.experimental_local_results(b)), strict=True):
            np.testing.assert_array_equal(x.numpy(), y.numpy())
    single = data.load_distributed(name, batch_size=64, seed=3, labels=labels,
                                   strategy=resolve_strategy("default"))
    assert isinstance(single, tf.data.Dataset)  # one replica: load's own dataset
