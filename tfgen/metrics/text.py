"""Sample statistics of generated text, each beside its real-vs-real floor: BLEU (Papineni et al.
2002) for reconstructions, self-BLEU (Zhu et al. 2018, Texygen) and distinct-n (Li et al. 2016)
for diversity, and memorisation (samples found verbatim in the training text, and the longest
n-gram copied from it).

Sentences are lists of tokens (strings or ints). BLEU here is sentence-level BLEU-N with
uniform weights, clipped n-gram counts against the references, the brevity penalty against the
reference length closest to the hypothesis' (the shorter on a tie), and Chen & Cherry's (2014)
smoothing method 1 (a zero match count becomes 0.1) -- the form NLTK's `sentence_bleu` with
`SmoothingFunction().method1` computes, which Texygen's self-BLEU calls.
"""

from __future__ import annotations

import collections
import math

import numpy as np

from tfgen.metrics import copies

EPSILON = 0.1  # smoothing method 1


def ngrams(tokens, n: int) -> collections.Counter:
    tokens = tuple(tokens)
    return collections.Counter(tokens[i:i + n] for i in range(len(tokens) - n + 1))


def _closest_length(length: int, lengths) -> int:
    return min(lengths, key=lambda r: (abs(r - length), r))


def _bleu_from(matches, totals, length: int, ref_length: int) -> float:
    """BLEU from clipped match counts and hypothesis n-gram counts per order, as NLTK's
    `sentence_bleu` with smoothing method 1: each order's denominator at least 1, no unigram
    match scores 0, a zero count of a higher order becomes EPSILON."""
    if length == 0 or matches[0] == 0:
        return 0.0
    logs = [math.log((m if m > 0 else EPSILON) / max(t, 1)) for m, t in zip(matches, totals)]
    brevity = 1.0 if length > ref_length else math.exp(1 - ref_length / length)
    return brevity * math.exp(sum(logs) / len(logs))


def sentence_bleu(hypothesis, references, n: int = 4) -> float:
    """BLEU-n of one hypothesis against its references (the module docstring)."""
    hypothesis = list(hypothesis)
    matches, totals = [], []
    for k in range(1, n + 1):
        counts = ngrams(hypothesis, k)
        best: collections.Counter = collections.Counter()
        for ref in references:
            for gram, c in ngrams(ref, k).items():
                best[gram] = max(best[gram], c)
        matches.append(sum(min(c, best[g]) for g, c in counts.items()))
        totals.append(max(len(hypothesis) - k + 1, 0))
    ref_length = _closest_length(len(hypothesis), [len(r) for r in references])
    return _bleu_from(matches, totals, len(hypothesis), ref_length)


def corpus_bleu(hypotheses, references, n: int = 4) -> float:
    """Corpus BLEU-n (Papineni et al.): clipped matches and lengths summed over the pairs
    (`references[i]`: hypothesis i's references), one brevity penalty, no smoothing."""
    matches, totals = np.zeros(n), np.zeros(n)
    length = ref_length = 0
    for hyp, refs in zip(hypotheses, references):
        hyp = list(hyp)
        for k in range(1, n + 1):
            best: collections.Counter = collections.Counter()
            for ref in refs:
                for gram, c in ngrams(ref, k).items():
                    best[gram] = max(best[gram], c)
            matches[k - 1] += sum(min(c, best[g]) for g, c in ngrams(hyp, k).items())
            totals[k - 1] += max(len(hyp) - k + 1, 0)
        length += len(hyp)
        ref_length += _closest_length(len(hyp), [len(r) for r in refs])
    if length == 0 or (matches == 0).any():
        return 0.0
    brevity = 1.0 if length > ref_length else math.exp(1 - ref_length / length)
    return float(brevity * np.exp(np.mean(np.log(matches / totals))))


def self_bleu(sentences, n: int = 4, max_sentences: int | None = 1000, seed: int = 0) -> float:
    """Mean BLEU-n of each sentence against all the others as references (higher: less
    diverse). Exact and fast: for every n-gram the largest and second-largest count over the
    set give the clipping count "over the others" of each sentence; on more than
    `max_sentences` a fixed random subset (`seed`) is scored."""
    sentences = [tuple(s) for s in sentences]
    if max_sentences is not None and len(sentences) > max_sentences:
        keep = np.random.default_rng(seed).choice(len(sentences), max_sentences, replace=False)
        sentences = [sentences[i] for i in sorted(keep)]
    if len(sentences) < 2:
        raise ValueError("self-BLEU needs at least two sentences")
    grams = [[ngrams(s, k) for k in range(1, n + 1)] for s in sentences]
    tops = []
    for k in range(n):
        first: dict = {}
        second: dict = collections.defaultdict(int)
        owners: dict = collections.defaultdict(int)
        for g in grams:
            for gram, c in g[k].items():
                top = first.get(gram, 0)
                if c > top:
                    second[gram], first[gram], owners[gram] = top, c, 1
                elif c == top:
                    owners[gram] += 1
                elif c > second[gram]:
                    second[gram] = c
        tops.append((first, second, owners))
    lengths = collections.Counter(len(s) for s in sentences)
    scores = []
    for s, g in zip(sentences, grams):
        matches, totals = [], []
        for k, (first, second, owners) in enumerate(tops):
            total = 0
            for gram, c in g[k].items():
                others = first[gram] if (c < first[gram] or owners[gram] > 1) else second[gram]
                total += min(c, others)
            matches.append(total)
            totals.append(max(len(s) - k, 0))
        lengths[len(s)] -= 1
        ref_length = _closest_length(len(s), [r for r, c in lengths.items() if c > 0])
        lengths[len(s)] += 1
        scores.append(_bleu_from(matches, totals, len(s), ref_length))
    return float(np.mean(scores))


def distinct_n(sentences, n: int) -> float:
    """Distinct n-grams / all n-grams over the set (Li et al. 2016); 0 for no n-grams."""
    counts: collections.Counter = collections.Counter()
    for s in sentences:
        counts.update(ngrams(s, n))
    total = sum(counts.values())
    return len(counts) / total if total else 0.0


def memorisation(sentences, train) -> dict:
    """How much of `sentences` is copied from the training sentences `train`: the fraction
    found verbatim among them, and the longest n-gram each shares with one training sentence
    (`tfgen.metrics.copies.longest_copied_runs`; median, 95th percentile, max, and the
    median fraction of the sentence)."""
    sentences, train = [tuple(s) for s in sentences], [tuple(s) for s in train]
    vocab: dict = {}
    ids = lambda s: [vocab.setdefault(t, len(vocab)) for t in s]  # noqa: E731
    train_ids = [ids(s) for s in train]
    runs = copies.longest_copied_runs([ids(s) for s in sentences], train_ids)
    lengths = np.array([max(len(s), 1) for s in sentences])
    seen = set(train)
    return {"verbatim": float(np.mean([s in seen for s in sentences])),
            "copied_median": float(np.median(runs)), "copied_p95": float(np.percentile(runs, 95)),
            "copied_max": int(runs.max()), "copied_fraction": float(np.median(runs / lengths)),
            "num_sentences": len(sentences)}


def statistics(sentences, train, n: int = 4, max_sentences: int | None = 1000,
               seed: int = 0) -> dict:
    """Every figure of a set of sentences: self_bleu (BLEU-n), distinct_1, distinct_2,
    mean_length (tokens), and the `memorisation` figures against `train`."""
    sentences = [tuple(s) for s in sentences]
    return {"self_bleu": self_bleu(sentences, n, max_sentences, seed),
            "distinct_1": distinct_n(sentences, 1), "distinct_2": distinct_n(sentences, 2),
            "mean_length": float(np.mean([len(s) for s in sentences])),
            **memorisation(sentences, train)}
