"""Quality metrics. Mode metrics for the 2-D mixtures follow PROTOCOLS.md section 1."""

from tfgen.metrics.modes import mode_metrics

__all__ = ["mode_metrics"]
