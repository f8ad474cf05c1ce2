"""CAS against models whose answer is known: an oracle that returns real images of the asked
class scores the real-data accuracy; one whose images ignore the label scores chance."""

import numpy as np
import pytest

from tfgen import data
from tfgen.metrics.cas import classification_accuracy


class Oracle:
    """Returns held-out real images of each requested class (or, shuffled, of random ones)."""

    conditional = True

    def __init__(self, x, y, shuffle_labels=False):
        self.x, self.y, self.shuffle = x, y, shuffle_labels

    def sample(self, num, seed=0, labels=None):
        rng = np.random.default_rng(seed)
        if self.shuffle:
            labels = rng.permutation(labels)
        return np.stack([self.x[rng.choice(np.flatnonzero(self.y == c))] for c in labels])


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_cas_of_known_models():
    source = data.source("digits")
    x, y = source.numpy("train")
    x_val, y_val = source.numpy("val")
    x_test, y_test = source.numpy("test")
    args = (x[:400], y[:400], x_test, y_test, 10, source.info.value_range)
    oracle = classification_accuracy(Oracle(x_val, y_val), *args, steps=100)
    assert oracle["real_accuracy"] > 0.8 and oracle["num_train"] == 400
    assert abs(oracle["cas"] - oracle["real_accuracy"]) < 0.06
    wrong = classification_accuracy(Oracle(x_val, y_val, shuffle_labels=True), *args,
                                    steps=100)
    assert wrong["cas"] < 0.3
