"""Objective music statistics: hand-computed features, MuseGAN statistics, KDE overlaps and the
longest copied run against a brute-force reference."""

import time

import numpy as np
import pytest
from scipy import stats

from tfgen.data import music
from tfgen.metrics import music as mm


def roll_of(frames: int, notes_: list[tuple[int, int, int]]) -> np.ndarray:
    """A piano-roll [frames, 88] with notes (midi pitch, onset frame, length)."""
    roll = np.zeros((frames, 88), np.uint8)
    for pitch, onset, length in notes_:
        roll[onset:onset + length, pitch - mm.LOWEST_PITCH] = 1
    return roll


# C4 0..3 and 8, E4 0..1, G4 4, C5 4..9 (MIDI 60, 64, 67, 72), 12 frames.
PIECE = roll_of(12, [(60, 0, 4), (60, 8, 1), (64, 0, 2), (67, 4, 1), (72, 4, 6)])


def test_notes_are_maximal_runs():
    keys, onsets, lengths = mm.notes(PIECE)
    assert list(zip((keys + 21).tolist(), onsets.tolist(), lengths.tolist())) == [
        (60, 0, 4), (60, 8, 1), (64, 0, 2), (67, 4, 1), (72, 4, 6)]
    # A note reaching the last frame, and values > 1 count as active.
    keys, onsets, lengths = mm.notes(np.array([[0, 2], [3, 2]], np.uint8))
    assert keys.tolist() == [0, 1] and onsets.tolist() == [1, 0] and lengths.tolist() == [1, 2]


def test_piece_features_by_hand():
    f = mm.piece_features(PIECE)
    assert f["pitch_count"].tolist() == [4.0]
    assert f["pitch_range"].tolist() == [12.0]
    pch = np.zeros(12)
    pch[[0, 4, 7]] = [11, 2, 1]  # active frames: C 4 + 1 + 6, E 2, G 1
    np.testing.assert_allclose(f["pitch_class_histogram"], pch / 14)
    # Onset frames 0, 4, 8 with mean pitches 62, 69.5, 60.
    assert f["avg_pitch_interval"].tolist() == [(7.5 + 9.5) / 2]
    assert f["avg_ioi"].tolist() == [4.0]
    np.testing.assert_allclose(f["ioi_histogram"], [0, 0, 0, 1, 0, 0, 0, 0, 0])
    # Lengths 4, 1, 2, 1, 6 in bins 1 | 2 | 3 | 4 | 5-6 | 7-8 | 9-12 | 13-16 | 17+.
    np.testing.assert_allclose(f["note_length_histogram"], np.array([2, 1, 0, 1, 1, 0, 0, 0, 0]) / 5)
    assert all(v.dtype == np.float64 for v in f.values()) and set(f) == set(mm.FEATURES)


def test_piece_features_custom_bins_and_edge_cases():
    f = mm.piece_features(PIECE, bins=(1, 3))  # 1 | 2-3 | 4+
    np.testing.assert_allclose(f["note_length_histogram"], [2 / 5, 1 / 5, 2 / 5])
    np.testing.assert_allclose(f["ioi_histogram"], [0, 0, 1])
    empty = mm.piece_features(np.zeros((16, 88), np.uint8))
    assert all(not v.any() for v in empty.values())
    chord = mm.piece_features(roll_of(4, [(60, 0, 4), (67, 0, 4)]))  # one onset frame
    assert chord["avg_pitch_interval"][0] == 0 and chord["avg_ioi"][0] == 0
    assert chord["pitch_count"][0] == 2 and chord["pitch_range"][0] == 7
    with pytest.raises(ValueError, match=r"\[frames, keys\]"):
        mm.piece_features(np.zeros(88))


# 4 bars of 4 steps, bar 3 empty, plus a 2-frame partial bar.
BARS = roll_of(18, [(60, 0, 4), (64, 0, 2), (67, 0, 4),  # bar 1: C E G; C E G, C E G, C G, C G
                    (62, 4, 2), (66, 6, 1),  # bar 2: D, D, F#, -
                    (60, 12, 4), (72, 12, 2),  # bar 4: C4 C5, C4 C5, C4, C4
                    (71, 16, 2)])  # partial bar: B4


def test_musegan_statistics_by_hand():
    s = mm.musegan_statistics([BARS], steps_per_bar=4)
    assert s["num_bars"] == 4 and s["num_nonempty_bars"] == 3 and s["num_notes"] == 8
    assert s["empty_bar_rate"] == 0.25
    assert s["used_pitch_classes"] == pytest.approx((3 + 2 + 1) / 3)
    assert s["used_pitches"] == pytest.approx((3 + 2 + 2) / 3)
    assert s["polyphony_rate"] == pytest.approx((4 + 0 + 2) / 12)
    assert mm.musegan_statistics([BARS], 4, polyphony_threshold=3)["polyphony_rate"] == pytest.approx(
        2 / 12)
    # Lengths 4, 2, 4, 2, 1, 4, 2, 2.
    assert s["qualified_note_rate"] == 3 / 8
    assert mm.musegan_statistics([BARS], 4, min_length=2)["qualified_note_rate"] == 7 / 8
    # 21 active cells, 1 of them F#: out of C major, inside G major.
    assert s["in_scale_rate"] == pytest.approx(20 / 21)
    assert s["in_scale_rate_best_key"] == 1.0
    # Pooled over pieces: an empty 2-bar piece adds 2 empty bars.
    s2 = mm.musegan_statistics([BARS, np.zeros((8, 88), np.uint8)], 4)
    assert s2["empty_bar_rate"] == 3 / 6 and s2["used_pitch_classes"] == s["used_pitch_classes"]
    assert s2["num_pieces"] == 2


def test_musegan_statistics_without_notes_and_comparison():
    s = mm.musegan_statistics([np.zeros((3, 88), np.uint8)], 4)  # no complete bar, no note
    assert s["num_bars"] == 0 and all(np.isnan(s[k]) for k in (
        "empty_bar_rate", "used_pitch_classes", "polyphony_rate", "qualified_note_rate", "in_scale_rate"))
    c = mm.musegan_comparison([BARS], [PIECE], [BARS, PIECE], 4, min_length=2)
    assert set(c) == set(s) and c["empty_bar_rate"] == {"generated": 0.25, "test": 0.0, "train": 1 / 7}
    assert c["qualified_note_rate"]["generated"] == 7 / 8
    with pytest.raises(ValueError, match="steps_per_bar"):
        mm.musegan_statistics([BARS], 0)


def test_overlap_and_kl_closed_forms():
    rng = np.random.default_rng(0)
    x = rng.normal(size=20000)
    assert mm.overlap_and_kl(x, x) == pytest.approx((1.0, 0.0), abs=1e-9)
    # N(0, 1) vs N(1, 1): OA = 2 Φ(-1/2), KL = 1/2 (the KDE widens both a little).
    overlap, kl = mm.overlap_and_kl(x, rng.normal(1.0, size=20000))
    assert overlap == pytest.approx(2 * stats.norm.cdf(-0.5), abs=0.02)
    assert kl == pytest.approx(0.5, abs=0.05)
    overlap, kl = mm.overlap_and_kl(x, x + 20)
    assert overlap < 1e-6 and kl > 10
    # No spread on either side: equal points overlap fully, distant ones not at all.
    assert mm.overlap_and_kl(np.zeros(5), np.zeros(7)) == pytest.approx((1.0, 0.0), abs=1e-9)
    assert mm.overlap_and_kl(np.zeros(5), np.ones(7))[0] < 1e-6
    assert 0 < mm.overlap_and_kl(np.zeros(50), rng.normal(size=50))[0] < 0.5


def test_binned_density_matches_scipy():
    rng = np.random.default_rng(1)
    x = np.abs(rng.normal(size=3000)) ** 1.5
    bw = mm._bandwidth(x, 1.0)
    grid = np.linspace(x.min() - 4 * bw, x.max() + 4 * bw, 4096)
    expected = stats.gaussian_kde(x)(grid)
    np.testing.assert_allclose(mm._density_on_grid(x, bw, grid), expected, atol=1e-4 * expected.max())


def synthetic_pieces(n, seed, low=48, high=72, max_length=4, frames=32):
    """Random 'melody + chord' pieces: pitches in [low, high), note lengths 1..max_length."""
    rng = np.random.default_rng(seed)
    pieces = []
    for _ in range(n):
        roll = np.zeros((frames, 88), np.uint8)
        for _voice in range(rng.integers(1, 4)):
            t = 0
            while t < frames:
                length = int(rng.integers(1, max_length + 1))
                roll[t:t + length, rng.integers(low, high) - mm.LOWEST_PITCH] = 1
                t += length + int(rng.integers(0, 2))
        pieces.append(roll)
    return pieces


def test_yang_lerch_same_and_different_sets():
    a, a2 = synthetic_pieces(60, 0), synthetic_pieces(60, 1)
    same = mm.yang_lerch(a, a, max_pieces=None)
    floor = mm.yang_lerch(a2, a, max_pieces=None)
    # Four high keys, notes up to 12 frames: few pitches, narrow range, small jumps, long notes.
    far = mm.yang_lerch(synthetic_pieces(60, 2, low=84, high=88, max_length=12), a, max_pieces=None)
    assert set(same) == set(mm.FEATURES)
    for name in mm.FEATURES:
        assert same[name]["overlap"] > 0.95 and same[name]["kl"] < 0.05, (name, same[name])
        assert floor[name]["overlap"] > 0.8, (name, floor[name])
        assert abs(same[name]["overlap"] - floor[name]["overlap"]) < 0.15
    for name in mm.FEATURES:
        assert far[name]["overlap"] < 0.5 and far[name]["kl"] > 1, (name, far[name])
    for name in ("pitch_class_histogram", "pitch_range", "avg_pitch_interval", "note_length_histogram",
                 "avg_ioi"):
        assert far[name]["overlap"] < 0.3, (name, far[name])
    entry = same["pitch_range"]
    assert (entry["num_generated"], entry["num_reference"]) == (60, 60)
    assert (entry["num_intra_pairs"], entry["num_inter_pairs"]) == (60 * 59 // 2, 3600)


def test_yang_lerch_subsamples_with_a_seed_and_reports_the_floor():
    gen, test, train = synthetic_pieces(40, 3), synthetic_pieces(30, 4), synthetic_pieces(50, 5)
    r = mm.yang_lerch_with_floor(gen, test, train, max_pieces=20, seed=7)
    again = mm.yang_lerch_with_floor(gen, test, train, max_pieces=20, seed=7)
    assert r == again
    entry = r["avg_ioi"]
    assert entry["num_generated"] == entry["num_reference"] == entry["floor_num_generated"] == 20
    assert entry["num_intra_pairs"] == 190 and entry["num_inter_pairs"] == 400
    assert entry["floor_overlap"] == mm.yang_lerch(train, test, 20, 7)["avg_ioi"]["overlap"]
    assert mm.yang_lerch_with_floor(gen, test, train, max_pieces=20, seed=8) != r
    with pytest.raises(ValueError, match="at least 2 pieces"):
        mm.yang_lerch(gen[:1], test)


def brute_force_run(piece: np.ndarray, training: list[np.ndarray]) -> int:
    best = 0
    for y in training:
        for s in range(len(piece)):
            for t in range(len(y)):
                n = 0
                while s + n < len(piece) and t + n < len(y) and np.array_equal(piece[s + n], y[t + n]):
                    n += 1
                best = max(best, n)
    return best


@pytest.mark.parametrize("seed", range(5))
def test_longest_copied_run_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    vocabulary = (rng.random((3, 88)) < 0.1).astype(np.uint8)  # 3 distinct frames: many matches
    vocabulary[0] = 0

    def piece():
        return vocabulary[rng.integers(0, 3, rng.integers(1, 15))]
    training = [piece() for _ in range(6)]
    pieces = [piece() for _ in range(8)] + [(rng.random((5, 88)) < 0.5).astype(np.uint8)]
    expected = [brute_force_run(p, training) for p in pieces]
    assert mm.longest_copied_run(pieces, training).tolist() == expected
    assert expected[-1] == 0


def test_longest_copied_run_finds_planted_copies():
    rng = np.random.default_rng(0)
    training = [(rng.random((60, 88)) < 0.3).astype(np.uint8) for _ in range(20)]
    pieces, planted = [], []
    for _ in range(30):
        p = (rng.random((64, 88)) < 0.3).astype(np.uint8)
        length = int(rng.integers(1, 40))
        src, start = rng.integers(0, 20), int(rng.integers(0, 60 - length))
        at = int(rng.integers(0, 64 - length))
        p[at:at + length] = training[src][start:start + length]
        pieces.append(p)
        planted.append(length)
    assert mm.longest_copied_run(pieces, training).tolist() == planted
    # No run spans two training pieces; a whole training piece is copied in full.
    a, b = training[0], training[1]
    assert mm.longest_copied_run([np.concatenate([a[-2:], b[:3]]), a], training).tolist() == [3, 60]
    assert mm.longest_copied_run([], training).shape == (0,)
    assert mm.longest_copied_run([a], []).tolist() == [0]


def test_memorisation_summaries():
    rng = np.random.default_rng(0)
    train = [(rng.random((40, 88)) < 0.3).astype(np.uint8) for _ in range(10)]
    test = [(rng.random((40, 88)) < 0.3).astype(np.uint8) for _ in range(10)]
    test[0][5:15] = train[3][20:30]
    m = mm.memorisation(train[:4], test, train)
    assert m["generated"] == {"median": 40.0, "p95": 40.0, "max": 40, "mean": 40.0, "median_fraction": 1.0,
                              "max_fraction": 1.0, "num_pieces": 4, "median_piece_frames": 40.0}
    assert m["test"]["max"] == 10 and m["test"]["median"] == 0 and m["test"]["max_fraction"] == 0.25
    with pytest.raises(ValueError, match="at least one generated"):
        mm.memorisation([], test, train)


def test_jsb_real_against_real():
    rolls = music.jsb_chorales()
    train, test = rolls["train"], rolls["test"]
    start = time.perf_counter()
    yl = mm.yang_lerch(train, test, max_pieces=200, seed=0)
    seconds = time.perf_counter() - start
    print(f"\nYang & Lerch, JSB train (200 of 229) vs test (77), {seconds:.2f} s:")
    for name, entry in yl.items():
        print(f"  {name:22s} overlap {entry['overlap']:.3f}  KL {entry['kl']:.4f}")
        assert 0.5 < entry["overlap"] <= 1.0 and entry["kl"] < 0.2
    s = mm.musegan_comparison(test, test, train, steps_per_bar=4)
    print("MuseGAN statistics (test | train):", {k: (round(v["test"], 4), round(v["train"], 4))
                                                  for k, v in s.items()})
    assert abs(s["used_pitch_classes"]["test"] - s["used_pitch_classes"]["train"]) < 0.5
    m = mm.memorisation(test, test, train)["test"]
    print("Longest run of test frames in train:", m)
    assert 0 < m["median"] < 20
