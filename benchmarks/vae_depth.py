"""The VAE depth table (issue 17): test NLL (nats, K = 1,000) of VAE variants on digits, each
trained for the same wall time on this CPU.

    python benchmarks/vae_depth.py [--seeds 0 1 2] [--seconds 60] [--rows vae iwae5 ...]
        [--preset digits-vae] [--nll-samples 1000] [--test-examples N] [--out FILE] [--table]

(Fashion-MNIST: `--preset fmnist-vae --seconds 1100 --nll-samples 100`; bits per dimension
are NLL / (784 ln 2).)

A plain `fit` script over tfgen's library objects: the preset's networks, optimiser and batch
(digits-vae: the small conv VAE, 17-level categorical pixels, batch 100), each row's model
options on top, epochs of the preset's steps until the wall-time budget is spent or the
validation bound (`val_bound`: the IWAE bound for the IWAE rows, else the ELBO) has not improved
for the preset's patience; the epoch with the best validation bound is kept and scored on the
test split: NLL by importance sampling with K = 1,000 and the ELBO. For the IWAE rows, the
inference network's gradient variance under the standard and the DReG estimator is measured
on the trained model (100 test images, 50 noise draws: Σ over the encoder's weights of the
per-weight variance). Results are appended to benchmarks/results/vae-depth-PRESET.json after
every run; a re-run skips the runs already there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from runs import RunsFile, add_results_arguments, default_path, mean_spread  # benchmarks/runs.py

ROWS = {
    "vae": [],
    "iwae5": ["model.iw_samples=5"],
    "iwae5+dreg": ["model.iw_samples=5", "model.estimator=dreg"],
    "vamp": ["model.prior={name: vamp, pseudo_inputs: 100}"],
    "two-layer": ["model.top_latent_dim=8"],
    "two-layer+iwae5": ["model.top_latent_dim=8", "model.iw_samples=5"],
    "two-layer+iwae5+dreg": ["model.top_latent_dim=8", "model.iw_samples=5",
                             "model.estimator=dreg"],
    "iaf": ["model.flow_steps=2"],
    "vamp+iwae5": ["model.prior={name: vamp, pseudo_inputs: 100}", "model.iw_samples=5"],
    "iwae20+dreg": ["model.iw_samples=20", "model.estimator=dreg"],
    "vamp+two-layer+iaf+iwae5": ["model.prior={name: vamp, pseudo_inputs: 100}",
                                 "model.top_latent_dim=8", "model.flow_steps=2",
                                 "model.iw_samples=5"],
}
DEFAULT_ROWS = list(ROWS)[:9]  # the table; the last rows are combinations to try
# Each row again with an exponential moving average of the weights (decay 0.99), which the
# validation, the best-epoch choice and the test scores then use.
ROWS.update({f"{row}+ema": [*options, "model.ema_decay=0.99"]
             for row, options in list(ROWS.items())})


def gradient_variance(model, x, estimator: str, draws: int = 50) -> float:
    import numpy as np
    import tensorflow as tf

    model.estimator = estimator
    n = len(model.encoder.trainable_weights)
    step = int(model.step.numpy())
    grads = []
    for i in range(draws):
        model.step.assign(10_000_000 + i)
        g, _, _ = model.loss_gradients(tf.constant(x), None)
        grads.append(np.concatenate([t.numpy().ravel() for t in g[:n]]))
    model.step.assign(step)
    return float(np.var(np.array(grads), axis=0).sum())


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of steps >= 1")
    return int(text)


def label(run) -> str:
    """A run's row as the table shows it: the row's name, then any `--set` overrides."""
    return " + ".join([run["row"], *(run.get("overrides") or [])])


def one_run(preset, row, seed, seconds, nll_samples=1000, test_examples=None,
            extra=(), max_steps=None) -> dict:
    """Train one row until `seconds` of wall time or `max_steps` steps (whichever is given;
    both checked at epoch ends) or the preset's patience, keep the best epoch by the validation
    bound, and score it on the test split."""
    import keras
    import numpy as np

    from tfgen import data
    from tfgen.trainers import families, presets

    cfg = presets.resolve(preset, overrides=[*ROWS[row], *extra, f"seed={seed}"])
    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(seed)
    source = data.source(cfg.data, seed=seed)
    family = families.for_config(cfg)
    model = family.build(cfg, source.info,
                         {"steps_per_execution": cfg.training.steps_per_execution or 1},  # unset: 1 on CPU
                         total_steps=cfg.epochs * cfg.steps_per_epoch)
    train = data.load(source, "train", batch_size=cfg.batch_size, seed=seed)
    val = data.load(source, "val", batch_size=cfg.batch_size, seed=seed, training=False)
    start = time.perf_counter()
    best = {"bound": -np.inf, "epoch": 0, "weights": None}

    class Select(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs["val_bound"] > best["bound"]:
                best.update(bound=float(logs["val_bound"]), epoch=epoch + 1,
                            weights=self.model.get_weights())
            over = (time.perf_counter() - start > seconds if max_steps is None
                    else int(self.model.step.numpy()) >= max_steps)
            if over or epoch + 1 - best["epoch"] >= (cfg.patience or 10**9):
                self.model.stop_training = True

    model.fit(train, epochs=10_000, steps_per_epoch=cfg.steps_per_epoch, validation_data=val,
              verbose=0, callbacks=[Select()])
    wall = time.perf_counter() - start
    steps = int(model.step.numpy())
    model.set_weights(best["weights"])
    x, _ = source.numpy("test")
    x = x[:test_examples]
    nll = float(-model.log_likelihood(x, num_samples=nll_samples).mean())
    out = {"preset": preset, "row": row, **({"overrides": list(extra)} if extra else {}),
           "seed": seed, "seconds": seconds, **({"max_steps": max_steps} if max_steps else {}),
           "wall_s": round(wall, 1), "steps": steps, "best_epoch": best["epoch"],
           "nll": nll, "bits_per_dim": nll / (float(np.prod(x.shape[1:])) * np.log(2.0)),
           "nll_samples": nll_samples, "test_examples": len(x),
           "elbo": float(model.elbo(x).mean()),
           "active_units": model.active_units_per_layer(x)}
    if cfg.model.iw_samples > 1 and cfg.model.prior.get("name") == "normal" and not cfg.model.flow_steps:
        estimator = model.estimator
        out["grad_var_standard"] = gradient_variance(model, x[:100], "standard")
        out["grad_var_dreg"] = gradient_variance(model, x[:100], "dreg")
        model.estimator = estimator
    return out


def budget(run) -> str:
    """A run's training budget: "N steps" (`--steps`) or "S s" (`--seconds`)."""
    return f"{run['max_steps']} steps" if run.get("max_steps") else f"{run.get('seconds')} s"


def summarise(runs) -> list[dict]:
    """Per row (and `--set` overrides, in the order first run) and budget: mean and standard
    error over seeds."""
    table = []
    order = {}  # (label, budget) -> its row's place in ROWS; dicts keep first-appearance order
    for r in runs:
        order.setdefault((label(r), budget(r)), list(ROWS).index(r["row"]))
    for name, spent in sorted(order, key=order.get):
        rs = [r for r in runs if (label(r), budget(r)) == (name, spent)]
        entry = {"row": name, "budget": spent, "seeds": len(rs),
                 "steps": statistics.mean(r["steps"] for r in rs)}
        for k in ("nll", "bits_per_dim", "elbo", "grad_var_standard", "grad_var_dreg"):
            values = [r[k] for r in rs if k in r]
            if values:
                entry[k] = mean_spread(values, "sem")
        table.append(entry)
    return table


def markdown(summary) -> str:
    """The summary as BENCHMARKS.md's table: mean ± standard error over seeds."""
    def cell(entry, key, digits=2):
        if key not in entry:
            return "–"
        mean, sem = entry[key]
        return f"{mean:.{digits}f} ± {sem:.{digits}f}"

    lines = ["| variant | seeds | steps trained | test NLL (nats) | bits/dim | "
             "test ELBO | encoder grad. variance: standard / DReG |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for e in summary:
        var = (f"{e['grad_var_standard'][0]:.1f} / {e['grad_var_dreg'][0]:.1f}"
               if "grad_var_dreg" in e else "–")
        lines.append(f"| {e['row']} | {e['seeds']} | {e['steps']:.0f} | {cell(e, 'nll')} | "
                     f"{cell(e, 'bits_per_dim', 4)} | {cell(e, 'elbo')} | {var} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rows", nargs="+", default=DEFAULT_ROWS, choices=list(ROWS))
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, default=60.0, help="wall time per run")
    budget.add_argument("--steps", type=positive_int, metavar="N",
                        help="a step budget instead of wall time (checked at epoch ends): "
                             "runs whose figures must not depend on the machine's load")
    parser.add_argument("--preset", default="digits-vae")
    parser.add_argument("--nll-samples", type=int, default=1000, help="importance samples K")
    parser.add_argument("--test-examples", type=int, help="first N test images (default: all)")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                        help="config overrides added to every row (recorded with each run; "
                             "the table shows them after the row's name)")
    add_results_arguments(parser, "vae-depth-PRESET")
    args = parser.parse_args(argv)
    if args.set:  # a wrong key or value: one line now, not a traceback after the first run
        from tfgen.errors import ConfigError
        from tfgen.trainers import presets

        try:
            presets.resolve(args.preset, overrides=args.set)
        except ConfigError as err:
            parser.error(f"--set: {err}")
    results = RunsFile(args.out or default_path(f"vae-depth-{args.preset}"), summarise)
    seconds = None if args.steps else args.seconds
    for seed in [] if args.table else args.seeds:
        for row in args.rows:
            if not results.done(row=row, seed=seed, seconds=seconds, max_steps=args.steps,
                                overrides=args.set or None):
                results.add(one_run(args.preset, row, seed, seconds, args.nll_samples,
                                    args.test_examples, args.set, args.steps))
    print(markdown(summarise([r for r in results.runs if r["seconds"] == seconds
                              and r.get("max_steps") == args.steps])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
