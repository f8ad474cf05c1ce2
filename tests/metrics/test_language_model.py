"""tfgen.metrics.language_model: the LSTM language model behind the forward and reverse
perplexities of text, checked against closed forms and a NumPy computation, and the text cards
they add to `tfgen evaluate`."""

import math

import keras
import numpy as np
import pytest

from tfgen import data
from tfgen.data import text
from tfgen.metrics import Evaluator
from tfgen.metrics import language_model as lm
from tfgen.metrics.evaluation import Sampler

LINES = ["the cat sat on the mat", "the dog sat on the log", "a cat ran to the dog",
         "a dog ran to the cat", "the cat and the dog sat"]


def packed(lines, max_length=10):
    vocab = text.vocabulary(lines)
    x, _ = text.encode(lines, vocab, max_length)
    return x.astype(np.float32), vocab


def test_teacher_forcing_shifts_in_bos_and_masks_padding():
    x, _ = packed(LINES[:2])
    inputs, targets, weights = lm.teacher_forcing(x)
    assert (inputs[:, 0] == text.BOS).all()
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    np.testing.assert_array_equal(weights, x[..., 1])
    assert (targets[weights == 0] == 0).all()
    assert (targets[np.arange(2), weights.sum(1).astype(int) - 1] == text.EOS).all()  # counted


def test_log_probs_equal_numpy_from_the_logits_and_ignore_padding():
    x, vocab = packed(LINES)
    model = lm.language_model(len(vocab), embedding_dim=8, units=8)
    inputs, targets, weights = lm.teacher_forcing(x)
    logits = keras.ops.convert_to_numpy(model(inputs)).astype(np.float64)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = (np.take_along_axis(log_p, targets[..., None], -1)[..., 0] * weights).sum(1)
    np.testing.assert_allclose(lm.log_probs(model, x, batch_size=2), expected, rtol=1e-5)
    padded = np.concatenate([x, np.zeros((len(x), 6, 2), np.float32)], axis=1)
    np.testing.assert_allclose(lm.log_probs(model, padded), expected, rtol=1e-5)
    tokens = x[..., 1].sum()
    assert lm.perplexity(model, x) == pytest.approx(math.exp(-expected.sum() / tokens), rel=1e-5)


def test_a_uniform_model_has_the_vocabulary_as_perplexity():
    x, vocab = packed(LINES)
    model = lm.language_model(len(vocab), embedding_dim=8, units=8)
    head = model.get_layer("logits")
    head.set_weights([np.zeros_like(w) for w in head.get_weights()])
    assert lm.perplexity(model, x) == pytest.approx(len(vocab), rel=1e-6)


def test_training_learns_the_corpus_and_the_cache_returns_the_same_model(tmp_path):
    x, vocab = packed(LINES * 8)
    scrambled, _ = text.encode([" ".join(reversed(s.split())) for s in LINES], vocab, 10)
    model, card = lm.dataset_language_model("toy", x, len(vocab), str(tmp_path), steps=150,
                                            progress=False)
    assert card["train_sentences"] == 40 and card["epochs"] == lm.MAX_EPOCHS
    ppl = lm.perplexity(model, x)
    assert ppl < 3.0 < len(vocab)  # each sentence is nearly determined after a few words
    assert lm.perplexity(model, scrambled.astype(np.float32)) > 3 * ppl
    again, card2 = lm.dataset_language_model("toy", x, len(vocab), str(tmp_path), steps=150,
                                             progress=False)
    assert card2 == card and lm.perplexity(again, x) == pytest.approx(ppl, rel=1e-6)
    with pytest.raises(ValueError, match="at least one sentence"):
        lm.train_language_model(x[:0], len(vocab))


class Copier(Sampler):
    """Samples real sentences (the train split's, in order): the perfect-memory generator."""

    def __init__(self, x):
        self.x = x

    def sample(self, num, seed=0, labels=None):
        return self.x[np.arange(num) % len(self.x)]


class OneSentence(Copier):
    def sample(self, num, seed=0, labels=None):
        return np.repeat(self.x[:1], num, axis=0)


def test_text_cards_add_forward_and_reverse_ppl_with_their_floors(tmp_path):
    lines = [f"{a} {b} sat on the {c}" for a in ("the", "a", "one", "my") for b in
             ("cat", "dog", "fox", "hen", "cow") for c in ("mat", "log", "rug", "bed", "box")]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n")
    src = data.source(f"text:{path}", max_length=8, val_fraction=0.1, test_fraction=0.2)
    train, _ = src.numpy("train")
    test, _ = src.numpy("test")
    ev = Evaluator(src, "test", num=len(test), features="auto", cas=True, cas_steps=60,
                   cache_dir=str(tmp_path / "cache"))
    copier, collapsed = Copier(test), OneSentence(train)
    assert {"forward_ppl", "reverse_ppl"} <= set(ev.available(copier))
    cards = ev(copier)
    # the reference's own sentences: forward PPL is the floor's
    assert cards["forward_ppl"]["value"] == pytest.approx(cards["forward_ppl"]["baseline"],
                                                          rel=1e-6)
    assert cards["forward_ppl"]["language_model"]["train_sentences"] == len(train)
    assert cards["reverse_ppl"]["baseline"] > 1.0
    # one sentence repeated: its LM cannot model the test split
    bad = ev(collapsed)
    assert bad["reverse_ppl"]["value"] > 2 * bad["reverse_ppl"]["baseline"]
    assert bad["self_bleu"]["value"] == pytest.approx(1.0)
    quick = Evaluator(src, "test", num=20, features=None)  # the trainer's cheap stage
    assert not {"forward_ppl", "reverse_ppl"} & set(quick.available(copier))
