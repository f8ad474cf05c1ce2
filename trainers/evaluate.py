"""`tfgen evaluate RUN_DIR`: every metric that applies to a run's final model, with its card and
the real-vs-real baseline, written to `RUN_DIR/eval.json` and printed as a table."""

from __future__ import annotations

import logging
import os

from tfgen.errors import UserError
from tfgen.trainers import families
from tfgen.trainers.rundir import RunDir, write_json

log = logging.getLogger("tfgen")


def run(run_dir: str, num: int | None = None, split: str = "test", seed: int = 0,
        features: str | None = None, nll_samples: int | None = None,
        progress: bool = True, nll_examples: int | None = None) -> dict:
    """Evaluate the run's final model; returns what is written to `eval.json`."""
    from tfgen import data
    from tfgen.metrics.evaluation import Evaluator

    run = RunDir(run_dir)
    cfg, model = run.config(), run.model()
    family = families.for_config(cfg)
    source = data.source(cfg.data, seed=cfg.seed)
    if split not in source.info.splits:
        raise UserError(f"--split {split!r}: dataset {source.info.name!r} has splits "
                        f"{', '.join(source.info.splits)}")
    if num is not None and num < 2:
        raise UserError(f"--num must be at least 2, got {num}")
    k = nll_samples or family.nll_samples(cfg)
    evaluator = Evaluator(source, split, num=num, seed=seed, features=features or "auto",
                          nll_samples=k, progress=progress, nll_examples=nll_examples)
    if progress:
        log.info("evaluating %s on the %s split (%d samples)", run_dir, split, evaluator.num)
    cards = evaluator(model)
    result = {
        "run_dir": os.path.abspath(run_dir),
        "preset": cfg.preset,
        "model_step": int(model.step.numpy()),
        "split": split,
        "seed": seed,
        "metrics": {name: card["value"] for name, card in cards.items()},
        "baselines": {name: card["baseline"] for name, card in cards.items()},
        "cards": cards,
    }
    write_json(run.eval_file, result)
    print(format_table(cards))
    if progress:
        log.info("wrote %s", run.eval_file)
    return result


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1:
        return f"{value:.0f}" if abs(value) < 1e6 else f"{value:.4g}"
    return f"{value:.4g}"


def format_table(cards: dict) -> str:
    """Metric, model value, real-vs-real baseline, direction and how it was measured."""
    rows = [("metric", "model", "real-vs-real", "better", "measured on")]
    for name, c in cards.items():
        how = [f"{c['reference_split']} split"]
        if "num_generated" in c:
            how.append(f"{c['num_generated']} samples vs {c['num_reference']} real")
        else:
            how.append(f"{c['num_reference']} examples")
        if "k" in c:
            how.append(f"k={c['k']}")
        if "importance_samples" in c:
            how.append(f"K={c['importance_samples']}")
        if "bits_per_dim" in c:
            how.append(f"{c['bits_per_dim']:.4f} bits/dim")
        if "features" in c:
            f = c["features"]
            acc = f" acc {f['accuracy']:.3f}" if f.get("accuracy") is not None else ""
            how.append(f"features {f['name']}{acc}")
        rows.append((name, _fmt(c["value"]), _fmt(c["baseline"]),
                     "higher" if c["better"] == "max" else "lower", ", ".join(how)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w)
                  in enumerate(zip(r[:4], widths))) + "  " + r[4]
        for r in rows)
