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
