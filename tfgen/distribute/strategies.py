"""Strategy resolution: one name in, a `tf.distribute.Strategy` out, logged with its replicas.

Names:
    auto          TPUStrategy when a TPU resolves (see `tpu_address`), MirroredStrategy when more
                  than one GPU is visible, else the default strategy.
    default       the default (no-op) strategy: one device, TensorFlow's placement.
    one_device    OneDeviceStrategy on the first GPU, else the CPU.
    mirrored      MirroredStrategy over all GPUs; without GPUs, over all logical CPU devices
                  (see `split_cpu`), which is how tests check replica correctness on a laptop.
    multi_worker  MultiWorkerMirroredStrategy; the cluster comes from $TF_CONFIG.
    tpu           TPUStrategy; fails with one line if no TPU resolves.

Create the strategy before any other TensorFlow work in the process: multi-worker and TPU
strategies must initialise the runtime themselves. A process resolves each strategy once
(`resolve_strategy` returns the same object again, e.g. to every trial of a search): a TPU
system is initialised once, and a second MultiWorkerMirroredStrategy cannot be made.
"""

from __future__ import annotations

import json
import logging
import os
import shutil

import tensorflow as tf

from tfgen.errors import ConfigError, UserError, reason

log = logging.getLogger("tfgen")
STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker", "tpu")


def split_cpu(n: int) -> list[str]:
    """Split the physical CPU into `n` logical devices (call before TensorFlow initialises).

    Returns the logical CPU device names. Used to run MirroredStrategy with several replicas on a
    machine without accelerators.
    """
    cpus = tf.config.list_physical_devices("CPU")
    current = tf.config.get_logical_device_configuration(cpus[0])
    if not current or len(current) != n:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
        )
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def tpu_address(tpu: str | None = None) -> str | None:
    """Where the TPU is, for `TPUClusterResolver`: the given name or address (config `tpu`),
    else $TPU_NAME (a Cloud TPU node), else $COLAB_TPU_ADDR (Colab's host:port, given as
    grpc://host:port), else "local" when this machine has TPU devices (a Cloud TPU VM); None
    when there is no TPU."""
    if tpu:
        return tpu
    if os.environ.get("TPU_NAME"):
        return os.environ["TPU_NAME"]
    colab = os.environ.get("COLAB_TPU_ADDR")
    if colab:
        return colab if "://" in colab else f"grpc://{colab}"
    return "local" if tf.config.list_physical_devices("TPU") else None


def _tpu_strategy(address: str) -> tf.distribute.Strategy:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        if address != "local":  # a TPU VM's chips are this process's own devices
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as err:
        raise UserError(f"no TPU could be resolved ({address}): {reason(err)}") from None
    return tf.distribute.TPUStrategy(resolver)


def _check_tf_config() -> None:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ConfigError(
            "config key 'strategy': multi_worker needs the cluster in $TF_CONFIG "
            '(e.g. {"cluster": {"worker": ["host1:port", "host2:port"]}, '
            '"task": {"type": "worker", "index": 0}})'
        )
    try:
        spec = json.loads(raw)
        workers = spec["cluster"]["worker"]
        spec["task"]["type"], spec["task"]["index"]
    except (ValueError, KeyError, TypeError):
        raise ConfigError(
            "$TF_CONFIG is not valid: it must be JSON with cluster.worker (a list of host:port) "
            "and task.type/task.index"
        ) from None
    if not isinstance(workers, list) or not workers:
        raise ConfigError("$TF_CONFIG cluster.worker must be a non-empty list of host:port")


_RESOLVED: dict[tuple[str, str | None], tf.distribute.Strategy] = {}


def resolve_strategy(name: str = "auto", tpu: str | None = None) -> tf.distribute.Strategy:
    """The strategy called `name` (see the module docstring), logged with its replica count;
    the same object on every call with the same arguments in this process."""
    if name not in STRATEGIES:
        raise ConfigError(
            f"config key 'strategy': must be one of {', '.join(STRATEGIES)}; got {name!r}"
        )
    address = tpu_address(tpu) if name in ("auto", "tpu") else None
    if name == "auto":
        if address is not None:
            name = "tpu"
        elif len(tf.config.list_physical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    key = (name, (address or "local") if name == "tpu" else None)
    if key not in _RESOLVED:
        _RESOLVED[key] = _create(*key)
        if name != "tpu":
            warn_unseen_gpu()
    log.info("%s", describe(_RESOLVED[key]))
    return _RESOLVED[key]


def _create(name: str, address: str | None) -> tf.distribute.Strategy:
    # Multi-worker and TPU strategies must come before anything initialises the runtime (such
    # as listing logical devices), so they are created first.
    if name == "tpu":
        return _tpu_strategy(address)
    if name == "multi_worker":
        _check_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy(devices=[d.name for d in gpus])
        # CPU replicas: reduce on one device instead of RING collectives. With TF 2.21 the
        # CPU collectives of a step holding several gradient tapes (GAN penalties) were
        # matched out of order across replicas ("Shape mismatch in the collective instance").
        return tf.distribute.MirroredStrategy(
            devices=[d.name for d in tf.config.list_logical_devices("CPU")],
            cross_device_ops=tf.distribute.ReductionToOneDevice(),
        )
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    return tf.distribute.get_strategy()


def warn_unseen_gpu() -> bool:
    """One warning line when this machine has an NVIDIA driver (`nvidia-smi` on the PATH) but
    TensorFlow lists no GPU -- a TensorFlow without CUDA, which would train on the CPU without
    a word. Returns whether it warned."""
    if shutil.which("nvidia-smi") is None or tf.config.list_physical_devices("GPU"):
        return False
    log.warning("nvidia-smi is here but TensorFlow sees no GPU: training on the CPU "
                "(pip install 'tfgen[gpu]' for TensorFlow with its CUDA libraries)")
    return True


def is_tpu(strategy: tf.distribute.Strategy) -> bool:
    """Whether `strategy` runs on TPUs (TPUStrategy compiles its steps with XLA itself), or
    stands in for one (`compile_check`)."""
    return isinstance(strategy, (tf.distribute.TPUStrategy,
                                 tf.distribute.experimental.TPUStrategy)) or getattr(
        strategy, "tpu_stand_in", False)


def describe(strategy: tf.distribute.Strategy) -> str:
    """'strategy: MirroredStrategy, 2 replicas (/job:localhost/.../CPU:0, ...)'."""
    try:
        devices = tuple(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy has no device list
        devices = ()
    where = f" ({', '.join(devices)})" if devices else ""
    replicas = strategy.num_replicas_in_sync
    plural = "replica" if replicas == 1 else "replicas"
    return f"strategy: {type(strategy).__name__.lstrip('_')}, {replicas} {plural}{where}"


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files (always, except on non-chief workers)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief
