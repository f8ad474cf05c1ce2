"""Audio sources: FSDD from ../shared/data/fsdd against its file names and SciPy's own reading,
`audio:DIR` on recordings written here (formats, rates, channels, classes, a broken file), the
length policy and the resampler in closed form, and the mistakes a user makes."""

import os
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

import tfgen
from tfgen.data import audio
from tfgen.errors import DataError

FSDD = Path(__file__).resolve().parents[3] / "shared" / "data" / "fsdd"
needs_fsdd = pytest.mark.skipif(not FSDD.is_dir() and not os.environ.get("TFGEN_REQUIRE_FSDD"),
                                reason=f"{FSDD} not here")


@needs_fsdd
def test_fsdd_has_the_official_split_and_its_labels():
    src = tfgen.data.source("fsdd", data_dir=str(FSDD))
    info = src.info
    assert info.kind == "audio" and info.sample_rate == 8000 and info.shape == (8192, 1)
    assert info.splits == {"train": 2400, "val": 300, "test": 300}
    assert info.num_classes == 10 and info.class_names[3] == "3"
    x, y = src.numpy("test")
    assert x.dtype == np.float32 and x.min() >= -1.0 and x.max() <= 1.0
    assert np.bincount(y).tolist() == [30] * 10  # 6 speakers x indices 0-4 per digit
    # the first test clip in name order, read here by SciPy: int16 / 32768, padded with zeros
    first = sorted(p.name for p in (FSDD / "recordings").iterdir()
                   if p.name.split("_")[2] in {"0.wav", "1.wav", "2.wav", "3.wav", "4.wav"})[0]
    rate, raw = wavfile.read(FSDD / "recordings" / first)
    assert rate == 8000 and y[0] == int(first[0])
    np.testing.assert_allclose(x[0, :len(raw), 0], raw / 32768.0, atol=1e-7)
    assert not x[0, len(raw):].any()
    assert 0 < info.truncated < 100  # the few clips over 1.024 s


@needs_fsdd
def test_fsdd_is_found_from_the_repository_root_and_a_missing_copy_is_one_line(tmp_path):
    assert tfgen.data.source("fsdd", data_dir=str(FSDD), audio_samples=1024).info.shape == (
        1024, 1)
    with pytest.raises(DataError) as err:
        tfgen.data.source("fsdd", data_dir=str(tmp_path))
    assert "Free Spoken Digit Dataset" in str(err.value) and "\n" not in str(err.value)


def test_fit_length_pads_and_crops_by_the_policy():
    x = np.arange(1, 6, dtype=np.float32)
    padded, cut = audio.fit_length(x, 8)
    assert padded.tolist() == [1, 2, 3, 4, 5, 0, 0, 0] and not cut
    start, cut = audio.fit_length(x, 3)
    assert start.tolist() == [1, 2, 3] and cut
    burst = np.zeros(100, np.float32)
    burst[60:70] = 1.0
    loud, _ = audio.fit_length(burst, 20, "loudest")
    assert loud.sum() == 10.0  # the window holds the whole burst


def test_resampling_keeps_a_tone_at_its_frequency():
    t = np.arange(8000) / 8000.0
    tone = np.sin(2 * np.pi * 440.0 * t).astype(np.float32)
    up = audio.resample(tone, 8000, 16000)
    assert len(up) == 16000
    spectrum = np.abs(np.fft.rfft(up))
    assert np.argmax(spectrum) * 16000 / len(up) == pytest.approx(440.0, abs=1.0)
    down = audio.resample(tone, 8000, 4000)
    assert len(down) == 4000


def _recordings(root: Path):
    """Two classes of tones in three encodings: 16-bit stereo at 16 kHz, 8-bit unsigned mono
    at 8 kHz, float32 mono at 22.05 kHz."""
    rng = np.random.default_rng(0)
    for label, freq in (("low", 200.0), ("high", 1000.0)):
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(6):
            seconds = 0.3 + 0.1 * i
            for rate, kind in ((16000, "int16"), (8000, "uint8"), (22050, "float32")):
                t = np.arange(int(seconds * rate)) / rate
                tone = 0.5 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.normal(size=t.size)
                if kind == "int16":
                    data = np.stack([tone, tone], 1)
                    data = (data * 32767).astype(np.int16)
                elif kind == "uint8":
                    data = np.round(tone * 127 + 128).astype(np.uint8)
                else:
                    data = tone.astype(np.float32)
                wavfile.write(folder / f"{label}_{i}_{kind}.wav", rate, data)


def test_a_users_folder_of_recordings(tmp_path):
    _recordings(tmp_path / "clips")
    src = tfgen.data.source(f"audio:{tmp_path / 'clips'}", sample_rate=8000, audio_samples=4096,
                            val_fraction=0.2, test_fraction=0.2)
    info = src.info
    assert info.kind == "audio" and info.shape == (4096, 1) and info.sample_rate == 8000
    assert info.class_names == ("high", "low") and sum(info.splits.values()) == 36
    # cut to 0.512 s: the clips of 0.6, 0.7 and 0.8 s, in 3 encodings and 2 classes
    assert info.truncated == 3 * 3 * 2
    x, y = src.numpy("train")
    for clip, label in zip(x[:, :2048, 0], y):  # every encoding at its pitch after resampling
        peak = np.argmax(np.abs(np.fft.rfft(clip))) * 8000 / 2048
        assert peak == pytest.approx(1000.0 if info.class_names[label] == "high" else 200.0,
                                     abs=8.0)
        assert 0.4 < np.abs(clip).max() < 0.6  # each format scaled to [-1, 1] by its range
    again = tfgen.data.source(f"audio:{tmp_path / 'clips'}", sample_rate=8000,
                              audio_samples=4096, val_fraction=0.2, test_fraction=0.2)
    np.testing.assert_array_equal(again.numpy("test")[0], src.numpy("test")[0])  # by hash


def test_a_broken_recording_is_named_in_one_line_or_skipped_and_counted(tmp_path):
    _recordings(tmp_path / "clips")
    bad = tmp_path / "clips" / "low" / "broken.wav"
    bad.write_bytes(b"RIFF not really a wav")
    with pytest.raises(DataError) as err:
        tfgen.data.source(f"audio:{tmp_path / 'clips'}", sample_rate=8000)
    assert "broken.wav" in str(err.value) and "skip_corrupt" in str(err.value)
    assert "\n" not in str(err.value)
    src = tfgen.data.source(f"audio:{tmp_path / 'clips'}", sample_rate=8000, skip_corrupt=True)
    assert src.info.skipped == 1


def test_empty_and_missing_folders_are_one_line(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no recordings"):
        tfgen.data.source(f"audio:{tmp_path / 'empty'}")
    with pytest.raises(tfgen.errors.ConfigError, match="audio folder not found"):
        tfgen.data.source(f"audio:{tmp_path / 'missing'}")


def test_written_wavs_read_back(tmp_path):
    clip = np.sin(np.linspace(0, 20, 800)).astype(np.float32) * 0.9
    audio.write_wav(str(tmp_path / "a.wav"), clip, 8000)
    back, rate = audio.read_audio(str(tmp_path / "a.wav"))
    assert rate == 8000
    np.testing.assert_allclose(back, clip, atol=1.0 / 32767)


@needs_fsdd
def test_fsdd_as_spectrogram_images_keeps_its_clips_for_the_metrics():
    from tfgen.data import spectrograms as spec

    src = tfgen.data.source("fsdd", data_dir=str(FSDD), representation="spectrogram")
    info = src.info
    assert info.kind == "audio" and info.representation == "spectrogram"
    assert info.shape == (128, 128, 1) and info.spectrogram["frame_step"] == 64
    x, y = src.numpy("test")
    assert x.shape == (300, 128, 128, 1) and x.min() >= -1.0 and x.max() <= 1.0
    clips, labels = src.waveforms["test"]
    np.testing.assert_array_equal(labels, y)
    # the images back to sound: Griffin-Lim's magnitudes within a quarter of the real ones'
    # (16 iterations, clipping at 3 deviations included; measured 0.24)
    back = spec.to_waveforms(x[:4], info.spectrogram)
    assert spec.spectral_convergence(clips[:4], back) < 0.3


@needs_fsdd
def test_tfds_spoken_digit_is_prepared_from_the_local_copy_and_equals_fsdd(tmp_path):
    """TFDS's real builder and tfds.load, offline: the download manager hands it the local
    recordings; the clips, labels and split are fsdd's."""
    tfds = pytest.importorskip("tensorflow_datasets")
    src = tfgen.data.source("tfds:spoken_digit", data_dir=str(tmp_path), audio_samples=2048)
    assert tfgen.data.kind("tfds:spoken_digit") == "audio"
    assert src.info.name == "audio:tfds:spoken_digit" and src.info.kind == "audio"
    assert tfds.builder("spoken_digit", data_dir=str(tmp_path)).is_prepared()
    ours = tfgen.data.source("fsdd", data_dir=str(FSDD), audio_samples=2048)
    assert src.info.splits == ours.info.splits
    for split in ("train", "test"):
        (xa, ya), (xb, yb) = ours.numpy(split), src.numpy(split)
        # the same (label, clip) pairs, in TFDS's order or ours
        assert sorted(zip(ya.tolist(), (c.tobytes() for c in xa))) == sorted(
            zip(yb.tolist(), (c.tobytes() for c in xb)))


def test_tfds_audio_datasets_through_the_real_tfds_load_path():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=20):
        src = tfgen.data.source("audio:tfds:speech_commands", audio_samples=1024,
                                val_fraction=0.2, test_fraction=0.2)
        info = src.info
        assert info.kind == "audio" and info.sample_rate == 16000 and info.shape == (1024, 1)
        assert info.num_classes == 12 and sum(info.splits.values()) > 0
        x, _ = src.numpy("train")
        assert x.dtype == np.float32 and np.abs(x).max() <= 1.0
    with tfds.testing.mock_data(num_examples=4):
        with pytest.raises(DataError, match="has no audio feature"):
            tfgen.data.source("audio:tfds:mnist")


@needs_fsdd
def test_a_train_subset_of_spectrograms_keeps_its_clips():
    from tfgen.metrics.features import clip_arrays

    src = tfgen.data.source("fsdd", data_dir=str(FSDD), representation="spectrogram",
                            audio_samples=1024, train_examples=40)
    images, y = src.numpy("train")
    clips, y_clips = clip_arrays(src, "train")
    assert images.shape == (40, 128, 128, 1) and clips.shape == (40, 1024, 1)
    np.testing.assert_array_equal(y, y_clips)
    assert clip_arrays(src, "test")[0].shape == (300, 1024, 1)
