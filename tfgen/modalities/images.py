"""Images [H, W, C]: Fréchet distance and friends in a feature extractor's space, CAS,
memorisation; sample grids and latent interpolations."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from tfgen.errors import UserError
from tfgen.modalities.base import Modality, SampleMetrics

MEMORISATION_PERCENTILE = 1.0  # PROTOCOLS.md section 4
# Image metrics on fewer samples a side say nothing: precision/recall/density/coverage draw
# k = 3 and 5 nearest-neighbour balls, and a Fréchet distance's covariances have rank N - 1.
MIN_IMAGE_SAMPLES = 10


class ImageMetrics(SampleMetrics):
    """Fréchet distance, KID, precision/recall (k = 3), density/coverage (k = 5) in the
    feature space of a feature extractor, and, when the extractor classifies, the class
    distribution KL; baseline: the same number of baseline-split images against the reference
    split. Memorisation (when the reference split is not the training split), the conditional
    metrics (label accuracy, intra-class FD), the ex-post FD and CAS where they apply."""

    def __init__(self, evaluator, num, features, cache_dir, progress, cas, cas_steps):
        from tfgen.metrics.features import FeatureExtractor, dataset_extractor

        ev = self.ev = evaluator
        self.info, self.source, split = ev.info, ev.source, ev.split
        # (not on the train split: the baseline classifier would be tested on its own images)
        self.cas = cas and bool(self.info.num_classes) and split != "train"
        self.cas_steps = int(cas_steps)
        size = self.source.num_examples(split)
        default = min(size, 10_000)
        if ev.baseline_split is not None and features is not None:
            default = min(default, self.source.num_examples(ev.baseline_split))
        self.num = num or default
        if self.num < MIN_IMAGE_SAMPLES and features is not None:
            raise UserError(f"image metrics need at least {MIN_IMAGE_SAMPLES} samples a "
                            f"side; got {self.num} (the {split} split has {size} examples)")
        if self.num > size:
            raise UserError(f"--num {self.num} exceeds the {split} split's {size} examples "
                            "(image metrics compare equal sample counts)")
        self.extractor, self.ref_accuracy, self.ref_labels = None, None, None
        if features is not None:
            self.extractor = (features if isinstance(features, FeatureExtractor)
                              else dataset_extractor(self.source, cache_dir, progress)
                              if features == "auto" else FeatureExtractor.from_file(features))
            self._reference(np.random.default_rng([ev.seed, 7]))

    # -- reference side -------------------------------------------------------------------------

    def _subset(self, split, rng):
        from tfgen.metrics.features import source_arrays

        x, y = source_arrays(self.source, split,
                             None if self.source.in_memory else self.num * 4,
                             labels_required=False)
        if len(x) < self.num:
            raise UserError(f"split {split!r} has {len(x)} examples, fewer than --num {self.num}")
        idx = np.sort(rng.choice(len(x), self.num, replace=False))
        return x[idx], None if y is None else y[idx]

    def _unit_pixels(self, x) -> np.ndarray:
        from tfgen.metrics.features import FeatureExtractor

        return FeatureExtractor._unit(x, self.info.value_range).reshape(len(x), -1)

    def _reference(self, rng):
        from tfgen.metrics.features import source_arrays

        ev, vr = self.ev, self.info.value_range
        x, self.ref_labels = self._subset(ev.split, rng)
        self.ref_features = self.extractor.features(x, vr)
        if self.extractor.classifies and self.ref_labels is not None:
            predicted = self.extractor.predict_classes(x, vr)
            self.ref_accuracy = float((predicted == self.ref_labels).mean())
        if ev.memorisation:
            xt, _ = source_arrays(self.source, "train", labels_required=False)
            self.train_features = self.extractor.features(xt, vr)
            self.train_pixels = self._unit_pixels(xt)
            self.ref_pixels = self._unit_pixels(x)
        if ev.baseline_split is not None:
            xb, yb = self._subset(ev.baseline_split, rng)
            ev.baselines.update(self._metrics(xb, yb, memorised=False))
            ev.baselines.pop("label_accuracy", None)
            if self.ref_accuracy is not None:  # how well the extractor classifies real images
                ev.baselines["label_accuracy"] = self.ref_accuracy

    def _intra_fd(self, features, labels) -> tuple[float, list]:
        from tfgen.metrics.distances import frechet_distance

        per_class = []
        for c in range(self.info.num_classes):
            ref, gen = self.ref_features[self.ref_labels == c], features[labels == c]
            per_class.append(frechet_distance(ref, gen) if min(len(ref), len(gen)) > 1
                             else float("nan"))
        return float(np.nanmean(per_class)), per_class

    def _metrics(self, x, labels=None, memorised: bool = True) -> dict:
        """Image metrics of samples `x`; `labels`: the classes they were generated (or are
        labelled) with, for the conditional metrics."""
        from tfgen.metrics.distances import (
            frechet_distance,
            kernel_inception_distance,
            memorisation,
            prdc,
        )
        from tfgen.metrics.evaluation import class_distribution_kl

        fake = self.extractor.features(x, self.info.value_range)
        kid, kid_std = kernel_inception_distance(self.ref_features, fake, seed=self.ev.seed)
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
        if memorised and self.ev.memorisation:
            features = memorisation(fake, self.ref_features, self.train_features,
                                    MEMORISATION_PERCENTILE)
            pixels = memorisation(self._unit_pixels(x), self.ref_pixels, self.train_pixels,
                                  MEMORISATION_PERCENTILE)
            out["memorised"] = features["fraction"]
            out["memorised_detail"] = {"feature_space": features, "pixel_space": pixels}
        return out

    # -- model side -------------------------------------------------------------------------------

    def names(self, model):
        names = []
        if self.extractor is not None:
            names += ["frechet_distance", "kid", "precision", "recall", "density", "coverage"]
            if self.extractor.classifies:
                names.append("class_kl")
            if self.ev.memorisation:
                names.append("memorised")
            if model.conditional and self.ref_labels is not None:
                if self.extractor.classifies:
                    names.append("label_accuracy")
                names.append("intra_fd")
            if model.has_expost and self.ev.truncation is None:
                names.append("expost_frechet_distance")
        if model.conditional and self.cas:
            names.append("cas")
        return names

    def values(self, model):
        from tfgen.metrics.distances import frechet_distance

        out = {}
        if self.extractor is not None:
            labels = None
            if model.conditional and self.ref_labels is not None:
                labels = model.sample_labels(self.num, self.ref_labels)  # the data's classes
            out.update(self._metrics(self.ev.sample(model, self.num, labels), labels))
            if model.has_expost and self.ev.truncation is None:
                expost = model.sample(self.num, seed=self.ev.seed, sampler="expost")
                fake = self.extractor.features(expost, self.info.value_range)
                out["expost_frechet_distance"] = frechet_distance(self.ref_features, fake)
        if self.cas and model.conditional:
            out.update(self._cas(model))
        return out

    def _cas(self, model) -> dict:
        from tfgen.metrics.cas import classification_accuracy
        from tfgen.metrics.features import source_arrays

        ev = self.ev
        rng = np.random.default_rng([ev.seed, 11])
        x_train, y_train = source_arrays(self.source, "train")
        idx = np.sort(rng.choice(len(x_train), min(self.num, len(x_train)), replace=False))
        x_test, y_test = source_arrays(self.source, ev.split)
        extra = {} if ev.truncation is None else {"truncation": ev.truncation}
        result = classification_accuracy(model, x_train[idx], y_train[idx], x_test, y_test,
                                         self.info.num_classes, self.info.value_range,
                                         seed=ev.seed, steps=self.cas_steps,
                                         sample_kwargs=extra)
        ev.baselines["cas"] = result["real_accuracy"]
        return {"cas": result["cas"], "cas_detail": result}

    def card(self, name, card, details):
        ev = self.ev
        if self.extractor is None:
            return
        card["features"] = self.extractor.card
        if name in ("precision", "recall"):
            card["k"] = 3
        elif name in ("density", "coverage"):
            card["k"] = 5
        elif name == "kid":
            card.update(std=details["kid_std"], kernel="(x.y/d + 1)^3", subsets=100,
                        subset_size=min(1000, self.num),
                        baseline_std=ev.baselines.get("kid_std"))
        elif name == "memorised":  # real held-out images: the percentile, by definition
            card.update(baseline=MEMORISATION_PERCENTILE / 100.0, baseline_split=ev.split)
            card.update(details["memorised_detail"], train_split="train",
                        percentile=MEMORISATION_PERCENTILE,
                        expected_for_new_data=MEMORISATION_PERCENTILE / 100.0,
                        definition="fraction of samples nearer (features) to a train "
                        "image than the reference images' 1st-percentile distance")
        elif name == "intra_fd":
            card.update(per_class=details["intra_fd_per_class"],
                        baseline_per_class=ev.baselines.get("intra_fd_per_class"),
                        class_names=list(self.info.class_names or []))
        elif name == "label_accuracy":
            card["definition"] = ("extractor's accuracy on samples against their "
                                  "conditioning labels; baseline: on reference images")
        elif name == "cas":
            detail = details["cas_detail"]
            card.update(num_generated=detail["num_train"],
                        num_reference=detail["num_test"], baseline_split="train",
                        classifier_steps=detail["steps"], epochs=detail["epochs"],
                        definition="test accuracy of a classifier trained on generated "
                        "(image, label) pairs only (Ravuri & Vinyals 2019); baseline: "
                        "the same classifier trained on as many real train images")
            card.pop("features", None)
        elif name == "expost_frechet_distance":
            card["sampler"] = "ex-post Gaussian mixture on the training codes"


class Images(Modality):
    name: ClassVar[str] = "images"
    title: ClassVar[str] = "images"
    writers: ClassVar[tuple[str, ...]] = (".png", ".npy")
    images: ClassVar[bool] = True
    default_networks: ClassVar[dict[str, str]] = {"gan": "dcgan", "vae": "conv"}
    metrics: ClassVar[dict[str, str]] = {
        "frechet_distance": "min", "kid": "min", "precision": "max", "recall": "max",
        "density": "max", "coverage": "max", "class_kl": "min", "memorised": "min",
        "label_accuracy": "max", "intra_fd": "min", "expost_frechet_distance": "min",
        "cas": "max"}

    def default_metric(self, likelihood):
        return "nll" if likelihood else "frechet_distance"

    def sample_metrics(self, evaluator, num, features, cache_dir, progress, cas=False,
                       cas_steps=1000):
        return ImageMetrics(evaluator, num, features, cache_dir, progress, cas, cas_steps)

    def likelihood_card(self, card, info):
        dims = int(np.prod(info.shape))  # NLL / (D ln 2)
        card["bits_per_dim"] = card["value"] / (dims * np.log(2.0))
        if card["baseline"] is not None:
            card["baseline_bits_per_dim"] = card["baseline"] / (dims * np.log(2))

    def write_other(self, samples, path, context):
        from tfgen.callbacks import images

        picture = images.render_samples(samples, context.get("value_range"), None,
                                        context.get("columns"),
                                        column_names=context.get("column_names"))
        images.save_png(picture, path)

    def pictures(self, model, samples, context):
        from tfgen.callbacks import images

        min_size = context.get("min_size", 512)
        pictures = {"generated": images.render_samples(
            samples, context.get("value_range"), None, context.get("columns"),
            title=context.get("title", ""), column_names=context.get("column_names"),
            min_size=min_size)}
        steps = 10  # paths through the latent space
        pictures["interpolation"] = images.enlarge(images.image_grid(
            model.interpolation(rows=6, steps=steps, seed=context.get("seed", 0)),
            context.get("value_range") or (-1.0, 1.0), columns=steps), min_size)
        return pictures
