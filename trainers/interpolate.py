"""`tfgen interpolate RUN_DIR A B`: pieces decoded along the line between two pieces' latent
codes (MusicVAE's latent interpolation), written as MIDI, WAV, a picture or an array."""

from __future__ import annotations

import logging

import numpy as np

from tfgen.errors import UserError
from tfgen.trainers.rundir import RunDir

log = logging.getLogger("tfgen")


def _piece(spec: str, run: RunDir, context: dict, modality) -> np.ndarray:
    """A packed example: `SPLIT:INDEX` of the run's dataset, or what the modality reads (a MIDI
    file, a sentence)."""
    split, sep, index = spec.partition(":")
    if sep and split in ("train", "val", "test") and index.isdigit():
        from tfgen import data

        x, _ = data.source(run.config().data).numpy(split)
        if int(index) >= len(x):
            raise UserError(f"{spec}: the {split} split has {len(x)} pieces")
        return x[int(index)]
    return modality.read_example(spec, context)


def run(run_dir: str, a: str, b: str, steps: int = 5, out: str | None = None,
        seed: int | None = None) -> np.ndarray:
    """Write the `steps` pieces from `a` to `b` (both ends included) to `out`."""
    from tfgen import data, modalities

    if steps < 2:
        raise UserError(f"--steps must be at least 2, got {steps}")
    run = RunDir(run_dir)
    cfg = run.config()
    modality = modalities.get(data.kind(cfg.data.name))
    out = out or "interpolation" + modality.writers[0]
    modality.check_out(out)
    model = run.model()
    if not (hasattr(model, "interpolate") and getattr(model, "has_code", False)):
        raise UserError(f"this run's model ({type(model).__name__}) has no code per piece to "
                        "interpolate with; train a sequence VAE (e.g. --preset jsb-vae)")
    context = run.metrics().get("sample_context", {})
    pieces = model.interpolate(_piece(a, run, context, modality),
                               _piece(b, run, context, modality), steps=steps, seed=seed)
    where = modality.where(modality.write(pieces, out, context))
    log.info("wrote %d pieces from %s to %s to %s", steps, a, b, where)
    return pieces
