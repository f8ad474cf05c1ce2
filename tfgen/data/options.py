"""`DataOptions`: the options every dataset source takes."""

from __future__ import annotations

import dataclasses

from tfgen.data.names import check_name
from tfgen.errors import ConfigError
from tfgen.options import param

# How image pixels are scaled, and the value range that gives.
PIXEL_RANGES = {"symmetric": (-1.0, 1.0), "unit": (0.0, 1.0)}


def value_range(pixel_range: str) -> tuple[float, float]:
    """(low, high) of image samples scaled to `pixel_range` ("symmetric" or "unit")."""
    if pixel_range not in PIXEL_RANGES:
        raise ValueError(f"unknown pixel_range {pixel_range!r}; choose from: "
                         f"{', '.join(PIXEL_RANGES)}")
    return PIXEL_RANGES[pixel_range]


@dataclasses.dataclass
class DataOptions:
    """Where the data comes from and how it is prepared: the options of `tfgen.data.source`
    and `tfgen.data.load` (and the `data` section of a run config; see `tfgen datasets`)."""

    name: str = param(
        "digits",
        help="ring8 | grid25 | digits | fashion_mnist | jsb_chorales | tfds:NAME | folder:PATH | "
        "idx:DIR | npz:PATH | midi:DIR",
    )
    image_size: int | None = param(
        None, min=4, max=1024, help="resize/crop images to this square size (None: native)"
    )
    channels: int | None = param(
        None, choices=(None, 1, 3), help="image channels for folder: sources (None: auto)"
    )
    pixel_range: str = param(
        "symmetric", choices=tuple(PIXEL_RANGES), help="symmetric: [-1, 1]; unit: [0, 1]"
    )
    labels: bool = param(False, help="yield (samples, labels) for conditional models")
    data_dir: str | None = param(
        None, help="TFDS data_dir (where prepared datasets live); fashion_mnist: its IDX files")
    download: bool = param(True, help="let TFDS download and prepare a missing dataset")
    skip_corrupt: bool = param(False, help="folder:/midi:/text:/audio: skip (and count) unreadable files")
    val_fraction: float = param(
        0.1, min=0.0, max=0.9, help="folder:/idx:/npz:/audio: fraction held out as val (by file hash)")
    test_fraction: float = param(
        0.1, min=0.0, max=0.9, help="folder:/idx:/npz:/audio: fraction held out as test (by file hash)")
    num_points: int = param(100_000, min=1, help="ring8/grid25: size of the training set")
    train_examples: int | None = param(
        None, min=1, help="train on N examples of the train split only (a fixed random subset, "
        "the same for every seed; small-data experiments; in-memory datasets)")
    shuffle_buffer: int = param(10_000, min=1, help="TFDS: shuffle buffer (elements)")
    cache: bool = param(True, help="TFDS: cache decoded, resized images in memory")
    steps_per_quarter: int | None = param(
        None, min=1, max=48, help="piano-rolls: frames per quarter note (None: the dataset's; "
        "jsb_chorales 1, 2 or 4, the benchmark's 1; midi: 4)")
    beats_per_bar: int = param(4, min=1, max=16, help="piano-rolls: quarter notes per bar")
    window_bars: int | None = param(
        None, min=1, max=256, help="piano-rolls: cut pieces into windows of N bars (for "
        "fixed-length models; a short tail is dropped); None: whole pieces, padded")
    transpose: str | None = param(
        None, choices=(None, "C"), help="midi: transpose every file to C major / A minor (its "
        "key signature, else a Krumhansl-Schmuckler estimate)")
    drums: bool = param(False, help="midi: keep drum tracks (as their pitches)")
    tokens: str = param("word", choices=("word", "character"),
                        help="text: word-level or character-level tokens")
    vocab_size: int = param(10_000, min=8, max=1_000_000,
                            help="text: most tokens kept (the 4 specials included)")
    min_count: int = param(1, min=1, help="text: a token seen fewer times on the train split "
                           "is [UNK]")
    max_length: int | None = param(
        None, min=2, max=4096, help="text: tokens per example, <eos> included; longer ones are "
        "cut and counted (None: 32 words or 128 characters)")
    sample_rate: int | None = param(
        None, min=1000, max=192_000, help="audio: resample every clip to this rate (Hz; None: "
        "fsdd 8000, audio: 16000)")
    audio_samples: int | None = param(
        None, min=256, max=1_048_576, help="audio: samples per clip, padded with silence or cut "
        "(None: 1.024 s, WaveGAN's 16,384 at 16 kHz)")
    audio_crop: str = param("start", choices=("start", "loudest"),
                            help="audio: which part of a longer clip to keep")
    representation: str = param(
        "waveform", choices=("waveform", "spectrogram"), help="audio: what models see -- the "
        "clips, or SpecGAN's normalised log-magnitude spectrograms (128 x 128 images)")
    griffin_lim_iterations: int = param(
        16, min=1, max=1000, help="audio spectrograms: Griffin-Lim iterations back to sound")
    text_unit: str = param("line", choices=("line", "file"),
                           help="text: one example per line, or per file")
    lowercase: bool = param(True, help="text: lower-case before tokenising")

    def validate(self, prefix: str) -> None:
        check_name(self.name, key=f"{prefix}name")
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ConfigError(
                f"config key '{prefix}test_fraction': val_fraction + test_fraction must be < 1; "
                f"got {self.val_fraction} + {self.test_fraction}")
