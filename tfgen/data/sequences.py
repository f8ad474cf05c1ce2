"""Piano-roll sources: `jsb_chorales` (shipped with tfgen) and `midi:DIR` (a user's MIDI files).

Pieces are held in memory in the packed layout of `tfgen.data.music.pack` ([pieces, frames,
88 + 1], uint8; the last channel marks each piece's own frames), padded to the longest piece of
the dataset rounded up to a whole bar, or cut into fixed windows of `window_bars` bars. Training
batches are cut to their longest piece (a whole number of bars; `pipeline.array_dataset`'s
`crop`), so padding costs little, and keep the array sources' guarantees: batch b is a pure
function of (seed, b), on 1 or N replicas, resumed or not.
"""

from __future__ import annotations

from tfgen.data import music
from tfgen.data.options import DataOptions
from tfgen.data.sources import ArraySource, DatasetInfo
from tfgen.errors import DataError

_JSB_STEPS = {steps: grid for grid, steps in music.JSB_GRIDS.items()}  # 1 -> "quarter", ...


def _source(name: str, rolls: dict, cfg: DataOptions, per_quarter: int) -> ArraySource:
    per_bar = per_quarter * cfg.beats_per_bar
    if cfg.window_bars:
        from tfgen.data import midi

        rolls = {split: [w for r in pieces for w in midi.windows(r, cfg.window_bars, per_bar)]
                 for split, pieces in rolls.items()}
        if not rolls.get("train"):
            raise DataError(f"dataset {name!r}: no piece is {cfg.window_bars} bars long "
                            f"(data.window_bars; {per_bar} frames a bar)")
    rolls = {split: pieces for split, pieces in rolls.items() if pieces}
    longest = max(len(r) for pieces in rolls.values() for r in pieces)
    frames = -(-longest // per_bar) * per_bar
    arrays = {split: (music.pack(pieces, frames), None) for split, pieces in rolls.items()}
    info = DatasetInfo(
        name=name, kind="pianoroll", shape=(frames, music.KEYS + 1),
        splits={split: len(pieces) for split, pieces in rolls.items()}, value_range=(0.0, 1.0),
        steps_per_quarter=per_quarter, steps_per_bar=per_bar)
    source = ArraySource(info, arrays)
    if not cfg.window_bars:  # (windows are all whole: nothing to cut, shapes stay static)
        source.crop_multiple = per_bar
    return source


def jsb_source(cfg: DataOptions) -> ArraySource:
    """The JSB Chorales (Boulanger-Lewandowski et al. 2012 split) on the grid of
    `data.steps_per_quarter` (1: the benchmark's quarter notes; 2; 4)."""
    per_quarter = cfg.steps_per_quarter or 1
    if per_quarter not in _JSB_STEPS:
        raise DataError(f"jsb_chorales comes on grids of {', '.join(map(str, _JSB_STEPS))} "
                        f"frames per quarter note; data.steps_per_quarter={per_quarter}")
    return _source("jsb_chorales", music.jsb_chorales(_JSB_STEPS[per_quarter]), cfg, per_quarter)


def midi_source(path: str, cfg: DataOptions) -> ArraySource:
    """MIDI files under `path` (`tfgen.data.midi.midi_folder`: val/test held out by a hash of
    each file's path)."""
    from tfgen.data import midi

    per_quarter = cfg.steps_per_quarter or 4
    rolls = midi.midi_folder(path, steps_per_quarter=per_quarter, drums=cfg.drums,
                             transpose=cfg.transpose, val_fraction=cfg.val_fraction,
                             test_fraction=cfg.test_fraction, skip_corrupt=cfg.skip_corrupt)
    return _source(f"midi:{path}", rolls, cfg, per_quarter)
