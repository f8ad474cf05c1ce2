"""`tfgen sample RUN_DIR`: draw samples from a run's final model to a PNG grid or a .npy array."""

from __future__ import annotations

import logging
import os

import numpy as np

from tfgen.errors import UserError

log = logging.getLogger("tfgen")


def _check_run_dir(run_dir: str) -> None:
    if not os.path.isdir(run_dir):
        raise UserError(f"run directory not found: {run_dir}")
    if not os.path.exists(os.path.join(run_dir, "config.yaml")):
        raise UserError(f"{run_dir} is not a tfgen run directory (no config.yaml)")


def run_config(run_dir: str):
    """The typed config a run directory was trained with."""
    from tfgen import config as config_lib

    _check_run_dir(run_dir)
    raw = config_lib.load_yaml(os.path.join(run_dir, "config.yaml"))
    cls = config_lib.VAEConfig if "optimizer" in raw else config_lib.GANConfig
    return config_lib.apply_dict(cls(), raw)


def load_run_model(run_dir: str):
    """The final model of a run directory (`model.keras`), loaded in safe mode."""
    path = os.path.join(run_dir, "model.keras")
    _check_run_dir(run_dir)
    if not os.path.exists(path):
        raise UserError(f"{run_dir} holds no finished run (no model.keras); train it first")
    import keras

    import tfgen.models  # noqa: F401  (registers the tfgen classes for deserialisation)

    return keras.saving.load_model(path, safe_mode=True)


def run(run_dir: str, num: int, seed: int = 0, labels=None, out: str = "samples.png",
        progress: bool = True, sampler: str = "prior") -> np.ndarray:
    """Write `num` samples of the run's model to `out` (.png picture or .npy array)."""
    ext = os.path.splitext(out)[1].lower()
    if ext not in (".png", ".npy"):
        raise UserError(f"--out must end in .png or .npy, got {out!r}")
    if num < 1:
        raise UserError(f"--num must be at least 1, got {num}")
    model = load_run_model(run_dir)
    if labels is not None and not getattr(model, "conditional", False):
        raise UserError("--labels given, but this run's model is not conditional")
    if labels is not None:
        bad = [v for v in labels if not 0 <= v < model.num_classes]
        if bad:
            raise UserError(f"--labels must lie in 0..{model.num_classes - 1}; got {bad[0]}")
    if sampler != "prior" and not getattr(model, "has_expost", False):
        raise UserError(f"--sampler {sampler}: this run's model has no ex-post density (train a "
                        "VAE with --set model.expost_components=K)")
    samples = _sample_with_progress(model, num, seed, labels, progress, sampler)
    if ext == ".npy":
        np.save(out, samples)
    else:
        from tfgen import config as config_lib
        from tfgen import data
        from tfgen.callbacks import images

        cfg = config_lib.load_yaml(os.path.join(run_dir, "config.yaml"))
        data_cfg = cfg.get("data", {})
        modes = None
        value_range = (-1.0, 1.0) if data_cfg.get("pixel_range", "symmetric") == "symmetric" else (0, 1)
        if samples.ndim == 2 and data_cfg.get("name") in data.MIXTURES:
            modes = data.MIXTURES[data_cfg["name"]]().means
        by_class = getattr(model, "conditional", False) and labels is None
        columns = model.num_classes if by_class else None
        names = _class_names(run_dir) if by_class else None
        picture = images.render_samples(samples, value_range, modes, columns, column_names=names)
        images.save_png(picture, out)
    log.info("wrote %d samples to %s", num, out)
    return samples


def _class_names(run_dir: str) -> list[str] | None:
    """The class names of the run's dataset, as its `metrics.json` recorded them."""
    import json

    try:
        with open(os.path.join(run_dir, "metrics.json")) as fh:
            return json.load(fh).get("class_names")
    except (OSError, ValueError):
        return None


def _sample_with_progress(model, num, seed, labels, progress, sampler="prior"):
    bar = None
    if progress and num > 256:
        import keras

        bar = keras.utils.Progbar(num, unit_name="sample")
    extra = {"sampler": sampler} if sampler != "prior" else {}
    return model.sample(num, seed=seed, labels=labels, batch_size=256,
                        progress=bar.update if bar is not None else None, **extra)
