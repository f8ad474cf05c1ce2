"""Piano-rolls (polyphonic music, `tfgen.data.music`'s packed layout [frames, 88 + 1]): MIDI,
WAV and piano-roll pictures out; the NLL per frame, Yang & Lerch's and MuseGAN's statistics
and memorisation as metrics, each beside its real-vs-real floor."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from typing import ClassVar

import numpy as np

from tfgen import fileio
from tfgen.data import music
from tfgen.errors import OptionError, UserError
from tfgen.modalities.base import Modality, SampleMetrics

FEATURES = ("pitch_count", "pitch_class_histogram", "pitch_range", "avg_pitch_interval",
            "note_length_histogram", "avg_ioi", "ioi_histogram")  # Yang & Lerch 2018
STATISTICS = ("empty_bar_rate", "used_pitch_classes", "polyphony_rate", "qualified_note_rate",
              "in_scale_rate")  # MuseGAN (Dong et al. 2018)
SAMPLE_RATE = 16_000  # of the WAVs TensorBoard plays
TEMPO = 100.0  # quarter notes per minute of MIDI and WAV out


def _grid(context_or_info) -> tuple[int, int]:
    """(frames per quarter note, frames per bar) of a dataset's piano-rolls."""
    get = (context_or_info.get if isinstance(context_or_info, dict)
           else lambda k, d=None: getattr(context_or_info, k, d))
    per_quarter = int(get("steps_per_quarter") or 1)
    return per_quarter, int(get("steps_per_bar") or 4 * per_quarter)


class MusicMetrics(SampleMetrics):
    """Statistics of `num` generated pieces against the reference split's pieces, each with
    the same statistic of the train pieces against them (the floor: real music the reference
    never saw): Yang & Lerch's overlapping areas per feature (`overlap_<feature>`, their mean
    `overlap_mean`; the KLs in the cards), MuseGAN's bar statistics (the generated value beside
    the reference's; better is closer) and the median longest run of frames copied from a
    training piece (`copied_frames`; floor: the reference pieces' own)."""

    def __init__(self, evaluator, num):
        from tfgen.metrics import music as stats

        ev = self.ev = evaluator
        self.info = ev.info
        self.per_quarter, self.per_bar = _grid(self.info)
        ref, _ = ev.source.numpy(ev.split)
        self.reference = music.unpack(ref)
        self.num = num or max(len(self.reference), 100)
        self.train = None
        if ev.baseline_split is not None:
            base, _ = ev.source.numpy("train" if "train" in self.info.splits
                                      else ev.baseline_split)
            self.train = music.unpack(base)
            floor = stats.yang_lerch(self.train, self.reference, seed=ev.seed)
            for f in FEATURES:
                ev.baselines[f"overlap_{f}"] = floor[f]["overlap"]
                ev.baselines[f"kl_{f}"] = floor[f]["kl"]
            ev.baselines["overlap_mean"] = float(np.mean([floor[f]["overlap"] for f in FEATURES]))
            bars = stats.musegan_statistics(self.train, self.per_bar)
            ev.baselines.update({s: bars[s] for s in STATISTICS})
            if ev.memorisation:
                runs = stats.memorisation(self.reference, self.reference, self.train)
                ev.baselines["copied_frames"] = runs["test"]["median"]
                self.floor_runs = runs["test"]
        self.reference_stats = stats.musegan_statistics(self.reference, self.per_bar)

    def names(self, model):
        names = [f"overlap_{f}" for f in FEATURES] + ["overlap_mean", *STATISTICS]
        if self.ev.memorisation and self.train is not None:
            names.append("copied_frames")
        return names

    def values(self, model):
        from tfgen.metrics import music as stats

        pieces = music.unpack(self.ev.sample(model, self.num))
        ours = stats.yang_lerch(pieces, self.reference, seed=self.ev.seed)
        out = {f"overlap_{f}": ours[f]["overlap"] for f in FEATURES}
        out["overlap_mean"] = float(np.mean([ours[f]["overlap"] for f in FEATURES]))
        out["yang_lerch_detail"] = ours
        bars = stats.musegan_statistics(pieces, self.per_bar)
        out.update({s: bars[s] for s in STATISTICS})
        if self.ev.memorisation and self.train is not None:
            runs = stats.memorisation(pieces, self.reference, self.train)
            out["copied_frames"] = runs["generated"]["median"]
            out["copied_detail"] = runs
        out["music_detail"] = {"sample_frames": int(np.median([len(p) for p in pieces]))}
        return out

    def card(self, name, card, details):
        card.update(grid=f"{self.per_quarter} frames per quarter note, {self.per_bar} per bar",
                    generated_frames=details["music_detail"]["sample_frames"],
                    num_reference=len(self.reference))
        if name.startswith("overlap_") and name != "overlap_mean":
            feature = name[len("overlap_"):]
            detail = details["yang_lerch_detail"][feature]
            card.update(kl=detail["kl"], baseline_kl=self.ev.baselines.get(f"kl_{feature}"),
                        pairs={"intra": detail["num_intra_pairs"],
                               "inter": detail["num_inter_pairs"]},
                        definition="Yang & Lerch 2018: overlapping area of the KDEs of the "
                        "reference's intra-set and the generated-to-reference distances of "
                        f"{feature} (1 = indistinguishable); baseline: train pieces in place of "
                        "the generated")
        elif name == "overlap_mean":
            card["definition"] = f"mean of the {len(FEATURES)} Yang & Lerch overlaps"
        elif name in STATISTICS:
            card.update(reference_value=self.reference_stats[name], better="match",
                        definition="MuseGAN (Dong et al. 2018) statistic of the generated "
                        "pieces; reference_value: the reference pieces', baseline: the train "
                        "pieces' (closer to reference_value is better)")
        elif name == "copied_frames":
            card.update(detail=details["copied_detail"], definition="median over pieces of the "
                        "longest run of consecutive frames found verbatim in a training piece; "
                        "baseline: the same for the reference pieces (real unseen music)")


class PianoRoll(Modality):
    name: ClassVar[str] = "pianoroll"
    title: ClassVar[str] = "piano-rolls"
    writers: ClassVar[tuple[str, ...]] = (".mid", ".wav", ".png", ".npy", ".zip")
    metrics: ClassVar[dict[str, str]] = {
        **{f"overlap_{f}": "max" for f in FEATURES}, "overlap_mean": "max",
        "copied_frames": "min", "nll_per_frame": "min"}

    likelihood_metrics: ClassVar[tuple[str, ...]] = ("nll_per_frame",)
    cheap_metrics: ClassVar[str | None] = "music statistics"
    sequence_networks: ClassVar[tuple[str, ...]] = ("lstm", "conductor", "srnn")

    def value_range(self, pixel_range):
        return (0.0, 1.0)  # notes are on or off, whatever the pixel range

    def default_metric(self, likelihood):
        return "nll_per_frame" if likelihood else "overlap_mean"

    def sample_metrics(self, evaluator, num, features, cache_dir, progress, **_):
        return MusicMetrics(evaluator, num)

    def likelihood_values(self, log_px, x) -> dict:
        """The field's figure: -Σ log p(x) / the pieces' total frames (nats per frame)."""
        frames = float(np.asarray(x)[..., -1].sum())
        return {"nll_per_frame": float(-np.sum(log_px) / frames), "nll_frames": int(frames)}

    def likelihood_card(self, card, info):
        card["unit"] = "nats per piece"

    def likelihood_metric_card(self, name, card, values):
        card.update(unit="nats per frame", frames=values["nll_frames"],
                    definition="-Σ log p(x) over the pieces / their total frames")

    # -- networks -----------------------------------------------------------------------------

    gan_networks: ClassVar[tuple[str, ...]] = ("pianoroll",)
    default_networks: ClassVar[dict[str, str]] = {"vae": "lstm", "gan": "pianoroll"}

    def vae(self, info, likelihood, *, network, latent_dim, width, depth, conditional, dropout,
            context_dim=0, frame_dropout: float = 0.0, encoder_width: int | None = None,
            sample_frames: int = 64, **_):
        """A `tfgen.SequenceVAE`: the masked BiLSTM encoder (`encoder_width` units each way,
        default width / 2) and the autoregressive LSTM decoder of `width` units -- flat
        ("lstm") or with MusicVAE's conductor over bars ("conductor"); or a `tfgen.SRNN`
        ("srnn": GRUs and MLPs of `width` units, the backward GRU of `encoder_width`)."""
        from tfgen import networks
        from tfgen.models import SRNN, SequenceVAE

        if network not in self.sequence_networks:
            raise OptionError("network", f"piano-rolls take the sequence networks "
                              f"{', '.join(self.sequence_networks)}; got {network!r}")
        keys = info.shape[-1] - 1
        if network == "srnn":
            encoder, decoder = networks.srnn_networks(
                keys, likelihood, latent_dim=latent_dim, units=width,
                encoder_units=encoder_width, frame_dropout=frame_dropout, dropout=dropout)
            return encoder, decoder, SRNN, {"sample_frames": sample_frames}
        if network == "conductor" and sample_frames % info.steps_per_bar:
            raise OptionError("sample_frames", f"the conductor samples whole bars of "
                              f"{info.steps_per_bar} frames; sample_frames={sample_frames} is "
                              "not a multiple")
        encoder, decoder = networks.sequence_vae_networks(
            keys, likelihood, latent_dim=latent_dim,
            encoder_units=encoder_width or max(width // 2, 1), decoder_units=width,
            segment=info.steps_per_bar if network == "conductor" else 0,
            frame_dropout=frame_dropout, dropout=dropout)
        return encoder, decoder, SequenceVAE, {"sample_frames": sample_frames}

    def gan(self, info, *, network, latent_dim, width, depth, spectral_norm, conditional, pac,
            pixel_range, orthogonal, binary=False, **_):
        """MuseGAN-style convolutional generator and discriminator over (time, pitch) of fixed
        windows (`data.window_bars`), notes binary through the straight-through estimator
        with `binary`."""
        from tfgen import networks
        from tfgen.models import GAN

        if network != "pianoroll":
            raise OptionError("network", f"piano-rolls take the GAN network pianoroll; got "
                              f"{network!r}")
        if pac != 1 or orthogonal:
            raise OptionError("pac" if pac != 1 else "orthogonal",
                              "the piano-roll GAN has no PacGAN packing or orthogonal "
                              "regularisation")
        frames, keys = info.shape[0], info.shape[1] - 1
        classes = info.num_classes if conditional else None
        return (networks.pianoroll_generator(latent_dim, frames, keys, width, binary, classes),
                networks.pianoroll_discriminator(frames, keys, width, spectral_norm=spectral_norm,
                                                 num_classes=classes), GAN, {})

    def diagnostics(self, source, labels):
        from tfgen.callbacks import LatentDiagnostics

        _, per_bar = _grid(source.info)
        grid = lambda x, columns: self.picture(music.unpack(x), per_bar)  # noqa: E731
        return [LatentDiagnostics(source.fixed_batch(16), source.info.value_range,
                                  projector=source.fixed_batch(1000), grid=grid)]

    # -- samples out --------------------------------------------------------------------------

    def write_other(self, samples, path, context):
        from tfgen.data import midi

        rolls = music.unpack(samples)
        per_quarter, per_bar = _grid(context)
        ext = os.path.splitext(path)[1].lower()
        if ext == ".png":
            from tfgen.callbacks import images

            images.save_png(self.picture(rolls, per_bar), path)
        elif ext == ".zip":  # one MIDI file per sample
            buffer = io.BytesIO()
            with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buffer, "w") as archive:
                for i, roll in enumerate(rolls):
                    local = os.path.join(tmp, f"sample_{i:03d}.mid")
                    midi.write_midi(roll, local, steps_per_quarter=per_quarter, tempo=TEMPO)
                    archive.write(local, f"sample_{i:03d}.mid")
            fileio.write_bytes(path, buffer.getvalue())
        else:
            names = self.numbered_paths(path, len(rolls))
            for roll, name in zip(rolls, names, strict=True):
                if ext == ".mid":
                    midi.write_midi(roll, name, steps_per_quarter=per_quarter, tempo=TEMPO)
                else:
                    self.render(roll, name, per_quarter, context.get("synth", "additive"))
            return names
        return None

    def read_example(self, spec, context):
        """A MIDI file as a packed piece on the run's grid."""
        from tfgen.data import midi

        if not fileio.isfile(spec):
            raise UserError(f"{spec}: not a MIDI file (or SPLIT:INDEX, e.g. test:0)")
        roll = midi.read_midi(spec, steps_per_quarter=context.get("steps_per_quarter") or 1)
        return music.pack([roll], multiple=context.get("steps_per_bar") or 1)[0]

    @staticmethod
    def render(roll, path, per_quarter: int, synth: str = "additive"):
        """A WAV of one piano-roll: the additive synthesiser (no dependencies) or FluidSynth
        with a General MIDI sound font (`synth="fluidsynth"`, where installed)."""
        from tfgen.data import midi

        if synth == "fluidsynth":
            return midi.render_wav_fluidsynth(roll, path, steps_per_quarter=per_quarter,
                                              tempo=TEMPO)
        return midi.render_wav(roll, path, steps_per_quarter=per_quarter, tempo=TEMPO,
                               sample_rate=SAMPLE_RATE)

    # -- TensorBoard --------------------------------------------------------------------------

    @staticmethod
    def picture(rolls, per_bar: int, scale: int = 3, width: int = 768) -> np.ndarray:
        """Piano-rolls one above the other (time left to right, low keys at the bottom, faint
        bar lines), separated by a white line; keys `scale` pixels high, frames stretched so
        the longest roll is about `width` pixels wide."""
        from tfgen.data import midi

        longest = max((len(r) for r in rolls), default=1)
        stretch = max(1, width // max(longest, 1))
        pictures = [np.repeat(np.repeat(midi.pianoroll_image(r, steps_per_bar=per_bar), scale,
                                        axis=0), stretch, axis=1) for r in rolls]
        widest = max(p.shape[1] for p in pictures)
        rows = []
        for p in pictures:
            padded = np.full((p.shape[0], widest, 3), 255, np.uint8)
            padded[:, :p.shape[1]] = p
            rows += [padded, np.full((2 * scale, padded.shape[1], 3), 255, np.uint8)]
        return np.concatenate(rows[:-1], axis=0)

    def context(self, source):
        """The grid, and two real pieces for the interpolation picture."""
        info = source.info
        return {"steps_per_quarter": info.steps_per_quarter, "steps_per_bar": info.steps_per_bar,
                "pieces": source.fixed_batch(2)[0]}

    def summary_samples(self, default):
        return 4

    def pictures(self, model, samples, context):
        per_quarter, per_bar = _grid(context)
        pictures = {"generated": self.picture(music.unpack(samples), per_bar)}
        path = _interpolation(model, context)
        if path is not None:
            pictures["interpolation"] = self.picture(path, per_bar)
        return pictures

    def sounds(self, model, samples, context):
        """The samples, and for a sequence VAE the interpolation between two real pieces
        played one after another (one clip), rendered by the additive synthesiser."""
        per_quarter, _ = _grid(context)
        out = {"generated": _clips(music.unpack(samples), per_quarter)}
        path = _interpolation(model, context)
        if path is not None:
            out["interpolation"] = _clips([np.concatenate(path)], per_quarter)
        return out


def _interpolation(model, context: dict):
    """The 5 rolls from one real piece of `context` to the other (a sequence VAE's
    `interpolate`), or None: decoded once per `context` -- the logger hands one context to
    `pictures` and `sounds` of the same epoch -- and kept in it."""
    if "interpolation" not in context:
        pieces = context.get("pieces")
        context["interpolation"] = (
            music.unpack(model.interpolate(pieces[0], pieces[1], steps=5))
            if pieces is not None and len(pieces) >= 2 and getattr(model, "has_code", False)
            else None)
    return context["interpolation"]


def _clips(rolls, per_quarter: int):
    """(audio [clips, samples, 1], rate) of piano-rolls."""
    from tfgen.data import midi

    clips = [midi.render_wav(r, steps_per_quarter=per_quarter, tempo=TEMPO,
                             sample_rate=SAMPLE_RATE) for r in rolls]
    audio = np.zeros((len(clips), max(len(c) for c in clips), 1), np.float32)
    for i, clip in enumerate(clips):
        audio[i, :len(clip), 0] = clip
    return audio, SAMPLE_RATE
