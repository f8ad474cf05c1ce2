"""tfgen.metrics.text: BLEU in closed form (and as NLTK computes it), self-BLEU's fast form
against the definition, distinct-n, memorisation."""

import math
import random

import numpy as np
import pytest

from tfgen.data import text as data_text
from tfgen.metrics import text


def test_sentence_bleu_closed_form():
    ref = "the cat sat on the mat".split()
    # p1 = p2 = p3 = 1, p4 = 0 -> 0.1 (smoothing 1, denominator max(0, 1)); brevity e^(1 - 6/3)
    assert text.sentence_bleu("the cat sat".split(), [ref]) == pytest.approx(
        math.exp(-1) * 0.1 ** 0.25, rel=1e-12)
    assert text.sentence_bleu(ref, [ref]) == pytest.approx(1.0)
    assert text.sentence_bleu("dog".split(), [ref]) == 0.0  # no unigram match
    # clipping: "the the the" matches "the" at most twice; p1 = 2/3, p2 = 0 -> 0.1/2
    assert text.sentence_bleu(["the"] * 3, [ref], n=2) == pytest.approx(
        math.exp(1 - 6 / 3) * math.sqrt(2 / 3 * 0.1 / 2))
    # (NLTK 3.9's sentence_bleu with SmoothingFunction().method1 gives 0.20687381245863395 for
    # the first case; on 60 random sentences of 1-9 tokens it agreed to 6e-17.)
    assert text.sentence_bleu("the cat sat".split(), [ref]) == pytest.approx(0.20687381245863395)


def test_self_bleu_fast_form_equals_the_definition():
    rng = random.Random(0)
    sentences = [[rng.choice("abcdefg") for _ in range(rng.randint(1, 9))] for _ in range(50)]
    sentences += [sentences[3], sentences[3]]  # duplicates: the "second largest count" path
    slow = np.mean([text.sentence_bleu(s, sentences[:i] + sentences[i + 1:])
                    for i, s in enumerate(sentences)])
    assert text.self_bleu(sentences) == pytest.approx(slow, abs=1e-12)
    same = [["a", "b", "c", "d"]] * 5
    assert text.self_bleu(same) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least two"):
        text.self_bleu([["a"]])


def test_corpus_bleu():
    hyps = [["a", "b", "c", "d"], ["e", "f", "g", "h"]]
    assert text.corpus_bleu(hyps, [[h] for h in hyps]) == pytest.approx(1.0)
    # the second hypothesis matches e and g only: clipped matches summed over the corpus,
    # over 8, 6, 4, 2 n-grams; equal lengths, so no brevity penalty
    out = text.corpus_bleu(hyps, [[hyps[0]], [["e", "x", "g", "y"]]])
    matches = [4 + 2, 3 + 0, 2 + 0, 1 + 0]
    assert out == pytest.approx(math.exp(np.mean(np.log(np.array(matches) / [8, 6, 4, 2]))))


def test_distinct_and_memorisation():
    sents = [["a", "b", "a", "b"], ["a", "c"]]
    assert text.distinct_n(sents, 1) == pytest.approx(3 / 6)
    assert text.distinct_n(sents, 2) == pytest.approx(3 / 4)  # ab, ba, ac
    train = [["x", "a", "b", "a"], ["a", "c"]]
    m = text.memorisation(sents + [["q"]], train)
    assert m["verbatim"] == pytest.approx(1 / 3)
    assert (m["copied_max"], m["copied_median"]) == (3, 2.0)
    stats = text.statistics(sents, train)
    assert set(stats) >= {"self_bleu", "distinct_1", "distinct_2", "mean_length", "verbatim"}


class _Autoencoder:
    """A stand-in with a code per sentence: the code is the sentence; decoding writes it back
    with its last word replaced by [UNK] when `lossy`."""

    has_code = True

    def __init__(self, lossy):
        self.lossy = lossy

    def encode(self, x):
        return np.asarray(x), None  # (mean, log-variance), as a VAE's

    def decode(self, codes):
        out = np.array(codes)
        if self.lossy:
            for row in out:
                n = int(row[:, 1].sum())
                row[n - 2, 0] = data_text.UNK  # the word before <eos>
        return out


def test_reconstruction_bleu_of_an_exact_and_a_lossy_autoencoder():
    from tfgen.modalities.text import reconstruction_bleu

    vocab = data_text.vocabulary(["a b c d e"])
    x, _ = data_text.encode(["a b c d e"], vocab, max_length=8)
    x = x.astype(np.float32)
    assert reconstruction_bleu(_Autoencoder(False), x) == pytest.approx(1.0)
    # "a b c d [UNK]" against "a b c d e": n-gram precisions 4/5, 3/4, 2/3, 1/2, no brevity
    # penalty, so BLEU-4 = (4/5 * 3/4 * 2/3 * 1/2) ** (1/4)
    expected = (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25
    assert reconstruction_bleu(_Autoencoder(True), x) == pytest.approx(expected, rel=1e-9)
