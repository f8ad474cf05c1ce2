"""Dataset names: the built-in sets and the forms a name may take, checked without loading
anything (and without TensorFlow, except for a `tfds:` name, which TFDS itself looks up)."""

from __future__ import annotations

from tfgen import fileio
from tfgen.data.mixtures import MIXTURES
from tfgen.errors import ConfigError

BUILTIN = {
    "ring8": "8 Gaussians on the unit circle, std 0.01 (2-D points; PacGAN protocol)",
    "grid25": "25 Gaussians on a 5x5 grid with spacing 2, std 0.05 (2-D points; PacGAN protocol)",
    "digits": "scikit-learn's 8x8 handwritten digits, 10 classes: 1000 train / 350 val / 447 test",
    "fashion_mnist": "Fashion-MNIST 28x28 grayscale, 10 classes: 55000 train / 5000 val / 10000 "
    "test (apt-get install dataset-fashion-mnist; or the IDX files in data.data_dir)",
    "jsb_chorales": "JSB Chorales piano-rolls (ships with tfgen), the polyphonic-music benchmark "
    "split: 229 train / 76 val / 77 test chorales, 88 keys (data.steps_per_quarter 1, 2 or 4)",
    "fsdd": "the Free Spoken Digit Dataset, 3,000 recordings of 6 speakers saying 0-9 at 8 kHz "
    "(CC BY-SA 4.0; its recordings/ in data.data_dir): 2,400 train / 300 val / 300 test",
    "wordnet": "WordNet 3.0's 48,224 example sentences (apt-get install wordnet-base; or its "
    "data.* files in data.data_dir), split by a hash of each sentence: 43,551 train / 2,281 val / 2,392 test",
}
PIANOROLL = ("jsb_chorales", "midi:")  # names (and prefixes) of piano-roll datasets
TEXT = ("wordnet", "text:")  # ... and of text datasets
AUDIO = ("fsdd", "audio:", "tfds:spoken_digit")  # ... and of audio
FORMS = {
    "tfds:NAME": "a TensorFlow Datasets image dataset, e.g. tfds:mnist, tfds:cifar10, tfds:celeb_a "
    "(data.data_dir, data.image_size)",
    "folder:PATH": "a directory of images (png, jpg, bmp, gif, webp), optionally one sub-folder per "
    "class (data.image_size, data.channels, data.skip_corrupt)",
    "idx:DIR": "MNIST-format IDX files in DIR: train-images-idx3-ubyte[.gz], optional labels and "
    "t10k-* test files",
    "npz:PATH": "a NumPy .npz: x [N, H, W] or [N, H, W, C] uint8 or float in [0, 1], optional y "
    "(labels), x_val/y_val, x_test/y_test, class_names",
    "midi:DIR": "MIDI files under DIR (recursively) as piano-rolls (data.steps_per_quarter, "
    "data.window_bars, data.transpose, data.drums, data.skip_corrupt)",
    "text:PATH": "a UTF-8 text file, or a folder of them: one example per line (data.text_unit, "
    "data.tokens, data.vocab_size, data.min_count, data.max_length, data.lowercase)",
    "audio:DIR": "recordings under DIR (WAV; FLAC/OGG with soundfile), one sub-folder per class "
    "or none (data.sample_rate, data.audio_samples, data.audio_crop, data.skip_corrupt)",
    "audio:tfds:NAME": "a TensorFlow Datasets audio dataset, its first Audio feature, e.g. "
    "audio:tfds:spoken_digit (= tfds:spoken_digit: prepared offline from a local FSDD; read "
    "into memory; data.data_dir)",
    "text:tfds:NAME": "a TensorFlow Datasets text dataset, its first Text feature, e.g. "
    "text:tfds:imdb_reviews, text:tfds:lm1b (read into memory; data.data_dir)",
}


def kind(name: str) -> str:
    """The modality of a dataset (`tfgen.modalities`), without loading it: "points" for the 2-D
    mixtures, "pianoroll" for music, "text" for text, "audio" for sound, "images" for every
    other dataset."""
    if name in MIXTURES:
        return "points"
    if name.startswith(TEXT):
        return "text"
    if name.startswith(AUDIO):
        return "audio"
    return "pianoroll" if name.startswith(PIANOROLL) else "images"


def check_name(name: str, key: str = "data.name") -> None:
    """Fail with one line if `name` is not a dataset tfgen can load."""
    if name in BUILTIN:
        return
    prefix, sep, rest = name.partition(":")
    if sep and prefix == "tfds" and rest:
        from tfgen.data import tfds_source

        tfds_source.check_name(rest, key)
        return
    if sep and prefix in ("text", "audio") and rest.startswith("tfds:") and rest[len("tfds:"):]:
        from tfgen.data import tfds_source

        tfds_source.check_name(rest[len("tfds:"):], key)
        return
    if sep and prefix in ("folder", "idx", "midi", "audio") and rest:
        if not fileio.isdir(rest):
            what = {"folder": "folder", "idx": "IDX directory", "midi": "MIDI folder",
                    "audio": "audio folder"}[prefix]
            raise ConfigError(f"config key '{key}': {what} not found: {rest}")
        return
    if sep and prefix == "text" and rest:
        if not fileio.exists(rest):
            raise ConfigError(f"config key '{key}': text file or folder not found: {rest}")
        return
    if sep and prefix == "npz" and rest:
        if not fileio.isfile(rest):
            raise ConfigError(f"config key '{key}': npz file not found: {rest}")
        return
    raise ConfigError(
        f"config key '{key}': unknown dataset {name!r}; choose from: "
        f"{', '.join(BUILTIN)}, {', '.join(FORMS)}"
    )
