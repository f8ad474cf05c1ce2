"""MIDI files in and out as piano-rolls, and piano-rolls as sound and pictures.

Piano-rolls follow `tfgen.data.music`: uint8 arrays [frames, 88], 1 where key k (MIDI pitch
21 + k) sounds. Reading puts notes on a grid of `steps_per_quarter` frames per quarter note
counted in the file's own ticks, so the grid follows the score through tempo changes (a ritardando
does not stretch the roll). Writing turns each run of consecutive active frames of a key into one
held note, so `read_midi(write_midi(roll))` gives `roll` back.

`render_wav` is a small additive synthesiser (NumPy only) for listening to samples;
`render_wav_fluidsynth` renders with a General MIDI sound font through the `fluidsynth` program
where it is installed (Debian: `apt-get install fluidsynth fluid-soundfont-gm`).
`pianoroll_image` draws a roll (time left to right, low keys at the bottom).

No TensorFlow at import; pretty_midi (MIDI files) and Pillow (PNG files) are imported by the
functions that need them.

Example:

>>> import numpy as np
>>> from tfgen.data import midi, music
>>> roll = music.jsb_chorales()["train"][0]            # quarter-note frames
>>> midi.write_midi(roll, "/tmp/chorale.mid", steps_per_quarter=1)
>>> np.array_equal(midi.read_midi("/tmp/chorale.mid", steps_per_quarter=1), roll)
True
>>> [w.shape for w in midi.windows(roll, bars=8, steps_per_bar=4)][:2]
[(32, 88), (32, 88)]
>>> audio = midi.render_wav(roll, "/tmp/chorale.wav", steps_per_quarter=1)
>>> image = midi.pianoroll_image(roll, "/tmp/chorale.png", steps_per_bar=4)
>>> import os
>>> os.makedirs("/tmp/my_midi", exist_ok=True)
>>> midi.write_midi(roll, "/tmp/my_midi/chorale.mid", steps_per_quarter=1)
>>> splits = midi.midi_folder("/tmp/my_midi", steps_per_quarter=1, val_fraction=0, test_fraction=0)
>>> {split: len(rolls) for split, rolls in splits.items()}
{'train': 1, 'val': 0, 'test': 0}
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import tempfile
import warnings

import numpy as np

from tfgen import fileio
from tfgen.data.music import KEYS, LOWEST_PITCH
from tfgen.errors import DataError, reason

log = logging.getLogger("tfgen")

MIDI_EXTENSIONS = (".mid", ".midi")
DEFAULT_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Krumhansl & Kessler's key profiles (1982), from C: the key-finding weights of Krumhansl (1990).
MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
ATTACK_S = 0.01  # render_wav's envelope: rise at a note's start ...
RELEASE_S = 0.1  # ... and fade after its end (the audio runs this much past the last frame)
HARMONICS = (1.0, 0.5, 0.3, 0.18, 0.1)  # render_wav's partials' amplitudes, fundamental first


# ---------------------------------------------------------------------------------------------
# Helpers


def _check_roll(roll) -> np.ndarray:
    roll = np.asarray(roll)
    if roll.ndim != 2 or roll.shape[1] != KEYS:
        raise DataError(f"a piano-roll is [frames, {KEYS}]; got shape {roll.shape}")
    return roll != 0


def _runs(active: np.ndarray) -> list[tuple[int, int, int]]:
    """(key, first frame, end frame) of each run of consecutive active frames of each key,
    ordered by start then key."""
    padded = np.zeros((active.shape[0] + 2, active.shape[1]), np.int8)
    padded[1:-1] = active
    change = np.diff(padded, axis=0)
    starts, start_keys = np.nonzero(change == 1)
    ends, end_keys = np.nonzero(change == -1)
    # np.nonzero orders by frame then key: sort both by key (stable) to pair them up per key
    s_order, e_order = np.lexsort((starts, start_keys)), np.lexsort((ends, end_keys))
    runs = zip(start_keys[s_order], starts[s_order], ends[e_order])
    return sorted((int(k), int(s), int(e)) for k, s, e in runs)


def _resolution(steps_per_quarter: int) -> int:
    """Ticks per quarter note for writing: 480 (a common value) where the grid divides it."""
    return 480 if 480 % steps_per_quarter == 0 else 120 * steps_per_quarter


def _check_steps(steps_per_quarter) -> int:
    if int(steps_per_quarter) != steps_per_quarter or steps_per_quarter < 1:
        raise DataError(f"steps_per_quarter must be a positive integer; got {steps_per_quarter!r}")
    return int(steps_per_quarter)


def _load(path):
    """pretty_midi's PrettyMIDI of `path` (a local or remote path, or bytes); a one-line
    DataError naming the file when it cannot be read."""
    import pretty_midi

    name = "<bytes>" if isinstance(path, bytes | bytearray) else str(path)
    try:
        data = bytes(path) if isinstance(path, bytes | bytearray) else fileio.read_bytes(path)
        with warnings.catch_warnings():  # e.g. "Tempo, Key or Time signature change events found
            warnings.simplefilter("ignore")  # on non-zero tracks": read all the same
            return pretty_midi.PrettyMIDI(io.BytesIO(data))
    except FileNotFoundError:
        raise DataError(f"MIDI file not found: {name}") from None
    except Exception as err:  # mido raises OSError, EOFError, KeyError, ValueError, ... for bad files
        raise DataError(f"cannot read MIDI file {name}: {reason(err, 200)}") from None


def key_name(key_number: int) -> str:
    """'D major', 'B minor', ... of a key number (0..11 major keys from C, 12..23 minor keys, as
    MIDI key signatures and pretty_midi number them)."""
    return f"{PITCH_NAMES[key_number % 12]} {'minor' if key_number >= 12 else 'major'}"


def estimate_key(histogram) -> int:
    """The key (0..11 major, 12..23 minor, tonic = number % 12) whose Krumhansl-Schmuckler
    profile correlates best with a pitch-class histogram.

    Args:
        histogram: 12 weights, C first (e.g. each pitch class's total duration).

    Returns:
        The key number.
    """
    histogram = np.asarray(histogram, np.float64)
    if histogram.shape != (12,) or not histogram.any():
        raise DataError("estimating a key needs a non-zero histogram of the 12 pitch classes")
    scores = []
    for profile in (MAJOR_PROFILE, MINOR_PROFILE):
        for tonic in range(12):
            rotated = np.roll(np.asarray(profile), tonic)  # rotated[pc] = profile[(pc - tonic) % 12]
            scores.append(np.corrcoef(histogram, rotated)[0, 1] if histogram.std() else 0.0)
    return int(np.argmax(scores))


def shift_to_c(key_number: int) -> int:
    """Semitones in -6..+5 that move a key to C major (a major key) or A minor (a minor key)."""
    target = 9 if key_number >= 12 else 0
    return (target - key_number % 12 + 6) % 12 - 6


# ---------------------------------------------------------------------------------------------
# Reading


def read_midi(path, steps_per_quarter: int = 4, drums: bool = False, transpose=None,
              stats: dict | None = None) -> np.ndarray:
    """A MIDI file as a piano-roll on a grid of `steps_per_quarter` frames per quarter note.

    Note starts and ends are rounded to the nearest frame in the file's ticks (its score time,
    whatever its tempo changes); a note shorter than a frame keeps one frame. Overlapping notes
    of one key merge. The roll runs to the file's last event.

    Args:
        path: the file (a local or remote path), or its bytes.
        steps_per_quarter: frames per quarter note (4: 16th notes; 1: the JSB Chorales' grid).
        drums: keep the notes of drum tracks (as their pitches: 36 bass drum, 38 snare, ...);
            by default they are dropped.
        transpose: None (as written); "C": to C major or A minor, from the file's first key
            signature, or where it has none from a Krumhansl-Schmuckler estimate on the
            duration-weighted pitch-class histogram, by the smallest shift (-6..+5 semitones);
            or an integer number of semitones.
        stats: a dict to fill with what was dropped and done: "notes" (kept), "out_of_range"
            (notes outside the 88 keys, dropped), "drum_notes" (dropped), "transpose"
            (semitones), "key" (e.g. "D major", with transpose="C") and "key_from"
            ("signature" or "estimate").

    Returns:
        uint8 [frames, 88].

    Raises:
        DataError: the file is missing or not a MIDI file, or an argument is out of range.
    """
    steps = _check_steps(steps_per_quarter)
    if not (transpose is None or transpose == "C" or isinstance(transpose, int | np.integer)) \
            or isinstance(transpose, bool):
        raise DataError(f"transpose must be None, 'C' or a number of semitones; got {transpose!r}")
    pm = _load(path)
    per_tick = steps / pm.resolution
    info = {"notes": 0, "out_of_range": 0, "drum_notes": 0, "transpose": 0}
    notes = []  # (pitch, start frame, end frame, duration in ticks)
    for instrument in pm.instruments:
        if instrument.is_drum and not drums:
            info["drum_notes"] += len(instrument.notes)
            continue
        for note in instrument.notes:
            start, end = pm.time_to_tick(note.start), pm.time_to_tick(note.end)
            first = int(round(start * per_tick))
            notes.append((note.pitch, first, max(first + 1, int(round(end * per_tick))),
                          max(end - start, 1), instrument.is_drum))
    shift = 0
    if transpose == "C":
        if pm.key_signature_changes:
            key = min(pm.key_signature_changes, key=lambda k: k.time).key_number
            info["key_from"] = "signature"
        else:
            histogram = np.zeros(12)
            for pitch, _, _, ticks, is_drum in notes:
                if not is_drum:
                    histogram[pitch % 12] += ticks
            key = estimate_key(histogram) if histogram.any() else 0
            info["key_from"] = "estimate" if histogram.any() else "no pitched notes"
        info["key"] = key_name(key)
        shift = shift_to_c(key)
    elif transpose is not None:
        shift = int(transpose)
    info["transpose"] = shift
    end_frame = int(round(pm.time_to_tick(pm.get_end_time()) * per_tick))
    frames = max([end_frame] + [end for _, _, end, _, _ in notes])
    roll = np.zeros((frames, KEYS), np.uint8)
    for pitch, first, end, _, is_drum in notes:
        key = pitch + (0 if is_drum else shift) - LOWEST_PITCH
        if not 0 <= key < KEYS:
            info["out_of_range"] += 1
            continue
        roll[first:end, key] = 1
        info["notes"] += 1
    if info["out_of_range"]:
        log.debug("%s: dropped %d note(s) outside the 88 piano keys (MIDI %d..%d)",
                  "<bytes>" if isinstance(path, bytes | bytearray) else path, info["out_of_range"],
                  LOWEST_PITCH, LOWEST_PITCH + KEYS - 1)
    if stats is not None:
        stats.update(info)
    return roll


def windows(roll, bars: int, steps_per_bar: int, hop: int | None = None) -> list[np.ndarray]:
    """Fixed-length windows of `bars` bars of a piano-roll (a short tail is dropped).

    Args:
        roll: [frames, 88].
        bars: bars per window.
        steps_per_bar: frames per bar (16 for 4/4 at steps_per_quarter=4).
        hop: frames from one window's start to the next; by default the window's length (no
            overlap).

    Returns:
        Views of `roll`, each [bars * steps_per_bar, 88].
    """
    length = int(bars) * int(steps_per_bar)
    hop = length if hop is None else int(hop)
    if length < 1 or hop < 1:
        raise DataError(f"windows need bars, steps_per_bar and hop >= 1; got bars={bars}, "
                        f"steps_per_bar={steps_per_bar}, hop={hop}")
    roll = np.asarray(roll)
    return [roll[start:start + length] for start in range(0, len(roll) - length + 1, hop)]


def list_midi(path: str) -> list[str]:
    """Every .mid / .midi file under `path`, recursively, sorted (sub-folders in name order)."""
    found = []
    for root, dirs, files in fileio.walk(path):
        dirs.sort()
        found.extend(fileio.join(root, f) for f in sorted(files)
                     if f.lower().endswith(MIDI_EXTENSIONS))
    return found


def midi_folder(path: str, steps_per_quarter: int = 4, drums: bool = False, transpose=None,
                val_fraction: float = 0.1, test_fraction: float = 0.1,
                skip_corrupt: bool = False) -> dict[str, list[np.ndarray]]:
    """Every MIDI file under a folder as piano-rolls, with val and test held out.

    A file goes to val or test by a hash of its path relative to `path`
    (`tfgen.data.arrays.assign_splits`, the rule of `folder:` sources), so adding files never
    moves one between splits. Files without notes (after dropping drums) are skipped; one log
    line counts the files skipped and why.

    Args:
        path: the folder (local or remote).
        steps_per_quarter, drums, transpose: as for `read_midi`.
        val_fraction, test_fraction: the shares held out.
        skip_corrupt: skip unreadable files (counted in the log line) instead of raising.

    Returns:
        {"train": [...], "val": [...], "test": [...]}: lists of uint8 [frames, 88], in file order.

    Raises:
        DataError: the folder is missing or holds no MIDI files, a file is unreadable (without
            skip_corrupt), or no file with notes is left for training.
    """
    from tfgen.data.arrays import assign_splits

    if not fileio.isdir(path):
        raise DataError(f"MIDI folder not found: {path}")
    files = list_midi(path)
    if not files:
        raise DataError(f"no MIDI files ({', '.join(MIDI_EXTENSIONS)}) found in folder {path}")
    rolls, keys = [], []
    skipped = {"unreadable": 0, "drums only": 0, "no notes": 0}
    first_bad, dropped = None, 0
    for file in files:
        stats: dict = {}
        try:
            roll = read_midi(file, steps_per_quarter, drums=drums, transpose=transpose, stats=stats)
        except DataError as err:
            if not skip_corrupt:
                raise DataError(f"{err} (set skip_corrupt to skip unreadable files)") from None
            skipped["unreadable"] += 1
            first_bad = first_bad or str(err)
            continue
        dropped += stats["out_of_range"]
        if not stats["notes"]:
            skipped["drums only" if stats["drum_notes"] else "no notes"] += 1
            continue
        rolls.append(roll)
        keys.append(fileio.relpath(file, path))
    which = assign_splits(keys, val_fraction, test_fraction) if keys else np.zeros(0, int)
    out = {split: [roll for roll, s in zip(rolls, which) if s == index]
           for index, split in enumerate(("train", "val", "test"))}
    counts = ", ".join(f"{why} {n}" for why, n in skipped.items() if n)
    line = (f"MIDI folder {path}: read {len(rolls)} of {len(files)} file(s) "
            f"({len(out['train'])} train, {len(out['val'])} val, {len(out['test'])} test)")
    if counts:
        line += f"; skipped {sum(skipped.values())} ({counts})"
    if first_bad:
        line += f"; first unreadable: {first_bad}"
    if dropped:
        line += f"; dropped {dropped} note(s) outside the 88 keys"
    (log.warning if skipped["unreadable"] else log.info)(line)
    if not rolls:
        raise DataError(f"no MIDI file with notes in folder {path} ({counts})")
    if not out["train"]:
        raise DataError(f"MIDI folder {path}: no files left for training after holding out "
                        f"val_fraction={val_fraction} and test_fraction={test_fraction}")
    return out


# ---------------------------------------------------------------------------------------------
# Writing


def _pretty_midi(roll, steps_per_quarter: int, tempo: float, program: int, velocity: int):
    import pretty_midi

    active = _check_roll(roll)
    steps = _check_steps(steps_per_quarter)
    if not 0 <= int(program) <= 127 or not 1 <= int(velocity) <= 127:
        raise DataError(f"program must lie in 0..127 and velocity in 1..127; got {program}, "
                        f"{velocity}")
    if not tempo > 0:
        raise DataError(f"tempo must be positive (quarter notes per minute); got {tempo}")
    pm = pretty_midi.PrettyMIDI(resolution=_resolution(steps), initial_tempo=float(tempo))
    instrument = pretty_midi.Instrument(program=int(program))
    step = 60.0 / (float(tempo) * steps)
    for key, first, end in _runs(active):
        instrument.notes.append(pretty_midi.Note(int(velocity), key + LOWEST_PITCH, first * step,
                                                 end * step))
    pm.instruments.append(instrument)
    if len(active) and not active[-1].any():  # trailing silence: mark where the roll ends
        pm.text_events.append(pretty_midi.Text("end", len(active) * step))
    return pm


def write_midi(roll, path, steps_per_quarter: int = 4, tempo: float = 120.0, program: int = 0,
               velocity: int = 80) -> None:
    """Write a piano-roll as a MIDI file: each run of consecutive active frames of a key is one
    held note (a key that stays on does not strike again).

    Args:
        roll: [frames, 88], nonzero where a key sounds.
        path: the .mid file to write (local or remote).
        steps_per_quarter: frames per quarter note.
        tempo: quarter notes per minute.
        program: General MIDI program (0: acoustic grand piano; 19: church organ).
        velocity: every note's loudness, 1..127.
    """
    pm = _pretty_midi(roll, steps_per_quarter, tempo, program, velocity)
    buffer = io.BytesIO()
    pm.write(buffer)
    fileio.write_bytes(path, buffer.getvalue())


# ---------------------------------------------------------------------------------------------
# Sound


def _write_wav(path, audio: np.ndarray, sample_rate: int) -> None:
    import wave

    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1 if pcm.ndim == 1 else pcm.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(int(sample_rate))
        wav.writeframes(pcm.tobytes())
    fileio.write_bytes(path, buffer.getvalue())


def _read_wav(path) -> tuple[np.ndarray, int]:
    import wave

    with wave.open(path, "rb") as wav:
        if wav.getsampwidth() != 2:
            raise DataError(f"{path}: expected 16-bit PCM, got {8 * wav.getsampwidth()}-bit")
        channels, rate = wav.getnchannels(), wav.getframerate()
        data = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    return (data.reshape(-1, channels).astype(np.float32) / 32768.0), rate


def render_wav(roll, path=None, steps_per_quarter: int = 4, tempo: float = 120.0,
               sample_rate: int = 22050) -> np.ndarray:
    """Synthesise a piano-roll: each held note is a few harmonics whose amplitudes fall with
    their number and decay over time (the higher faster, like a struck string), shaped by a
    10 ms attack and a 100 ms release so nothing clicks. The mix is scaled to a peak of 0.9.

    Args:
        roll: [frames, 88], nonzero where a key sounds.
        path: where to write a 16-bit PCM mono WAV file (local or remote); None writes nothing.
        steps_per_quarter: frames per quarter note.
        tempo: quarter notes per minute.
        sample_rate: samples per second.

    Returns:
        float32 [samples]: frames * 60 / (tempo * steps_per_quarter) seconds plus the release.
    """
    active = _check_roll(roll)
    step = 60.0 / (float(tempo) * _check_steps(steps_per_quarter))
    rate = int(sample_rate)
    release = int(round(RELEASE_S * rate))
    audio = np.zeros(int(round(len(active) * step * rate)) + release, np.float64)
    attack = max(1, int(round(ATTACK_S * rate)))
    for key, first, end in _runs(active):
        start, stop = int(round(first * step * rate)), int(round(end * step * rate))
        held = max(stop - start, attack)
        t = np.arange(held + release) / rate
        envelope = np.ones(held + release)
        envelope[:attack] = 0.5 - 0.5 * np.cos(np.pi * np.arange(attack) / attack)
        envelope[held:] = 0.5 + 0.5 * np.cos(np.pi * np.arange(release) / release)
        frequency = 440.0 * 2.0 ** ((key + LOWEST_PITCH - 69) / 12.0)
        tone = np.zeros_like(t)
        for number, amplitude in enumerate(HARMONICS, start=1):
            if number * frequency >= 0.45 * rate:
                break
            tone += amplitude * np.exp(-t * 0.6 * number) * np.sin(2 * np.pi * number * frequency * t)
        segment = audio[start:start + held + release]
        segment += (tone * envelope)[:len(segment)]
    peak = np.abs(audio).max() if audio.size else 0.0
    if peak > 0:
        audio *= 0.9 / peak
    audio = audio.astype(np.float32)
    if path is not None:
        _write_wav(path, audio, rate)
    return audio


def fluidsynth_available(soundfont: str | None = None) -> bool:
    """Whether the `fluidsynth` program and the sound font (by default Debian's FluidR3_GM,
    package fluid-soundfont-gm) are installed."""
    return shutil.which("fluidsynth") is not None and os.path.isfile(soundfont or DEFAULT_SOUNDFONT)


def render_wav_fluidsynth(roll, path, soundfont: str | None = None, steps_per_quarter: int = 4,
                          tempo: float = 120.0, sample_rate: int = 44100, program: int = 0,
                          velocity: int = 80, gain: float = 0.5, timeout: float = 300.0) -> np.ndarray:
    """Render a piano-roll with a General MIDI sound font: the roll goes through a temporary
    MIDI file (`write_midi`) to the `fluidsynth` program, which writes a 16-bit stereo WAV.

    Args:
        roll: [frames, 88], nonzero where a key sounds.
        path: the WAV file to write (local or remote).
        soundfont: a .sf2 file; by default /usr/share/sounds/sf2/FluidR3_GM.sf2.
        steps_per_quarter, tempo, program, velocity: as for `write_midi`.
        sample_rate: samples per second.
        gain: fluidsynth's output gain (its -g; above ~1 the loud chords clip).
        timeout: seconds to wait for fluidsynth.

    Returns:
        float32 [samples, 2], as written.

    Raises:
        DataError: fluidsynth or the sound font is not installed, or fluidsynth failed.
    """
    soundfont = soundfont or DEFAULT_SOUNDFONT
    if shutil.which("fluidsynth") is None:
        raise DataError("the fluidsynth program is not installed (Debian: `apt-get install "
                        "fluidsynth fluid-soundfont-gm`); render_wav needs nothing installed")
    if not os.path.isfile(soundfont):
        raise DataError(f"sound font not found: {soundfont} (Debian: `apt-get install "
                        "fluid-soundfont-gm`)")
    with tempfile.TemporaryDirectory(prefix="tfgen-fluidsynth-") as tmp:
        mid, wav = os.path.join(tmp, "roll.mid"), os.path.join(tmp, "roll.wav")
        write_midi(roll, mid, steps_per_quarter, tempo, program, velocity)
        command = ["fluidsynth", "-n", "-i", "-q", "-g", str(gain), "-r", str(int(sample_rate)),
                   "-T", "wav", "-O", "s16", "-F", wav, soundfont, mid]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DataError(f"fluidsynth did not finish within {timeout:g} s") from None
        if done.returncode != 0 or not os.path.isfile(wav):
            why = (done.stderr or done.stdout).strip().splitlines()
            raise DataError(f"fluidsynth failed (exit status {done.returncode}): "
                            f"{why[-1] if why else 'no output'}")
        audio, _ = _read_wav(wav)
        fileio.write_bytes(path, fileio.read_bytes(wav))
    return audio


# ---------------------------------------------------------------------------------------------
# Pictures


BACKGROUND = (18, 18, 26)
NOTE_COLOUR = (255, 220, 110)
BAR_COLOUR = (58, 58, 74)


def pianoroll_image(roll, path=None, steps_per_bar: int | None = None, scale: int = 1) -> np.ndarray:
    """A picture of a piano-roll: time left to right, the lowest key at the bottom, sounding
    keys bright on a dark ground.

    Args:
        roll: [frames, 88], nonzero where a key sounds.
        path: where to save it as PNG (local or remote); None saves nothing.
        steps_per_bar: draw a faint line at the start of each bar of this many frames.
        scale: pixels per frame and per key (the image is 88 * scale high).

    Returns:
        uint8 [88 * scale, frames * scale, 3] (RGB).
    """
    active = _check_roll(roll)
    image = np.empty((KEYS, len(active), 3), np.uint8)
    image[:] = BACKGROUND
    if steps_per_bar:
        image[:, ::int(steps_per_bar)] = BAR_COLOUR
    image[active.T[::-1]] = NOTE_COLOUR
    scale = int(scale)
    if scale > 1:
        image = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    if path is not None:
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(image, "RGB").save(buffer, format="PNG")
        fileio.write_bytes(path, buffer.getvalue())
    return image
