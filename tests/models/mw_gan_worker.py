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

    if len(sys.argv) > 1:  # preempt DIR: worker 1 alone gets a SIGTERM
        return preempted(strategy, sys.argv[2])

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


def preempted(strategy, directory: str) -> None:
    """Worker 1 signals itself after step 2 of 12 (one step per execution): every worker must
    stop after that step with a checkpoint (the chief's in `directory`, the other's beside)."""
    import signal

    from tests.callbacks.test_preemption import SignalAt
    from tests.models.helpers import tiny_data, tiny_gan
    from tfgen.callbacks import Checkpointer, Preemption, model_step
    from tfgen.errors import Preempted

    task = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    with strategy.scope():
        gan = tiny_gan()
    checkpointer = Checkpointer(directory if task == 0 else f"{directory}-worker{task}", gan)
    first = [SignalAt(2, signal.SIGTERM)] if task == 1 else []
    try:
        gan.fit(tiny_data(batch_size=32, strategy=strategy), epochs=2, steps_per_epoch=6,
                verbose=0, callbacks=[*first, Preemption(checkpointer), checkpointer])
        stopped = None
    except Preempted as err:
        stopped = err.signum
    result = {"stopped": stopped, "step": model_step(gan),
              "partial_steps": checkpointer.partial_steps()}
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
