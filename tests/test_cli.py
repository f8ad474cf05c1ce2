"""The `tfgen` command: help, listings, and one-line errors with exit status 2."""

import os
import subprocess
import sys

import pytest

from tfgen.trainers.cli import main


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for command in ("train", "sample", "presets", "datasets"):
        assert command in out


@pytest.mark.parametrize("command", ["train", "sample", "presets", "datasets"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "usage: tfgen " + command in capsys.readouterr().out


def test_presets_lists_names_and_descriptions(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    names = [ln.split()[0] for ln in lines]
    assert names[:4] == ["ring8-gan", "grid25-gan", "digits-dcgan", "digits-cgan"]
    assert any("(default)" in ln for ln in lines if ln.startswith("digits-dcgan"))
    assert all(len(ln.split()) > 2 for ln in lines)


def test_presets_show(capsys):
    assert main(["presets", "--show", "ring8-gan"]) == 0
    out = capsys.readouterr().out
    assert "data.name" in out and "ring8" in out


def test_datasets_lists_sources_and_forms(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("ring8", "grid25", "digits", "tfds:NAME", "folder:PATH"):
        assert name in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "--set", "epochz=1"], "unknown config key 'epochz'"),
        (["train", "--preset", "nope"], "unknown preset 'nope'"),
        (["train", "--config", "/no/such.yaml"], "config file not found: /no/such.yaml"),
        (["presets", "--show", "nope"], "unknown preset 'nope'"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["train", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("tfgen: error: ")


@pytest.mark.parametrize("preset,sets,message", [
    ("ring8-gan", ["model.ada=blit"], "config key 'model.ada': augmentation needs image data"),
    ("digits-dcgan", ["model.ada=blit,color", "data.pixel_range=unit"],
     "config key 'model.ada': the colour and cutout operations expect images in [-1, 1]"),
])
def test_augmentation_mistakes_are_one_line(tmp_path, capsys, preset, sets, message):
    argv = ["train", "--preset", preset, "--run-dir", str(tmp_path / "run")]
    for item in sets:
        argv += ["--set", item]
    assert main(argv) == 2
    last = capsys.readouterr().err.splitlines()[-1]  # after the run's log lines
    assert last.startswith("tfgen: error: " + message)


def test_installed_command_prints_one_line_no_traceback():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="0")
    proc = subprocess.run(
        [sys.executable, "-m", "tfgen.trainers.cli", "train", "--set", "batch_size=abc"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr == "tfgen: error: config key 'batch_size': expected an integer, got 'abc' (str)\n"
    assert proc.stdout == ""
