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

from tfgen.errors import UserError
from tfgen.metrics.distances import (
    frechet_distance,
    kernel_inception_distance,
    memorisation,
    prdc,
)
from tfgen.metrics.features import (
    FeatureExtractor,
    dataset_extractor,
    source_arrays,
    subset_arrays,
)
from tfgen.metrics.modes import mode_metrics

# Which way is better, for every metric an Evaluator can report.
DIRECTIONS = {
    "modes_covered": "max", "high_quality": "max", "reverse_kl": "min",
    "frechet_distance": "min", "kid": "min", "precision": "max", "recall": "max",
    "density": "max", "coverage": "max", "class_kl": "min", "memorised": "min",
    "label_accuracy": "max", "intra_fd": "min", "expost_frechet_distance": "min",
    "nll": "min", "elbo": "max", "cas": "max",
}
MEMORISATION_PERCENTILE = 1.0  # PROTOCOLS.md section 4
MIXTURE_SAMPLES = 2500  # PacGAN protocol
# Image metrics on fewer samples a side say nothing: precision/recall/density/coverage draw
# k = 3 and 5 nearest-neighbour balls, and a Fréchet distance's covariances have rank N - 1.
MIN_IMAGE_SAMPLES = 10


def default_metric(kind: str, likelihood: bool) -> str:
    """The metric a run selects and a search optimises unless told otherwise: reverse KL for
    2-D mixtures, NLL for models with a likelihood (VAEs), Fréchet distance for image GANs."""
    return "reverse_kl" if kind == "points" else "nll" if likelihood else "frechet_distance"


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
        cas: for class-conditional models of labelled images, also the classification accuracy
            score (`tfgen.metrics.cas`): a classifier trained on `num` generated images (the
            labels of `num` real training images) and tested on the reference split, beside
            the same classifier trained on those real images (the baseline). Trains two
            classifiers per evaluation.
        cas_steps: training steps of each CAS classifier (batch 64, at least 3 epochs).
    """

    def __init__(self, source, split: str = "test", num: int | None = None, seed: int = 0,
                 features="auto", nll_samples: int = 1000, baseline: bool = True,
                 cache_dir: str | None = None, progress: bool = False,
                 memorisation: bool | None = None, nll_examples: int | None = None,
                 truncation: float | None = None, cas: bool = False, cas_steps: int = 1000):
        self.source, self.info = source, source.info
        self.truncation = truncation
        # (not on the train split: the baseline classifier would be tested on its own images)
        self.cas = (cas and self.info.kind == "images" and bool(self.info.num_classes)
                    and split != "train")
        self.cas_steps = int(cas_steps)
        source.check_split(split)
        self.split, self.seed, self.nll_samples = split, int(seed), int(nll_samples)
        self.nll_examples = nll_examples
        self.baseline_split = next(
            (s for s in ("train", "test", "val") if s in self.info.splits and s != split), None)
        if not baseline:
            self.baseline_split = None
        rng = np.random.default_rng([self.seed, 7])
        self.memorisation = (baseline if memorisation is None else memorisation) and (
            "train" in self.info.splits and split != "train")
        self.extractor = None
        self.baselines: dict[str, float] = {}
        if self.info.kind == "points":
            self.num = num or MIXTURE_SAMPLES
            self._init_points()
        else:
            size = source.num_examples(split)
            default = min(size, 10_000)
            if self.baseline_split is not None and features is not None:
                default = min(default, source.num_examples(self.baseline_split))
            self.num = num or default
            if self.num < MIN_IMAGE_SAMPLES and features is not None:
                raise UserError(f"image metrics need at least {MIN_IMAGE_SAMPLES} samples a "
                                f"side; got {self.num} (the {split} split has {size} examples)")
            if self.num > size:
                raise UserError(f"--num {self.num} exceeds the {split} split's {size} examples "
                                "(image metrics compare equal sample counts)")
            if features is not None:
                self.extractor = (features if isinstance(features, FeatureExtractor)
                                  else dataset_extractor(source, cache_dir, progress)
                                  if features == "auto" else FeatureExtractor.from_file(features))
                self._init_images(rng)
        self._reference_for_nll: dict[bool, tuple] = {}  # likelihood_arrays, read once

    # -- reference side -------------------------------------------------------------------------

    def _init_points(self):
        """Baseline: the first `num` real points of the reference split."""
        if self.info.mixture is None:
            raise UserError(f"dataset {self.info.name!r}: points without a known mixture cannot "
                            "be evaluated")
        self.baseline_split = self.split
        x, _ = self.source.numpy(self.split)
        m = self.info.mixture
        q = mode_metrics(x[:self.num], m.means, m.std)
        self.baselines.update({k: q[k] for k in ("modes_covered", "high_quality", "reverse_kl")})

    def _subset(self, split, rng):
        x, y = source_arrays(self.source, split,
                             None if self.source.in_memory else self.num * 4,
                             labels_required=False)
        if len(x) < self.num:
            raise UserError(f"split {split!r} has {len(x)} examples, fewer than --num {self.num}")
        idx = np.sort(rng.choice(len(x), self.num, replace=False))
        return x[idx], None if y is None else y[idx]

    def _unit_pixels(self, x) -> np.ndarray:
        return FeatureExtractor._unit(x, self.info.value_range).reshape(len(x), -1)

    def _init_images(self, rng):
        vr = self.info.value_range
        x, self.ref_labels = self._subset(self.split, rng)
        self.ref_features = self.extractor.features(x, vr)
        self.ref_accuracy = None
        if self.extractor.classifies and self.ref_labels is not None:
            predicted = self.extractor.predict_classes(x, vr)
            self.ref_accuracy = float((predicted == self.ref_labels).mean())
        if self.memorisation:
            xt, _ = source_arrays(self.source, "train", labels_required=False)
            self.train_features = self.extractor.features(xt, vr)
            self.train_pixels = self._unit_pixels(xt)
            self.ref_pixels = self._unit_pixels(x)
        if self.baseline_split is not None:
            xb, yb = self._subset(self.baseline_split, rng)
            self.baselines.update(self._image_metrics(xb, yb, memorised=False))
            self.baselines.pop("label_accuracy", None)
            if self.ref_accuracy is not None:  # how well the extractor classifies real images
                self.baselines["label_accuracy"] = self.ref_accuracy

    def _intra_fd(self, features, labels) -> tuple[float, list]:
        per_class = []
        for c in range(self.info.num_classes):
            ref, gen = self.ref_features[self.ref_labels == c], features[labels == c]
            per_class.append(frechet_distance(ref, gen) if min(len(ref), len(gen)) > 1
                             else float("nan"))
        return float(np.nanmean(per_class)), per_class

    def _image_metrics(self, x, labels=None, memorised: bool = True) -> dict:
        """Image metrics of samples `x`; `labels`: the classes they were generated (or are
        labelled) with, for the conditional metrics."""
        fake = self.extractor.features(x, self.info.value_range)
        kid, kid_std = kernel_inception_distance(self.ref_features, fake, seed=self.seed)
        out = {"frechet_distance": frechet_distance(self.ref_features, fake), "kid": kid,
               "kid_std": kid_std}
        out.update({k: v for k, v in prdc(self.ref_features, fake).items()
                    if not k.startswith("k_")})
        if self.extractor.classifies and self.ref_labels is not None:
            predicted = self.extractor.predict_classes(x, self.info.value_range)
            out["class_kl"] = class_distribution_kl(predicted, self.ref_labels,
                                                    self.info.num_classes)
            if labels is not None:
                out["label_accuracy"] = float((predicted == labels).mean())
        if labels is not None and self.ref_labels is not None:
            out["intra_fd"], out["intra_fd_per_class"] = self._intra_fd(fake, labels)
        if memorised and self.memorisation:
            features = memorisation(fake, self.ref_features, self.train_features,
                                    MEMORISATION_PERCENTILE)
            pixels = memorisation(self._unit_pixels(x), self.ref_pixels, self.train_pixels,
                                  MEMORISATION_PERCENTILE)
            out["memorised"] = features["fraction"]
            out["memorised_detail"] = {"feature_space": features, "pixel_space": pixels}
        return out

    # -- what applies -----------------------------------------------------------------------------

    def available(self, model) -> list[str]:
        """Names of the metrics this evaluator reports for `model`."""
        names = []
        conditional = model.conditional and self.info.kind == "images"
        if self.info.kind == "points":
            names += ["modes_covered", "high_quality", "reverse_kl"]
        elif self.extractor is not None:
            names += ["frechet_distance", "kid", "precision", "recall", "density", "coverage"]
            if self.extractor.classifies:
                names.append("class_kl")
            if self.memorisation:
                names.append("memorised")
            if conditional and self.ref_labels is not None:
                if self.extractor.classifies:
                    names.append("label_accuracy")
                names.append("intra_fd")
            if model.has_expost and self.truncation is None:
                names.append("expost_frechet_distance")
        if conditional and self.cas:
            names.append("cas")
        if model.has_likelihood:
            names += ["nll", "elbo"]
        return names

    # -- model side -------------------------------------------------------------------------------

    def values(self, model, progress=None) -> dict[str, float]:
        """{metric: value} for `model` (see `available`); the per-class and memorisation
        details of the same evaluation are kept in `self.details` for the cards. `progress(n)`:
        called with the examples done of the likelihood estimate (its slow part)."""
        out = {}
        if self.info.kind == "points":
            m = self.info.mixture
            q = mode_metrics(self._sample(model), m.means, m.std)
            out.update({k: q[k] for k in ("modes_covered", "high_quality", "reverse_kl")})
        elif self.extractor is not None:
            labels = None
            if model.conditional and self.ref_labels is not None:
                labels = model.sample_labels(self.num, self.ref_labels)  # the data's classes
            samples = self._sample(model, labels)
            out.update(self._image_metrics(samples, labels))
            if model.has_expost and self.truncation is None:
                expost = model.sample(self.num, seed=self.seed, sampler="expost")
                fake = self.extractor.features(expost, self.info.value_range)
                out["expost_frechet_distance"] = frechet_distance(self.ref_features, fake)
        if self.cas and model.conditional:
            out.update(self._cas(model))
        if model.has_likelihood:
            out.update(self._likelihood(model, progress))
        self.details = {k: v for k, v in out.items() if not isinstance(v, (int, float))}
        return {k: v for k, v in out.items() if k not in self.details}

    def _cas(self, model) -> dict:
        from tfgen.metrics.cas import classification_accuracy

        rng = np.random.default_rng([self.seed, 11])
        x_train, y_train = source_arrays(self.source, "train")
        idx = np.sort(rng.choice(len(x_train), min(self.num, len(x_train)), replace=False))
        x_test, y_test = source_arrays(self.source, self.split)
        extra = {} if self.truncation is None else {"truncation": self.truncation}
        result = classification_accuracy(model, x_train[idx], y_train[idx], x_test, y_test,
                                         self.info.num_classes, self.info.value_range,
                                         seed=self.seed, steps=self.cas_steps,
                                         sample_kwargs=extra)
        self.baselines["cas"] = result["real_accuracy"]
        return {"cas": result["cas"], "cas_detail": result}

    def _sample(self, model, labels=None):
        extra = {} if self.truncation is None else {"truncation": self.truncation}
        return model.sample(self.num, seed=self.seed, labels=labels, **extra)

    def _likelihood(self, model, progress=None) -> dict:
        x, y = self.likelihood_arrays(model)
        labels = y if model.conditional else None
        log_px = model.log_likelihood(x, labels, num_samples=self.nll_samples, seed=self.seed,
                                      progress=progress)
        elbo = model.elbo(x, labels, seed=self.seed)
        sem = float(np.std(log_px, ddof=1) / np.sqrt(len(log_px))) if len(log_px) > 1 else 0.0
        return {"nll": float(-np.mean(log_px)), "elbo": float(np.mean(elbo)), "nll_se": sem,
                "nll_examples": len(log_px)}

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
            card = {"metric": name, "value": values[name], "better": DIRECTIONS[name],
                    "baseline": self.baselines.get(name), "reference_split": self.split,
                    "baseline_split": self.baseline_split if name in self.baselines else None,
                    "seed": self.seed}
            if name in ("nll", "elbo"):
                card.update(num_reference=int(values["nll_examples"]), unit="nats per example",
                            standard_error=values["nll_se"] if name == "nll" else None)
                if name == "nll":
                    card["importance_samples"] = self.nll_samples
                    if self.info.kind == "images":  # NLL / (D ln 2)
                        dims = int(np.prod(self.info.shape))
                        card["bits_per_dim"] = values[name] / (dims * np.log(2.0))
                        if card["baseline"] is not None:
                            card["baseline_bits_per_dim"] = card["baseline"] / (dims * np.log(2))
            else:
                card.update(num_generated=self.num, num_reference=self.num)
            if self.info.kind == "points" and name not in ("nll", "elbo"):
                card.update(reference="mixture means, high quality within 3 std (PacGAN)",
                            std=self.info.mixture.std)
            if self.extractor is not None and name not in ("nll", "elbo"):
                card["features"] = self.extractor.card
                if name in ("precision", "recall"):
                    card["k"] = 3
                elif name in ("density", "coverage"):
                    card["k"] = 5
                elif name == "kid":
                    card.update(std=values["kid_std"], kernel="(x.y/d + 1)^3", subsets=100,
                                subset_size=min(1000, self.num),
                                baseline_std=self.baselines.get("kid_std"))
                elif name == "memorised":  # real held-out images: the percentile, by definition
                    card.update(baseline=MEMORISATION_PERCENTILE / 100.0,
                                baseline_split=self.split)
                    card.update(self.details["memorised_detail"], train_split="train",
                                percentile=MEMORISATION_PERCENTILE,
                                expected_for_new_data=MEMORISATION_PERCENTILE / 100.0,
                                definition="fraction of samples nearer (features) to a train "
                                "image than the reference images' 1st-percentile distance")
                elif name == "intra_fd":
                    card.update(per_class=self.details["intra_fd_per_class"],
                                baseline_per_class=self.baselines.get("intra_fd_per_class"),
                                class_names=list(self.info.class_names or []))
                elif name == "label_accuracy":
                    card["definition"] = ("extractor's accuracy on samples against their "
                                          "conditioning labels; baseline: on reference images")
                elif name == "cas":
                    detail = self.details["cas_detail"]
                    card.update(num_generated=detail["num_train"],
                                num_reference=detail["num_test"], baseline_split="train",
                                classifier_steps=detail["steps"], epochs=detail["epochs"],
                                definition="test accuracy of a classifier trained on generated "
                                "(image, label) pairs only (Ravuri & Vinyals 2019); baseline: "
                                "the same classifier trained on as many real train images")
                    card.pop("features", None)
                elif name == "expost_frechet_distance":
                    card["sampler"] = "ex-post Gaussian mixture on the training codes"
            cards[name] = card
        return cards
