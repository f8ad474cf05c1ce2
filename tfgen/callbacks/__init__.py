"""Callbacks for tfgen models in `fit`: non-finite guard, TensorBoard logging, evaluation, model
selection and convergence stopping, checkpoints, preemption (SIGTERM/SIGINT), the console.

All are plain `keras.callbacks.Callback`s and work with any `tfgen.models.GenerativeModel`.
"""

from tfgen.callbacks.checkpoints import Checkpointer
from tfgen.callbacks.common import model_step
from tfgen.callbacks.diagnostics import LatentDiagnostics
from tfgen.callbacks.evaluation import Evaluation
from tfgen.callbacks.guards import NonFiniteGuard
from tfgen.callbacks.preemption import Preemption
from tfgen.callbacks.progress import ProgressLogger, Stage
from tfgen.callbacks.selection import BestEpoch
from tfgen.callbacks.tensorboard import TensorBoardLogger

__all__ = ["BestEpoch", "Checkpointer", "Evaluation", "LatentDiagnostics", "NonFiniteGuard",
           "Preemption", "ProgressLogger", "Stage", "TensorBoardLogger", "model_step"]
