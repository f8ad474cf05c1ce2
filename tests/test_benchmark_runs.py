"""benchmarks/runs.py: the resumable results file the seed/row benchmarks share."""

import json
import statistics
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from runs import RunsFile, mean_spread


def test_runs_file_appends_resumes_and_summarises(tmp_path, capsys):
    path = tmp_path / "results" / "bench.json"

    def summarise(runs):
        return {"n": len(runs), "fd": mean_spread([r["fd"] for r in runs])}

    first = RunsFile(str(path), summarise, preset="p")
    assert first.runs == [] and first.summary is None and not first.done(seed=0)
    first.add({"seed": 0, "row": "a", "fd": 2.0})
    first.add({"seed": 1, "row": "a", "fd": 4.0})
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"seed": 1, "row": "a",
                                                                   "fd": 4.0}
    again = RunsFile(str(path), summarise)  # a re-run sees what the stopped one recorded
    assert again.done(seed=1, row="a") and not again.done(seed=1, row="b")
    assert not again.done(seed=2)
    on_disk = json.loads(path.read_text())
    assert on_disk["preset"] == "p" and len(on_disk["runs"]) == 2
    assert on_disk["summary"] == {"n": 2, "fd": [3.0, statistics.stdev([2.0, 4.0])]}
    assert not (tmp_path / "results" / "bench.json.tmp").exists()


def test_mean_spread():
    assert mean_spread([1.0, 2.0, 6.0], "std") == [3.0, statistics.stdev([1, 2, 6])]
    assert mean_spread([1.0, 2.0, 6.0], "sem") == pytest.approx(
        [3.0, statistics.stdev([1, 2, 6]) / 3 ** 0.5])
    assert mean_spread([5.0]) == [5.0, 0.0]
    with pytest.raises(ValueError, match="spread must be"):
        mean_spread([1.0, 2.0], "var")


def test_tables_group_runs_and_average_over_seeds():
    """The conditional and preset-variant tables: one row per preset/variant, mean ± spread over
    its seeds (checked against `statistics`), the real-vs-real baseline last."""
    import argparse

    import conditional
    import preset_variants
    from runs import add_results_arguments

    base = {k: 0.5 for k in conditional.METRICS}
    runs = [{"preset": p, "seed": s, "minutes": 6.0, "steps": 100 * (s + 1), "baseline": base,
             **{k: fd + s for k in conditional.METRICS}}
            for p, fd in (("fmnist-cgan", 1.0), ("fmnist-biggan", 3.0)) for s in (0, 1, 2)]
    table = conditional.summarise(runs)
    assert [e["preset"] for e in table] == ["fmnist-biggan", "fmnist-cgan"]
    assert table[1]["frechet_distance"] == [2.0, statistics.stdev([1.0, 2.0, 3.0])]
    assert table[1]["steps"] == 200 and table[1]["seeds"] == 3
    lines = conditional.markdown(runs).splitlines()
    assert lines[2].startswith("| fmnist-biggan | 6 min | 3 | 200 | 4.00 ± 1.00 |")
    assert lines[-1].startswith("| real vs real | – | – | – | 0.50 |")
    # A step budget (--steps) is a row of its own beside the wall-time rows of the same preset.
    runs.append({**runs[0], "minutes": None, "step_budget": 3400, "steps": 3400,
                 "frechet_distance": 0.25})
    table = conditional.summarise(runs)
    assert [(e["budget"], e["preset"], e["seeds"]) for e in table] == [
        ("3,400 steps", "fmnist-cgan", 1), ("6 min", "fmnist-biggan", 3),
        ("6 min", "fmnist-cgan", 3)]
    assert "| fmnist-cgan | 3,400 steps | 1 | 3,400 | 0.25 ± 0.00 |" in conditional.markdown(runs)

    runs = [{"variant": v, "overrides": o, "seed": s, "wall_s": 60.0, "baseline": base,
             "frechet_distance": fd + s, "kid": 0.1, "precision": 0.5, "recall": 0.5}
            for v, o, fd in (("preset", [], 10.0), ("ema", ["model.ema_decay=0.999"], 9.0))
            for s in (0, 2)]
    table = preset_variants.summarise(runs)
    assert [e["variant"] for e in table] == ["preset", "ema"]  # the order they were run in
    # standard error: stdev([9, 11]) / sqrt(2) = 1
    assert table[1]["frechet_distance"] == pytest.approx([10.0, 1.0])
    assert "| ema | model.ema_decay=0.999 | 2 | 60 | 10.000 ± 1.000 |" in \
        preset_variants.markdown(runs)

    parser = argparse.ArgumentParser()
    add_results_arguments(parser, "x")
    assert vars(parser.parse_args(["--table"])) == {"table": True, "out": None}


def test_small_data_ada_trace_picture(tmp_path):
    """The ADA trace picture: written (a PNG) for runs with a per-epoch trace, none without."""
    import small_data
    from PIL import Image

    run = {"size": 1000, "row": "ada", "seed": 0, "minutes": 30.0, "steps": 9_700,
           "ada_trace": [[e, max(0.0, 0.01 * (e - 5)), 0.3 + 0.01 * e] for e in range(1, 20)]}
    path = small_data.plot_ada_traces([run, {**run, "row": "none", "ada_trace": None}],
                                      str(tmp_path / "ada.png"), 500, 64)
    assert path == str(tmp_path / "ada.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size[0] > 400
    assert small_data.plot_ada_traces([{**run, "ada_trace": None}], str(tmp_path / "no.png"),
                                      500, 64) is None
    assert not (tmp_path / "no.png").exists()


def test_vae_depth_rows_with_overrides_are_rows_of_their_own():
    """`vae_depth.py --set K=V` runs: a row per (row, overrides), in the script's row order (one
    row's override sets in the order first run), mean ± standard error over seeds; the runs
    without overrides keep their row name."""
    import vae_depth

    def run(row, seed, nll, overrides=None):
        return {"row": row, "seed": seed, "steps": 100, "nll": nll, "bits_per_dim": nll / 100,
                "elbo": -nll - 1, **({"overrides": overrides} if overrides else {})}

    decay = ["optimizer.schedule=linear", "epochs=14"]
    runs = [run("two-layer+ema", 0, 90.0, decay), run("vae", 0, 92.0), run("vae", 1, 94.0),
            run("two-layer+ema", 1, 92.0, decay), run("two-layer+ema", 0, 95.0)]
    table = vae_depth.summarise(runs)
    assert [(e["row"], e["seeds"]) for e in table] == [
        ("vae", 2), ("two-layer+ema + optimizer.schedule=linear + epochs=14", 2),
        ("two-layer+ema", 1)]
    assert table[1]["nll"] == pytest.approx([91.0, 1.0])  # sem of [90, 92]: 1
    assert "| two-layer+ema + optimizer.schedule=linear + epochs=14 | 2 | 100 | 91.00 ± 1.00 |" \
        in vae_depth.markdown(table)
    assert table[2]["nll"] == [95.0, 0.0]
    # the same row at two budgets: two entries, each with its budget
    table = vae_depth.summarise([{**run("vae", 0, 92.0), "seconds": 60.0},
                                 {**run("vae", 0, 90.0), "seconds": None, "max_steps": 500}])
    assert [(e["row"], e["budget"], e["nll"][0]) for e in table] == [
        ("vae", "60.0 s", 92.0), ("vae", "500 steps", 90.0)]


def test_vae_depth_step_budget_is_a_whole_number_of_steps(capsys):
    import vae_depth

    for bad in ("0", "-3", "1.5"):
        with pytest.raises(SystemExit):
            vae_depth.main(["--steps", bad, "--table"])
        assert f"argument --steps: '{bad}' is not a whole number of steps >= 1" in \
            capsys.readouterr().err
    with pytest.raises(SystemExit):  # one budget or the other
        vae_depth.main(["--steps", "10", "--seconds", "60", "--table"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_train_for_stops_within_one_execution_of_a_step_budget():
    """timed.train_for with `steps`: a real fit of ring8-gan (50 steps per execution, 500 per
    epoch) asked for 120 steps stops after the execution that crosses them -- 150 steps, inside
    the first epoch -- and a budget in both seconds and steps (or neither) is refused."""
    from timed import train_for

    cfg, model, _, run = train_for("ring8-gan", [], seed=0, seconds=None, steps=120)
    assert cfg.training.steps_per_execution == 50 and cfg.steps_per_epoch == 500
    assert run["steps"] == 150 == int(model.step.numpy())
    assert run["dtype"] == "float32" and "ada_trace" not in run
    for seconds, steps in ((1.0, 10), (None, None)):
        with pytest.raises(ValueError, match="not both"):
            train_for("ring8-gan", [], seed=0, seconds=seconds, steps=steps)
