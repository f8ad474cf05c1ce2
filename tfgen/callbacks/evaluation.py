"""`Evaluation`: quality metrics during training, added to the epoch's logs."""

from __future__ import annotations

import logging

import keras

from tfgen.callbacks.common import due, model_step
from tfgen.errors import TrainingCollapsed


class Evaluation(keras.callbacks.Callback):
    """Quality metrics during training: every `every` epochs (and after the last), the
    `tfgen.metrics.evaluation.Evaluator`'s values are added to the epoch's logs as `eval_<name>`,
    where later callbacks see them: `TensorBoardLogger` writes them under `evaluation/`,
    `BestEpoch(monitor="eval_<name>", every=every)` selects and stops on one, `History` and
    KerasTuner record them. Place it before those callbacks.

    Args:
        evaluator: a `tfgen.metrics.evaluation.Evaluator` (reference side computed once).
        every: epochs between evaluations.
        stop_on_collapse: raise `TrainingCollapsed` when an evaluation shows mode collapse
            (`tfgen.metrics.evaluation.collapse`), e.g. to fail a tuner trial early.
    """

    def __init__(self, evaluator, every: int = 1, stop_on_collapse: bool = False):
        super().__init__()
        self.evaluator, self.every = evaluator, int(every)
        self.stop_on_collapse = stop_on_collapse

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not due(self, epoch, self.every):
            return
        values = self.evaluator.values(self.model)
        logs.update({f"eval_{k}": float(v) for k, v in values.items()})
        logging.getLogger("tfgen").info(
            "epoch %d evaluation (%s split): %s", epoch + 1, self.evaluator.split,
            ", ".join(f"{k} {v:.4g}" for k, v in values.items()))
        if self.stop_on_collapse:
            from tfgen.metrics.evaluation import collapse

            why = collapse(values, self.evaluator.info.num_classes)
            if why:
                raise TrainingCollapsed(f"mode collapse at epoch {epoch + 1} "
                                        f"(step {model_step(self.model)}): {why}")
