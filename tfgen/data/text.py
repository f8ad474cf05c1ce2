"""Text: the example sentences of WordNet 3.0 (`wordnet`) and a user's text (`text:FILE`,
`text:DIR`), as token ids in the packed layout of the sequence models.

A sentence is a sequence of frames of one value, its token id, plus the mask channel the
piano-rolls carry (`tfgen.data.music.pack`): x [sentences, tokens, 2], x[..., 0] the ids (as
float32 in the pipeline; exact below 2^24), x[..., 1] 1 on the sentence's own tokens -- its
words (or characters) and the closing `<eos>` -- and 0 on padding. So the sequence models'
masks, the pipeline's batches cut to their longest sequence (`ArraySource.crop_multiple`) and
the per-token figures work on text unchanged.

Tokens come from Keras's `TextVectorization` (word level: lower-cased unless told otherwise,
punctuation split off as tokens of its own, split on whitespace; character level: every
character): the vocabulary is built on the train split only -- the most frequent `vocab_size`
tokens seen at least `min_count` times -- and is, in order, `""` (padding, id 0), `[UNK]` (1),
`<bos>` (2), `<eos>` (3), then the tokens by frequency. Sentences longer than `max_length`
tokens (the `<eos>` included) are cut, and counted.

Example:

>>> from tfgen.data import text
>>> vocab = text.vocabulary(["the cat sat .", "the dog sat", "the end"], min_count=1)
>>> vocab[:6]
['', '[UNK]', '<bos>', '<eos>', 'the', 'sat']
>>> x, cut = text.encode(["The sat sat!"], vocab, max_length=8)
>>> x[0, :5, 0].tolist(), cut                     # the, sat, sat, [UNK] (!), <eos>
([4, 5, 5, 1, 3], 0)
>>> text.decode(x, vocab)
['the sat sat [UNK]']
"""

from __future__ import annotations

import logging
import os
import re

import numpy as np

from tfgen import fileio
from tfgen.errors import DataError

log = logging.getLogger("tfgen")

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIALS = ("", "[UNK]", "<bos>", "<eos>")
WORDNET_DIR = "/usr/share/wordnet"  # Debian's wordnet-base
WORDNET_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
WORDNET_CITATION = ("Princeton University, WordNet 3.0 (2006); G. A. Miller, 'WordNet: a lexical "
                    "database for English', Communications of the ACM 38(11), 1995")
LEVELS = ("word", "character")
PUNCTUATION = r"([.,!?;:()\"])"
MAX_LINE_CHARS = 100_000  # a "line" longer than this is a file without line breaks
_QUOTE = re.compile(r'"([^"]+)"')
_NO_SPACE_BEFORE = re.compile(r" ([.,!?;:)])")
_NO_SPACE_AFTER = re.compile(r"\( ")


# -- corpora ------------------------------------------------------------------------------------


def wordnet_sentences(directory: str = WORDNET_DIR) -> list[str]:
    """The quoted example sentences of WordNet 3.0's glosses, in the order of its data files
    (noun, verb, adjective, adverb) and each once (48,339 quotes, 48,224 distinct in Debian's
    wordnet-base 3.0)."""
    missing = [f for f in WORDNET_FILES if not os.path.isfile(os.path.join(directory, f))]
    if missing:
        raise DataError(f"WordNet 3.0's data files are not in {directory} (missing "
                        f"{', '.join(missing)}): apt-get install wordnet-base, or set "
                        "data.data_dir to a folder holding them")
    seen: dict[str, None] = {}
    for name in WORDNET_FILES:
        with open(os.path.join(directory, name), encoding="ascii") as f:
            for line in f:
                if line.startswith("  ") or " | " not in line:  # the licence header
                    continue
                for quote in _QUOTE.findall(line.split(" | ", 1)[1]):
                    quote = " ".join(quote.split())
                    if quote:
                        seen.setdefault(quote, None)
    return list(seen)


def read_examples(path: str, unit: str = "line", skip_corrupt: bool = False) -> list[str]:
    """A user's text: the non-empty lines of FILE, or of every file under DIR (recursively, in
    sorted order; hidden files left out), or with `unit="file"` one example per file. UTF-8;
    a file that is not, an empty file and a line over `MAX_LINE_CHARS` characters fail in one
    line naming it (unreadable and empty files are skipped and counted with
    `skip_corrupt`)."""
    if fileio.isdir(path):
        files = sorted(os.path.join(root, f) for root, dirs, names in os.walk(path)
                       for f in names if not f.startswith("."))
        dirs_note = f"under {path}"
    elif fileio.isfile(path):
        files, dirs_note = [path], ""
    else:
        raise DataError(f"text not found: {path}")
    if not files:
        raise DataError(f"no files {dirs_note}")
    out, skipped = [], []
    for file in files:
        try:
            raw = fileio.read_bytes(file)
            content = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            line = raw[:e.start].count(b"\n") + 1
            why = f"{file}: not UTF-8 text (byte 0x{raw[e.start]:02x} at line {line})"
            if not skip_corrupt:
                raise DataError(why + "; convert it, or set data.skip_corrupt=true to skip "
                                "unreadable files") from None
            skipped.append(why)
            continue
        if unit == "file":
            examples = [" ".join(content.split())] if content.strip() else []
        else:
            examples = []
            for number, line in enumerate(content.splitlines(), 1):
                if len(line) > MAX_LINE_CHARS:
                    raise DataError(f"{file}:{number}: a line of {len(line):,} characters (over "
                                    f"{MAX_LINE_CHARS:,}): text is one example per line; set "
                                    "data.text_unit=file for one example per file")
                if line.strip():
                    examples.append(line.strip())
        if not examples:
            why = f"{file}: empty"
            if not skip_corrupt and len(files) == 1:
                raise DataError(f"{why}: no text to train on")
            skipped.append(why)
            continue
        out.extend(examples)
    if skipped:
        log.warning("%d of %d files skipped (%s)", len(skipped), len(files),
                    "; ".join(skipped[:3]) + ("; ..." if len(skipped) > 3 else ""))
    if not out:
        raise DataError(f"no text in {path}")
    return out


# -- tokens -------------------------------------------------------------------------------------


def _standardize(lowercase: bool, level: str):
    import tensorflow as tf

    def standardize(strings):
        if lowercase:
            strings = tf.strings.lower(strings)
        if level == "word":
            strings = tf.strings.regex_replace(strings, PUNCTUATION, r" \1 ")
        return strings

    return standardize


def _layer(level: str, lowercase: bool, **kwargs):
    import keras

    if level not in LEVELS:
        raise DataError(f"data.tokens must be one of {', '.join(LEVELS)}; got {level!r}")
    return keras.layers.TextVectorization(
        standardize=_standardize(lowercase, level),
        split="whitespace" if level == "word" else "character", output_mode="int",
        ragged=True, **kwargs)


def _ragged_ids(texts, vocab, level, lowercase):
    import tensorflow as tf

    layer = _layer(level, lowercase, vocabulary=list(vocab[2:]))
    rows = []
    for batch in tf.data.Dataset.from_tensor_slices(list(texts)).batch(4096):
        ids = layer(batch)
        rows.extend(np.split(ids.flat_values.numpy(), ids.row_splits.numpy()[1:-1]))
    return rows


def vocabulary(texts, level: str = "word", vocab_size: int = 10_000, min_count: int = 1,
               lowercase: bool = True) -> list[str]:
    """The vocabulary of `texts` (`SPECIALS`, then up to vocab_size - 4 tokens by frequency,
    each seen at least `min_count` times; ties in TextVectorization's order)."""
    import tensorflow as tf

    texts = list(texts)
    if not texts:
        raise DataError("no text to build a vocabulary from")
    layer = _layer(level, lowercase)
    layer.adapt(tf.data.Dataset.from_tensor_slices(texts).batch(4096))
    tokens = [str(t) for t in layer.get_vocabulary()[2:]]  # TextVectorization's own "" and [UNK] first
    ids = np.concatenate([r for r in _ragged_ids(texts, ["", ""] + tokens, level, lowercase)])
    counts = np.bincount(ids, minlength=len(tokens) + 2)[2:]
    kept = [t for t, c in zip(tokens, counts) if c >= min_count and t not in SPECIALS]
    return list(SPECIALS) + kept[:max(vocab_size - len(SPECIALS), 0)]


def encode(texts, vocab, max_length: int, level: str = "word", lowercase: bool = True):
    """(x [N, max_length, 2] int32 in the packed layout, how many were cut): each text's ids
    then `<eos>`, cut to `max_length` tokens (the `<eos>` kept)."""
    rows = _ragged_ids(texts, vocab, level, lowercase)
    x = np.zeros((len(rows), max_length, 2), np.int32)
    cut = 0
    for i, ids in enumerate(rows):
        if len(ids) > max_length - 1:
            cut += 1
            ids = ids[:max_length - 1]
        n = len(ids) + 1
        x[i, :n, 0] = np.append(ids, EOS)
        x[i, :n, 1] = 1
    return x, cut


def decode(x, vocab, level: str = "word", specials: bool = False) -> list[str]:
    """Texts of packed token ids x [N, T, 2] (or ids [N, T]): each sentence's tokens up to its
    first `<eos>` (or its mask's end), joined by spaces for words (punctuation attached) or
    directly for characters; `<bos>`/`<eos>`/padding left out unless `specials`."""
    x = np.asarray(x)
    ids = np.rint(x[..., 0] if x.ndim == 3 else x).astype(np.int64)
    mask = x[..., 1] > 0.5 if x.ndim == 3 else np.ones(ids.shape, bool)
    out = []
    for row, keep in zip(ids, mask):
        tokens = []
        for i, k in zip(row, keep):
            if not keep.any() or not k:
                break
            if i == EOS:
                if specials:
                    tokens.append(SPECIALS[EOS])
                break
            if i in (PAD, BOS) and not specials:
                continue
            tokens.append(vocab[i] if 0 <= i < len(vocab) else SPECIALS[UNK])
        out.append(detokenize(tokens, level))
    return out


def detokenize(tokens, level: str = "word") -> str:
    if level == "character":
        return "".join(tokens)
    return _NO_SPACE_AFTER.sub("(", _NO_SPACE_BEFORE.sub(r"\1", " ".join(tokens)))


def lengths(x) -> np.ndarray:
    """Tokens per sentence of packed x (the `<eos>` counted)."""
    return (np.asarray(x)[..., -1] > 0.5).sum(axis=-1)


# -- sources ------------------------------------------------------------------------------------

WORDNET_SPLIT = (0.05, 0.05)  # (val, test) fractions, by a hash of each sentence: fixed
CROP_MULTIPLE = 8  # batches cut to their longest sentence, rounded up to 8 tokens: few shapes


def text_arrays(name: str, texts: list[str], cfg, val_fraction: float, test_fraction: float,
                own: dict | None = None):
    """({split: x}, vocabulary, truncated): `texts` split by a hash of each text (equal texts
    fall in one split) -- `own`: splits the source brings, kept as they are --, the
    vocabulary built on the train split, each split encoded."""
    from tfgen.data.arrays import assign_splits

    which = assign_splits(texts, val_fraction, test_fraction)
    splits = {split: [t for t, s in zip(texts, which) if s == index]
              for index, split in enumerate(("train", "val", "test"))}
    splits.update(own or {})
    splits = {split: part for split, part in splits.items() if part}
    if "train" not in splits:
        raise DataError(f"dataset {name!r}: no text left for training after holding out "
                        f"val_fraction={val_fraction} and test_fraction={test_fraction}")
    level = cfg.tokens
    max_length = cfg.max_length or (32 if level == "word" else 128)
    vocab = vocabulary(splits["train"], level, cfg.vocab_size, cfg.min_count, cfg.lowercase)
    arrays, cut = {}, 0
    for split, part in splits.items():
        arrays[split], n = encode(part, vocab, max_length, level, cfg.lowercase)
        cut += n
    if cut:
        log.info("%s: %d of %d examples cut to %d tokens (data.max_length)", name, cut,
                 len(texts), max_length)
    return arrays, vocab, cut


def _source(name: str, texts: list[str], cfg, val_fraction: float, test_fraction: float,
            own: dict | None = None):
    from tfgen.data.sources import ArraySource, DatasetInfo

    arrays, vocab, cut = text_arrays(name, texts, cfg, val_fraction, test_fraction, own)
    info = DatasetInfo(
        name=name, kind="text", shape=tuple(next(iter(arrays.values())).shape[1:]),
        splits={split: len(x) for split, x in arrays.items()}, vocabulary=tuple(vocab),
        tokens=cfg.tokens, truncated=cut, lowercase=cfg.lowercase)
    source = ArraySource(info, {split: (x, None) for split, x in arrays.items()})
    source.crop_multiple = CROP_MULTIPLE
    return source


def wordnet_source(cfg):
    """WordNet 3.0's example sentences (`wordnet_sentences`, from data.data_dir or Debian's
    /usr/share/wordnet), val and test 5% each by a hash of the sentence."""
    return _source("wordnet", wordnet_sentences(cfg.data_dir or WORDNET_DIR), cfg, *WORDNET_SPLIT)


def text_source(path: str, cfg):
    """A user's text (`read_examples`), val/test held out by a hash of each example; or with
    `path` = "tfds:NAME" a TensorFlow Datasets text dataset (`tfds_texts`)."""
    if path.startswith("tfds:"):
        return _tfds_source(path[len("tfds:"):], cfg)
    texts = read_examples(path, cfg.text_unit, cfg.skip_corrupt)
    return _source(f"text:{path}", texts, cfg, cfg.val_fraction, cfg.test_fraction)


TFDS_SPLITS = {"train": "train", "validation": "val", "test": "test"}


def tfds_texts(name: str, cfg) -> dict[str, list[str]]:
    """{tfgen split: texts} of a TFDS dataset's first `Text` feature (e.g. imdb_reviews' "text",
    lm1b's "text"), read through `tfds.load` into memory: its train, validation and test
    splits (a missing validation split is held out of train by hash, as for text: files)."""
    import tensorflow_datasets as tfds

    from tfgen.data import tfds_source

    try:
        builder = tfds.builder(name, data_dir=cfg.data_dir)
    except Exception as err:  # unknown config/version: tfds raises several types
        raise DataError(f"TFDS dataset {name!r}: {err}") from None
    keys = [k for k, f in builder.info.features.items() if isinstance(f, tfds.features.Text)]
    if not keys:
        raise DataError(f"TFDS dataset {name!r} has no text feature")
    known = set(builder.info.splits)  # (empty before the dataset is prepared: try each)
    out = {}
    for split, ours in TFDS_SPLITS.items():
        if known and split not in known:
            continue
        try:
            ds = tfds_source.TFDSSource.load_split(name, split, cfg)
        except DataError:
            if split == "train" or known:
                raise
            continue
        out[ours] = [" ".join(t.decode("utf-8", "replace").split())
                     for t in tfds.as_numpy(ds.map(lambda e: e[keys[0]]))]
        out[ours] = [t for t in out[ours] if t]
    if "train" not in out:
        raise DataError(f"TFDS dataset {name!r} has no train split")
    return out


def _tfds_source(name: str, cfg):
    texts = tfds_texts(name, cfg)
    held = {s: t for s, t in texts.items() if s != "train"}
    train = texts["train"]
    # the splits TFDS lacks are held out of train by hash; the ones it has are kept
    val = 0.0 if "val" in held else cfg.val_fraction
    test = 0.0 if "test" in held else cfg.test_fraction
    source = _source(f"text:tfds:{name}", train, cfg, val, test, own=held)
    return source
