"""Resumable benchmark results, shared by the benchmark scripts that repeat runs over seeds and
rows: a JSON file `{"runs": [...], "summary": ..., **header}` rewritten after every run, so a
benchmark stopped part-way (or extended with more seeds) re-runs only what is missing.

    results = RunsFile(default_path("small-data-fmnist-dcgan"), summarise)
    if not results.done(row="ada", seed=1):
        results.add(one_run(...))
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from collections.abc import Callable

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def default_path(name: str) -> str:
    """benchmarks/results/NAME.json."""
    return os.path.join(RESULTS, f"{name}.json")


def add_results_arguments(parser, name: str) -> None:
    """The options every resumable benchmark has: `--table` (print the recorded runs' table,
    train nothing) and `--out` (the results file; default benchmarks/results/NAME.json)."""
    parser.add_argument("--table", action="store_true",
                        help="print the table of the runs already recorded; train nothing")
    parser.add_argument("--out", help=f"results file (default: benchmarks/results/{name}.json)")


def add_variant_argument(parser) -> None:
    """`--variant NAME KEY=VALUE...` (repeatable): a named set of config overrides."""
    parser.add_argument("--variant", nargs="+", action="append", default=[],
                        metavar=("NAME", "KEY=VALUE"),
                        help="a variant: its name, then config overrides (repeatable)")


def parse_variants(parser, given) -> dict[str, list[str]]:
    """{name: overrides} of the `--variant` options, the preset itself ("preset": no
    overrides) first; a repeated name or a missing one is a parser error."""
    out = {"preset": []}
    for name, *overrides in given:
        if name in out or "=" in name:
            parser.error(f"--variant {name!r}: give each variant a new name before its "
                         "overrides")
        out[name] = overrides
    return out


def mean_spread(values, spread: str = "std") -> list[float]:
    """[mean, spread] over seeds: spread "std" (sample standard deviation) or "sem" (standard
    error of the mean); 0 for a single value."""
    if spread not in ("std", "sem"):
        raise ValueError(f"spread must be 'std' or 'sem', got {spread!r}")
    values = list(values)
    if len(values) < 2:
        return [statistics.mean(values), 0.0]
    std = statistics.stdev(values)
    return [statistics.mean(values), std if spread == "std" else std / len(values) ** 0.5]


class RunsFile:
    """The runs recorded in `path` (none if it does not exist yet); `add` appends one, recomputes
    the summary with `summarise(runs)` and rewrites the file (atomically: a benchmark killed
    while writing keeps the previous file)."""

    def __init__(self, path: str, summarise: Callable[[list[dict]], object] | None = None,
                 **header):
        self.path, self.summarise = path, summarise
        self.data: dict = {"runs": []}
        if os.path.exists(path):
            with open(path) as fh:
                self.data = json.load(fh)
        self.data.update(header)

    @property
    def runs(self) -> list[dict]:
        return self.data["runs"]

    @property
    def summary(self):
        return self.summarise(self.runs) if self.summarise and self.runs else None

    def done(self, **match) -> bool:
        """Whether a recorded run has every key = value in `match`."""
        return any(all(r.get(k) == v for k, v in match.items()) for r in self.runs)

    def add(self, run: dict) -> None:
        self.runs.append(run)
        if self.summarise:
            self.data["summary"] = self.summarise(self.runs)
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(self.data, fh, indent=1)
        os.replace(tmp, self.path)
        print(json.dumps(run), flush=True)


def epochs_for(fit_epoch, validate, minutes: float, val_every: int, epochs: int = 0):
    """Run epochs until `minutes` are spent (or exactly `epochs` > 0 of them, whatever the
    time); (best validation value, its epoch, epochs run, seconds). `validate()` returns a
    figure where lower is better and saves the weights when it is the best so far."""
    start, epoch, best, best_epoch = time.time(), 0, math.inf, 0
    while (epoch < epochs) if epochs > 0 else (time.time() - start < minutes * 60):
        fit_epoch()
        epoch += 1
        if epoch % val_every == 0:
            value = validate(best)
            if value < best:
                best, best_epoch = value, epoch
            print(f"  epoch {epoch}: {time.time() - start:.0f} s, validation {value:.3f}",
                  flush=True)
    return best, best_epoch, epoch, time.time() - start


def run_rows(results, rows: dict, args, keeps=(), report=None) -> None:
    """Every (seed, row) of `args.seeds` x `args.rows` not yet in `results`, each
    `rows[row](seed, args.minutes, args.nll_samples, args.val_every[, keep=PATH])` -- the rows in
    `keeps` keep their best weights in `args.keep`/ROW-seed-N.weights.h5 when `--keep` is given
    -- added to `results` as it finishes; `report(result)` is printed after each."""
    for seed in args.seeds:
        for row in args.rows:
            if results.done(row=row, seed=seed):
                continue
            budget = (f"{args.epochs} epochs" if getattr(args, "epochs", 0)
                      else f"{args.minutes:g} minutes")
            print(f"{row}, seed {seed}: {budget}", flush=True)
            extra = {}
            if row in keeps and args.keep:
                os.makedirs(args.keep, exist_ok=True)
                extra["keep"] = os.path.join(args.keep, f"{row}-seed-{seed}.weights.h5")
            result = rows[row](seed, args.minutes, args.nll_samples, args.val_every, **extra)
            results.add({"row": row, "seed": seed, "minutes": args.minutes, **result})
            if report is not None:
                print(f"  {report(result)}", flush=True)
