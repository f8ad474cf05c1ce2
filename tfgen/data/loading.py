"""Dataset names to `Source`s and `tf.data` pipelines: `source`, `load`."""

from __future__ import annotations

import dataclasses
from typing import Any

import tensorflow as tf

from tfgen.data import builtin
from tfgen.data.arrays import fixed_subset
from tfgen.data.mixtures import MIXTURES
from tfgen.data.names import check_name
from tfgen.data.options import DataOptions
from tfgen.data.sources import Source
from tfgen.errors import ConfigError, DataError


def source(data: DataOptions | str, *, seed: int = 0, **options: Any) -> Source:
    """The `Source` for a dataset name (or `DataOptions`), with `DataOptions` fields as options.

    Args:
        data: a dataset name such as "digits" or "tfds:mnist", or a `DataOptions`.
        seed: seed for generated data (ring8/grid25).
        **options: `DataOptions` fields overriding those of `data`, e.g. `image_size=32`.
    """
    cfg = DataOptions(name=data) if isinstance(data, str) else data
    if options:
        unknown = set(options) - {f.name for f in dataclasses.fields(DataOptions)}
        if unknown:
            raise TypeError(f"unknown data option(s): {', '.join(sorted(unknown))}")
        cfg = dataclasses.replace(cfg, **options)
    check_name(cfg.name)
    if cfg.train_examples is not None:
        full = source(dataclasses.replace(cfg, train_examples=None), seed=seed)
        return limit_train(full, cfg.train_examples)
    name = cfg.name
    if name in MIXTURES:
        return builtin.mixture_source(name, cfg, seed)
    if name == "digits":
        return builtin.digits_source(name, cfg)
    if name == "fashion_mnist":
        return builtin.fashion_mnist_source(name, cfg)
    if name == "jsb_chorales":
        from tfgen.data import sequences

        return sequences.jsb_source(cfg)
    if name == "wordnet":
        from tfgen.data import text

        return text.wordnet_source(cfg)
    if name == "fsdd":
        from tfgen.data import audio

        return audio.fsdd_source(cfg)
    if name.startswith("tfds:spoken_digit"):  # (also tfds:spoken_digit:1.0.9)
        name = "audio:" + name
    kind, _, rest = name.partition(":")
    if kind == "audio":
        from tfgen.data import audio

        if rest.startswith("tfds:"):
            return audio.tfds_audio_source(rest[len("tfds:"):], cfg)
        return audio.audio_source(rest, cfg)
    if kind == "text":
        from tfgen.data import text

        return text.text_source(rest, cfg)
    if kind == "midi":
        from tfgen.data import sequences

        return sequences.midi_source(rest, cfg)
    if kind == "folder":
        from tfgen.data import folder

        return folder.folder_source(rest, cfg)
    if kind == "idx":
        return builtin.idx_source(rest, cfg)
    if kind == "npz":
        return builtin.npz_source(rest, cfg)
    from tfgen.data import tfds_source

    return tfds_source.TFDSSource(rest, cfg)


def limit_train(full: Source, n: int) -> Source:
    """`full` with its train split cut to `n` examples: a random subset fixed by the data alone
    (NumPy seed 0, in file order), so every run and seed sees the same images. The result's
    `parent` is `full` (tfgen's feature extractor still trains on the whole split)."""
    from tfgen.data.sources import ArraySource

    if not isinstance(full, ArraySource):
        raise DataError(f"data.train_examples: dataset {full.info.name!r} is streamed; a train "
                        "subset needs an in-memory dataset (digits, fashion_mnist, idx:, npz:, "
                        "folder:)")
    x, y = full.arrays["train"]
    if n > len(x):
        raise DataError(f"data.train_examples={n} exceeds the train split's {len(x)} examples")
    idx = fixed_subset(len(x), n)
    arrays = {**full.arrays, "train": (x[idx], None if y is None else y[idx])}
    info = dataclasses.replace(full.info, splits={**full.info.splits, "train": n})
    limited = ArraySource(info, arrays, max_value=full.max_value, pixel_range=full.pixel_range)
    limited.crop_multiple = full.crop_multiple
    waveforms = getattr(full, "waveforms", None)
    if waveforms is not None:  # a spectrogram source's clips, cut alike
        wx, wy = waveforms["train"]
        limited.waveforms = {**waveforms, "train": (wx[idx], None if wy is None else wy[idx])}
    limited.parent = full
    return limited


def num_replicas(strategy: tf.distribute.Strategy | None) -> int:
    return 1 if strategy is None else strategy.num_replicas_in_sync


def load_distributed(
    data: DataOptions | str | Source,
    split: str = "train",
    *,
    batch_size: int,
    strategy: tf.distribute.Strategy,
    seed: int = 0,
    labels: bool | None = None,
    start_batch: int = 0,
    **options: Any,
):
    """The training stream of `load`, ready for `fit` under `strategy`: where the source holds
    its arrays in memory and the strategy has several replicas, a
    `tf.distribute.DistributedDataset` in which each worker gathers and scales only its own
    replicas' rows of every global batch (`distribute_datasets_from_function`) -- the same rows
    each replica takes of `load`'s global batches, so 1 and N replicas still see the same
    examples; otherwise `load`'s dataset (which `fit` distributes: every worker then builds each
    global batch and keeps its share)."""
    src = data if isinstance(data, Source) else source(data, seed=seed, **options)
    if labels is None:
        labels = data.labels if isinstance(data, DataOptions) else options.get("labels", False)
    replicas = num_replicas(strategy)
    if replicas == 1 or not hasattr(src, "replica_dataset"):
        return load(src, split, batch_size=batch_size, seed=seed, labels=labels,
                    start_batch=start_batch, strategy=strategy)
    if batch_size % replicas:
        raise ConfigError(
            f"config key 'batch_size': {batch_size} does not divide among {replicas} replicas")

    def per_worker(context: tf.distribute.InputContext) -> tf.data.Dataset:
        local = replicas // context.num_input_pipelines
        return src.replica_dataset(
            split, batch_size, seed=seed, labels=bool(labels), start_batch=start_batch,
            replicas=replicas, first_replica=context.input_pipeline_id * local,
            local_replicas=local)

    return strategy.distribute_datasets_from_function(per_worker)


def load(
    data: DataOptions | str | Source,
    split: str = "train",
    *,
    batch_size: int,
    seed: int = 0,
    training: bool = True,
    labels: bool | None = None,
    start_batch: int = 0,
    strategy: tf.distribute.Strategy | None = None,
    **options: Any,
) -> tf.data.Dataset:
    """A `tf.data.Dataset` of samples, or (samples, labels), ready for `fit`.

    Args:
        data: dataset name, `DataOptions`, or a `Source` already built with `source()`.
        split: "train", "val", "test" (as the source has them; TFDS split strings pass through).
        batch_size: the global batch size; must divide evenly among the strategy's replicas.
        seed: seed of the data order (and of generated data).
        training: True: endless shuffled stream of full batches, order fixed by (seed, epoch);
            False: one pass in file order (last batch dropped only when distributed).
        labels: yield (samples, labels); default: the config's `labels`.
        start_batch: first batch of the training stream (a resumed run passes its step count).
        strategy: the strategy `fit` will run under (for the replica count).
        **options: `DataOptions` fields, e.g. `image_size=32`, `pixel_range="unit"`.
    """
    src = data if isinstance(data, Source) else source(data, seed=seed, **options)
    if labels is None:
        labels = data.labels if isinstance(data, DataOptions) else options.get("labels", False)
    replicas = num_replicas(strategy)
    if batch_size % replicas:
        raise ConfigError(
            f"config key 'batch_size': {batch_size} does not divide among {replicas} replicas"
        )
    return src.dataset(
        split, batch_size, seed=seed, training=training, labels=bool(labels),
        start_batch=start_batch, drop_remainder=training or replicas > 1,
    )
