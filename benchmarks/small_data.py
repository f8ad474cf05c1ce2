"""The small-data table (issue 16): Fashion-MNIST cut to N training images, the same network and
wall time per row, with no augmentation / DiffAugment / ADA / ADA + LeCam / ADA + bCR.

    python benchmarks/small_data.py [--sizes 1000 5000] [--seeds 0 1 2] [--minutes 4]
        [--rows none diffaugment ada ada+lecam ada+bcr] [--preset fmnist-dcgan] [--out FILE] [--table]

(Rows are compared at equal wall time, so run it on an otherwise idle machine: pinning it to
one core with taskset did not isolate it from other work here -- step counts varied 2x. Each run
records its CPU count and steps.)

(`--preset digits-dcgan --sizes 0` runs the same rows on the whole of another preset's data:
issue 16's digits-dcgan goal, at that preset's wall time.)

A plain `fit` script over tfgen's library objects: the `fmnist-dcgan` preset's networks,
optimisers and precision, `data.train_examples=N` (a fixed subset of the train split, the same
for every seed and row), trained until the wall-time budget is spent (checked after every
execution of `steps_per_execution` steps). Then, from the EMA generator: Fréchet distance, KID,
precision and recall of 10,000 samples against the full test split in tfgen's classifier
features (PROTOCOLS.md section 4), the real-vs-real baseline (10,000 train-split images against
the test split), and the memorisation fraction against the N training images the row saw.
Results are appended to benchmarks/results/small-data-PRESET.json after every run; a re-run skips
the runs already there (`--table` prints the recorded runs' table and trains nothing). Runs with
ADA record r_t and p at every epoch's end; their curves go to small-data-PRESET-ada.png beside
the results file.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from runs import RunsFile, add_results_arguments, default_path, mean_spread  # benchmarks/runs.py
from timed import train_for  # benchmarks/timed.py

# Each row: config overrides on top of the preset. ADA moves p by up to 1 per 100k images here
# (the paper's 500k suits runs of millions of images; a 4-minute run here shows the
# discriminator about 250k real images).
_ADA = "model.augment={name: ada, ops: 'blit,geom,color', kimg: 100}"
ROWS = {
    "none": [],
    "diffaugment": ["model.augment={name: diffaugment, policies: 'translation,cutout'}"],
    "ada": [_ADA],
    "ada+lecam": [_ADA, "model.regularizers.lecam.weight=0.3"],
    "ada+bcr": [_ADA, "model.regularizers.consistency.weight=10"],
}
METRICS = ("frechet_distance", "kid", "precision", "recall", "memorised")


def one_run(preset, size, row, seed, minutes, evaluators) -> dict:
    from tfgen import data
    from tfgen.metrics.evaluation import Evaluator

    cfg, model, source, run = train_for(
        preset, [*ROWS[row], f"seed={seed}", *([f"data.train_examples={size}"] if size else [])],
        seed, 60.0 * minutes)
    full = data.source(dataclasses.replace(cfg.data, train_examples=None, labels=False))
    num = min(10_000, full.num_examples("test"))
    if "full" not in evaluators:  # FD/KID/PR and the real-vs-real baseline: the whole data
        evaluators["full"] = Evaluator(full, "test", num=num, seed=0, memorisation=False)
    if size not in evaluators:  # memorisation against the N images this row trained on
        evaluators[size] = Evaluator(source, "test", num=num, seed=0, baseline=False,
                                     memorisation=True)
    quality = evaluators["full"].values(model)
    memorised = evaluators[size].values(model)["memorised"]
    return {"preset": preset, "size": size or full.num_examples("train"), "row": row,
            "seed": seed, **run, **{k: quality[k] for k in METRICS[:-1]}, "memorised": memorised,
            "baseline": {k: evaluators["full"].baselines.get(k) for k in METRICS[:-1]}}


def summarise(runs) -> list[dict]:
    """Per (size, row): mean and sample standard deviation over seeds."""
    table = []
    for size in sorted({r["size"] for r in runs}):
        for row in ROWS:
            rs = [r for r in runs if r["size"] == size and r["row"] == row]
            if not rs:
                continue
            entry = {"size": size, "row": row, "seeds": len(rs),
                     "steps": statistics.mean(r["steps"] for r in rs),
                     **{k: mean_spread(r[k] for r in rs) for k in METRICS}}
            if all("ada_p" in r for r in rs):
                entry["ada_p"] = mean_spread(r["ada_p"] for r in rs)
            table.append(entry)
    return table


def markdown(runs) -> str:
    """BENCHMARKS.md's table: mean ± standard deviation over seeds, then the real-vs-real
    baseline (the test split against 10,000 real training images, the same features)."""
    def cell(entry, key, digits):
        mean, std = entry[key]
        return f"{mean:.{digits}f} ± {std:.{digits}f}"

    lines = ["| train images | row | seeds | steps | FD ↓ | KID ↓ | precision ↑ | recall ↑ | "
             "memorised ↓ | ADA p at the end |", "| --- " * 10 + "|"]
    for e in summarise(runs):
        p = f"{e['ada_p'][0]:.3f}" if "ada_p" in e else "–"
        lines.append(f"| {e['size']:,} | {e['row']} | {e['seeds']} | {e['steps']:.0f} | "
                     f"{cell(e, 'frechet_distance', 2)} | {cell(e, 'kid', 3)} | "
                     f"{cell(e, 'precision', 3)} | {cell(e, 'recall', 3)} | "
                     f"{cell(e, 'memorised', 4)} | {p} |")
    if runs:
        base = runs[0]["baseline"]
        lines.append(f"| real vs real | – | – | – | {base['frechet_distance']:.2f} | "
                     f"{base['kid']:.3f} | {base['precision']:.3f} | {base['recall']:.3f} "
                     "| – | – |")
    return "\n".join(lines)


def plot_ada_traces(runs, path: str, steps_per_epoch: int, batch_size: int,
                    target: float = 0.6) -> str | None:
    """A picture of the ADA runs' overfitting heuristic r_t = E[sign D(real)] and augmentation
    probability p against the real images the discriminator has seen (thousands), one line per
    run that recorded a per-epoch trace (`ada_trace`); the target as a dashed line. Returns the
    path written, or None when no run has a trace."""
    traced = [r for r in runs if r.get("ada_trace")]
    if not traced:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True)
    for r in traced:
        # Every epoch is whole but the last, which the time budget cut at the run's last step.
        kimg = [min(e * steps_per_epoch, r["steps"]) * batch_size / 1000
                for e, _, _ in r["ada_trace"]]
        label = f"{r['size']:,} images, {r['row']}, seed {r['seed']}, {r['minutes']:g} min"
        top.plot(kimg, [rt for _, _, rt in r["ada_trace"]], label=label)
        bottom.plot(kimg, [p for _, p, _ in r["ada_trace"]], label=label)
    top.axhline(target, color="grey", linestyle="--", label=f"target {target}")
    top.set_ylabel("r_t = E[sign D(real)]")
    bottom.set_ylabel("augmentation p")
    bottom.set_xlabel("real images shown to D (thousands)")
    top.legend(fontsize=7)
    top.set_title("ADA: the discriminator's overfitting heuristic and p")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000],
                        help="training images per row (0: the whole train split)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--minutes", type=float, default=4.0, help="wall time per run")
    parser.add_argument("--preset", default="fmnist-dcgan")
    add_results_arguments(parser, "small-data-PRESET")
    args = parser.parse_args(argv)
    results = RunsFile(args.out or default_path(f"small-data-{args.preset}"), summarise)
    evaluators = {}
    for size in [] if args.table else args.sizes:
        for seed in args.seeds:
            for row in args.rows:
                if results.done(requested_size=size, row=row, seed=seed, minutes=args.minutes):
                    continue
                results.add({**one_run(args.preset, size, row, seed, args.minutes, evaluators),
                             "requested_size": size, "minutes": args.minutes})
    shown = [r for r in results.runs if r["minutes"] == args.minutes]
    print(markdown(shown))
    from tfgen.trainers import presets

    cfg = presets.resolve(args.preset)
    picture = plot_ada_traces(shown, os.path.splitext(results.path)[0] + "-ada.png",
                              cfg.steps_per_epoch, cfg.batch_size)
    if picture:
        print(f"ADA trace: {picture}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
