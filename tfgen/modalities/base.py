"""`Modality`, the interface of a kind of samples, and `SampleMetrics`, its side of an
`Evaluator` (see `tfgen.modalities`)."""

from __future__ import annotations

import io
import os
from typing import ClassVar

import numpy as np

from tfgen import fileio
from tfgen.errors import OptionError, UserError


class SampleMetrics:
    """The sample-quality metrics of one modality for an `Evaluator`: built once with the
    reference side (features, real-vs-real baselines in `evaluator.baselines`), then asked for
    the metrics that apply to a model (`names`), their values (`values`) and what their cards
    add (`card`). The evaluator adds the likelihood metrics of models that have one."""

    extractor = None  # a feature extractor, where the modality's metrics use one
    num: int = 0  # generated samples per evaluation

    def names(self, model) -> list[str]:
        return []

    def values(self, model) -> dict:
        """{metric: value}, plus details (non-numbers) the cards take."""
        return {}

    def card(self, name: str, card: dict, details: dict) -> None:
        """Add the measurement's particulars to the card of metric `name`."""


class Modality:
    """What depends on the kind of samples a dataset holds (the module docstring)."""

    name: ClassVar[str]
    title: ClassVar[str]
    writers: ClassVar[tuple[str, ...]] = (".npy",)  # what `tfgen sample --out` may end in
    default_out: ClassVar[str] = "samples.png"  # ... and what it writes without --out
    images: ClassVar[bool] = False  # samples are images [B, H, W, C] (image-only ingredients)
    metrics: ClassVar[dict[str, str]] = {}  # its metrics' directions: "min" or "max" is better
    # what its metrics without a feature extractor are called (None: they all need one) -- the
    # trainer computes those on the test split after every run
    cheap_metrics: ClassVar[str | None] = None
    # the sequence VAE networks its data take (none: the per-value networks of tfgen.VAE)
    sequence_networks: ClassVar[tuple[str, ...]] = ()

    def value_range(self, pixel_range: str):
        """(low, high) of samples of data scaled to `pixel_range` (None: unbounded)."""
        from tfgen.data.options import value_range

        return value_range(pixel_range)

    def export_output(self, options, context: dict):
        """What an exported model's `sample` turns its samples into, as (endpoint name, a
        function of a batch of samples in TensorFlow ops), the endpoint applying it to given
        samples; None: the samples as they are. `options`: the run's `DataOptions`; `context`:
        what it recorded (`context`)."""
        return None

    # -- evaluation ---------------------------------------------------------------------------

    def default_metric(self, likelihood: bool) -> str:
        """The metric a run selects and a search optimises unless told otherwise."""
        raise NotImplementedError

    def sample_metrics(self, evaluator, num, features, cache_dir, progress, cas=False,
                       cas_steps=1000) -> SampleMetrics:
        """The `SampleMetrics` of `evaluator` (its source, split, seed and baseline split);
        `cas`: also the metric that trains a model on samples, where the modality has one."""
        return SampleMetrics()

    likelihood_metrics: ClassVar[tuple[str, ...]] = ()  # more figures of the NLL estimate

    def likelihood_card(self, card: dict, info) -> None:
        """Add the modality's units to an NLL card (nats per example already there)."""

    latent_metrics: ClassVar[bool] = False  # also KL, I(x; z), active units of a VAE's code

    def likelihood_metric_card(self, name: str, card: dict, values: dict) -> None:
        """Add the particulars of one of `likelihood_metrics` to its card."""

    def likelihood_values(self, log_px, x) -> dict:
        """The `likelihood_metrics` (and their details) from log p(x) of the examples x."""
        return {}

    # -- networks -----------------------------------------------------------------------------

    default_networks: ClassVar[dict[str, str]] = {}  # family -> its default network here
    # the GAN networks its data take (`tfgen.networks.build.GAN_NETWORKS` names)
    gan_networks: ClassVar[tuple[str, ...]] = ("mlp", "dcgan", "resnet", "biggan")

    def vae(self, info, likelihood, *, network: str, latent_dim: int, width: int, depth: int,
            conditional: bool, dropout: float, context_dim: int = 0, **sequence):
        """(encoder, decoder, model class, its extra keyword arguments) of a VAE on data
        `info`: `tfgen.networks.build_vae_networks` and `tfgen.VAE` (per-value likelihoods);
        `sequence` holds the options only sequence modalities take."""
        from tfgen import networks
        from tfgen.models import VAE

        encoder, decoder = networks.build_vae_networks(
            info, params_per_value=likelihood.channels_per_dim, network=network,
            latent_dim=latent_dim, width=width, depth=depth, conditional=conditional,
            dropout=dropout, context_dim=context_dim)
        return encoder, decoder, VAE, {}

    def gan(self, info, *, network: str, latent_dim: int, width: int, depth: int,
            spectral_norm: bool, conditional: bool, pac: int, pixel_range: str,
            orthogonal: float, binary: bool = False, **text):
        """(generator, discriminator, model class, its extra keyword arguments) of a GAN on
        data `info` (`tfgen.networks.build_gan_networks` and `tfgen.GAN`); `text` holds the
        options only the text GAN takes."""
        from tfgen import networks
        from tfgen.models import GAN

        if binary:
            raise OptionError("binary", "binary neurons are for piano-rolls")
        return (*networks.build_gan_networks(
            info, network=network, latent_dim=latent_dim, width=width, depth=depth,
            spectral_norm=spectral_norm, conditional=conditional, pac=pac,
            pixel_range=pixel_range, orthogonal=orthogonal), GAN, {})

    def diagnostics(self, source, labels: bool) -> list:
        """The VAE's `TensorBoardLogger` diagnostics (`LatentDiagnostics` on fixed real
        batches)."""
        from tfgen.callbacks import LatentDiagnostics

        info = source.info
        return [LatentDiagnostics(source.fixed_batch(16, labels), info.value_range,
                                  projector=source.fixed_batch(1000, info.num_classes is not None),
                                  class_names=info.class_names)]

    # -- samples out --------------------------------------------------------------------------

    def check_out(self, path: str) -> str:
        """The extension of a `tfgen sample --out` path, refused (one line) if not one of
        `writers`."""
        ext = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
        if ext not in self.writers:
            choices = f"{', '.join(self.writers[:-1])} or {self.writers[-1]}"
            raise UserError(f"--out must end in {choices} for {self.title}; got {path!r}")
        return ext

    def write(self, samples, path: str, context: dict) -> list[str]:
        """Write samples to `path` by its extension (`check_out`); `context`: the run's facts
        (value_range, modes, columns, column_names, ...). Returns the files written."""
        if self.check_out(path) == ".npy":
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(samples))
            fileio.write_bytes(path, buffer.getvalue())
            return [path]
        return self.write_other(samples, path, context) or [path]

    def write_other(self, samples, path: str, context: dict) -> list[str] | None:
        """Write the samples (not `.npy`); returns the files written when not `path` alone
        (`numbered_paths`)."""
        raise NotImplementedError

    @staticmethod
    def where(written: list[str]) -> str:
        """The files `write` wrote, for a log line: the one, or the first ... the last."""
        return written[0] if len(written) == 1 else f"{written[0]} ... {written[-1]}"

    @staticmethod
    def numbered_paths(path: str, count: int) -> list[str]:
        """One file per sample: `path` itself for one, else STEM_000.EXT, STEM_001.EXT, ..."""
        if count == 1:
            return [path]
        stem, ext = os.path.splitext(path)
        return [f"{stem}_{i:03d}{ext}" for i in range(count)]

    def read_example(self, spec: str, context: dict) -> np.ndarray:
        """One example, packed as the run's data, from what a user names on the command line
        (`tfgen interpolate`): a file of the modality's kind, a sentence."""
        raise UserError(f"{spec}: name an example as SPLIT:INDEX, e.g. test:0")

    # -- TensorBoard --------------------------------------------------------------------------

    def context(self, source) -> dict:
        """The facts of a dataset its pictures and files need beyond the samples."""
        return {}

    def summary_samples(self, default: int) -> int:
        """How many samples the TensorBoard picture draws."""
        return default

    def pictures(self, model, samples, context: dict) -> dict[str, np.ndarray]:
        """Pictures of fixed-noise samples for TensorBoard, by name (uint8 [H, W, C]):
        "generated" at least (also written to the run's samples folder)."""
        raise NotImplementedError

    def texts(self, model, samples, context: dict) -> dict[str, str]:
        """Markdown for TensorBoard's Text tab by name. None of them by default."""
        return {}

    def sounds(self, model, samples, context: dict) -> dict[str, tuple[np.ndarray, int]]:
        """Sounds for TensorBoard by name: (audio [clips, frames, channels] in [-1, 1], sample
        rate). None of them by default."""
        return {}
