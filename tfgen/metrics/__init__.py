"""Quality metrics: mode metrics for the 2-D mixtures (PROTOCOLS.md section 1) and feature-set
metrics -- Fréchet distance, KID, precision/recall, density/coverage (section 3) -- and the
classification accuracy score of conditional models (`cas`)."""

from tfgen.metrics import cas, distances, evaluation, features, modes, streaming
from tfgen.metrics.distances import frechet_distance, kernel_inception_distance, prdc
from tfgen.metrics.evaluation import Evaluator, Sampler
from tfgen.metrics.modes import mode_metrics
from tfgen.metrics.streaming import FrechetDistance

__all__ = ["Evaluator", "FrechetDistance", "Sampler", "cas", "distances", "evaluation", "features",
           "frechet_distance", "kernel_inception_distance", "mode_metrics", "modes", "prdc",
           "streaming"]
