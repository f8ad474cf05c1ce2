"""Music end to end, as a user runs it: `tfgen train --preset jsb-vae` on the shipped chorales
and on a folder of MIDI files (`midi:DIR`), `tfgen sample` to .mid/.wav/.zip/.png read back,
`tfgen evaluate`'s music cards, and TensorBoard's piano-roll pictures and audio read back from
the event file."""

import json
import wave
import zipfile

import numpy as np
import pytest

from tests.trainers.test_train import events, fails_in_one_line
from tfgen import data
from tfgen.data import midi, music
from tfgen.trainers.cli import main

TINY = ["--set", "epochs=2", "--set", "steps_per_epoch=2", "--set", "model.width=12",
        "--set", "model.encoder_width=6", "--set", "model.latent_dim=4",
        "--set", "model.likelihood.hidden=6", "--set", "model.eval_samples=3",
        "--set", "model.sample_frames=12", "--set", "training.sample_every=1",
        "--set", "training.num_samples=2", "-q"]


@pytest.fixture(scope="module")
def jsb_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "jsb"
    assert main(["train", "--preset", "jsb-hvae", *TINY, "--run-dir", str(run_dir)]) == 0
    return run_dir


def test_a_jsb_run_reports_the_nll_per_frame_and_the_music_statistics(jsb_run):
    metrics = json.loads((jsb_run / "metrics.json").read_text())
    quality = metrics["quality"]
    assert quality["nll_per_frame"] > 0
    # the per-frame figure is the per-piece NLL's total over the test split's 4,725 frames
    assert quality["nll_per_frame"] == pytest.approx(quality["nll"] * 77 / 4725, rel=1e-6)
    assert 0 <= quality["overlap_mean"] <= 1
    assert metrics["sample_context"] == {"steps_per_quarter": 1, "steps_per_bar": 4}


def test_tensorboard_shows_piano_rolls_and_plays_samples(jsb_run):
    acc = events(jsb_run)
    tags = acc.Tags()["tensors"]
    for tag in ("samples/generated", "samples/interpolation", "samples/reconstructions"):
        assert tag in tags, tags
    audio = acc.Tensors("samples/generated_audio")  # the Audio tab
    assert len(audio) == 2  # one per epoch
    clip = audio[-1].tensor_proto.string_val[0]  # the first sample's WAV
    assert clip[:4] == b"RIFF" and len(clip) > 16_000  # 12 quarter notes at 100 bpm: 7 s
    assert len(acc.Tensors("samples/interpolation_audio")) == 2  # two real pieces, 5 steps


def test_samples_as_midi_wav_zip_and_pictures(jsb_run, tmp_path):
    npy = tmp_path / "s.npy"
    assert main(["sample", str(jsb_run), "--num", "3", "--out", str(npy), "-q"]) == 0
    rolls = music.unpack(np.load(npy))
    assert [r.shape for r in rolls] == [(12, 88)] * 3
    assert main(["sample", str(jsb_run), "--num", "3", "--out", str(tmp_path / "s.mid"),
                 "-q"]) == 0
    for i, roll in enumerate(rolls):  # the same seed: the same pieces, read back from MIDI
        back = midi.read_midi(tmp_path / f"s_{i:03d}.mid", steps_per_quarter=1)
        np.testing.assert_array_equal(back[:12], roll)
    assert main(["sample", str(jsb_run), "--num", "3", "--out", str(tmp_path / "s.zip"),
                 "-q"]) == 0
    with zipfile.ZipFile(tmp_path / "s.zip") as archive:
        assert archive.namelist() == [f"sample_{i:03d}.mid" for i in range(3)]
    assert main(["sample", str(jsb_run), "--num", "1", "--out", str(tmp_path / "one.wav"),
                 "-q"]) == 0
    with wave.open(str(tmp_path / "one.wav")) as clip:
        assert clip.getnchannels() == 1 and clip.getnframes() > 12 * 0.6 * clip.getframerate()
    assert main(["sample", str(jsb_run), "--num", "2", "--out", str(tmp_path / "s.png"),
                 "-q"]) == 0
    assert (tmp_path / "s.png").stat().st_size > 0


def test_interpolate_between_two_pieces(jsb_run, tmp_path, capsys):
    first = music.unpack(data.source("jsb_chorales").numpy("test")[0][:1])[0]
    midi.write_midi(first, tmp_path / "a.mid", steps_per_quarter=1)
    out = tmp_path / "path.npy"
    assert main(["interpolate", str(jsb_run), str(tmp_path / "a.mid"), "test:3", "--steps", "4",
                 "--out", str(out)]) == 0
    assert np.load(out).shape == (4, 12, 89)
    assert main(["interpolate", str(jsb_run), "test:0", "test:999", "--out",
                 str(tmp_path / "x.mid")]) == 2
    assert "the test split has 77 pieces" in capsys.readouterr().err


def test_evaluate_prints_the_music_cards(jsb_run, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(jsb_run), "--num", "20"]) == 0
    table = capsys.readouterr().out
    for name in ("overlap_pitch_class_histogram", "polyphony_rate", "copied_frames",
                 "nll_per_frame"):
        assert name in table
    assert "4725 frames" in table and "near" in table  # MuseGAN's: nearer the test value
    cards = json.loads((jsb_run / "eval.json").read_text())["cards"]
    assert cards["overlap_pitch_count"]["baseline"] > 0.8  # train pieces vs test: the floor
    assert cards["polyphony_rate"]["reference_value"] > 0.9  # the chorales are four voices


@pytest.mark.parametrize("args,message", [
    (["--preset", "jsb-vae", "--set", "model.network=conv"], "not a network for piano-rolls"),
    (["--preset", "digits-vae", "--set", "model.network=lstm"], "not a network for images"),
    (["--preset", "digits-vae", "--set", "model.likelihood=nade"], "nade is a frame likelihood"),
    (["--preset", "jsb-vae", "--set", "model.prior=vamp"], "take the normal prior"),
    (["--preset", "jsb-vae", "--set", "data.steps_per_quarter=3"], "grids of 1, 2, 4"),
    (["--preset", "jsb-srnn", "--set", "model.estimator=dreg", "--set", "model.iw_samples=2"],
     "the SRNN trains with the standard estimator"),
    (["--preset", "digits-vae", "--set", "model.network=srnn"], "not a network for images"),
    (["--preset", "jsb-srnn", "--set", "model.top_latent_dim=4"], "one Gaussian layer"),
    (["--preset", "jsb-vae", "--set", "data.name=midi:/no/such/folder"], "MIDI folder not found"),
])
def test_music_mistakes_are_one_line(args, message, tmp_path, capsys):
    fails_in_one_line(["train", *args, "--run-dir", str(tmp_path / "r"), "-q"], message, capsys)


def test_a_folder_of_midi_files_trains(tmp_path, capsys):
    folder = tmp_path / "my_midi"
    (folder / "nested").mkdir(parents=True)
    chorales = music.jsb_chorales("16th")["train"][:12]
    for i, roll in enumerate(chorales):
        midi.write_midi(roll, folder / ("nested" if i % 2 else "") / f"piece{i}.mid",
                        steps_per_quarter=4)
    (folder / "broken.mid").write_bytes(b"not a MIDI file")
    run = tmp_path / "run"
    args = ["train", "--preset", "midi-vae", "--set", f"data.name=midi:{folder}", "--set",
            "data.skip_corrupt=true", *TINY, "--run-dir", str(run)]
    assert main(args) == 2  # 12 frames: not whole bars of 16
    assert "'model.sample_frames': the conductor samples whole bars of 16 frames" in \
        capsys.readouterr().err
    assert main([*args, "--set", "model.sample_frames=16", "--set", "epochs=1"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["sample_context"] == {"steps_per_quarter": 4, "steps_per_bar": 16}
    assert main(["sample", str(run), "--num", "1", "--out", str(tmp_path / "x.mid"),
                 "-q"]) == 0
    assert midi.read_midi(tmp_path / "x.mid").shape[1] == 88


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_the_srnn_trains_samples_evaluates_and_resumes(tmp_path, capsys):
    """jsb-srnn end to end: the card's NLL per frame, TensorBoard's piano-rolls and the KL of
    the per-frame latents, MIDI samples, the music cards, a one-line refusal to interpolate
    (no code per piece), and a resumed run that continues where the first stopped."""
    run = tmp_path / "srnn"
    args = ["train", "--preset", "jsb-srnn", *TINY, "--set", "model.warmup_steps=3",
            "--run-dir", str(run)]
    assert main(args) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["quality"]["nll_per_frame"] > 0
    tags = events(run).Tags()["tensors"]
    assert "samples/generated" in tags and "samples/reconstructions" in tags, tags
    assert any("kl_per_dimension" in t for t in events(run).Tags()["histograms"] + tags)
    assert "samples/interpolation" not in tags  # no code per piece to interpolate
    assert main(["sample", str(run), "--num", "2", "--out", str(tmp_path / "s.mid"), "-q"]) == 0
    assert len(midi.read_midi(tmp_path / "s_000.mid", steps_per_quarter=1)) > 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--num", "10"]) == 0
    assert "nll_per_frame" in capsys.readouterr().out
    assert main(["interpolate", str(run), "test:0", "test:1", "--out",
                 str(tmp_path / "x.mid")]) == 2
    assert "no code per piece" in capsys.readouterr().err
    assert main([*args[:-2], "--set", "epochs=3", "--run-dir", str(run)]) == 0
    assert json.loads((run / "metrics.json").read_text())["steps"] == 6
