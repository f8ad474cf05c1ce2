"""Classification accuracy score (CAS, Ravuri & Vinyals 2019) of a class-conditional model.

A classifier is trained on generated (image, label) pairs only and tested on the real test
split; beside it, the same classifier trained on as many real training images. A model whose
samples carry their class's whole distribution gets a CAS near the real-data accuracy; one that
makes few or ambiguous variations per class scores much lower even when its samples look good
(the paper: BigGAN-deep at 256×256 had CAS 42.65% top-1 vs 73.09% for real data).
"""

from __future__ import annotations

import numpy as np

from tfgen.metrics.features import FeatureExtractor, train_classifier


def classification_accuracy(model, x_train, y_train, x_test, y_test, num_classes: int,
                            value_range, seed: int = 0, steps: int = 1000,
                            sample_kwargs: dict | None = None) -> dict:
    """CAS of a conditional `model` and the real-data accuracy of the same classifier.

    Args:
        model: a conditional generative model (`sample(num, seed, labels)`).
        x_train, y_train: real training images and labels; the generated set has as many
            images with the same labels, and the baseline classifier trains on these.
        x_test, y_test: the real images the two classifiers are tested on.
        num_classes: classes of the data.
        value_range: (low, high) of the images' values.
        seed: seed of the samples and of the classifiers' initialisation and order.
        steps: training steps of each classifier (at least 3 epochs).
        sample_kwargs: extra `model.sample` arguments (e.g. truncation).

    Returns:
        {"cas": accuracy on the test images of the classifier trained on samples,
         "real_accuracy": that of the classifier trained on real images, "num_train",
         "num_test", "steps", "epochs"}.
    """
    generated = model.sample(len(y_train), seed=seed, labels=np.asarray(y_train),
                             **(sample_kwargs or {}))
    x_test = FeatureExtractor._unit(x_test, value_range)
    fake = FeatureExtractor._unit(generated, value_range)
    real = FeatureExtractor._unit(x_train, value_range)
    _, on_fake = train_classifier(fake, y_train, num_classes, x_test, y_test, seed=seed,
                                  steps=steps)
    _, on_real = train_classifier(real, y_train, num_classes, x_test, y_test, seed=seed,
                                  steps=steps)
    return {"cas": on_fake["accuracy"], "real_accuracy": on_real["accuracy"],
            "num_train": int(len(y_train)), "num_test": int(len(y_test)), "steps": steps,
            "epochs": on_fake["epochs"]}
