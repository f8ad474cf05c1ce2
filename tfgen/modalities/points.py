"""2-D points (the Gaussian mixtures ring8 and grid25): mode metrics, scatter plots."""

from __future__ import annotations

from typing import ClassVar

from tfgen.errors import UserError
from tfgen.modalities.base import Modality, SampleMetrics

MIXTURE_SAMPLES = 2500  # PacGAN protocol
MODE_METRICS = ("modes_covered", "high_quality", "reverse_kl")


class PointMetrics(SampleMetrics):
    """Modes covered, high-quality fraction and reverse KL of `num` samples (PROTOCOLS.md
    section 1); baseline: the first `num` real points of the reference split."""

    def __init__(self, evaluator, num):
        from tfgen.metrics.modes import mode_metrics

        self.ev, self.num = evaluator, num or MIXTURE_SAMPLES
        self.mixture = evaluator.info.mixture
        if self.mixture is None:
            raise UserError(f"dataset {evaluator.info.name!r}: points without a known mixture "
                            "cannot be evaluated")
        evaluator.baseline_split = evaluator.split
        x, _ = evaluator.source.numpy(evaluator.split)
        q = mode_metrics(x[:self.num], self.mixture.means, self.mixture.std)
        evaluator.baselines.update({k: q[k] for k in MODE_METRICS})

    def names(self, model):
        return list(MODE_METRICS)

    def values(self, model):
        from tfgen.metrics.modes import mode_metrics

        q = mode_metrics(self.ev.sample(model, self.num), self.mixture.means, self.mixture.std)
        return {k: q[k] for k in MODE_METRICS}

    def card(self, name, card, details):
        card.update(reference="mixture means, high quality within 3 std (PacGAN)",
                    std=self.mixture.std)


class Points(Modality):
    name: ClassVar[str] = "points"
    title: ClassVar[str] = "2-D points"
    writers: ClassVar[tuple[str, ...]] = (".png", ".npy")
    cheap_metrics: ClassVar[str | None] = "mode metrics"
    default_networks: ClassVar[dict[str, str]] = {"gan": "mlp", "vae": "mlp"}
    metrics: ClassVar[dict[str, str]] = {"modes_covered": "max", "high_quality": "max",
                                         "reverse_kl": "min"}

    def default_metric(self, likelihood):
        return "reverse_kl"

    def value_range(self, pixel_range):
        return None  # points are not scaled

    def sample_metrics(self, evaluator, num, features, cache_dir, progress, **_):
        return PointMetrics(evaluator, num)

    def write_other(self, samples, path, context):
        from tfgen.callbacks import images

        images.save_png(images.scatter_plot(samples, context.get("modes")), path)

    def summary_samples(self, default):
        return MIXTURE_SAMPLES  # as many points as the evaluation draws: the plot shows coverage

    def pictures(self, model, samples, context):
        from tfgen.callbacks import images

        return {"generated": images.scatter_plot(samples, context.get("modes"),
                                                 title=context.get("title", ""))}
