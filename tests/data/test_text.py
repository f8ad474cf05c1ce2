"""tfgen.data.text: WordNet's example sentences, a user's text files, vocabularies, the packed
token layout, splits by hash, and the mistakes a user makes."""

import collections
import logging
import os
import re

import numpy as np
import pytest

import tfgen.data as data
from tfgen.data import text
from tfgen.data.arrays import assign_splits
from tfgen.errors import ConfigError, DataError

HAVE_WORDNET = os.path.isfile(os.path.join(text.WORDNET_DIR, "data.noun"))
needs_wordnet = pytest.mark.skipif(
    not HAVE_WORDNET and not os.environ.get("TFGEN_REQUIRE_WORDNET"),
    reason="WordNet 3.0 not installed (apt-get install wordnet-base)")

SENTENCES = ["the cat sat on the mat .", "the dog sat", "a cat and a dog", "the cat ran",
             "dogs bark !", "the mat is red", "a red cat", "the dog ran on the mat"]


def reference_vocabulary(texts, size, min_count):
    """Tokens by frequency with Python's own tools: lower-case, punctuation split off."""
    counts = collections.Counter(t for s in texts
                                 for t in re.sub(r'([.,!?;:()"])', r" \1 ", s.lower()).split())
    return {t for t, c in counts.items() if c >= min_count}, counts


def test_vocabulary_is_the_frequent_tokens_of_the_train_text():
    vocab = text.vocabulary(SENTENCES, vocab_size=100, min_count=2)
    expected, counts = reference_vocabulary(SENTENCES, 100, 2)
    assert vocab[:4] == list(text.SPECIALS)
    assert set(vocab[4:]) == expected
    assert [counts[t] for t in vocab[4:]] == sorted((counts[t] for t in vocab[4:]), reverse=True)
    # the size counts the specials; the most frequent are kept
    small = text.vocabulary(SENTENCES, vocab_size=6, min_count=1)
    assert small[4:] == ["the", "cat"]  # 7 and 4 times: the two most frequent


def test_encode_decode_round_trip_with_unknowns_and_truncation():
    vocab = text.vocabulary(SENTENCES, min_count=1)
    x, cut = text.encode(["The cat sat on the mat.", "a zebra", "the " * 20], vocab, max_length=8)
    assert x.shape == (3, 8, 2) and x.dtype == np.int32 and cut == 1
    assert text.lengths(x).tolist() == [8, 3, 8]  # the cut one keeps its <eos>
    assert x[0, 7, 0] == text.EOS and x[1, 2, 0] == text.EOS and x[2, 7, 0] == text.EOS
    assert x[1, 1, 0] == text.UNK and not x[1, 3:].any()  # padding: id 0, mask 0
    out = text.decode(x, vocab)
    assert out[0] == "the cat sat on the mat."
    assert out[1] == "a [UNK]"
    assert text.decode(x[1:2], vocab, specials=True) == ["a [UNK] <eos>"]
    assert text.decode(x[:, :, 0], vocab)[0] == out[0]  # bare ids stop at <eos>


def test_character_level():
    vocab = text.vocabulary(["abba", "cab"], level="character", lowercase=False)
    assert set(vocab[4:]) == {"a", "b", "c"} and vocab[4] in "ab"
    x, _ = text.encode(["Abc"], vocab, 6, level="character", lowercase=False)
    assert text.decode(x, vocab, level="character") == ["[UNK]bc"]


def test_text_file_source_splits_by_hash_and_batches_are_cut(tmp_path):
    lines = [f"sentence number {i} is here" + " again" * (i % 9) for i in range(300)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines) + "\n\n   \n")  # blank lines are not examples
    src = data.source(f"text:{path}", max_length=12, min_count=2)
    info = src.info
    assert info.kind == "text" and data.kind(f"text:{path}") == "text"
    assert sum(info.splits.values()) == 300 and info.shape == (12, 2)
    which = assign_splits(lines, 0.1, 0.1)
    assert info.splits == {"train": int((which == 0).sum()), "val": int((which == 1).sum()),
                           "test": int((which == 2).sum())}
    # the vocabulary comes from the train split only
    train = [t for t, s in zip(lines, which) if s == 0]
    assert set(info.vocabulary[4:]) == reference_vocabulary(train, 10_000, 2)[0]
    # lines with more than 11 tokens were cut, and counted
    assert info.truncated == sum(len(t.split()) > 11 for t in lines)
    x, _ = src.numpy("test")
    assert x.dtype == np.float32
    decoded = text.decode(x, info.vocabulary)
    held = [t for t, s in zip(lines, which) if s == 2]
    known = set(info.vocabulary)
    assert decoded[0] == " ".join(t if t in known else "[UNK]" for t in held[0].split()[:11])
    # training batches: cut to the batch's longest sentence, rounded up to 8 tokens
    for batch in data.load(f"text:{path}", batch_size=16, seed=0, max_length=12).take(4):
        longest = int(batch[..., 1].numpy().sum(axis=1).max())
        assert batch.shape[1] == min(-(-longest // 8) * 8, 12)
    # adding lines never moves an old line between splits
    path.write_text("\n".join(lines + [f"new line {i}" for i in range(50)]))
    more = data.source(f"text:{path}", max_length=12)
    assert more.info.splits["test"] >= info.splits["test"]
    assert set(text.decode(more.numpy("test")[0], more.info.vocabulary)) >= set(decoded) - {""}


def test_text_folder_one_example_per_file(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("first file\nstill the first")
    (tmp_path / "two.txt").write_text("second file")
    (tmp_path / ".hidden").write_text("never read")
    assert text.read_examples(str(tmp_path), unit="file") == ["first file still the first",
                                                            "second file"]
    assert text.read_examples(str(tmp_path)) == ["first file", "still the first", "second file"]


def test_mistakes_get_one_line_naming_the_file(tmp_path, caplog):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\nbad \xff byte\n")
    with pytest.raises(DataError, match=r"bad\.txt: not UTF-8 text \(byte 0xff at line 2\)"):
        text.read_examples(str(bad))
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    with pytest.raises(DataError, match=r"empty\.txt: empty: no text to train on"):
        text.read_examples(str(empty))
    long = tmp_path / "long.txt"
    long.write_text("word " * 30_000)
    with pytest.raises(DataError, match=r"long\.txt:1: a line of 150,000 characters.*text_unit=file"):
        text.read_examples(str(long))
    (tmp_path / "good.txt").write_text("a good line")
    long.unlink()
    with pytest.raises(DataError, match="bad.txt: not UTF-8"):
        text.read_examples(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="tfgen"):
        assert text.read_examples(str(tmp_path), skip_corrupt=True) == ["a good line"]
    assert "2 of 3 files skipped" in caplog.text and "bad.txt" in caplog.text
    with pytest.raises(ConfigError, match="text file or folder not found: /no/such"):
        data.check_name("text:/no/such")
    with pytest.raises(DataError, match="data.tokens must be one of word, character"):
        text.vocabulary(["a"], level="byte")


@needs_wordnet
def test_wordnet_sentences_and_their_fixed_split():
    sentences = text.wordnet_sentences()
    assert len(sentences) == 48_224 and len(set(sentences)) == len(sentences)
    assert "the team is a unit" in sentences
    src = data.source("wordnet")
    assert src.info.splits == {"train": 43_551, "val": 2_281, "test": 2_392}
    assert len(src.info.vocabulary) == 10_000 and src.info.tokens == "word"
    x, _ = src.numpy("val")
    assert x.shape == (2_281, 32, 2) and (x[..., 1].sum(axis=1) >= 2).all()


def test_wordnet_missing_says_how_to_install(tmp_path):
    with pytest.raises(DataError, match="apt-get install wordnet-base"):
        data.source("wordnet", data_dir=str(tmp_path))


def test_tfds_text_datasets_through_the_real_tfds_load_path():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=30):
        src = data.source("text:tfds:imdb_reviews", max_length=20, min_count=1)
        info = src.info
        assert info.kind == "text" and data.kind("text:tfds:imdb_reviews") == "text"
        # (mock data serves every split it is asked for: the splits TFDS has are kept)
        assert info.splits == {"train": 30, "val": 30, "test": 30}
        x, _ = src.numpy("train")
        assert x.shape[1:] == (20, 2) and (x[..., 1].sum(axis=1) >= 1).all()
        assert len(info.vocabulary) > 4
    with pytest.raises(ConfigError, match="TFDS has no dataset 'no_such_set'"):
        data.check_name("text:tfds:no_such_set")
    with tfds.testing.mock_data(num_examples=4):
        with pytest.raises(DataError, match="has no text feature"):
            data.source("text:tfds:mnist")


def test_splits_a_source_brings_are_kept_and_the_rest_held_out_of_train_by_hash():
    from tfgen.data.options import DataOptions

    train = [f"sentence {i} of the training text" for i in range(200)]
    own = {"test": ["a test sentence", "another one"]}
    arrays, vocab, _ = text.text_arrays("x", train, DataOptions(name="x"), 0.1, 0.0, own)
    which = assign_splits(train, 0.1, 0.0)
    assert {s: len(a) for s, a in arrays.items()} == {
        "train": int((which == 0).sum()), "val": int((which == 1).sum()), "test": 2}
    assert text.decode(arrays["test"], vocab)[0] == "[UNK] [UNK] sentence"  # train's vocabulary
