"""Polyphonic music as piano-rolls: the JSB Chorales shipped with tfgen (no download, no set-up).

A piano-roll is a uint8 array [frames, 88]: 1 where piano key k (MIDI pitch 21 + k) sounds in
that frame. No TensorFlow at import.

Example:

>>> from tfgen.data import music
>>> rolls = music.jsb_chorales()                      # quarter-note frames, the benchmark grid
>>> [len(rolls[s]) for s in ("train", "val", "test")]
[229, 76, 77]
>>> rolls["train"][0].shape, rolls["train"][0].dtype
((129, 88), dtype('uint8'))
>>> sum(len(r) for r in rolls["test"])                # the frames the NLL per frame divides by
4725
"""

from __future__ import annotations

import functools
import gzip
import json
import os

import numpy as np

from tfgen.errors import DataError

LOWEST_PITCH = 21  # A0, the piano's lowest key
KEYS = 88  # A0 .. C8 (MIDI 21 .. 108)
JSB_GRIDS = {"quarter": 1, "8th": 2, "16th": 4}  # grid -> frames per quarter note
JSB_CITATION = ("N. Boulanger-Lewandowski, Y. Bengio, P. Vincent. Modeling Temporal Dependencies "
                "in High-Dimensional Sequences: Application to Polyphonic Music Generation and "
                "Transcription. ICML 2012.")
_SPLITS = {"train": "train", "val": "valid", "test": "test"}  # tfgen's name -> the file's
_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jsb_chorales")


def pianoroll(frames, lowest: int = LOWEST_PITCH, keys: int = KEYS) -> np.ndarray:
    """A piano-roll [len(frames), keys] (uint8) of frames given as lists of MIDI pitches;
    a pitch outside lowest .. lowest + keys - 1 is refused, naming it."""
    roll = np.zeros((len(frames), keys), np.uint8)
    for t, pitches in enumerate(frames):
        for pitch in pitches:
            key = int(pitch) - lowest
            if key + lowest != pitch or not 0 <= key < keys:
                raise DataError(f"pitch {pitch} in frame {t} is not one of the {keys} keys from "
                                f"MIDI {lowest}")
            roll[t, key] = 1
    return roll


@functools.cache
def _jsb(grid: str) -> dict[str, tuple[np.ndarray, ...]]:
    path = os.path.join(_FOLDER, f"jsb-chorales-{grid}.json.gz")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        raw = json.load(fh)
    return {ours: tuple(pianoroll(chorale) for chorale in raw[theirs])
            for ours, theirs in _SPLITS.items()}


def jsb_chorales(grid: str = "quarter") -> dict[str, list[np.ndarray]]:
    """The JSB Chorales on the standard split (Boulanger-Lewandowski et al. 2012): {"train":
    229, "val": 76, "test": 77} piano-rolls [frames, 88] (uint8), one frame per quarter note
    (the benchmark's grid: 13,807 / 4,602 / 4,725 frames), per 8th or per 16th note (`grid`:
    the same chorales with 2x and 4x the frames, listed in another order within each split).
    Returned as new lists of the (cached, read-only) arrays."""
    if grid not in JSB_GRIDS:
        raise DataError(f"unknown JSB Chorales grid {grid!r}; choose from: {', '.join(JSB_GRIDS)}")
    out = {}
    for split, rolls in _jsb(grid).items():
        for roll in rolls:
            roll.setflags(write=False)
        out[split] = list(rolls)
    return out


PRESENT = KEYS  # the packed layout's last channel: 1 on a piece's frames, 0 on padding


def pack(rolls, frames: int | None = None, multiple: int = 1) -> np.ndarray:
    """Piano-rolls of any lengths as one uint8 array [pieces, frames, 88 + 1]: the keys, then a
    last channel (`PRESENT`) that is 1 on each piece's own frames and 0 on the padding after
    it -- the layout the sequence models and pipelines take, so that pieces of different
    lengths batch like images while padding stays out of every loss and metric.

    Args:
        rolls: piano-rolls [frames_i, 88].
        frames: the padded length (default: the longest piece, rounded up to `multiple`);
            a longer piece is refused, naming it.
        multiple: round the default length up to a multiple of this (e.g. a bar's frames).
    """
    rolls = [np.asarray(r) for r in rolls]
    longest = max((len(r) for r in rolls), default=0)
    if frames is None:
        frames = -(-max(longest, 1) // multiple) * multiple
    out = np.zeros((len(rolls), frames, KEYS + 1), np.uint8)
    for i, roll in enumerate(rolls):
        if roll.ndim != 2 or roll.shape[1] != KEYS:
            raise DataError(f"piece {i}: a piano-roll is [frames, {KEYS}]; got {roll.shape}")
        if len(roll) > frames:
            raise DataError(f"piece {i} has {len(roll)} frames, more than the {frames} to pad to")
        out[i, :len(roll), :KEYS] = roll
        out[i, :len(roll), PRESENT] = 1
    return out


def unpack(packed) -> list[np.ndarray]:
    """The piano-rolls [frames_i, 88] (uint8, keys > 0.5 on) of a packed array (`pack`)."""
    packed = np.asarray(packed)
    return [(piece[piece[:, PRESENT] > 0.5, :KEYS] > 0.5).astype(np.uint8) for piece in packed]


def lengths(packed) -> np.ndarray:
    """Each packed piece's number of frames."""
    return (np.asarray(packed)[..., PRESENT] > 0.5).sum(axis=-1)
