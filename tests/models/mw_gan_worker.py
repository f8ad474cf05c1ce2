"""One worker of the multi-worker GAN test: a tiny GAN trained under $TF_CONFIG."""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

import numpy as np

from tfgen.distribute import resolve_strategy


def main() -> None:
    strategy = resolve_strategy("multi_worker")
    from tests.models.helpers import tiny_data, tiny_gan, weights_of

    with strategy.scope():
        gan = tiny_gan(ema_decay=0.9)
    history = gan.fit(tiny_data(batch_size=32, strategy=strategy), epochs=2, steps_per_epoch=3,
                      verbose=0, shuffle=False)
    result = {
        "replicas": strategy.num_replicas_in_sync,
        "g_loss": [float(np.ravel(v)[0]) for v in history.history["g_loss"]],
        "weights": [w.tolist() for w in weights_of(gan)],
    }
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
