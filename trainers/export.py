"""`tfgen export RUN_DIR OUT_DIR`: a run's final model as a SavedModel usable without tfgen."""

from __future__ import annotations

import logging

from tfgen import fileio
from tfgen.errors import UserError
from tfgen.trainers import families
from tfgen.trainers.rundir import RunDir

log = logging.getLogger("tfgen")


def run(run_dir: str, out_dir: str) -> str:
    """Export the run's model to `out_dir` (which must not exist or be empty)."""
    from tfgen import data, modalities
    from tfgen.models.export import export_saved_model

    if fileio.isdir(out_dir) and fileio.listdir(out_dir):
        raise UserError(f"{out_dir} exists and is not empty; choose a new output directory")
    if fileio.exists(out_dir) and not fileio.isdir(out_dir):
        raise UserError(f"{out_dir} is a file; choose a new output directory")
    run = RunDir(run_dir)
    model = run.model()
    cfg = run.config()
    modality = modalities.get(data.kind(cfg.data.name))
    value_range = modality.value_range(cfg.data.pixel_range)
    output = modality.export_output(cfg.data, run.metrics().get("sample_context", {}))
    export_saved_model(model, out_dir, value_range=value_range, output=output)
    endpoints = families.for_config(cfg).endpoints
    if output is not None:
        endpoints += f", {output[0]}(samples)"
    if model.has_expost:
        endpoints += ", sample_expost(seed, num)"
    if value_range is not None:
        endpoints += f", value_range() = {list(value_range)}"
    log.info("wrote a SavedModel to %s with %s; load it with tf.saved_model.load(%r)",
             out_dir, endpoints, out_dir)
    return out_dir
