"""`tfgen tune`: hypermodels from preset spaces, a real search, failed trials, SIGKILL + resume,
a chief and two workers on 127.0.0.1."""

import json
import random
import socket
import subprocess
import sys
import time

import keras_tuner
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.processes import kill_after, kill_when, start, tfgen_env
from tfgen.trainers import presets
from tfgen.trainers.cli import main
from tfgen.tuning import search
from tfgen.tuning.hypermodels import hypermodel_for

# Each trial: 2 epochs x 10 steps of a small MLP GAN on ring8, evaluated after each epoch.
TINY = ["--preset", "ring8-gan", "--set", "epochs=2", "--set", "steps_per_epoch=10",
        "--set", "batch_size=64", "--set", "model.depth=1"]


def hparams_session_groups(logdir, metrics) -> list[dict]:
    """The HParams dashboard's session groups, from `tensorboard --logdir logdir`'s own API."""
    import urllib.request

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/data/plugin/hparams"

    def post(route, body):
        request = urllib.request.Request(f"{base}/{route}", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    try:
        deadline = time.time() + 120
        while True:
            try:
                experiment = post("experiment", {"experimentName": ""})
                if experiment.get("metricInfos"):
                    break
            except OSError:
                pass
            assert server.poll() is None and time.time() < deadline
            time.sleep(0.5)
        request = {"experimentName": "", "startIndex": 0, "sliceSize": 100,
                   "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE",
                                       "STATUS_RUNNING"],
                   "colParams": [{"metric": {"tag": f"evaluation/{m}"}, "order": "ORDER_ASC"}
                                 for m in metrics]}
        return post("session_groups", request)["sessionGroups"]
    finally:
        server.kill()
        server.wait()


def test_every_draw_of_the_vae_depth_space_is_a_valid_config():
    # DReG is drawn only with what it combines with (IWAE, Gaussian posterior, normal prior):
    # no combination of the space fails validation, from either deep preset.
    hm = hypermodel_for("digits-vamp")  # the VampPrior preset: DReG draws must reset its prior
    assert hypermodel_for("digits-hvae").space is hm.space
    declared = keras_tuner.HyperParameters()
    hm.space(declared)  # every hyperparameter, with its conditions
    seen = set()
    rng = random.Random(0)
    for _ in range(40):  # random trials, as RandomSearch draws them
        values = {}
        for h in declared.space:
            if all(c.is_active(values) for c in h.conditions):
                values[h.name] = h.random_sample(rng.randrange(10**6))
        hp = keras_tuner.HyperParameters()
        hp.values.update(values)
        m = hm.build(hp).model
        assert m.iw_samples == (1 if values["bound"] == "elbo" else 5)
        assert m.estimator == ("dreg" if values["bound"] == "iwae5_dreg" else "standard")
        assert m.ema_decay == values["ema_decay"] in (0.99, 0.999)
        assert m.dropout == values["dropout"] in (0.0, 0.1, 0.2)
        if "prior" in values:
            assert m.prior["name"] == values["prior"] and m.flow_steps == values["flow_steps"]
        seen.add((m.prior["name"], m.flow_steps, m.top_latent_dim, m.iw_samples, m.estimator))
    assert {p for p, *_ in seen} == {"normal", "vamp"} and any(e == "dreg" for *_, e in seen)


def test_space_values_become_config_keys():
    hm = hypermodel_for("digits-vae")
    hp = keras_tuner.HyperParameters()
    hp.Fixed("kl_schedule", "linear")
    hp.Fixed("warmup_steps", 500)
    hp.Fixed("latent_dim", 8)
    cfg = hm.build(hp)
    assert cfg.model.kl_schedule == "linear" and cfg.model.warmup_steps == 500
    assert cfg.model.latent_dim == 8 and cfg.preset == "digits-vae" and hm.objective == ["nll"]
    hp = keras_tuner.HyperParameters()
    hp.Fixed("kl_schedule", "constant")  # warmup_steps inactive: the preset's value stays
    assert hm.build(hp).model.warmup_steps == presets.get("digits-vae").model.warmup_steps
    trial = hm.training_config(cfg, epochs=8)
    assert trial.epochs == 8 and trial.evaluation.every == 2 and trial.evaluation.metric == "nll"
    assert trial.evaluation.stop_on_collapse and cfg.evaluation.every == 0  # a copy
    gan = hypermodel_for("ring8-gan", overrides=["model.width=16"])
    hp = keras_tuner.HyperParameters()
    cfg = gan.build(hp)  # defaults of every declared hyperparameter
    assert cfg.d_optimizer.learning_rate == cfg.g_optimizer.learning_rate * hp.get("d_lr_ratio")
    assert gan.objective == ["reverse_kl"]
    assert hypermodel_for("digits-dcgan").objective == ["frechet_distance"]


def test_search_table_best_config_and_hparams(tmp_path, capsys):
    out = tmp_path / "search"
    assert main(["tune", *TINY, "--max-trials", "2", "--objective", "reverse_kl,high_quality",
                 "--dir", str(out), "-q"]) == 0
    captured = capsys.readouterr()
    table = captured.out
    assert table.splitlines()[0].split()[:4] == ["trial", "status", "reverse_kl", "high_quality"]
    # -q: the tuner's per-trial lines, without the trial runs' own messages
    assert "trial 0 (tuner0) starts" in captured.err and "trial 1 done in" in captured.err
    assert "run directory:" not in captured.err and "evaluation (test split)" not in captured.err
    results = json.loads((out / "results.json").read_text())
    assert [t["status"] for t in results["trials"]] == ["COMPLETED"] * 2
    best = results["trials"][0]
    # The best config is a complete, valid config `tfgen train --config` takes.
    cfg = presets.resolve(config_file=out / "best_config.yaml")
    assert cfg.preset == "ring8-gan" and cfg.model.width == best["hyperparameters"]["width"]
    assert cfg.model.depth == 1 and cfg.epochs == 2
    summary = json.loads((out / "ring8-gan" / f"trial_{best['trial_id']}" /
                          "trial_summary.json").read_text())
    assert summary["status"] == "COMPLETED" and summary["tuner_id"] == "tuner0"
    assert summary["scores"]["reverse_kl"] == pytest.approx(best["metrics"]["reverse_kl"])
    # HParams dashboard: the experiment and one session per trial, beside its evaluation scalars.
    acc = EventAccumulator(str(out / "ring8-gan" / "hparams"))
    acc.Reload()
    assert "_hparams_/experiment" in acc.Tags()["tensors"]
    run = out / "ring8-gan" / f"trial_{best['trial_id']}" / "run" / "logs"
    acc = EventAccumulator(str(run), size_guidance={"tensors": 0})
    acc.Reload()  # one run directory: TensorBoard joins the session with these metrics
    assert {"_hparams_/session_start_info", "evaluation/reverse_kl"} <= set(acc.Tags()["tensors"])
    # Read back as the dashboard does, from a real TensorBoard server: one group per trial,
    # each with its objective's value and a finished status.
    groups = hparams_session_groups(out / "ring8-gan", ["reverse_kl", "high_quality"])
    by_trial = {t["trial_id"]: t for t in results["trials"]}
    assert len(groups) == 2
    for group in groups:
        trial = by_trial[group["name"].split("/")[0].removeprefix("trial_")]
        values = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
        assert values["evaluation/reverse_kl"] == pytest.approx(trial["metrics"]["reverse_kl"])
        assert [s["status"] for s in group["sessions"]] == ["STATUS_SUCCESS"]
        assert group["hparams"]["width"] == trial["hyperparameters"]["width"]
    # The same command again continues the finished search: nothing retrained.
    assert main(["tune", *TINY, "--max-trials", "2", "--objective", "reverse_kl,high_quality",
                 "--dir", str(out), "-q"]) == 0
    capsys.readouterr()
    # A different search in the same directory is refused.
    assert main(["tune", *TINY, "--max-trials", "2", "--dir", str(out), "-q"]) == 2
    assert "holds a different search (objective differ)" in capsys.readouterr().err


def test_diverging_trial_fails_without_stopping_the_search(tmp_path):
    def space(hp):  # one trial that diverges (SGD at rate 10), one that trains
        lr = hp.Choice("learning_rate", [1e-3, 10.0])
        return {"g_optimizer.learning_rate": lr, "d_optimizer.learning_rate": lr}

    overrides = [o for o in TINY[2:] if o != "--set"] + [
        "g_optimizer.name=sgd", "d_optimizer.name=sgd", "model.regularizers.r1=null",
        "model.objective=least_squares", "model.width=16"]
    results = search.run("ring8-gan", max_trials=2, overrides=overrides,
                         directory=str(tmp_path / "s"), space=space)
    by_lr = {t["hyperparameters"]["learning_rate"]: t for t in results["trials"]}
    assert by_lr[10.0]["status"] == "FAILED" and by_lr[1e-3]["status"] == "COMPLETED"
    failed = json.loads((tmp_path / "s" / "ring8-gan" / f"trial_{by_lr[10.0]['trial_id']}" /
                         "trial_summary.json").read_text())
    assert "non-finite" in failed["message"]


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_sigkill_mid_trial_then_resume(tmp_path):
    out = tmp_path / "search"
    args = ["tune", "--preset", "ring8-gan", "--set", "epochs=3", "--set", "steps_per_epoch=150",
            "--set", "batch_size=64", "--set", "model.depth=1", "--max-trials", "3", "--dir",
            str(out)]
    # SIGKILL once trial 1 has finished its first epoch (its first checkpoint is written).
    kill_when(args, out / "ring8-gan" / "trial_1" / "run" / "checkpoints" / "checkpoint")
    first = out / "ring8-gan" / "trial_0" / "run" / "metrics.json"
    stamp = first.stat().st_mtime_ns
    assert not (out / "ring8-gan" / "trial_1" / "run" / "metrics.json").exists()
    proc = subprocess.run([sys.executable, "-m", "tfgen.trainers.cli", *args], env=tfgen_env(),
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "resuming" in proc.stderr and "trial_1" in proc.stderr  # retried from its checkpoint
    assert first.stat().st_mtime_ns == stamp  # the completed trial was kept, not rerun
    results = json.loads((out / "results.json").read_text())
    assert sorted(t["trial_id"] for t in results["trials"]) == ["0", "1", "2"]
    assert all(t["status"] == "COMPLETED" for t in results["trials"])


# (slow: 70 s; CI keeps test_sigkill_mid_trial_then_resume, the kill-and-resume of one trial)
@pytest.mark.slow
def test_random_kills_and_a_sigterm_inside_a_search_give_the_same_results(tmp_path, capsys):
    """Inside a search of three deterministic trials: a SIGKILL at a random moment of trial 0's
    and of trial 1's training, a SIGTERM inside trial 2 (saved mid-epoch, exit 143), and a
    SIGKILL at a random moment after trial 2's last checkpoint (its final files, the search's
    end); resumed each time, the search completes the same trials as an uninterrupted one."""
    import random
    import signal

    def args(out):
        return ["tune", *TINY, "--set", "steps_per_epoch=200", "--set",
                "training.steps_per_execution=10", "--set", "training.deterministic=true",
                "--max-trials", "3", "--dir", str(out)]

    whole = subprocess.run([sys.executable, "-m", "tfgen.trainers.cli", *args(tmp_path / "w")],
                           env=tfgen_env(), capture_output=True, text=True, timeout=600)
    assert whole.returncode == 0, whole.stderr[-3000:]
    out, rng, hits = tmp_path / "k", random.Random(15), []

    def ckpt(trial, epoch):
        return out / "ring8-gan" / f"trial_{trial}" / "run" / "checkpoints" / f"ckpt-{epoch}.index"

    def trials():
        return ", ".join(sorted(p.parent.name + ("*" if (p / "metrics.json").exists() else "")
                                for p in (out / "ring8-gan").glob("trial_*/run")))

    for trial in (0, 1):  # into the trial's second epoch
        delay = rng.uniform(0.0, 1.0)
        hits.append(f"SIGKILL {delay:.2f} s after trial {trial}'s first checkpoint: "
                    + kill_after(args(out), delay, trials, after=ckpt(trial, 1)))
    child = start(args(out))
    deadline = time.time() + 300
    while not ckpt(2, 1).exists():
        assert child.poll() is None and time.time() < deadline, child.stderr.read()[-2000:]
        time.sleep(0.01)
    # At once (trial 2's first epoch has ended): a fixed delay let a fast machine finish the trial.
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=300)
    assert child.returncode == 128 + signal.SIGTERM, err[-3000:]
    assert err.strip().splitlines()[-1].endswith("; run the same command to resume from there")
    delay = rng.uniform(0.0, 0.4)
    hits.append(f"SIGKILL {delay:.2f} s after trial 2's last checkpoint: "
                + kill_after(args(out), delay, trials, after=ckpt(2, 2)))
    with capsys.disabled():
        print("\n" + "\n".join(hits))  # finished trials are starred
    done = subprocess.run([sys.executable, "-m", "tfgen.trainers.cli", *args(out)],
                          env=tfgen_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    def results(directory):
        rows = json.loads((directory / "results.json").read_text())["trials"]
        return sorted((t["trial_id"], t["status"], json.dumps(t["hyperparameters"]))
                      for t in rows)

    # The same trials, all completed. (Scores are not compared: some configurations the search
    # draws -- this one's trial 0 -- differ in their scores between two uninterrupted runs
    # even with training.deterministic, which is open; bit-identical resumes of training are
    # tested in tests/trainers/test_kill_points.py.)
    assert results(out) == results(tmp_path / "w")
    assert all(t[1] == "COMPLETED" for t in results(out))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # CI's 20 minutes; run with -m slow
def test_chief_and_two_workers(tmp_path):
    out = tmp_path / "search"
    port = str(_free_port())
    args = [sys.executable, "-m", "tfgen.trainers.cli", "tune", *TINY, "--max-trials", "4",
            "--dir", str(out), "-q"]
    procs = []
    try:
        for tuner_id in ("chief", "tuner0", "tuner1"):
            env = tfgen_env(KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                       KERASTUNER_ORACLE_PORT=port)
            procs.append(subprocess.Popen(args, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
            if tuner_id == "chief":
                time.sleep(3)  # let the oracle server start listening
        outputs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    summaries = [json.loads(p.read_text()) for p in out.glob("ring8-gan/trial_*/trial_summary.json")]
    assert len(summaries) == 4 and all(s["status"] == "COMPLETED" for s in summaries)
    assert {s["tuner_id"] for s in summaries} == {"tuner0", "tuner1"}  # both workers ran trials
    assert "trial" in outputs[0][0] and (out / "best_config.yaml").exists()  # chief's table


@pytest.mark.parametrize("args,message", [
    (["--objective", "fid"], "--objective 'fid': choose from modes_covered"),
    (["--max-trials", "0"], "--max-trials must be at least 1, got 0"),
    (["--preset", "digits-dcgan", "--set", "model.widht=3"], "unknown config key 'model.widht'"),
])
def test_bad_tune_requests(args, message, tmp_path, capsys):
    assert main(["tune", *TINY[:2], *args, "--dir", str(tmp_path / "s"), "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("preset", ["jsb-vae", "jsb-srnn"])
def test_every_draw_of_a_music_space_is_a_valid_config(preset):
    hm = hypermodel_for(preset)
    declared = keras_tuner.HyperParameters()
    hm.space(declared)
    rng = random.Random(0)
    for _ in range(20):
        hp = keras_tuner.HyperParameters()
        hp.values.update({h.name: h.random_sample(rng.randrange(10**6)) for h in declared.space})
        cfg = hm.build(hp)  # validated
        assert cfg.model.network == presets.get(preset).model.network
        assert cfg.model.likelihood == {"name": "nade", "hidden": hp.values["nade_hidden"]}


@pytest.mark.parametrize("preset", ["fsdd-wavegan", "fsdd-cwavegan", "fsdd-specgan", "fsdd-vae",
                                    "audio-wavegan", "wordnet-vae", "wordnet-arae"])
def test_every_draw_of_the_audio_and_text_spaces_is_a_valid_config(preset):
    """(The first draw of a space once asked specgan for WaveGAN's phase shuffle.)"""
    hm = hypermodel_for(preset)
    declared = keras_tuner.HyperParameters()
    hm.space(declared)
    hm.build(keras_tuner.HyperParameters())  # every default
    rng = random.Random(0)
    for _ in range(20):
        hp = keras_tuner.HyperParameters()
        hp.values.update({h.name: h.random_sample(rng.randrange(10**6)) for h in declared.space})
        cfg = hm.build(hp)  # validated
        assert cfg.model.network in {presets.get(preset).model.network, "transformer"}  # (text)
        if preset == "fsdd-vae":  # the spectrogram VAE's own sizes, around the preset's 64
            assert cfg.model.latent_dim in {32, 64, 128}
