"""`tfgen sample RUN_DIR`: draw samples from a run's final model to a picture, an array, or the
modality's own files (piano-rolls: MIDI, WAV)."""

from __future__ import annotations

import logging
import sys

import numpy as np

from tfgen import fileio
from tfgen.errors import UserError
from tfgen.trainers.rundir import RunDir

log = logging.getLogger("tfgen")


def run(run_dir: str, num: int, seed: int = 0, labels=None, out: str | None = None,
        progress: bool = True, sampler: str = "prior", truncation: float | None = None,
        synth: str = "additive", decode: str | None = None) -> np.ndarray:
    """Write `num` samples of the run's model to `out`, in a form its data's modality writes
    (`tfgen.modalities`): a .png picture or .npy array; piano-rolls also .mid, .wav (one file
    per sample, NAME_000.mid ... when there are several) or .zip (of MIDI files)."""
    run = RunDir(run_dir)
    cfg = run.config()
    from tfgen import data, modalities

    modality = modalities.get(data.kind(cfg.data.name))
    out = out or modality.default_out
    modality.check_out(out)
    if synth not in ("additive", "fluidsynth"):
        raise UserError(f"--synth must be additive or fluidsynth, got {synth!r}")
    if num < 1:
        raise UserError(f"--num must be at least 1, got {num}")
    folder = fileio.dirname(fileio.absolute(out))
    if not fileio.isdir(folder):
        raise UserError(f"--out {out}: folder {folder} does not exist")
    model = run.model()
    if decode is not None:
        if not hasattr(model, "decoding"):
            raise UserError("--decode is for models that write tokens (text runs)")
        model.decoding = decode
    if labels is not None and not model.conditional:
        raise UserError("--labels given, but this run's model is not conditional")
    if labels is not None:
        bad = [v for v in labels if not 0 <= v < model.num_classes]
        if bad:
            raise UserError(f"--labels must lie in 0..{model.num_classes - 1}; got {bad[0]}")
    if sampler != "prior" and not model.has_expost:
        raise UserError(f"--sampler {sampler}: this run's model has no ex-post density (train a "
                        "VAE with --set model.expost_components=K)")
    if truncation is not None and not truncation > 0:
        raise UserError(f"--truncation must be > 0, got {truncation}")
    if truncation is not None and sampler != "prior":
        raise UserError("--truncation applies to the prior sampler")
    samples = _sample_with_progress(model, num, seed, labels, progress, sampler, truncation)
    by_class = model.conditional and labels is None
    recorded = run.metrics()
    context = {"value_range": data.value_range(cfg.data.pixel_range),
               "modes": (data.MIXTURES[cfg.data.name]().means
                         if cfg.data.name in data.MIXTURES else None),
               "columns": model.num_classes if by_class else None,
               "column_names": recorded.get("class_names") if by_class else None,
               "synth": synth, **recorded.get("sample_context", {})}
    if out.lower().endswith(".jsonl") and model.has_likelihood:
        context["scores"] = {"elbo": model.elbo(samples, seed=seed)}
    where = modality.where(modality.write(samples, out, context))
    log.info("wrote %d samples to %s", num, where)
    return samples


def _sample_with_progress(model, num, seed, labels, progress, sampler="prior", truncation=None):
    bar = None
    if progress and num > 256 and sys.stdout.isatty():  # no bar codes in a log file
        import keras

        bar = keras.utils.Progbar(num, unit_name="sample")
    extra = {"sampler": sampler} if sampler != "prior" else {}
    if truncation is not None:
        extra["truncation"] = truncation
    return model.sample(num, seed=seed, labels=labels, batch_size=256,
                        progress=bar.update if bar is not None else None, **extra)
