"""Audio end to end, as a user runs it: `tfgen train --preset fsdd-wavegan` on FSDD (short clips,
a tiny WaveGAN), WAV/zip/spectrogram samples read back, TensorBoard's audio and spectrograms
from the event file, `tfgen evaluate`'s audio cards in the feature space of tfgen's spoken-digit
classifier; the metrics against closed forms; the mistakes a user makes."""

import io
import json
import zipfile

import numpy as np
import pytest
from scipy.io import wavfile

from tests.data.test_audio import needs_fsdd
from tests.trainers.test_train import events, fails_in_one_line
from tfgen.modalities.audio import inception_score, ndb
from tfgen.trainers.cli import main

COMMON = ["--set", "epochs=2", "--set", "steps_per_epoch=2", "--set", "model.width=4",
          "--set", "batch_size=8", "--set", "data.audio_samples=1024",
          "--set", "training.num_samples=4", "-q"]
TINY = [*COMMON, "--set", "model.n_critic=1"]


def test_inception_score_in_closed_form():
    assert inception_score(np.full((6, 3), 1 / 3)) == pytest.approx(1.0)  # no information
    assert inception_score(np.eye(4)[[0, 1, 2, 3, 0, 1, 2, 3]]) == pytest.approx(4.0, rel=1e-6)
    assert inception_score(np.eye(4)[[2] * 8]) == pytest.approx(1.0)  # confident, one class


def test_ndb_sees_a_collapsed_generator_and_not_the_data_itself():
    rng = np.random.default_rng(0)
    train = np.concatenate([rng.normal(c, 0.3, size=(200, 2)) for c in range(10)])
    same = np.concatenate([rng.normal(c, 0.3, size=(40, 2)) for c in range(10)])
    collapsed = rng.normal(3, 0.3, size=(400, 2))
    assert ndb(train, same, bins=10)["count"] <= 1
    assert ndb(train, collapsed, bins=10)["count"] >= 8


@pytest.fixture(scope="module", autouse=True)
def classifier_cache(tmp_path_factory):
    """One spoken-digit classifier for the module's evaluations (trained once, cached)."""
    import os

    before = os.environ.get("TFGEN_CACHE_DIR")
    os.environ["TFGEN_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        del os.environ["TFGEN_CACHE_DIR"]
    else:
        os.environ["TFGEN_CACHE_DIR"] = before


@pytest.fixture(scope="module")
def audio_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "wavegan"
    assert main(["train", "--preset", "fsdd-wavegan", *TINY, "--run-dir", str(run_dir)]) == 0
    return run_dir


@needs_fsdd
def test_samples_are_wavs_zips_and_spectrograms(audio_run, tmp_path, caplog):
    with caplog.at_level("INFO", logger="tfgen"):
        assert main(["sample", str(audio_run), "--num", "3", "--out", str(tmp_path / "d.wav"),
                     "-q"]) == 0
    # the log names the files written, not the --out pattern
    assert f"wrote 3 samples to {tmp_path / 'd_000.wav'} ... {tmp_path / 'd_002.wav'}" in \
        caplog.text
    for i in range(3):
        rate, clip = wavfile.read(tmp_path / f"d_{i:03d}.wav")
        assert rate == 8000 and clip.shape == (1024,) and clip.dtype == np.int16
    assert main(["sample", str(audio_run), "--num", "2", "--out", str(tmp_path / "d.zip"),
                 "-q"]) == 0
    with zipfile.ZipFile(tmp_path / "d.zip") as archive:
        assert archive.namelist() == ["sample_000.wav", "sample_001.wav"]
        assert wavfile.read(io.BytesIO(archive.read("sample_001.wav")))[0] == 8000
    assert main(["sample", str(audio_run), "--num", "4", "--out", str(tmp_path / "d.png"),
                 "-q"]) == 0
    assert (tmp_path / "d.png").stat().st_size > 0


@needs_fsdd
def test_tensorboard_plays_the_samples_and_shows_their_spectrograms(audio_run):
    acc = events(audio_run)
    plugins = {tag: acc.SummaryMetadata(tag).plugin_data.plugin_name
               for tag in acc.Tags()["tensors"] if tag.startswith("samples/")}
    assert plugins == {"samples/generated_audio": "audio", "samples/generated": "images"}
    clips = acc.Tensors("samples/generated_audio")
    assert len(clips) == 2 and len(clips[-1].tensor_proto.string_val) == 2 * 4  # WAV, label
    assert sorted(p.name for p in (audio_run / "samples").iterdir()) == ["epoch_0001.png",
                                                                       "epoch_0002.png"]


@needs_fsdd
def test_evaluate_prints_the_audio_cards(audio_run, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(audio_run), "--num", "100"]) == 0
    table = capsys.readouterr().out
    for name in ("inception_score", "frechet_distance", "ndb", "memorised"):
        assert name in table
    cards = json.loads((audio_run / "eval.json").read_text())["cards"]
    assert cards["inception_score"]["baseline"] > 2.0  # real clips: the classifier is sure
    assert cards["inception_score"]["value"] < cards["inception_score"]["baseline"]
    assert cards["ndb"]["detail"]["bins"] == 10  # 100 samples: 10 bins
    assert cards["frechet_distance"]["features"]["accuracy"] > 0.5
    assert cards["frechet_distance"]["features"]["name"] == "tfgen-log-mel-convnet"


@needs_fsdd
def test_specgan_trains_on_spectrograms_and_is_heard_through_griffin_lim(tmp_path, capsys):
    run = tmp_path / "specgan"
    assert main(["train", "--preset", "fsdd-specgan", *TINY, "--set",
                 "data.griffin_lim_iterations=4", "--run-dir", str(run)]) == 0
    context = json.loads((run / "metrics.json").read_text())["sample_context"]
    assert context["frame_step"] == 8 and len(context["mean"]) == 128  # 1,024 samples
    assert main(["sample", str(run), "--num", "2", "--out", str(tmp_path / "s.wav"), "-q"]) == 0
    rate, clip = wavfile.read(tmp_path / "s_001.wav")
    assert rate == 8000 and clip.shape == (1024,)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--num", "100"]) == 0
    cards = json.loads((run / "eval.json").read_text())["cards"]
    assert cards["inception_score"]["baseline"] > 2.0  # the real clips, not their images
    assert cards["inception_score"]["inverted"] == ("spectrogram images to clips by 4 "
                                                    "Griffin-Lim iterations")
    exported_sound_is_tfgen_sample(run, tmp_path / "export", context)


def exported_sound_is_tfgen_sample(run, out, context):
    """The SavedModel's `sample` returns clips: the run's spectrogram images through the
    same inversion `tfgen sample` writes (NumPy side, `to_waveforms`)."""
    import tensorflow as tf

    from tfgen.data.spectrograms import to_waveforms
    from tfgen.trainers.rundir import RunDir

    assert main(["export", str(run), str(out)]) == 0
    loaded = tf.saved_model.load(str(out))
    clips = loaded.sample(tf.constant(3, tf.int64), tf.constant(2)).numpy()
    assert clips.shape == (2, 1024, 1) and np.abs(clips).max() <= 1.0
    images = RunDir(str(run)).model().sample(2, seed=3)
    np.testing.assert_allclose(clips, to_waveforms(images, context), atol=1e-4)
    np.testing.assert_allclose(loaded.waveforms(tf.constant(images)).numpy(), clips, atol=1e-5)
    np.testing.assert_array_equal(loaded.value_range().numpy(), [-1.0, 1.0])


@needs_fsdd
def test_the_spectrogram_vae_trains_samples_sound_and_reports_its_nll(tmp_path, capsys):
    run = tmp_path / "vae"
    assert main(["train", "--preset", "fsdd-vae", *COMMON, "--set", "model.eval_samples=4",
                 "--set", "data.griffin_lim_iterations=4", "--run-dir", str(run)]) == 0
    assert json.loads((run / "metrics.json").read_text())["sample_context"]["pixel_range"] == \
        "unit"  # the VAE's images lie in [0, 1]
    assert main(["sample", str(run), "--num", "2", "--out", str(tmp_path / "v.wav"), "-q"]) == 0
    assert wavfile.read(tmp_path / "v_000.wav")[1].shape == (1024,)
    exported_sound_is_tfgen_sample(
        run, tmp_path / "export", json.loads((run / "metrics.json").read_text())["sample_context"])
    capsys.readouterr()
    assert main(["evaluate", str(run), "--num", "100", "--nll-samples", "4"]) == 0
    cards = json.loads((run / "eval.json").read_text())["cards"]
    assert {"nll", "inception_score", "frechet_distance", "ndb"} <= set(cards)


@pytest.mark.parametrize("args,message", [
    (["--preset", "fsdd-wavegan", "--set", "model.network=dcgan"], "not a network for audio"),
    (["--preset", "fsdd-specgan", "--set", "data.representation=waveform"],
     "specgan trains on spectrograms"),
    (["--preset", "digits-dcgan", "--set", "model.phase_shuffle=3"],
     "'model.phase_shuffle' is an option of WaveGAN"),
    (["--preset", "fsdd-vae", "--set", "data.representation=waveform"],
     "a VAE on audio trains on spectrogram images"),
    (["--preset", "fsdd-specgan", "--set", "data.audio_samples=1000"],
     "clips of a multiple of 128 samples up to 32768"),
    (["--preset", "fsdd-specgan", "--set", "data.audio_samples=65536"],
     "data.audio_samples is 65536"),
])
def test_audio_mistakes_are_one_line(args, message, tmp_path, capsys):
    fails_in_one_line(["train", *args, "--run-dir", str(tmp_path / "r"), "-q"], message, capsys)


@needs_fsdd
def test_specgan_makes_images_in_the_datas_range():
    from tfgen.trainers import families, presets

    for pixel_range, low in (("symmetric", -1.0), ("unit", 0.0)):
        cfg = presets.resolve("fsdd-specgan", overrides=[
            "model.width=2", "data.audio_samples=1024", f"data.pixel_range={pixel_range}"])
        from tfgen import data

        info = data.source(cfg.data).info
        gan = families.get("gan").build(cfg, info, {}, 10)
        out = gan.generator(np.random.default_rng(0).normal(size=(64, 100)).astype("float32"))
        out = np.asarray(out)
        assert out.min() >= low and out.max() <= 1.0 and info.value_range == (low, 1.0)
        if pixel_range == "symmetric":
            assert out.min() < 0.0


def test_audio_wavegan_trains_on_the_chirps_it_ships(tmp_path):
    run = tmp_path / "chirps"
    assert main(["train", "--preset", "audio-wavegan", *TINY, "--set", "batch_size=4",
                 "--set", "data.sample_rate=8000", "--run-dir", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["sample_context"]["sample_rate"] == 8000
    assert main(["sample", str(run), "--num", "1", "--out", str(tmp_path / "c.wav"), "-q"]) == 0
    assert wavfile.read(tmp_path / "c.wav")[1].shape == (1024,)
