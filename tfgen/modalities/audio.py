"""Audio (clips [batch, samples, 1] in [-1, 1] at the dataset's sample rate): WAV out (one
file per clip, or a zip) and spectrogram pictures, TensorBoard audio that plays and the
samples' spectrograms, WaveGAN's networks, and the metrics of the spoken-digit literature in
the feature space of a classifier tfgen trains: the inception score (as WaveGAN reports it),
the Fréchet distance, label accuracy, NDB and memorisation, each with its real-data floor."""

from __future__ import annotations

import io
import os
import zipfile
from typing import ClassVar

import numpy as np

from tfgen import fileio, rules
from tfgen.errors import OptionError, UserError
from tfgen.modalities.base import Modality, SampleMetrics

NDB_BINS = 50  # k-means bins of the train clips' features (fewer for small sample counts)
MEMORISATION_PERCENTILE = 1.0


def inception_score(probabilities) -> float:
    """exp(E_x KL(p(y | x) ‖ p(y))) of class probabilities [N, classes] (Salimans et al. 2016),
    over the whole set (one split)."""
    p = np.clip(np.asarray(probabilities, np.float64), 1e-12, 1.0)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1))))


def ndb_bins(train_features, bins: int, seed: int = 0):
    """The k-means bins of NDB: `bins` clusters of the train features (at most one per train
    example)."""
    from sklearn.cluster import KMeans

    return KMeans(max(1, min(bins, len(train_features))), n_init=3,
                  random_state=seed).fit(train_features)


def ndb(train_features, features, bins, seed: int = 0, alpha: float = 0.05) -> dict:
    """The number of statistically different bins (Richardson & Weiss 2018): the train
    features in `bins` k-means clusters (a count, or the fitted `ndb_bins`); each of
    `features` in its nearest cluster; a bin is different when a two-proportion z-test
    (pooled) rejects equal shares at `alpha`. Returns the count, its fraction of the bins,
    and the bins' shares."""
    from scipy.stats import norm

    kmeans = bins if hasattr(bins, "predict") else ndb_bins(train_features, bins, seed)
    k = int(kmeans.n_clusters)
    n1, n2 = len(features), len(train_features)
    counts = np.bincount(kmeans.predict(features), minlength=k).astype(np.float64)
    train_counts = np.bincount(kmeans.labels_, minlength=k).astype(np.float64)
    p1, p2 = counts / n1, train_counts / n2
    pooled = (counts + train_counts) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = np.where(se > 0, (p1 - p2) / np.where(se > 0, se, 1.0), 0.0)
    different = np.abs(z) > norm.ppf(1 - alpha / 2)
    return {"count": int(different.sum()), "fraction": float(different.mean()), "bins": k,
            "alpha": alpha, "shares": p1.tolist(), "train_shares": p2.tolist()}


class AudioMetrics(SampleMetrics):
    """Metrics of generated clips in the feature space of tfgen's spoken-digit classifier
    (`features="auto"`: a log-mel convnet trained once on the train split and cached, its
    test accuracy on every card; `tfgen.metrics.features.audio_classifier`):

    - inception_score: exp E KL(p(y|x) ‖ p(y)) of the classifier's predictions; floor: the
      reference clips' own.
    - frechet_distance: between the features of the samples and of the reference clips;
      floor: as many baseline-split clips.
    - label_accuracy (conditional models): the classifier's accuracy on samples against their
      labels; floor: its accuracy on the reference clips.
    - ndb: the fraction of `NDB_BINS` k-means bins of the train clips' features in which the
      samples' share differs (z-test, 0.05); floor: the reference clips'.
    - memorised: the fraction of samples nearer to a train clip than the reference clips' 1st
      percentile of that distance (1% for new clips by construction).

    A model of spectrograms is measured on its images inverted by Griffin-Lim; the floors
    are the real clips'."""

    def __init__(self, evaluator, num, features, cache_dir, progress):
        from tfgen.metrics.features import FeatureExtractor, clip_arrays, dataset_extractor

        ev = self.ev = evaluator
        self.info, self.source = ev.info, ev.source
        size = self.source.num_examples(ev.split)
        self.num = num or size
        if self.num > size:
            raise UserError(f"--num {self.num} exceeds the {ev.split} split's {size} clips "
                            "(audio metrics compare equal clip counts)")
        self.extractor = None
        if features is None:
            return
        self.extractor = (features if isinstance(features, FeatureExtractor)
                          else dataset_extractor(self.source, cache_dir, progress)
                          if features == "auto" else FeatureExtractor.from_file(features))
        rng = np.random.default_rng([ev.seed, 7])
        x, self.ref_labels = self._subset(ev.split, rng)
        self.ref_features = self.extractor.features(x, None)
        self.ref_probabilities = self._probabilities(x)
        xt, _ = clip_arrays(self.source, "train", labels_required=False)
        self.train_features = self.extractor.features(xt, None)
        self.bins = max(2, min(NDB_BINS, self.num // 10))
        self.kmeans = ndb_bins(self.train_features, self.bins, ev.seed)  # fitted once
        self.bins = int(self.kmeans.n_clusters)
        if ev.baseline_split is not None:
            xb, _ = self._subset(ev.baseline_split, rng)
            ev.baselines.update(self._metrics(xb, None, memorised=False))  # its FD
            if self.ref_probabilities is not None:
                ev.baselines["inception_score"] = inception_score(self.ref_probabilities)
            ev.baselines["ndb"] = ndb(self.train_features, self.ref_features,
                                      self.kmeans)["fraction"]
            if self.ref_probabilities is not None and self.ref_labels is not None:
                ev.baselines["label_accuracy"] = float(
                    (self.ref_probabilities.argmax(-1) == self.ref_labels).mean())
            ev.baselines["memorised"] = MEMORISATION_PERCENTILE / 100.0

    def _subset(self, split, rng):
        from tfgen.metrics.features import clip_arrays

        x, y = clip_arrays(self.source, split, labels_required=False)
        if len(x) < self.num:
            raise UserError(f"split {split!r} has {len(x)} clips, fewer than --num {self.num}")
        idx = np.sort(rng.choice(len(x), self.num, replace=False))
        return x[idx], None if y is None else y[idx]

    def _probabilities(self, x):
        if not self.extractor.classifies:
            return None
        logits = self.extractor.model.predict(np.asarray(x, np.float32), batch_size=256,
                                              verbose=0).astype(np.float64)
        logits -= logits.max(-1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(-1, keepdims=True)

    def _metrics(self, x, labels=None, memorised: bool = True) -> dict:
        from tfgen.metrics.distances import frechet_distance, memorisation

        fake = self.extractor.features(x, None)
        out = {"frechet_distance": frechet_distance(self.ref_features, fake)}
        if not memorised:  # the baseline side: its FD is what `__init__` keeps
            return out
        probabilities = self._probabilities(x)
        if probabilities is not None:
            out["inception_score"] = inception_score(probabilities)
            if labels is not None:
                out["label_accuracy"] = float((probabilities.argmax(-1) == labels).mean())
        detail = ndb(self.train_features, fake, self.kmeans)
        out.update(ndb=detail["fraction"], ndb_detail=detail)
        if self.ev.memorisation:
            found = memorisation(fake, self.ref_features, self.train_features,
                                 MEMORISATION_PERCENTILE)
            out.update(memorised=found["fraction"], memorised_detail=found)
        return out

    def names(self, model):
        if self.extractor is None:
            return []
        names = ["frechet_distance", "ndb"]
        if self.extractor.classifies:
            names.insert(0, "inception_score")
            if model.conditional and self.ref_labels is not None:
                names.append("label_accuracy")
        if self.ev.memorisation:
            names.append("memorised")
        return names

    def values(self, model):
        if self.extractor is None:
            return {}
        labels = None
        if model.conditional and self.ref_labels is not None:
            labels = model.sample_labels(self.num, self.ref_labels)  # the data's classes
        samples = self.ev.sample(model, self.num, labels)
        return self._metrics(Audio.clips(samples, self.info.spectrogram or {}), labels)

    def card(self, name, card, details):
        if self.extractor is None:
            return
        card["features"] = self.extractor.card
        if self.info.spectrogram:
            card["inverted"] = (f"spectrogram images to clips by "
                                f"{self.info.spectrogram['griffin_lim_iterations']} Griffin-Lim "
                                "iterations")
        definitions = {
            "inception_score": "exp E_x KL(p(y|x) || p(y)) of the classifier's predictions "
            "on the samples (one split); baseline: the reference clips'",
            "frechet_distance": "Fréchet distance between the classifier's features of the "
            "samples and of the reference clips; baseline: as many baseline-split clips",
            "label_accuracy": "the classifier's accuracy on samples against their "
            "conditioning labels; baseline: on the reference clips",
            "ndb": f"fraction of {self.bins} k-means bins of the train clips' features whose "
            "share of the samples differs (two-proportion z-test, 0.05; Richardson & Weiss "
            "2018); baseline: the reference clips'",
            "memorised": "fraction of samples nearer (features) to a train clip than the "
            "reference clips' 1st-percentile distance; 0.01 for new clips"}
        card["definition"] = definitions[name]
        if name == "ndb":
            card["detail"] = {k: details["ndb_detail"][k] for k in ("count", "bins", "alpha")}
        if name == "memorised":
            card["detail"] = details["memorised_detail"]


class Audio(Modality):
    name: ClassVar[str] = "audio"
    title: ClassVar[str] = "audio"
    writers: ClassVar[tuple[str, ...]] = (".wav", ".zip", ".png", ".npy")
    default_out: ClassVar[str] = "samples.wav"
    metrics: ClassVar[dict[str, str]] = {
        "inception_score": "max", "frechet_distance": "min", "label_accuracy": "max",
        "ndb": "min", "memorised": "min"}
    default_networks: ClassVar[dict[str, str]] = {"gan": "wavegan", "vae": "conv"}
    gan_networks: ClassVar[tuple[str, ...]] = ("wavegan", "specgan")

    def default_metric(self, likelihood):
        return "nll" if likelihood else "frechet_distance"

    def sample_metrics(self, evaluator, num, features, cache_dir, progress, cas=False,
                       cas_steps=1000):
        return AudioMetrics(evaluator, num, features, cache_dir, progress)

    # -- networks -----------------------------------------------------------------------------

    def vae(self, info, likelihood, **options):
        """A spectrogram VAE: the image VAE (`tfgen.VAE` with `tfgen.networks`' conv or mlp
        encoder and decoder) on the clips' normalised log-magnitude images
        (`data.representation=spectrogram`, the SpecGAN representation: linear frequency, so
        that Griffin-Lim inverts it without a mel pseudo-inverse), with the likelihood the
        config names (the presets: a Gaussian of learned scale per value)."""
        if info.representation != "spectrogram":
            raise OptionError("network", "a VAE on audio trains on spectrogram images: set "
                              "data.representation=spectrogram (a waveform decoder is not "
                              "built)")
        return super().vae(info, likelihood, **options)

    def gan(self, info, *, network, latent_dim, width, depth, spectral_norm, conditional, pac,
            orthogonal, binary=False, phase_shuffle: int = 2, pixel_range="symmetric", **_):
        """WaveGAN (Donahue et al. 2019) on clips: `tfgen.networks.wavegan` at the clips'
        length, model size `width` (the paper's d = 64), phase shuffle `phase_shuffle`; or
        SpecGAN on spectrogram images (`data.representation=spectrogram`): the DCGAN networks
        at the images' 128 x 128 (five stride-2 (transposed) convolutions, as the paper's).
        PacGAN packs `pac` examples as channels."""
        from tfgen import networks
        from tfgen.models import GAN
        from tfgen.networks import wavegan

        spectrograms = info.representation == "spectrogram"
        if network not in self.gan_networks:
            raise OptionError("network", f"audio takes the GAN networks wavegan (clips) and "
                              f"specgan (spectrograms); got {network!r}")
        rules.check_audio_gan(network, info.representation)
        if binary or orthogonal:
            raise OptionError("binary" if binary else "orthogonal",
                              f"{network} has no binary neurons or orthogonal regularisation")
        classes = info.num_classes if conditional else None
        if spectrograms:
            return (*networks.build_gan_networks(
                info, network="dcgan", latent_dim=latent_dim, width=width,
                spectral_norm=spectral_norm, conditional=conditional, pac=pac,
                pixel_range=pixel_range), GAN, {})
        length, channels = info.shape
        return (wavegan.wavegan_generator(latent_dim, length, channels, width, classes),
                wavegan.wavegan_discriminator((length, channels * pac), width, classes,
                                              spectral_norm, phase_shuffle), GAN, {})

    @staticmethod
    def clips(samples, context) -> np.ndarray:
        """Samples as clips [N, samples, 1]: themselves, or spectrogram images inverted by
        Griffin-Lim with the settings the data recorded (`context`)."""
        samples = np.asarray(samples, np.float32)
        if not context.get("frame_step"):
            if samples.ndim != 3:
                raise UserError("these samples are spectrogram images, and the run records no "
                                "spectrogram settings to turn them into sound (its metrics.json "
                                "is missing: let the run finish, or resume it)")
            return samples
        from tfgen.data.spectrograms import to_waveforms

        return to_waveforms(samples, context)

    def value_range(self, pixel_range):
        """Exported samples are clips in [-1, 1] (spectrograms through `export_output`)."""
        return (-1.0, 1.0)

    def export_output(self, options, context):
        """A spectrogram model's SavedModel returns sound: its images through the
        normaliser's inverse and Griffin-Lim (`waveforms(images)` endpoint as well)."""
        if options.representation != "spectrogram":
            return None
        if not context.get("frame_step"):
            raise UserError("this run records no spectrogram settings to export sound (its "
                            "metrics.json is missing: let the run finish, or resume it)")
        from tfgen.data.spectrograms import to_waveforms_tensor

        return "waveforms", lambda images: to_waveforms_tensor(images, context)

    # -- samples out --------------------------------------------------------------------------

    def write_other(self, samples, path, context):
        from tfgen.data.audio import wav_bytes, write_wav

        clips, rate = self.clips(samples, context), _rate(context)
        ext = os.path.splitext(path)[1].lower()
        if ext == ".png":
            from tfgen.callbacks import images

            images.save_png(self.picture(clips, rate), path)
        elif ext == ".zip":  # one WAV per clip
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                for i, clip in enumerate(clips):
                    archive.writestr(f"sample_{i:03d}.wav", wav_bytes(clip, rate))
            fileio.write_bytes(path, buffer.getvalue())
        else:
            names = self.numbered_paths(path, len(clips))
            for clip, name in zip(clips, names, strict=True):
                write_wav(name, clip, rate)
            return names
        return None

    # -- TensorBoard --------------------------------------------------------------------------

    @staticmethod
    def spectrogram(clip, rate: int, frame: int = 256, hop: int = 64) -> np.ndarray:
        """Log-magnitude STFT of one clip in dB (Hann window), [frequencies, frames], low
        frequencies last (a picture's bottom)."""
        x = np.asarray(clip, np.float64).reshape(-1)
        if len(x) < frame:
            x = np.pad(x, (0, frame - len(x)))
        starts = np.arange(0, len(x) - frame + 1, hop)
        frames = np.stack([x[s:s + frame] for s in starts]) * np.hanning(frame)
        magnitude = np.abs(np.fft.rfft(frames, axis=1)).T
        return (20 * np.log10(magnitude + 1e-5))[::-1]

    def picture(self, clips, rate: int, columns: int = 4, floor_db: float = -80.0) -> np.ndarray:
        """The clips' spectrograms (`spectrogram`, magma colours over 80 dB below the loudest
        bin) in a grid of `columns`, white lines between."""
        from matplotlib import colormaps

        cmap = colormaps["magma"]
        tiles = []
        for clip in clips:
            s = self.spectrogram(clip, rate)
            s = np.clip((s - s.max() - floor_db) / -floor_db, 0.0, 1.0)
            tile = (cmap(s)[..., :3] * 255).astype(np.uint8)
            tiles.append(np.repeat(np.repeat(tile, 2, axis=0), 2, axis=1))
        h, w = tiles[0].shape[:2]
        rows = -(-len(tiles) // columns)
        grid = np.full((rows * (h + 2) - 2, columns * (w + 2) - 2, 3), 255, np.uint8)
        for i, tile in enumerate(tiles):
            r, c = divmod(i, columns)
            grid[r * (h + 2):r * (h + 2) + h, c * (w + 2):c * (w + 2) + w] = tile
        return grid

    def context(self, source):
        """The rate, and for spectrograms the STFT, normalisation and Griffin-Lim settings."""
        return {"sample_rate": source.info.sample_rate, **(source.info.spectrogram or {})}

    def summary_samples(self, default):
        return min(default, 8)

    def pictures(self, model, samples, context):
        return {"generated": self.picture(self.clips(samples, context), _rate(context))}

    def sounds(self, model, samples, context):
        """The samples, played in TensorBoard's Audio tab."""
        return {"generated": (np.clip(self.clips(samples, context), -1.0, 1.0), _rate(context))}


def _rate(context) -> int:
    """The run's sample rate (recorded with it); one line when a run never recorded it."""
    rate = context.get("sample_rate")
    if not rate:
        raise UserError("the run records no sample rate (its metrics.json is missing: let the "
                        "run finish, or resume it)")
    return int(rate)

