"""tfgen.data.midi: MIDI files to piano-rolls and back, folders and their splits, sound, pictures."""

import ast
import io
import logging
import os
import wave

import numpy as np
import pytest

from tfgen.data import midi
from tfgen.data.arrays import assign_splits
from tfgen.errors import DataError

pretty_midi = pytest.importorskip("pretty_midi")
mido = pytest.importorskip("mido")

C_MAJOR_SCALE = (60, 62, 64, 65, 67, 69, 71, 72)
D_MAJOR_SCALE = tuple(p + 2 for p in C_MAJOR_SCALE)


def write_notes(path, notes, tempo=120.0, drums=(), key=None, resolution=220):
    """A MIDI file of (pitch, start beat, length in beats) notes on a piano, plus drum notes;
    `key`: a key signature's number (pretty_midi's: 0..11 major, 12..23 minor)."""
    pm = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=tempo)
    beat = 60.0 / tempo
    for program, is_drum, group in ((0, False, notes), (0, True, drums)):
        if group:
            instrument = pretty_midi.Instrument(program=program, is_drum=is_drum)
            instrument.notes = [pretty_midi.Note(90, p, s * beat, (s + d) * beat) for p, s, d in group]
            pm.instruments.append(instrument)
    if key is not None:
        pm.key_signature_changes.append(pretty_midi.KeySignature(key, 0.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


def scale(pitches, beats=1.0):
    return [(p, i * beats, beats) for i, p in enumerate(pitches)]


def expected_scale(pitches, frames_per_note):
    roll = np.zeros((len(pitches) * frames_per_note, 88), np.uint8)
    for i, p in enumerate(pitches):
        roll[i * frames_per_note:(i + 1) * frames_per_note, p - 21] = 1
    return roll


# ---------------------------------------------------------------------------------------------
# read_midi


def test_scale_lands_on_the_grid(tmp_path):
    path = write_notes(tmp_path / "scale.mid", scale(C_MAJOR_SCALE))
    roll = midi.read_midi(str(path))  # 16th-note grid: a quarter note is 4 frames
    assert roll.dtype == np.uint8
    np.testing.assert_array_equal(roll, expected_scale(C_MAJOR_SCALE, 4))
    np.testing.assert_array_equal(midi.read_midi(str(path), steps_per_quarter=1),
                                  expected_scale(C_MAJOR_SCALE, 1))
    assert midi.read_midi(path.read_bytes(), steps_per_quarter=2).shape == (16, 88)


def test_chords_short_notes_and_keys_out_of_range(tmp_path):
    notes = [(60, 0, 2), (64, 0, 2), (67, 0, 2),  # C major, a half note
             (65, 2, 1), (69, 2, 1), (72, 2, 1),  # F major, a quarter
             (84, 3, 0.125),  # a 32nd note: shorter than a frame, keeps one
             (10, 0, 1), (120, 1, 1)]  # below A0 and above C8: dropped, counted
    stats = {}
    roll = midi.read_midi(str(write_notes(tmp_path / "chords.mid", notes)), stats=stats)
    assert roll.shape == (13, 88)  # to the end of the 32nd note
    assert stats["out_of_range"] == 2 and stats["notes"] == 7
    active = {(t, k + 21) for t, k in zip(*np.nonzero(roll))}
    expected = {(t, p) for t in range(8) for p in (60, 64, 67)}
    expected |= {(t, p) for t in range(8, 12) for p in (65, 69, 72)} | {(12, 84)}
    assert active == expected


def test_drums_are_dropped_unless_asked_for(tmp_path):
    path = write_notes(tmp_path / "band.mid", scale(C_MAJOR_SCALE[:4]),
                       drums=[(36, 0, 0.25), (38, 1, 0.25), (42, 2, 0.25)])
    stats = {}
    plain = midi.read_midi(str(path), stats=stats)
    np.testing.assert_array_equal(plain, expected_scale(C_MAJOR_SCALE[:4], 4))
    assert stats["drum_notes"] == 3
    with_drums = midi.read_midi(str(path), drums=True, transpose=3)
    assert with_drums[0, 36 - 21] and with_drums[4, 38 - 21] and with_drums[8, 42 - 21]  # not moved
    assert with_drums[0, 60 + 3 - 21]  # the piano is
    assert (with_drums - np.pad(plain, ((0, 0), (3, 0)))[:, :88]).sum() == 3


def test_tempo_changes_do_not_move_the_grid(tmp_path):
    # 96 ticks per quarter; quarter notes C D E F G A; the tempo halves after beat 2 and
    # doubles after beat 4: in seconds the notes are uneven, in the score they are not.
    file = mido.MidiFile(ticks_per_beat=96)
    track = mido.MidiTrack()
    file.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))
    for i, pitch in enumerate((60, 62, 64, 65, 67, 69)):
        if i == 2:
            track.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=0))
        if i == 4:
            track.append(mido.MetaMessage("set_tempo", tempo=250_000, time=0))
        track.append(mido.Message("note_on", note=pitch, velocity=80, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=96))
    path = str(tmp_path / "tempo.mid")
    file.save(path)
    starts = [n.start for n in pretty_midi.PrettyMIDI(path).instruments[0].notes]
    np.testing.assert_allclose(starts, [0, 0.5, 1.0, 2.0, 3.0, 3.25])
    np.testing.assert_array_equal(midi.read_midi(path), expected_scale((60, 62, 64, 65, 67, 69), 4))


def test_transpose_to_c_by_key_signature_and_by_estimate(tmp_path):
    piece = scale(D_MAJOR_SCALE) + [(62, 8, 4), (66, 8, 4), (69, 8, 4)]  # and a D major chord
    c_piece = [(p - 2, s, d) for p, s, d in piece]
    in_c = midi.read_midi(str(write_notes(tmp_path / "c.mid", c_piece)))

    stats = {}
    estimated = midi.read_midi(str(write_notes(tmp_path / "d.mid", piece)), transpose="C",
                               stats=stats)
    assert stats["key_from"] == "estimate" and stats["key"] in ("D major", "B minor")
    assert stats["transpose"] == -2
    np.testing.assert_array_equal(estimated, in_c)

    # A (wrong) key signature of G major wins over the notes: G -> C is up 5.
    signed = midi.read_midi(str(write_notes(tmp_path / "g.mid", piece, key=7)), transpose="C",
                            stats=stats)
    assert stats["key_from"] == "signature" and stats["key"] == "G major" and stats["transpose"] == 5
    np.testing.assert_array_equal(signed[:, 5:], midi.read_midi(str(tmp_path / "d.mid"))[:, :-5])
    # B minor's signature: to A minor, down 2
    midi.read_midi(str(write_notes(tmp_path / "b.mid", piece, key=12 + 11)), transpose="C",
                   stats=stats)
    assert stats["key"] == "B minor" and stats["transpose"] == -2
    up = midi.read_midi(str(tmp_path / "c.mid"), transpose=7)
    np.testing.assert_array_equal(up[:, 7:], in_c[:, :-7])
    with pytest.raises(DataError, match="transpose"):
        midi.read_midi(str(tmp_path / "c.mid"), transpose="D")


def test_key_estimate_and_shifts():
    major = np.array(midi.MAJOR_PROFILE)
    minor = np.array(midi.MINOR_PROFILE)
    for tonic in range(12):
        assert midi.estimate_key(np.roll(major, tonic)) == tonic
        assert midi.estimate_key(np.roll(minor, tonic)) == 12 + tonic
    shifts = [midi.shift_to_c(k) for k in range(24)]
    assert all(-6 <= s <= 5 for s in shifts)
    assert [(k + s) % 12 for k, s in zip(range(12), shifts)] == [0] * 12
    assert [(k + s) % 12 for k, s in zip(range(12), shifts[12:])] == [9] * 12
    assert midi.key_name(2) == "D major" and midi.key_name(21) == "A minor"


def test_unreadable_and_missing_files_name_themselves(tmp_path):
    bad = tmp_path / "garbage.mid"
    bad.write_bytes(b"this is not a MIDI file at all" * 10)
    with pytest.raises(DataError, match="garbage.mid") as err:
        midi.read_midi(str(bad))
    assert "\n" not in str(err.value)
    with pytest.raises(DataError, match="not found: .*nowhere.mid"):
        midi.read_midi(str(tmp_path / "nowhere.mid"))


# ---------------------------------------------------------------------------------------------
# windows


def test_windows():
    roll = np.arange(70 * 88).reshape(70, 88)
    parts = midi.windows(roll, bars=2, steps_per_bar=16)
    assert [len(w) for w in parts] == [32, 32]  # 6 frames of tail dropped
    np.testing.assert_array_equal(parts[1], roll[32:64])
    assert len(midi.windows(roll, bars=1, steps_per_bar=16, hop=8)) == 7  # starts 0, 8, .., 48
    assert midi.windows(roll[:10], bars=1, steps_per_bar=16) == []
    with pytest.raises(DataError):
        midi.windows(roll, bars=0, steps_per_bar=16)


# ---------------------------------------------------------------------------------------------
# write_midi


@pytest.mark.parametrize("steps", [1, 3, 4])
def test_write_then_read_gives_the_roll_back(tmp_path, steps):
    rng = np.random.default_rng(steps)
    roll = (rng.random((40, 88)) < 0.05).astype(np.uint8)
    roll[4:21, 39] = 0
    roll[5:20, 39] = 1  # a long held note
    roll[:3] = 0  # leading ...
    roll[-4:] = 0  # ... and trailing silence survive
    path = str(tmp_path / "roll.mid")
    midi.write_midi(roll, path, steps_per_quarter=steps, tempo=97.0, program=19)
    np.testing.assert_array_equal(midi.read_midi(path, steps_per_quarter=steps), roll)
    pm = pretty_midi.PrettyMIDI(path)
    assert pm.instruments[0].program == 19
    step = 60 / (97 * steps)
    held = [n for n in pm.instruments[0].notes if n.pitch == 60 and abs(n.start - 5 * step) < 1e-3]
    assert len(held) == 1  # frames 5..19 of key 39 (MIDI 60): one note, 15 frames long
    np.testing.assert_allclose(held[0].end - held[0].start, 15 * step, atol=1e-3)


def test_write_refuses_a_roll_of_the_wrong_shape(tmp_path):
    with pytest.raises(DataError, match="88"):
        midi.write_midi(np.zeros((4, 12)), str(tmp_path / "x.mid"))


# ---------------------------------------------------------------------------------------------
# midi_folder


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "music"
    for i in range(24):  # 24 pieces, one note each, told apart by pitch
        write_notes(root / ("nested" if i % 3 else "") / f"piece{i:02d}.mid", [(40 + i, 0, 1)])
    write_notes(root / "drums.midi", [], drums=[(36, 0, 1)])  # drums only: skipped
    pretty_midi.PrettyMIDI().write(str(root / "empty.mid"))  # no notes: skipped
    (root / "notes.txt").write_text("not a MIDI file, not listed")
    return root


def pitch_of(roll):
    return int(np.nonzero(roll.any(axis=0))[0][0]) + 21


def test_folder_splits_follow_the_hash_of_the_relative_path(folder, caplog):
    with caplog.at_level(logging.INFO, logger="tfgen"):
        out = midi.midi_folder(str(folder), val_fraction=0.25, test_fraction=0.25)
    names = [os.path.relpath(p, folder) for p in midi.list_midi(str(folder))]
    assert names[0] == "drums.midi" and "nested/piece01.mid" in names and len(names) == 26
    pieces = [n for n in names if "piece" in n]
    which = assign_splits(pieces, 0.25, 0.25)
    for index, split in enumerate(("train", "val", "test")):
        expected = [40 + int(n[-6:-4]) for n, s in zip(pieces, which) if s == index]
        assert [pitch_of(r) for r in out[split]] == expected
    assert all(out[s] for s in ("train", "val", "test"))
    lines = [r.getMessage() for r in caplog.records if "MIDI folder" in r.getMessage()]
    assert len(lines) == 1 and "read 24 of 26" in lines[0]
    assert "drums only 1" in lines[0] and "no notes 1" in lines[0]
    again = midi.midi_folder(str(folder), val_fraction=0.25, test_fraction=0.25)
    assert [[pitch_of(r) for r in again[s]] for s in again] == [[pitch_of(r) for r in out[s]]
                                                                  for s in out]


def test_folder_unreadable_file_is_named_or_skipped_and_counted(folder, caplog):
    (folder / "nested" / "broken.mid").write_bytes(os.urandom(200))
    with pytest.raises(DataError, match=r"nested/broken\.mid.*skip_corrupt") as err:
        midi.midi_folder(str(folder))
    assert "\n" not in str(err.value)
    with caplog.at_level(logging.INFO, logger="tfgen"):
        out = midi.midi_folder(str(folder), skip_corrupt=True, drums=True, steps_per_quarter=1)
    assert sum(len(v) for v in out.values()) == 25  # the drums count now
    lines = [r for r in caplog.records if "MIDI folder" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    assert "unreadable 1" in lines[0].getMessage() and "broken.mid" in lines[0].getMessage()


def test_folder_without_midi_files(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(DataError, match=f"no MIDI files .* in folder {tmp_path}"):
        midi.midi_folder(str(tmp_path))
    with pytest.raises(DataError, match="not found"):
        midi.midi_folder(str(tmp_path / "missing"))
    pretty_midi.PrettyMIDI().write(str(tmp_path / "empty.mid"))
    with pytest.raises(DataError, match="no MIDI file with notes"):
        midi.midi_folder(str(tmp_path))


# ---------------------------------------------------------------------------------------------
# Sound


def test_render_wav_length_peak_and_pitch(tmp_path):
    roll = np.zeros((32, 88), np.uint8)
    roll[:, 69 - 21] = 1  # A4 held for 32 16ths at 120 bpm: 4 s
    path = tmp_path / "a4.wav"
    audio = midi.render_wav(roll, str(path), sample_rate=8000)
    assert audio.dtype == np.float32 and audio.ndim == 1
    body = 32 * 60 / (120 * 4) * 8000
    assert body <= len(audio) <= body + midi.RELEASE_S * 8000 + 1
    assert 0.5 < np.abs(audio).max() < 1
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    peak = np.fft.rfftfreq(len(audio), 1 / 8000)[np.argmax(spectrum)]
    assert abs(peak - 440) <= 2
    assert np.abs(audio[:5]).max() < 0.05 and np.abs(audio[-5:]).max() < 0.05  # no clicks
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    np.testing.assert_allclose(pcm / 32767, audio, atol=1e-4)


def test_render_wav_chords_and_silence():
    roll = np.zeros((8, 88), np.uint8)
    roll[:4, [39, 43, 46]] = 1
    audio = midi.render_wav(roll, steps_per_quarter=1, tempo=240, sample_rate=4000)
    assert len(audio) == 8 * 0.25 * 4000 + midi.RELEASE_S * 4000
    assert np.abs(audio[4400:]).max() < 1e-6  # the chord ends after 1 s (+ 0.1 s release)
    assert not midi.render_wav(np.zeros((4, 88)), sample_rate=4000).any()


@pytest.mark.skipif(not midi.fluidsynth_available(), reason="fluidsynth or its sound font missing")
def test_render_wav_fluidsynth(tmp_path):
    roll = np.zeros((8, 88), np.uint8)
    roll[:4, 69 - 21] = 1
    audio = midi.render_wav_fluidsynth(roll, str(tmp_path / "fs.wav"), sample_rate=16000)
    assert audio.ndim == 2 and audio.shape[1] == 2 and len(audio) >= 16000  # 1 s at 120 bpm
    assert 0.01 < np.abs(audio).max() < 1
    assert (tmp_path / "fs.wav").stat().st_size > 44


def test_render_wav_fluidsynth_missing(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="sound font not found: /nowhere.sf2"):
        if not midi.shutil.which("fluidsynth"):
            monkeypatch.setattr(midi.shutil, "which", lambda name: "/usr/bin/fluidsynth")
        midi.render_wav_fluidsynth(np.zeros((4, 88)), str(tmp_path / "x.wav"), soundfont="/nowhere.sf2")
    monkeypatch.setattr(midi.shutil, "which", lambda name: None)
    assert not midi.fluidsynth_available()
    with pytest.raises(DataError, match="fluidsynth program is not installed.*apt-get install"):
        midi.render_wav_fluidsynth(np.zeros((4, 88)), str(tmp_path / "x.wav"))


# ---------------------------------------------------------------------------------------------
# Pictures, imports


def test_pianoroll_image(tmp_path):
    from PIL import Image

    roll = np.zeros((20, 88), np.uint8)
    roll[3:7, 0] = 1  # the lowest key: the bottom row
    roll[10, 87] = 1  # the highest: the top row
    path = tmp_path / "roll.png"
    image = midi.pianoroll_image(roll, str(path), steps_per_bar=8)
    assert image.shape == (88, 20, 3) and image.dtype == np.uint8
    assert image[87, 3:7].mean(axis=-1).min() > 180 and image[0, 10].mean() > 180
    rest = np.ones((88, 20), bool)
    rest[87, 3:7] = rest[0, 10] = False
    assert image[rest].max(axis=1).max() < 100  # the rest is dark ...
    assert (image[40, 8] > image[40, 9]).all()  # ... with faint bar lines
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(path.read_bytes()))), image)
    assert midi.pianoroll_image(roll, scale=3).shape == (264, 60, 3)


def test_module_imports_pretty_midi_only_in_functions():
    tree = ast.parse(open(midi.__file__).read())
    top = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
           for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])}
    assert not top & {"pretty_midi", "mido", "PIL", "tensorflow", "keras"}
