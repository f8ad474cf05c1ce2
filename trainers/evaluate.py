"""`tfgen evaluate RUN_DIR`: every metric that applies to a run's final model, with its card and
the real-vs-real baseline, written to `RUN_DIR/eval.json` and printed as a table."""

from __future__ import annotations

import logging

from tfgen import fileio
from tfgen.errors import UserError
from tfgen.fileio import write_json
from tfgen.trainers import families
from tfgen.trainers.rundir import RunDir

log = logging.getLogger("tfgen")


def run(run_dir: str, num: int | None = None, split: str = "test", seed: int = 0,
        features: str | None = None, nll_samples: int | None = None,
        progress: bool = True, nll_examples: int | None = None,
        truncation: list[float] | None = None, cas: bool = True) -> dict:
    """Evaluate the run's final model; returns what is written to `eval.json`. With
    `truncation` (values of ψ), also the sample metrics at each ψ of the truncation trick: a
    table, `eval.json`'s "truncation" rows and the picture `truncation.png`. `cas`: the
    classification accuracy score of class-conditional models (two classifiers trained)."""
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
    if truncation and min(truncation) <= 0:
        raise UserError(f"--truncation values must be > 0, got {min(truncation)}")
    k = nll_samples or family.nll_samples(cfg)
    evaluator = Evaluator(source, split, num=num, seed=seed, features=features or "auto",
                          nll_samples=k, progress=progress, nll_examples=nll_examples, cas=cas)
    if progress:
        log.info("evaluating %s on the %s split (%d samples)", run_dir, split, evaluator.num)
    cards = evaluator(model)
    result = {
        "run_dir": fileio.absolute(run_dir),
        "preset": cfg.preset,
        "model_step": int(model.step.numpy()),
        "split": split,
        "seed": seed,
        "metrics": {name: card["value"] for name, card in cards.items()},
        "baselines": {name: card["baseline"] for name, card in cards.items()},
        "cards": cards,
    }
    print(format_table(cards))
    write_json(run.eval_file, result)
    if truncation:  # then eval.json again, with the sweep's rows
        result["truncation"] = truncation_sweep(
            model, source, sorted(truncation), run.file("truncation.png"),
            f"{run.path}: quality vs diversity", split=split, num=num, seed=seed,
            features=features, progress=progress)
        write_json(run.eval_file, result)
    if progress:
        log.info("wrote %s", run.eval_file)
    return result


def truncation_sweep(model, source, psis, path: str, title: str, split: str = "test",
                     num: int | None = None, seed: int = 0, features: str | None = None,
                     progress: bool = True) -> list[dict]:
    """Sample metrics of `model` at each truncation ψ in `psis` (then without truncation, for
    reference): printed as a table, drawn against ψ as the PNG `path`, and
    returned as rows {"truncation": ψ or None, metric: value}."""
    from tfgen.callbacks import images
    from tfgen.metrics.evaluation import Evaluator

    rows = []
    for psi in [*psis, None]:
        evaluator = Evaluator(source, split, num=num, seed=seed, features=features or "auto",
                              baseline=False, memorisation=False, truncation=psi)
        values = evaluator.values(model)
        values = {k: v for k, v in values.items()
                  if not k.startswith(("nll", "elbo")) and not k.endswith("_std")}
        rows.append({"truncation": psi, **values})
        if progress:
            log.info("truncation %s: %s", "off" if psi is None else psi,
                     ", ".join(f"{k} {_fmt(v)}" for k, v in values.items()))
    names = [k for k in rows[0] if k != "truncation"]
    table = [["truncation", *names]] + [
        ["off" if r["truncation"] is None else _fmt(r["truncation"]),
         *(_fmt(r[k]) for k in names)] for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
    print("\n".join("  ".join(c.rjust(w) for c, w in zip(t, widths)) for t in table))
    shown = [k for k in ("frechet_distance", "precision", "recall", "modes_covered",
                         "high_quality", "reverse_kl") if k in names]
    if shown:
        picture = images.line_plot(psis, {k: [r[k] for r in rows[:-1]] for k in shown},
                                   xlabel="truncation ψ (smaller: less diverse)",
                                   title=title,
                                   reference={k: rows[-1][k] for k in shown},
                                   reference_label="no truncation")
        images.save_png(picture, path)
        if progress:
            log.info("wrote %s", path)
    return rows


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
        if "frames" in c:
            how.append(f"{c['frames']} frames")
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
        better = {"max": "higher", "min": "lower"}.get(c["better"])
        if better is None:  # a statistic to match: nearer the reference split's value
            better = f"near {_fmt(c.get('reference_value'))}"
        rows.append((name, _fmt(c["value"]), _fmt(c["baseline"]), better, ", ".join(how)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w)
                  in enumerate(zip(r[:4], widths))) + "  " + r[4]
        for r in rows)
