"""Audio sources: the Free Spoken Digit Dataset (`fsdd`) and `audio:DIR`, a user's recordings.

Clips are read up front (WAV by SciPy; FLAC, OGG and the rest by `soundfile` where it is
installed), mixed down to mono, resampled to `data.sample_rate` by SciPy's polyphase
resampler (`scipy.signal.resample_poly`, its Kaiser-windowed anti-aliasing filter), scaled to
[-1, 1] (integer PCM by its full scale) and cut to a fixed length, `data.audio_samples`:

- shorter clips are padded with silence at the end;
- longer ones keep their first `audio_samples` samples (`data.audio_crop=start`, WaveGAN's
  loader's default) or the window around their loudest part (`audio_crop=loudest`: the
  window of the most energy, for recordings with silence before the sound); the number cut is
  stated in the log and in `info.truncated`.

Samples are float32 [clips, audio_samples, 1]; an unreadable file is named in one line (or
skipped and counted with `data.skip_corrupt`).

FSDD (Jackson et al., CC BY-SA 4.0): 3,000 recordings `{digit}_{speaker}_{index}.wav`, 6
speakers x 10 digits x 50, 8 kHz. The official split holds indices 0-4 of each (digit,
speaker) out as the test set (300 clips); tfgen fixes indices 5-9 as validation (300) and
trains on 10-49 (2,400). The labels are the digits.
"""

from __future__ import annotations

import logging
import math
import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tfgen import fileio
from tfgen.data.options import DataOptions
from tfgen.errors import DataError, reason

log = logging.getLogger("tfgen")

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".mp3")
FSDD_RATE = 8000
FSDD_NAME = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")
FSDD_SPLIT = {"test": range(0, 5), "val": range(5, 10), "train": range(10, 50)}
# where `fsdd` looks when data.data_dir is not set: $TFGEN_FSDD, then beside the working
# directory and beside a source checkout of tfgen (a development copy's shared data)
FSDD_PLACES = ("../shared/data/fsdd",
               os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                            "shared", "data", "fsdd"),
               "~/.cache/tfgen/fsdd", "/usr/share/datasets/fsdd")


def default_samples(rate: int) -> int:
    """WaveGAN's clip: 16,384 samples at 16 kHz, 1.024 s; the same duration at other rates,
    rounded to a multiple of 256 (the generator's upsampling)."""
    return max(256, int(round(1.024 * rate / 256)) * 256)


def read_audio(path: str) -> tuple[np.ndarray, int]:
    """(samples [frames] float32 in [-1, 1], mono; sample rate) of one file. WAV through
    SciPy; other formats through soundfile (`pip install soundfile`)."""
    if path.lower().endswith(".wav"):
        import io

        from scipy.io import wavfile

        try:
            rate, data = wavfile.read(io.BytesIO(fileio.read_bytes(path)))
        except ValueError as err:  # SciPy cannot read this WAV (e.g. 24-bit in old versions)
            data, rate = _soundfile(path, err)
    else:
        data, rate = _soundfile(path)
    return mono(data), int(rate)


def mono(data) -> np.ndarray:
    """Samples as a file or dataset holds them ([frames] or [frames, channels]; integer PCM
    scaled by its full range, unsigned 8-bit around its midpoint) -> mono float32 in [-1, 1]."""
    data = np.asarray(data)
    if data.dtype.kind in "iu":
        info = np.iinfo(data.dtype)
        scale = float(max(-int(info.min), int(info.max) + 1))
        offset = 0.0 if data.dtype.kind == "i" else scale / 2.0  # unsigned 8-bit PCM
        data = (data.astype(np.float64) - offset) / (scale if offset == 0 else offset)
    data = data.astype(np.float32)
    if data.ndim == 2:
        data = data.mean(axis=1)  # mono mix-down
    if data.ndim != 1 or data.size == 0:
        raise ValueError("no samples")
    return np.clip(data, -1.0, 1.0)


def _soundfile(path: str, cause=None):
    try:
        import soundfile
    except ImportError:
        why = f" ({cause})" if cause else ""
        raise ValueError(f"needs the soundfile package to read this format{why}: "
                         "pip install soundfile") from None
    import io

    data, rate = soundfile.read(io.BytesIO(fileio.read_bytes(path)), dtype="float32")
    return data, rate


def resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """x at `rate` -> at `target` Hz (`scipy.signal.resample_poly`, the reduced ratio)."""
    if rate == target:
        return x
    from scipy.signal import resample_poly

    g = math.gcd(int(rate), int(target))
    return resample_poly(x, target // g, rate // g).astype(np.float32)


def fit_length(x: np.ndarray, length: int, crop: str = "start") -> tuple[np.ndarray, bool]:
    """(x padded with silence or cut to `length` samples, whether it was cut): `crop` "start"
    keeps the first samples, "loudest" the window with the most energy."""
    if len(x) <= length:
        return np.pad(x, (0, length - len(x))), False
    if crop == "loudest":
        energy = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
        start = int(np.argmax(energy[length:] - energy[:-length]))
    else:
        start = 0
    return x[start:start + length], True


def clip(path: str, rate: int, length: int, crop: str) -> tuple[np.ndarray, bool]:
    """One file as a fixed-length clip at `rate` Hz: (samples [length], whether it was cut)."""
    x, native = read_audio(path)
    return fit_length(resample(x, native, rate), length, crop)


def _read_all(files: list[str], rate: int, length: int, crop: str, skip: bool, where: str):
    """(clips [N, length, 1], kept indices, truncated count, skipped (file, why) pairs)."""

    def read(path):
        try:
            return clip(path, rate, length, crop)
        except Exception as err:  # any decoder error means "unreadable" here
            return path, reason(err)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = list(pool.map(read, files))
    clips, kept, failures, truncated = [], [], [], 0
    for i, result in enumerate(results):
        if isinstance(result[0], str):
            if not skip:
                raise DataError(f"cannot read audio file {result[0]}: {result[1]} (set "
                                "data.skip_corrupt=true to skip unreadable files)")
            failures.append(result)
            continue
        clips.append(result[0])
        truncated += int(result[1])
        kept.append(i)
    if failures:
        log.warning("skipped %d unreadable audio file(s) in %s (first: %s: %s)", len(failures),
                    where, failures[0][0], failures[0][1])
    if not clips:
        raise DataError(f"no readable audio files in {where}")
    if truncated:
        log.info("%s: %d of %d clips longer than %d samples (%.3f s at %d Hz) were cut "
                 "(data.audio_crop=%s)", where, truncated, len(clips), length, length / rate,
                 rate, crop)
    return np.stack(clips)[..., None], kept, truncated, failures


def clip_source(name, splits, rate, length, class_names, cfg, truncated=0, skipped=0):
    """The source of clips `splits` ({split: (clips, labels)}): the clips themselves, or with
    `data.representation=spectrogram` SpecGAN's images of them (`tfgen.data.spectrograms`:
    normalised on the train split; in [-1, 1], or [0, 1] with `data.pixel_range=unit`), the
    clips kept as `source.waveforms` for the metrics."""
    from tfgen.data.sources import ArraySource, DatasetInfo

    info = DatasetInfo(
        name=name, kind="audio", shape=(length, 1),
        splits={k: len(v[0]) for k, v in splits.items()},
        num_classes=len(class_names) if class_names else None, value_range=(-1.0, 1.0),
        class_names=tuple(class_names) if class_names else None, skipped=skipped,
        truncated=truncated, sample_rate=rate)
    if cfg.representation == "waveform":
        return ArraySource(info, splits)
    from tfgen.data import spectrograms as spec

    frames = spec.FRAME_LENGTH // 2  # square images: as many frames as frequency bins
    if length % frames or length // frames > spec.FRAME_LENGTH:
        raise DataError(f"data.representation=spectrogram makes {frames} x {frames} images, of "
                        f"clips of a multiple of {frames} samples up to "
                        f"{frames * spec.FRAME_LENGTH} (the hop at most the "
                        f"{spec.FRAME_LENGTH}-sample window); data.audio_samples is {length}")
    step = spec.frame_step_for(length, frames)
    logs = {k: spec.log_magnitude(x, spec.FRAME_LENGTH, step) for k, (x, _) in splits.items()}
    normaliser = spec.Normaliser.fit(logs["train"])
    unit = cfg.pixel_range == "unit"  # [0, 1] images (VAE likelihoods), else [-1, 1]
    images = {k: ((normaliser(s)[..., None] + 1.0) / 2.0 if unit else normaliser(s)[..., None],
                  splits[k][1]) for k, s in logs.items()}
    info.shape = tuple(int(d) for d in images["train"][0].shape[1:])
    info.representation, info.value_range = "spectrogram", (0.0, 1.0) if unit else (-1.0, 1.0)
    info.spectrogram = {"frame_length": spec.FRAME_LENGTH, "frame_step": step, "samples": length,
                        "griffin_lim_iterations": cfg.griffin_lim_iterations,
                        "pixel_range": cfg.pixel_range, **normaliser.to_dict()}
    source = ArraySource(info, images)
    source.waveforms = splits
    return source


# -- FSDD ---------------------------------------------------------------------------------------

def fsdd_dir(cfg: DataOptions) -> str:
    """The folder of FSDD's WAVs: data.data_dir (the repository or its recordings/), else
    $TFGEN_FSDD, else the first of `FSDD_PLACES` that holds them."""
    places = ([cfg.data_dir] if cfg.data_dir else
              [p for p in (os.environ.get("TFGEN_FSDD"),) if p] + list(FSDD_PLACES))
    for place in places:
        place = os.path.expanduser(place)
        for candidate in (os.path.join(place, "recordings"), place):
            if fileio.isdir(candidate) and any(FSDD_NAME.match(f)
                                               for f in fileio.listdir(candidate)):
                return candidate
    where = cfg.data_dir or ", ".join(["$TFGEN_FSDD", *FSDD_PLACES])
    raise DataError(f"the Free Spoken Digit Dataset's recordings ({{digit}}_{{speaker}}_"
                    f"{{index}}.wav) were not found in {where}: git clone https://github.com/"
                    "Jakobovski/free-spoken-digit-dataset and set data.data_dir to it")


def fsdd_splits(x, y, index) -> dict:
    """FSDD's split by each recording's index (`FSDD_SPLIT`): {split: (clips, labels)}."""
    index = np.asarray(index)
    return {split: (x[np.isin(index, list(FSDD_SPLIT[split]))],
                    y[np.isin(index, list(FSDD_SPLIT[split]))]) for split in ("train", "val", "test")}


def fsdd_source(cfg: DataOptions):
    root = fsdd_dir(cfg)
    rate = cfg.sample_rate or FSDD_RATE
    length = cfg.audio_samples or default_samples(rate)
    entries = []
    for name in sorted(fileio.listdir(root)):
        m = FSDD_NAME.match(name)
        if m:
            entries.append((fileio.join(root, name), int(m.group(1)), int(m.group(3))))
    x, kept, truncated, failures = _read_all([e[0] for e in entries], rate, length,
                                             cfg.audio_crop, cfg.skip_corrupt, root)
    labels = np.array([entries[i][1] for i in kept], np.int32)
    splits = fsdd_splits(x, labels, [entries[i][2] for i in kept])
    return clip_source("fsdd", splits, rate, length, [str(d) for d in range(10)], cfg,
                        truncated, len(failures))


# -- audio:DIR ----------------------------------------------------------------------------------

def list_audio(path: str) -> tuple[list[str], list[int] | None, list[str] | None]:
    """(files, labels, class names) under `path`: class mode when its sub-folders hold the
    recordings (each sub-folder a class), else every file under it, unlabelled."""
    def under(folder):
        found = []
        for root, dirs, files in fileio.walk(folder):
            dirs.sort()
            found += [fileio.join(root, f) for f in sorted(files)
                      if f.lower().endswith(AUDIO_EXTENSIONS)]
        return found

    entries = sorted(fileio.listdir(path))
    top = [fileio.join(path, e) for e in entries if e.lower().endswith(AUDIO_EXTENSIONS)
           and fileio.isfile(fileio.join(path, e))]
    classes = [e for e in entries if fileio.isdir(fileio.join(path, e))
               and under(fileio.join(path, e))]
    if classes and top:
        raise DataError(f"folder {path} has recordings at its top level and in class "
                        "sub-folders; use one or the other")
    if classes:
        files, labels = [], []
        for i, name in enumerate(classes):
            members = under(fileio.join(path, name))
            files += members
            labels += [i] * len(members)
        return files, labels, classes
    if not top:
        raise DataError(f"no recordings ({', '.join(AUDIO_EXTENSIONS)}) found in folder {path}")
    return top, None, None


def audio_source(path: str, cfg: DataOptions):
    """`audio:DIR`: every recording under DIR at `data.sample_rate` (default 16 kHz), val and
    test held out by a hash of each file's path relative to DIR."""
    from tfgen.data.arrays import split_arrays

    if not fileio.isdir(path):
        raise DataError(f"audio folder not found: {path}")
    files, labels, class_names = list_audio(path)
    rate = cfg.sample_rate or 16000
    length = cfg.audio_samples or default_samples(rate)
    x, kept, truncated, failures = _read_all(files, rate, length, cfg.audio_crop,
                                             cfg.skip_corrupt, path)
    y = None if labels is None else np.array([labels[i] for i in kept], np.int32)
    keys = [fileio.relpath(files[i], path) for i in kept]
    name = f"audio:{path}"
    splits = split_arrays(x, y, keys, cfg.val_fraction, cfg.test_fraction, name)
    return clip_source(name, splits, rate, length, class_names, cfg, truncated, len(failures))


def wav_bytes(clip: np.ndarray, rate: int) -> bytes:
    """One clip ([frames] or [frames, channels] in [-1, 1]) as a 16-bit PCM WAV file's bytes
    (one channel: mono)."""
    import io

    from scipy.io import wavfile

    clip = np.asarray(clip, np.float64)
    if clip.ndim == 2 and clip.shape[1] == 1:
        clip = clip[:, 0]
    # full scale 32768, as `read_audio` reads it back (+1.0 clips to 32767)
    pcm = np.clip(np.round(clip * 32768), -32768, 32767).astype(np.int16)
    buffer = io.BytesIO()
    wavfile.write(buffer, int(rate), pcm)
    return buffer.getvalue()


def tfds_audio_source(name: str, cfg: DataOptions):
    """`audio:tfds:NAME` (and `tfds:spoken_digit`): a TensorFlow Datasets audio dataset read
    into memory (`tfds_source.audio_examples`), each clip as `audio:DIR` treats a file (mono,
    resampled, fixed length). `spoken_digit` keeps FSDD's split by each file's index, as
    `fsdd` does; other datasets are held out by a hash of each example's key."""
    from tfgen.data import tfds_source
    from tfgen.data.arrays import split_arrays

    raw, keys, labels, class_names, native = tfds_source.audio_examples(name, cfg)
    rate = cfg.sample_rate or native
    length = cfg.audio_samples or default_samples(rate)
    clips, truncated = [], 0
    for x in raw:
        x = np.asarray(x)
        if x.dtype.kind == "i" and x.dtype.itemsize > 2:  # TFDS keeps integer PCM in int64:
            x = x.astype(np.int16 if x.size == 0 or (x.min() >= -32768 and x.max() <= 32767)
                         else np.int32)  # 16-bit when the values fit, else 32-bit
        clip_, cut = fit_length(resample(mono(x), native, rate), length, cfg.audio_crop)
        clips.append(clip_)
        truncated += int(cut)
    x = np.stack(clips)[..., None]
    y = None if labels is None else np.asarray(labels, np.int32)
    title = f"audio:tfds:{name}"
    if name.split(":")[0].split("/")[0] == "spoken_digit":
        names = [FSDD_NAME.match(k) for k in keys]
        if not all(names):
            raise DataError(f"{title}: file names not in FSDD's digit_speaker_index.wav form "
                            f"(e.g. {keys[names.index(None)]!r})")
        splits = fsdd_splits(x, y, [int(m.group(3)) for m in names])
    else:
        splits = split_arrays(x, y, keys, cfg.val_fraction, cfg.test_fraction, title)
    return clip_source(title, splits, rate, length, class_names, cfg, truncated)


def write_wav(path: str, clip: np.ndarray, rate: int) -> None:
    """One clip as 16-bit PCM WAV (`wav_bytes`) at `path`."""
    fileio.write_bytes(path, wav_bytes(clip, rate))
