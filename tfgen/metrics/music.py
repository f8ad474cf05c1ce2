"""Objective statistics of generated polyphonic music against real music, each with a real-vs-real
floor: Yang & Lerch's feature-distance overlaps, MuseGAN's bar statistics and memorisation.

Piano-rolls follow `tfgen.data.music`: arrays [frames, 88], key k sounding (any value > 0) in a
frame is MIDI pitch 21 + k, pitch class (21 + k) mod 12 (C = 0). A *note* is a maximal run of
consecutive active frames of one key; its onset is the run's first frame, its length the run's
frame count. Pure NumPy/SciPy, no TensorFlow.

Three families, each with a helper that sets the model's figure beside the same figure for real
music the model never saw (the test split against the train split), so that a metric card can
print "overlap 0.83 (floor 0.91)":

* `yang_lerch` / `yang_lerch_with_floor` -- Yang & Lerch 2018, "On the evaluation of generative
  models in music" (Neural Computing and Applications; reference code RichardYang40148/mgeval).
  Per-piece features (`piece_features`), intra-set and inter-set Euclidean distances, a Gaussian
  KDE of each distance distribution, their overlapping area and KL divergence.
* `musegan_statistics` / `musegan_comparison` -- Dong et al. 2018, "MuseGAN" (AAAI; code
  salu133445/musegan): empty bars, used pitch classes per bar, polyphony, qualified notes,
  in-scale rate.
* `longest_copied_run` / `memorisation` -- the longest run of consecutive frames of each piece
  that occurs verbatim in a training piece.

Example:

>>> import numpy as np
>>> from tfgen.metrics import music as mm
>>> roll = np.zeros((8, 88), np.uint8)
>>> roll[0:3, 39] = 1                                  # C4 (MIDI 60) for 3 frames
>>> roll[2:4, 46] = 1                                  # G4 for 2 frames, from C4's last
>>> roll[3, 43] = 1                                    # E4 for 1 frame; frames 4..7 silent
>>> f = mm.piece_features(roll)
>>> int(f["pitch_count"][0]), int(f["pitch_range"][0]), float(f["avg_pitch_interval"][0])
(3, 7, 5.0)
>>> f["note_length_histogram"][:4].tolist()           # lengths 1, 2, 3, 4 frames
[0.3333333333333333, 0.3333333333333333, 0.3333333333333333, 0.0]
>>> float(f["avg_ioi"][0])                             # onsets at frames 0, 2, 3
1.5
>>> s = mm.musegan_statistics([roll], steps_per_bar=4)
>>> s["empty_bar_rate"], s["used_pitch_classes"], s["polyphony_rate"], s["qualified_note_rate"]
(0.5, 3.0, 0.5, 0.3333333333333333)
>>> train = [roll]
>>> copy = np.concatenate([np.ones((3, 88), np.uint8), roll[1:5]])
>>> mm.longest_copied_run([copy, roll], train).tolist()
[4, 8]
"""

from __future__ import annotations

import numpy as np
from scipy import signal, spatial, stats

from tfgen.metrics import copies

LOWEST_PITCH = 21  # MIDI pitch of key 0 (A0), as in tfgen.data.music
LENGTH_BINS = (1, 2, 3, 4, 6, 8, 12, 16)  # upper edges in frames; one more bin for longer
FEATURES = ("pitch_count", "pitch_class_histogram", "pitch_range", "avg_pitch_interval",
            "note_length_histogram", "avg_ioi", "ioi_histogram")
MAJOR_SCALE = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], bool)  # C major, pitch class C = 0


# --- Notes and per-piece features --------------------------------------------------------------

def _roll(roll) -> np.ndarray:
    roll = np.asarray(roll)
    if roll.ndim != 2:
        raise ValueError(f"a piano-roll must be [frames, keys]; got shape {roll.shape}")
    return roll > 0


def notes(roll) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The notes of a piano-roll: maximal runs of consecutive active frames of one key.

    Args:
        roll: a piano-roll [frames, keys]; a cell is active when > 0.

    Returns:
        (keys, onsets, lengths): int64 arrays [notes], sorted by key then onset frame; the MIDI
        pitch of a note is LOWEST_PITCH + key.
    """
    active = _roll(roll)
    padded = np.pad(active.T.astype(np.int8), ((0, 0), (1, 1)))
    diff = np.diff(padded, axis=1)  # [keys, frames + 1]: +1 at an onset, -1 one past the end
    keys, onsets = np.nonzero(diff == 1)
    _, ends = np.nonzero(diff == -1)  # same (key, time) order, so the i-th end closes the i-th onset
    return keys.astype(np.int64), onsets.astype(np.int64), (ends - onsets).astype(np.int64)


def _histogram(values: np.ndarray, bins: tuple[int, ...]) -> np.ndarray:
    """Normalised counts of `values` in the bins (.., bins[0]], (bins[0], bins[1]], ...,
    (bins[-1], inf); all zeros when there are no values."""
    counts = np.bincount(np.searchsorted(np.asarray(bins), values, side="left"),
                         minlength=len(bins) + 1).astype(np.float64)
    return counts / counts.sum() if counts.sum() else counts


def piece_features(roll, bins: tuple[int, ...] = LENGTH_BINS,
                   lowest_pitch: int = LOWEST_PITCH) -> dict[str, np.ndarray]:
    """Yang & Lerch's per-piece features of one piano-roll, each a float64 vector.

    With notes (k_i, t_i, l_i) (key, onset frame, length), onset frames u_1 < ... < u_M (the
    distinct t_i) and m_j the mean MIDI pitch of the notes starting at u_j:

    * pitch_count [1]: the number of distinct keys used (mgeval's "total_used_pitch").
    * pitch_class_histogram [12]: h_c ∝ Σ_k [(lowest_pitch + k) mod 12 = c] · frames key k is
      active, normalised to Σ h_c = 1 (duration-weighted, as mgeval's sum over a piano-roll;
      C = 0); all zeros for an empty piece.
    * pitch_range [1]: max k - min k over used keys, in semitones (0 for an empty piece).
    * avg_pitch_interval [1]: mean_j |m_{j+1} - m_j|, the mean absolute jump between the mean
      pitches of successive onset frames (mgeval takes successive MIDI note-on events, whose
      order within a chord is arbitrary; this is its order-free polyphonic reading); 0 with
      fewer than 2 onset frames.
    * note_length_histogram [len(bins) + 1]: the fraction of notes whose length l falls in each
      bin (.., bins[0]], (bins[0], bins[1]], ..., (bins[-1], inf) (default: 1, 2, 3, 4, 5-6,
      7-8, 9-12, 13-16, 17+ frames; at the 16th grid 16th, 8th, dotted 8th, quarter, dotted
      quarter, half, dotted half, whole, longer).
    * avg_ioi [1]: mean_j (u_{j+1} - u_j), the mean inter-onset interval in frames (mgeval's
      mean difference of the distinct onset times); 0 with fewer than 2 onset frames.
    * ioi_histogram [len(bins) + 1]: the fractions of the u_{j+1} - u_j in the same bins.

    Args:
        roll: a piano-roll [frames, keys].
        bins: increasing upper bin edges in frames of the length and IOI histograms.
        lowest_pitch: MIDI pitch of key 0.

    Returns:
        {feature name: float64 vector}, names as in FEATURES.
    """
    active = _roll(roll)
    keys, onsets, lengths = notes(active)
    used = np.flatnonzero(active.any(axis=0))
    frames_per_key = active.sum(axis=0).astype(np.float64)
    pch = np.bincount((lowest_pitch + np.arange(active.shape[1])) % 12, weights=frames_per_key,
                      minlength=12)
    if pch.sum():
        pch = pch / pch.sum()
    onset_frames, inverse = np.unique(onsets, return_inverse=True)
    if len(onset_frames) >= 2:
        mean_pitch = (np.bincount(inverse, weights=keys.astype(np.float64))
                      / np.bincount(inverse))
        api = float(np.mean(np.abs(np.diff(mean_pitch))))
        iois = np.diff(onset_frames)
        avg_ioi = float(np.mean(iois))
    else:
        api, avg_ioi, iois = 0.0, 0.0, np.zeros(0, np.int64)
    return {
        "pitch_count": np.array([len(used)], np.float64),
        "pitch_class_histogram": pch,
        "pitch_range": np.array([used.max() - used.min() if len(used) else 0], np.float64),
        "avg_pitch_interval": np.array([api]),
        "note_length_histogram": _histogram(lengths, bins),
        "avg_ioi": np.array([avg_ioi]),
        "ioi_histogram": _histogram(iois, bins),
    }


def feature_matrix(rolls, bins: tuple[int, ...] = LENGTH_BINS,
                   lowest_pitch: int = LOWEST_PITCH) -> dict[str, np.ndarray]:
    """`piece_features` of every roll, stacked: {feature: float64 [pieces, dims]}."""
    per_piece = [piece_features(r, bins, lowest_pitch) for r in rolls]
    if not per_piece:
        raise ValueError("no pieces")
    return {name: np.stack([f[name] for f in per_piece]) for name in FEATURES}


# --- Yang & Lerch: distance distributions, KDE overlap and KL -----------------------------------

def _subsample(rolls, max_pieces: int | None, rng: np.random.Generator) -> list:
    rolls = list(rolls)
    if max_pieces is not None and len(rolls) > max_pieces:
        keep = np.sort(rng.choice(len(rolls), max_pieces, replace=False))
        rolls = [rolls[i] for i in keep]
    return rolls


def _bandwidth(x: np.ndarray, fallback: float) -> float:
    """scipy.stats.gaussian_kde's bandwidth of a 1-D sample (Scott's rule: std · n^(-1/5));
    `fallback` for a sample with no spread or of one point (gaussian_kde is singular there)."""
    if len(x) >= 2 and np.ptp(x) > 0:
        return float(np.sqrt(stats.gaussian_kde(x).covariance[0, 0]))
    return fallback


def _density_on_grid(x: np.ndarray, bandwidth: float, grid: np.ndarray) -> np.ndarray:
    """The Gaussian KDE of x on a uniform grid, by linear binning and a convolution with the
    kernel (Silverman 1982): O(n + G log G) instead of O(n G); the kernel is normalised on the
    grid, so the estimate integrates to 1 however narrow the bandwidth."""
    dx = grid[1] - grid[0]
    pos = (x - grid[0]) / dx
    left = np.clip(np.floor(pos).astype(np.int64), 0, len(grid) - 2)
    frac = np.clip(pos - left, 0.0, 1.0)
    weights = (np.bincount(left, 1.0 - frac, len(grid)) + np.bincount(left + 1, frac, len(grid)))
    half = min(int(np.ceil(6.0 * bandwidth / dx)), len(grid) - 1)
    offsets = np.arange(-half, half + 1) * dx
    kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2)
    kernel /= kernel.sum() * dx
    return np.maximum(signal.fftconvolve(weights, kernel, mode="same"), 0.0) / len(x)


def overlap_and_kl(p_sample, q_sample, grid_points: int = 4096) -> tuple[float, float]:
    """Overlapping area and KL divergence of the Gaussian KDEs p, q of two 1-D samples.

    OA = ∫ min(p(x), q(x)) dx and KL(p ‖ q) = ∫ p(x) log(p(x) / q(x)) dx, by the trapezoid rule
    on a uniform grid of `grid_points` spanning both samples ± 4 bandwidths (mgeval integrates
    over the samples' range only and evaluates p and q for KL on different grids; this takes
    one grid). The bandwidths are scipy.stats.gaussian_kde's (Scott's rule); the densities are
    evaluated by binning (`_density_on_grid`: at the default grid within ~1e-5 of the peak of
    gaussian_kde.evaluate) and renormalised to integrate to 1 on the grid; q is floored at
    1e-10 · max q so that the KL stays finite where p's tail meets none of q. A sample without
    spread gets a bandwidth of 1% of the range of both samples (0.01 when that is 0).

    Args:
        p_sample, q_sample: 1-D samples (e.g. distances), at least one value each.
        grid_points: points of the integration grid.

    Returns:
        (overlap in [0, 1], KL in nats >= 0), floats.
    """
    p_sample = np.asarray(p_sample, np.float64).ravel()
    q_sample = np.asarray(q_sample, np.float64).ravel()
    if not len(p_sample) or not len(q_sample):
        raise ValueError("overlap_and_kl needs a non-empty sample on each side")
    both = np.concatenate([p_sample, q_sample])
    fallback = 0.01 * (np.ptp(both) or 1.0)
    bw_p, bw_q = _bandwidth(p_sample, fallback), _bandwidth(q_sample, fallback)
    margin = 4.0 * max(bw_p, bw_q)
    grid = np.linspace(both.min() - margin, both.max() + margin, grid_points)
    pv = _density_on_grid(p_sample, bw_p, grid)
    qv = _density_on_grid(q_sample, bw_q, grid)
    pv = pv / np.trapezoid(pv, grid)
    qv = qv / np.trapezoid(qv, grid)
    overlap = float(np.trapezoid(np.minimum(pv, qv), grid))
    qf = np.maximum(qv, 1e-10 * qv.max())
    integrand = np.where(pv > 0, pv * np.log(np.where(pv > 0, pv, 1.0) / qf), 0.0)
    kl = float(max(np.trapezoid(integrand, grid), 0.0))
    return min(overlap, 1.0), kl


def _pairwise(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    if b is None:
        return spatial.distance.pdist(a, "euclidean")  # i < j: self pairs excluded
    return spatial.distance.cdist(a, b, "euclidean").ravel()


def yang_lerch(generated, reference, max_pieces: int | None = 200, seed: int = 0,
               bins: tuple[int, ...] = LENGTH_BINS, grid_points: int = 4096) -> dict[str, dict]:
    """Yang & Lerch's (2018) overlap and KL of intra-set against inter-set feature distances.

    For each feature f of `piece_features`, with G the generated pieces and R the reference:
    intra_R = {‖f(r_i) - f(r_j)‖ : i < j} (self pairs excluded), intra_G likewise, and
    inter = {‖f(g) - f(r)‖ : g ∈ G, r ∈ R} (Euclidean). Each distance sample gets a Gaussian
    KDE (scipy.stats.gaussian_kde, Scott's bandwidth); see `overlap_and_kl`. The headline
    figures compare the *reference's* intra-set distribution with the inter-set one:

        overlap = OA(intra_R, inter) = ∫ min(p_intra_R, p_inter),
        kl = KL(intra_R ‖ inter) = ∫ p_intra_R log(p_intra_R / p_inter).

    A generator whose pieces sit among the reference pieces as they sit among themselves
    gives overlap near the real-vs-real floor (`yang_lerch_with_floor`) and KL near 0. The
    same two figures against the generated set's own intra distances (overlap_generated,
    kl_generated) show a set too uniform (mode collapse: intra_G much narrower) or too spread.

    Args:
        generated: piano-rolls [frames, keys] of the model.
        reference: real piano-rolls (e.g. the test split).
        max_pieces: each set is subsampled (without replacement, numpy Generator(seed)) to at
            most this many pieces before the pairwise distances; None keeps all.
        seed: the subsampling seed.
        bins: length and IOI histogram bin edges in frames (see `piece_features`).
        grid_points: integration grid of `overlap_and_kl`.

    Returns:
        {feature: {"overlap", "kl", "overlap_generated", "kl_generated": float,
        "num_generated", "num_reference": pieces used, "num_intra_pairs": reference pairs,
        "num_inter_pairs": int}} for every name in FEATURES.
    """
    rng = np.random.default_rng(seed)
    gen = _subsample(generated, max_pieces, rng)
    ref = _subsample(reference, max_pieces, rng)
    if len(gen) < 2 or len(ref) < 2:
        raise ValueError(f"yang_lerch needs at least 2 pieces per set; got {len(gen)} generated, "
                         f"{len(ref)} reference")
    fg, fr = feature_matrix(gen, bins), feature_matrix(ref, bins)
    out = {}
    for name in FEATURES:
        intra_r, intra_g = _pairwise(fr[name]), _pairwise(fg[name])
        inter = _pairwise(fg[name], fr[name])
        overlap, kl = overlap_and_kl(intra_r, inter, grid_points)
        overlap_g, kl_g = overlap_and_kl(intra_g, inter, grid_points)
        out[name] = {"overlap": overlap, "kl": kl, "overlap_generated": overlap_g,
                     "kl_generated": kl_g, "num_generated": len(gen), "num_reference": len(ref),
                     "num_intra_pairs": len(intra_r), "num_inter_pairs": len(inter)}
    return out


def yang_lerch_with_floor(generated, test, train, max_pieces: int | None = 200, seed: int = 0,
                          bins: tuple[int, ...] = LENGTH_BINS,
                          grid_points: int = 4096) -> dict[str, dict]:
    """`yang_lerch(generated, test)` beside its real-vs-real floor `yang_lerch(train, test)`.

    The floor puts real pieces the reference never contained (train) where the model's were:
    the overlap and KL a perfect generator of the data distribution would get with these set
    sizes (subsampled to the same max_pieces with the same seed), since train and test are
    different samples of the same music.

    Args:
        generated: the model's piano-rolls.
        test: real held-out piano-rolls, the reference of both figures.
        train: real training piano-rolls, standing in for the model in the floor.
        max_pieces, seed, bins, grid_points: as in `yang_lerch`.

    Returns:
        {feature: yang_lerch's entry plus "floor_overlap", "floor_kl" (floats) and
        "floor_num_generated" (train pieces used)}.
    """
    model = yang_lerch(generated, test, max_pieces, seed, bins, grid_points)
    floor = yang_lerch(train, test, max_pieces, seed, bins, grid_points)
    for name, entry in model.items():
        entry.update(floor_overlap=floor[name]["overlap"], floor_kl=floor[name]["kl"],
                     floor_num_generated=floor[name]["num_generated"])
    return model


# --- MuseGAN statistics ------------------------------------------------------------------------

def musegan_statistics(rolls, steps_per_bar: int, min_length: int = 3, polyphony_threshold: int = 2,
                       lowest_pitch: int = LOWEST_PITCH) -> dict:
    """MuseGAN's (Dong et al. 2018) statistics of a set of piano-rolls, pooled over the set.

    Bars are the complete runs of steps_per_bar frames from frame 0 (a trailing partial bar is
    left out of the bar statistics; pieces are not aligned to their pickup). With B the bars,
    B+ the non-empty ones, N the notes of the whole rolls (notes run across bar lines):

    * empty_bar_rate = |{b ∈ B : no active cell}| / |B|.
    * used_pitch_classes = mean over b ∈ B+ of the number of distinct pitch classes active in
      b (0..12; MuseGAN's UPC; empty bars skipped, as MuseGAN v1's evaluation does).
    * used_pitches = the same for distinct keys.
    * polyphony_rate = fraction of the frames of the bars in B+ where at least
      polyphony_threshold keys sound (MuseGAN v1's polyphonic ratio, `>= 2`; its later
      TensorFlow code counts `> 2`: pass polyphony_threshold=3 for that).
    * qualified_note_rate = |{n ∈ N : length(n) >= min_length}| / |N| (MuseGAN's QN: notes no
      shorter than 3 time steps, a 32nd note at its 24 steps per beat; its code's default
      threshold is 2; here min_length frames, default 3).
    * in_scale_rate = Σ active cells whose pitch class is in C major / Σ active cells over the
      whole rolls: MuseGAN's in-scale ratio, C major fixed and duration-weighted (it sums its
      chroma over time steps). JSB Chorales are in C major or C minor.
    * in_scale_rate_best_key = the same with each piece's own best-fitting major scale (the
      transposition of the C major mask that holds most of the piece's active cells).

    Args:
        rolls: piano-rolls [frames, keys].
        steps_per_bar: frames per bar (4 for 4/4 on JSB's quarter grid, 16 on its 16th grid).
        min_length: the shortest qualified note, in frames.
        polyphony_threshold: keys sounding together for a frame to count as polyphonic.
        lowest_pitch: MIDI pitch of key 0.

    Returns:
        The seven statistics (floats; NaN where there is nothing to average: no bars, no
        non-empty bar, no note) and num_pieces, num_bars, num_nonempty_bars, num_notes.
    """
    if steps_per_bar < 1:
        raise ValueError(f"steps_per_bar must be >= 1; got {steps_per_bar}")
    n_bars = n_nonempty = n_notes = n_qualified = 0
    upc_sum = up_sum = poly_frames = 0
    cells = in_scale = in_best = 0.0
    shifts = np.stack([np.roll(MAJOR_SCALE, s) for s in range(12)]).astype(np.float64)  # [12, 12]
    rolls = list(rolls)
    for roll in rolls:
        active = _roll(roll)
        frames, k = active.shape
        pitch_class = (lowest_pitch + np.arange(k)) % 12
        onehot = np.eye(12, dtype=bool)[pitch_class]  # [keys, 12]
        whole = frames // steps_per_bar
        bars = active[:whole * steps_per_bar].reshape(whole, steps_per_bar, k)
        used_keys = bars.any(axis=1)  # [bars, keys]
        nonempty = used_keys.any(axis=1)
        n_bars += whole
        n_nonempty += int(nonempty.sum())
        upc_sum += int((used_keys[nonempty].astype(np.int64) @ onehot > 0).sum())
        up_sum += int(used_keys[nonempty].sum())
        poly_frames += int((bars[nonempty].sum(axis=2) >= polyphony_threshold).sum())
        lengths = notes(active)[2]
        n_notes += len(lengths)
        n_qualified += int((lengths >= min_length).sum())
        chroma = active.sum(axis=0).astype(np.float64) @ onehot  # [12] active cells per class
        cells += chroma.sum()
        in_scale += chroma @ MAJOR_SCALE
        in_best += (shifts @ chroma).max()
    nan = float("nan")
    return {
        "empty_bar_rate": (n_bars - n_nonempty) / n_bars if n_bars else nan,
        "used_pitch_classes": upc_sum / n_nonempty if n_nonempty else nan,
        "used_pitches": up_sum / n_nonempty if n_nonempty else nan,
        "polyphony_rate": poly_frames / (n_nonempty * steps_per_bar) if n_nonempty else nan,
        "qualified_note_rate": n_qualified / n_notes if n_notes else nan,
        "in_scale_rate": float(in_scale / cells) if cells else nan,
        "in_scale_rate_best_key": float(in_best / cells) if cells else nan,
        "num_pieces": len(rolls), "num_bars": n_bars, "num_nonempty_bars": n_nonempty,
        "num_notes": n_notes,
    }


def musegan_comparison(generated, test, train, steps_per_bar: int, **kwargs) -> dict[str, dict]:
    """`musegan_statistics` of the model's, the test and the train pieces side by side.

    The real figures are the target: a statistic of the generated set should sit near test's
    and train's (their gap shows how much two real sets differ).

    Args:
        generated, test, train: lists of piano-rolls.
        steps_per_bar: frames per bar.
        **kwargs: min_length, polyphony_threshold, lowest_pitch of `musegan_statistics`.

    Returns:
        {statistic: {"generated", "test", "train"}} for every key of `musegan_statistics`.
    """
    sets = {name: musegan_statistics(rolls, steps_per_bar, **kwargs)
            for name, rolls in (("generated", generated), ("test", test), ("train", train))}
    return {key: {name: sets[name][key] for name in sets} for key in sets["generated"]}


# --- Memorisation ------------------------------------------------------------------------------

def _frame_ids(rolls: list) -> list[list[int]]:
    """Each roll as a list of frame ids: equal ids exactly when the binarised frames are equal.

    Frames are bit-packed (88 keys -> 11 bytes), padded to 16 bytes, read as two int64 words and
    numbered by np.unique (exact: no hash collisions)."""
    arrays = [_roll(r) for r in rolls]
    keys = {a.shape[1] for a in arrays}
    if len(keys) > 1:
        raise ValueError(f"all piano-rolls must have the same key count; got {sorted(keys)}")
    packed = np.packbits(np.concatenate(arrays), axis=1)
    width = -(-packed.shape[1] // 8) * 8
    packed = np.pad(packed, ((0, 0), (0, width - packed.shape[1])))
    words = np.ascontiguousarray(packed).view(np.int64)  # [frames, width / 8]
    _, ids = np.unique(words, axis=0, return_inverse=True)
    ids = ids.ravel()
    out, start = [], 0
    for a in arrays:
        out.append(ids[start:start + len(a)].tolist())
        start += len(a)
    return out


def longest_copied_run(pieces, training_pieces) -> np.ndarray:
    """For each piece, the longest run of consecutive frames found verbatim in a training piece.

    L(x) = max {ℓ : x[s : s + ℓ] == y[t : t + ℓ] for some training piece y and frames s, t},
    frames compared exactly (all keys, binarised at > 0); 0 when no frame of x occurs in the
    training set. A run never spans two training pieces. Frames become integer ids
    (`_frame_ids`), and `tfgen.metrics.copies.longest_copied_runs` answers each piece in one
    pass: O(total frames).

    Args:
        pieces: piano-rolls [frames, keys] to check.
        training_pieces: the training piano-rolls, same key count.

    Returns:
        int64 [len(pieces)]: L of each piece, in frames.
    """
    pieces, training_pieces = list(pieces), list(training_pieces)
    if not pieces:
        return np.zeros(0, np.int64)
    if not training_pieces:
        return np.zeros(len(pieces), np.int64)
    ids = _frame_ids(training_pieces + pieces)
    return copies.longest_copied_runs(ids[len(training_pieces):], ids[:len(training_pieces)])


def _run_summary(runs: np.ndarray, lengths: np.ndarray) -> dict:
    fraction = runs / np.maximum(lengths, 1)
    return {"median": float(np.median(runs)), "p95": float(np.percentile(runs, 95)),
            "max": int(runs.max()), "mean": float(runs.mean()),
            "median_fraction": float(np.median(fraction)), "max_fraction": float(fraction.max()),
            "num_pieces": int(len(runs)), "median_piece_frames": float(np.median(lengths))}


def memorisation(generated, test, train) -> dict[str, dict]:
    """Longest copied runs of the model's pieces against train, beside the test pieces' figure.

    The test pieces are real music the model never saw: how long a run of train frames they
    share by chance (cadences, repeated chords) is the floor. Generated runs well above it
    (median, 95th percentile, max) mean the model recites its training pieces.

    Args:
        generated: the model's piano-rolls.
        test: real held-out piano-rolls.
        train: the training piano-rolls.

    Returns:
        {"generated": summary, "test": summary}, each summary {"median", "p95" (95th percentile,
        numpy's linear interpolation), "max", "mean": of `longest_copied_run` in frames,
        "median_fraction", "max_fraction": of the run over the piece's frame count,
        "num_pieces", "median_piece_frames"}.
    """
    out = {}
    for name, rolls in (("generated", generated), ("test", test)):
        rolls = list(rolls)
        if not rolls:
            raise ValueError(f"memorisation needs at least one {name} piece")
        runs = longest_copied_run(rolls, train)
        out[name] = _run_summary(runs, np.array([len(r) for r in rolls]))
    return out
