"""Text end to end, as a user runs it: `tfgen train --preset text-vae` on the shipped proverbs and
on a user's file, TensorBoard's Text tab read back from the event file, `tfgen sample` with
every decoding rule to .txt and .jsonl, `tfgen interpolate` between two sentences, `tfgen
evaluate`'s text cards, a resumed run, and the mistakes a user makes."""

import json

import pytest

from tests.trainers.test_train import events, fails_in_one_line
from tfgen.trainers.cli import main

TINY = ["--set", "epochs=2", "--set", "steps_per_epoch=3", "--set", "model.width=16",
        "--set", "model.encoder_width=8", "--set", "model.latent_dim=4",
        "--set", "model.embedding_dim=8", "--set", "model.eval_samples=3",
        "--set", "model.cycle_steps=2", "--set", "training.num_samples=3",
        "--set", "batch_size=8", "-q"]


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "proverbs"
    assert main(["train", "--preset", "text-vae", *TINY, "--run-dir", str(run_dir)]) == 0
    return run_dir


def test_a_text_run_reports_perplexity_and_what_the_code_carries(text_run):
    metrics = json.loads((text_run / "metrics.json").read_text())
    quality = metrics["quality"]
    context = metrics["sample_context"]
    assert context["tokens"] == "word" and context["vocabulary"][:4] == [
        "", "[UNK]", "<bos>", "<eos>"] and context["max_length"] == 40
    assert quality["perplexity"] > 1 and quality["nll_per_token"] > 0
    for name in ("self_bleu", "distinct_1", "distinct_2", "kl", "mutual_information",
                 "active_units"):
        assert name in quality, quality
    assert metrics["modality"] == "text"


def test_tensorboard_shows_samples_homotopies_and_reconstructions(text_run):
    acc = events(text_run)
    tags = acc.Tags()["tensors"]
    for tag in ("samples/generated", "samples/homotopy", "samples/reconstructions"):
        assert tag in tags, tags
    generated = acc.Tensors("samples/generated")
    assert len(generated) == 2  # one per epoch
    markdown = generated[-1].tensor_proto.string_val[0].decode()
    assert markdown.startswith("1. ") and "\n3. " in markdown
    table = acc.Tensors("samples/reconstructions")[-1].tensor_proto.string_val[0].decode()
    assert table.startswith("| input | reconstruction |")
    assert sorted(p.name for p in (text_run / "samples").iterdir()) == ["epoch_0001.md",
                                                                       "epoch_0002.md"]


@pytest.mark.parametrize("rule", ["greedy", "beam=3", "top_k=5", "top_p=0.9,temperature=0.7"])
def test_samples_with_every_decoding_rule(text_run, tmp_path, rule):
    out = tmp_path / "s.txt"
    assert main(["sample", str(text_run), "--num", "4", "--decode", rule, "--out", str(out),
                 "-q"]) == 0
    lines = out.read_text().split("\n")
    assert len(lines) == 5 and lines[-1] == ""  # four sentences, one a line
    again = tmp_path / "again.txt"
    assert main(["sample", str(text_run), "--num", "4", "--decode", rule, "--out", str(again),
                 "-q"]) == 0
    assert again.read_text() == out.read_text()  # same seed, same sentences


def test_without_out_text_runs_write_txt(text_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sample", str(text_run), "--num", "2", "-q"]) == 0
    assert len((tmp_path / "samples.txt").read_text().splitlines()) == 2
    assert main(["interpolate", str(text_run), "test:0", "test:1", "--steps", "3"]) == 0
    assert len((tmp_path / "interpolation.txt").read_text().splitlines()) == 3


def test_jsonl_samples_carry_their_scores(text_run, tmp_path):
    out = tmp_path / "s.jsonl"
    assert main(["sample", str(text_run), "--num", "3", "--out", str(out), "-q"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 3 and all(set(r) == {"text", "tokens", "elbo"} for r in rows)
    assert all(r["elbo"] < 0 and r["tokens"] >= 1 for r in rows)


def test_interpolate_between_two_sentences(text_run, tmp_path, capsys):
    out = tmp_path / "homotopy.txt"
    assert main(["interpolate", str(text_run), "a stitch in time saves nine", "test:0",
                 "--steps", "4", "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 4
    assert main(["interpolate", str(text_run), "  ", "test:0", "--out", str(out)]) == 2
    assert "an empty sentence" in capsys.readouterr().err


def test_evaluate_prints_the_text_cards(text_run, capsys):
    capsys.readouterr()
    assert main(["evaluate", str(text_run), "--num", "10", "--nll-samples", "4"]) == 0
    table = capsys.readouterr().out
    for name in ("self_bleu", "distinct_2", "verbatim", "copied_tokens", "perplexity",
                 "mutual_information"):
        assert name in table
    cards = json.loads((text_run / "eval.json").read_text())["cards"]
    assert cards["self_bleu"]["baseline"] > 0  # the real test sentences' own
    assert cards["nll_per_token"]["unit"] == "nats per token"
    assert cards["nll_per_token"]["tokens"] > cards["nll"]["num_reference"]
    assert 0.0 <= cards["reconstruction_bleu"]["value"] <= 1.0
    assert cards["reconstruction_bleu"]["num_reference"] == 10


def test_a_users_text_file_trains_and_resumes(tmp_path):
    """Character tokens, the Transformer decoder and a KL capacity in place of free bits."""
    corpus = tmp_path / "mine.txt"
    corpus.write_text("\n".join(f"line {i} of my own text" for i in range(60)))
    run = tmp_path / "run"
    args = ["train", "--preset", "text-vae", "--set", f"data.name=text:{corpus}", *TINY,
            "--set", "data.tokens=character", "--set", "data.max_length=24",
            "--set", "model.network=transformer", "--set", "model.depth=1",
            "--set", "model.free_bits=0", "--set", "model.kl_capacity=2",
            "--set", "model.capacity_steps=4", "--run-dir", str(run)]
    assert main(args) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["sample_context"]["tokens"] == "character"
    config = (run / "config.yaml").read_text()
    assert "network: transformer" in config and "kl_capacity: 2.0" in config
    assert main([*args[:-2], "--set", "epochs=3", "--run-dir", str(run)]) == 0
    assert json.loads((run / "metrics.json").read_text())["steps"] == 9
    assert main(["sample", str(run), "--num", "2", "--out", str(tmp_path / "c.txt"), "-q"]) == 0


@pytest.mark.parametrize("args,message", [
    (["--preset", "text-vae", "--set", "model.network=conductor"], "not a network for text"),
    (["--preset", "text-vae", "--set", "model.likelihood=bernoulli"], "text takes {name: softmax}"),
    (["--preset", "digits-vae", "--set", "model.likelihood=softmax"], "softmax is the likelihood "
     "of text"),
    (["--preset", "text-vae", "--set", "data.name=text:/no/such.txt"], "text file or folder not "
     "found"),
    (["--preset", "text-vae", "--set", "data.tokens=bytes"], "data.tokens"),
    (["--preset", "text-vae", "--set", "model.network=transformer", "--set", "model.heads=3"],
     "config key 'model.heads': the Transformer's width (256) must be a multiple of its heads"),
])
def test_text_mistakes_are_one_line(args, message, tmp_path, capsys):
    fails_in_one_line(["train", *args, "--run-dir", str(tmp_path / "r"), "-q"], message, capsys)


def test_decode_is_for_text_runs(tmp_path, capsys):
    run = tmp_path / "points"
    assert main(["train", "--preset", "ring8-gan", "--set", "epochs=1", "--set",
                 "steps_per_epoch=2", "-q", "--run-dir", str(run)]) == 0
    capsys.readouterr()
    assert main(["sample", str(run), "--decode", "greedy", "--out", str(tmp_path / "x.png"),
                 "-q"]) == 2
    assert "--decode is for models that write tokens" in capsys.readouterr().err


ARAE_TINY = ["--set", "epochs=2", "--set", "steps_per_epoch=3", "--set", "model.width=8",
             "--set", "model.latent_dim=4", "--set", "model.code_dim=6",
             "--set", "model.autoencoder_width=8", "--set", "model.embedding_dim=4",
             "--set", "training.num_samples=3", "--set", "batch_size=8", "-q"]


def test_the_text_gan_trains_samples_interpolates_and_is_evaluated(tmp_path, capsys):
    run = tmp_path / "arae"
    assert main(["train", "--preset", "text-arae", *ARAE_TINY, "--run-dir", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["modality"] == "text" and "self_bleu" in metrics["quality"]
    acc = events(run)
    scalars = {t.split("/")[-1] for t in acc.Tags()["scalars"] + acc.Tags()["tensors"]}
    assert {"reconstruction", "encoder_adversarial", "d_loss"} <= scalars, scalars
    assert {"samples/generated", "samples/homotopy"} <= set(acc.Tags()["tensors"])
    out = tmp_path / "s.jsonl"
    assert main(["sample", str(run), "--num", "4", "--decode", "beam=2", "--out", str(out),
                 "-q"]) == 0
    assert len(out.read_text().splitlines()) == 4
    assert main(["interpolate", str(run), "a stitch in time saves nine", "test:0", "--steps",
                 "3", "--out", str(tmp_path / "i.txt")]) == 0
    assert len((tmp_path / "i.txt").read_text().splitlines()) == 3
    capsys.readouterr()
    assert main(["evaluate", str(run), "--num", "10"]) == 0
    cards = json.loads((run / "eval.json").read_text())["cards"]
    assert {"forward_ppl", "reverse_ppl", "self_bleu"} <= set(cards) and "nll" not in cards
    assert cards["forward_ppl"]["baseline"] > 1 and cards["reverse_ppl"]["baseline"] > 1


@pytest.mark.parametrize("args,message", [
    (["--preset", "digits-dcgan", "--set", "model.network=arae"], "not a network for images"),
    (["--preset", "digits-dcgan", "--set", "model.code_dim=32"], "an option of the text GAN"),
    (["--preset", "text-arae", "--set", "model.network=dcgan"], "not a network for text"),
    (["--preset", "text-arae", "--set", "model.pac=2"], "unconditional, without PacGAN"),
])
def test_text_gan_mistakes_are_one_line(args, message, tmp_path, capsys):
    fails_in_one_line(["train", *args, "--run-dir", str(tmp_path / "r"), "-q"], message, capsys)
