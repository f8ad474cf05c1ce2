"""Evaluate a trained generative model against a dataset: every metric that applies, each with its
card and a real-vs-real baseline.

- 2-D mixtures (ring8, grid25): modes covered, high-quality fraction and reverse KL on 2,500
  samples (PROTOCOLS.md section 1); baseline: 2,500 points of the reference split.
- Images: Fréchet distance, KID, precision/recall (k = 3), density/coverage (k = 5) in the
  feature space of a feature extractor, and, when the extractor classifies, the class
  distribution KL; baseline: the same number of train-split images against the reference split.
- Memorisation (images, when the reference split is not the training split): the fraction of
  generated samples closer to a training image than 99% of the reference images are, in
  feature space and in pixels (PROTOCOLS.md section 4).
- Conditional models: the extractor's accuracy on generated images against their conditioning
  labels (baseline: its accuracy on the reference images), and the intra-class Fréchet distance
  (mean over classes; per class in the card).
- Models with a likelihood (VAEs): NLL (IWAE bound, K importance samples, also in bits per
  dimension for images) and ELBO on the reference split, in nats per example; VAEs with a
  fitted ex-post density also the Fréchet distance of ex-post samples.

One `Evaluator` computes the reference side (features, baselines) once and is then called on
models: by `tfgen evaluate`, by the `Evaluation` callback during training and by the tuner.
"""

from __future__ import annotations

import numpy as np

from tfgen import modalities
from tfgen.metrics.features import subset_arrays
from tfgen.modalities.images import MEMORISATION_PERCENTILE, MIN_IMAGE_SAMPLES  # noqa: F401
from tfgen.modalities.points import MIXTURE_SAMPLES  # noqa: F401

# Which way is better, for every metric an Evaluator can report: each modality's, and the
# likelihood's.
DIRECTIONS = {name: better for kind in modalities.REGISTRY
              for name, better in modalities.get(kind).metrics.items()}
DIRECTIONS.update(nll="min", elbo="max", kl="match", mutual_information="max",
                  active_units="max")
# What a VAE's code carries, for modalities that report it (`Modality.latent_metrics`): KL per
# example (closed form against N(0, I)), I(x; z) (He et al. 2019) and active units (Burda et
# al. 2016), on the examples of the NLL.
LATENT_METRICS = {
    "kl": "mean over examples of KL(q(z|x) ‖ N(0, I)), nats (closed form)",
    "mutual_information": "I(x; z) under the encoder (He et al. 2019): E[log q(z|x)] - "
    "E[log q(z)], q(z) the aggregate posterior of these examples, one draw each; at most log N",
    "active_units": "latent dimensions with Cov_x(E_q[z_d]) > 0.01 (Burda et al. 2016)"}


def default_metric(kind: str, likelihood: bool) -> str:
    """The metric a run selects and a search optimises unless told otherwise (the modality's:
    reverse KL for 2-D mixtures, NLL for models with a likelihood, Fréchet distance for image
    GANs)."""
    return modalities.get(kind).default_metric(likelihood)


def class_distribution_kl(predicted, reference_labels, num_classes: int) -> float:
    """KL(p ‖ q) in nats between the histogram p of predicted classes of generated samples and
    the class frequencies q of the reference labels; 0 when samples spread over classes as the
    data do (a class with no sample contributes 0; a class absent from q is smoothed)."""
    p = np.bincount(np.asarray(predicted), minlength=num_classes).astype(np.float64)
    q = np.bincount(np.asarray(reference_labels), minlength=num_classes).astype(np.float64)
    p, q = p / p.sum(), (q + 1e-12) / (q + 1e-12).sum()
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))


def collapse(values: dict, num_classes: int | None) -> str | None:
    """Why `values` (an `Evaluator`'s) show mode collapse, or None: nearly all samples in one
    class (class KL at least 90% of its maximum, log C), or a mixture model whose high-quality
    samples (at least half of them) sit on a single mode."""
    if "class_kl" in values and num_classes and values["class_kl"] >= 0.9 * np.log(num_classes):
        return f"class KL {values['class_kl']:.3f} of at most {np.log(num_classes):.3f}: one class"
    if "modes_covered" in values and values["high_quality"] >= 0.5 and values["modes_covered"] <= 1:
        return f"{values['high_quality']:.0%} high-quality samples, all on one mode"
    return None


class Sampler:
    """What the `Evaluator` asks of a model, for stand-ins that are not a `GenerativeModel`
    (e.g. a plain Keras generator): subclass it and implement `sample`."""

    conditional = False  # sample(num, seed, labels) takes class labels
    num_classes: int | None = None
    has_expost = False  # sample(..., sampler="expost")
    has_likelihood = False  # log_likelihood / elbo

    def sample(self, num: int, seed: int = 0, labels=None):
        raise NotImplementedError

    def sample_labels(self, num: int, labels=None):
        """Conditional models: the labels `sample` uses for `num` samples (given ones cycled)."""
        raise NotImplementedError


class Evaluator:
    """Metrics of a generative model's samples against one split of its dataset.

    Args:
        source: the `tfgen.data` source the model was trained on.
        split: reference split ("test" for reports; "val" for model selection during training).
        num: generated samples (default: 2,500 for mixtures; for images the reference split's
            size, at most 10,000 and at most the baseline split's). Image metrics compare equal
            counts, so `num` may not exceed the reference split; at least `MIN_IMAGE_SAMPLES`.
        seed: seed of the generated samples and of the subsets drawn.
        features: "auto" (tfgen's cached classifier for the dataset), a Keras model file, a
            `FeatureExtractor`, or None (no image metrics).
        nll_samples: importance samples K of the NLL (models with `log_likelihood`).
        baseline: also compute the real-vs-real baselines.
        memorisation: report the memorisation metric (needs a train split other than `split`;
            default: with the baselines).
        nll_examples: estimate the NLL and ELBO on N examples of the split (None: all): a fixed
            random subset of an in-memory split, the first N of a streamed one. K = 1,000
            importance samples of a 28x28 conv decoder cost about 1M decoder passes per 1,000
            images; the card states N and the standard error.
        cache_dir: where tfgen's extractors are cached (default: `features.cache_dir()`).
        truncation: sample with the truncation trick's ψ (see `GenerativeModel.latent`;
            None: off).
        cas: also the metric that trains a model on generated samples: for class-conditional
            models of labelled images the classification accuracy score (`tfgen.metrics.cas`):
            a classifier trained on `num` generated images (the labels of `num` real training
            images) and tested on the reference split, beside the same classifier trained on
            those real images (the baseline); for text the reverse PPL
            (`tfgen.metrics.language_model`). Trains two models per evaluation.
        cas_steps: training steps of each of those models (batch 64).
    """

    def __init__(self, source, split: str = "test", num: int | None = None, seed: int = 0,
                 features="auto", nll_samples: int = 1000, baseline: bool = True,
                 cache_dir: str | None = None, progress: bool = False,
                 memorisation: bool | None = None, nll_examples: int | None = None,
                 truncation: float | None = None, cas: bool = False, cas_steps: int = 1000):
        self.source, self.info = source, source.info
        self.modality = modalities.get(self.info.kind)
        self.truncation = truncation
        source.check_split(split)
        self.split, self.seed, self.nll_samples = split, int(seed), int(nll_samples)
        self.nll_examples = nll_examples
        self.baseline_split = next(
            (s for s in ("train", "test", "val") if s in self.info.splits and s != split), None)
        if not baseline:
            self.baseline_split = None
        self.memorisation = (baseline if memorisation is None else memorisation) and (
            "train" in self.info.splits and split != "train")
        self.baselines: dict[str, float] = {}
        self.suite = self.modality.sample_metrics(self, num, features, cache_dir, progress,
                                                  cas=cas, cas_steps=cas_steps)
        self._reference_for_nll: dict[bool, tuple] = {}  # likelihood_arrays, read once

    @property
    def num(self) -> int:
        """Generated samples per evaluation."""
        return self.suite.num

    @property
    def extractor(self):
        """The feature extractor of the modality's metrics (None where they use none)."""
        return self.suite.extractor

    @property
    def ref_accuracy(self):
        return getattr(self.suite, "ref_accuracy", None)

    def sample(self, model, num: int, labels=None):
        """`num` samples of `model` at the evaluation's seed (and truncation)."""
        extra = {} if self.truncation is None else {"truncation": self.truncation}
        return model.sample(num, seed=self.seed, labels=labels, **extra)

    # -- what applies -----------------------------------------------------------------------------

    def available(self, model) -> list[str]:
        """Names of the metrics this evaluator reports for `model`."""
        names = self.suite.names(model)
        if model.has_likelihood:
            names += ["nll", "elbo", *self.modality.likelihood_metrics]
            if self._latent(model):
                names += list(LATENT_METRICS)
        return names

    def _latent(self, model) -> bool:
        return self.modality.latent_metrics and getattr(model, "has_code", False)

    # -- model side -------------------------------------------------------------------------------

    def values(self, model, progress=None) -> dict[str, float]:
        """{metric: value} for `model` (see `available`); the per-class and memorisation
        details of the same evaluation are kept in `self.details` for the cards. `progress(n)`:
        called with the examples done of the likelihood estimate (its slow part)."""
        out = dict(self.suite.values(model))
        if model.has_likelihood:
            out.update(self._likelihood(model, progress))
        self.details = {k: v for k, v in out.items() if not isinstance(v, (int, float))}
        return {k: v for k, v in out.items() if k not in self.details}

    def _likelihood(self, model, progress=None) -> dict:
        x, y = self.likelihood_arrays(model)
        labels = y if model.conditional else None
        log_px = model.log_likelihood(x, labels, num_samples=self.nll_samples, seed=self.seed,
                                      progress=progress)
        elbo = model.elbo(x, labels, seed=self.seed)
        sem = float(np.std(log_px, ddof=1) / np.sqrt(len(log_px))) if len(log_px) > 1 else 0.0
        out = {"nll": float(-np.mean(log_px)), "elbo": float(np.mean(elbo)), "nll_se": sem,
               "nll_examples": len(log_px), **self.modality.likelihood_values(log_px, x)}
        if self._latent(model):
            out.update(kl=float(model.kl_per_dimension(x, labels).sum()),
                       mutual_information=model.mutual_information(x, labels, seed=self.seed),
                       active_units=int(model.active_units(x, labels)))
        return out

    def likelihood_arrays(self, model):
        """(x, y) the NLL and ELBO are estimated on, read once: `nll_examples` of the split
        (`subset_arrays`: a fixed random subset of an in-memory split; all when None)."""
        conditional = bool(model.conditional)  # (which needs the labels)
        if conditional not in self._reference_for_nll:
            self._reference_for_nll[conditional] = subset_arrays(
                self.source, self.split, self.nll_examples, labels_required=conditional)
        return self._reference_for_nll[conditional]

    def __call__(self, model) -> dict[str, dict]:
        """Every metric that applies, as {name: card}. A card holds the value, the real-vs-real
        baseline (None where there is none) and how it was measured."""
        values = self.values(model)
        cards = {}
        for name in self.available(model):
            card = {"metric": name, "value": values[name], "better": DIRECTIONS.get(name, "match"),
                    "baseline": self.baselines.get(name), "reference_split": self.split,
                    "baseline_split": self.baseline_split if name in self.baselines else None,
                    "seed": self.seed}
            if name in LATENT_METRICS:
                card.update(num_reference=int(values["nll_examples"]),
                            definition=LATENT_METRICS[name])
            elif name in ("nll", "elbo", *self.modality.likelihood_metrics):
                card.update(num_reference=int(values["nll_examples"]), unit="nats per example",
                            standard_error=values["nll_se"] if name == "nll" else None)
                if name in self.modality.likelihood_metrics:
                    card["importance_samples"] = self.nll_samples
                    self.modality.likelihood_metric_card(name, card, values)
                if name == "nll":
                    card["importance_samples"] = self.nll_samples
                    self.modality.likelihood_card(card, self.info)
            else:
                card.update(num_generated=self.num, num_reference=self.num)
                self.suite.card(name, card, {**values, **self.details})
            cards[name] = card
        return cards
