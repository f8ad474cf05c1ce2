"""The shipped JSB Chorales against the copy in ../shared/data (parsed independently here), and
the piano-roll encoding."""

import json
from pathlib import Path

import numpy as np
import pytest

from tfgen.data import music
from tfgen.errors import DataError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "jsb-chorales"


@pytest.mark.parametrize("grid", list(music.JSB_GRIDS))
def test_the_shipped_chorales_are_the_standard_split(grid):
    rolls = music.jsb_chorales(grid)
    assert {s: len(r) for s, r in rolls.items()} == {"train": 229, "val": 76, "test": 77}
    per_quarter = music.JSB_GRIDS[grid]
    frames = {s: sum(len(r) for r in rs) for s, rs in rolls.items()}
    assert frames == {"train": 13807 * per_quarter, "val": 4602 * per_quarter,
                      "test": 4725 * per_quarter}
    assert all(r.shape[1] == 88 and r.dtype == np.uint8 and set(np.unique(r)) <= {0, 1}
               for rs in rolls.values() for r in rs)
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not here")
    raw = json.loads((SHARED / f"jsb-chorales-{grid}.json").read_text())
    for ours, theirs in (("train", "train"), ("val", "valid"), ("test", "test")):
        for roll, chorale in zip(rolls[ours], raw[theirs], strict=True):
            want = np.zeros((len(chorale), 88), np.uint8)
            for t, pitches in enumerate(chorale):
                want[t, [int(p) - 21 for p in pitches]] = 1
            np.testing.assert_array_equal(roll, want)


def test_finer_grids_hold_the_same_chorales():
    quarter, eighth = music.jsb_chorales("quarter"), music.jsb_chorales("8th")
    for split in quarter:
        assert sorted(2 * len(r) for r in quarter[split]) == sorted(len(r) for r in eighth[split])


def test_the_arrays_are_read_only_and_a_bad_grid_or_pitch_is_named():
    roll = music.jsb_chorales()["train"][0]
    with pytest.raises(ValueError):
        roll[0, 0] = 1
    with pytest.raises(DataError, match="unknown JSB Chorales grid '32nd'; choose from: quarter"):
        music.jsb_chorales("32nd")
    with pytest.raises(DataError, match="pitch 109 in frame 1 is not one of the 88 keys from MIDI 21"):
        music.pianoroll([[60], [109]])
    with pytest.raises(DataError, match="pitch 60.5 in frame 0"):
        music.pianoroll([[60.5]])
    np.testing.assert_array_equal(music.pianoroll([[21, 108.0], []]).nonzero(), ([0, 0], [0, 87]))
