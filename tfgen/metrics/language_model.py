"""Forward and reverse perplexity of generated text through an LSTM language model trained by
tfgen (the measures of Zhao et al. 2018, ARAE, and Cífka et al. 2018):

- forward PPL: a language model trained on the real train split scores the generated
  sentences -- fluency as the data's model sees it (low: sentences the data would write; on
  its own blind to a model that writes few sentences). Floor: the real test sentences' PPL.
- reverse PPL: a language model trained on generated sentences scores the real test split --
  low only when the samples cover the data (a collapsed generator's LM cannot model the real
  sentences). Floor: the same language model trained on as many real train sentences, for as
  many steps.

Sentences are in the packed layout of `tfgen.data.text` ([N, tokens, 2]: id and mask, `<eos>`
included); the model reads `<bos>` and the previous tokens and is scored on every masked token,
`<eos>` counted, so its perplexities are comparable with a sentence VAE's per-token NLL.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os

import keras
import numpy as np

from tfgen.data.text import BOS
from tfgen.metrics import features

log = logging.getLogger("tfgen")

VERSION = 1  # bump when the model or its training changes: old cache entries are ignored
MAX_EPOCHS = 30


def language_model(vocabulary: int, embedding_dim: int = 128, units: int = 256) -> keras.Model:
    """ids [batch, tokens] -> next-token logits [batch, tokens, vocabulary]: an embedding, one
    LSTM and a softmax layer, as keras.io writes a word-level language model. Always float32."""
    f32 = "float32"
    ids = keras.Input((None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocabulary, embedding_dim, dtype=f32)(ids)
    x = keras.layers.LSTM(units, return_sequences=True, dtype=f32)(x)
    logits = keras.layers.Dense(vocabulary, name="logits", dtype=f32)(x)
    return keras.Model(ids, logits, name="tfgen_language_model")


def teacher_forcing(x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Packed sentences -> (inputs: `<bos>` then the tokens but the last, targets: the tokens,
    weights: the mask), each [N, tokens]."""
    x = np.asarray(x)
    targets = np.rint(x[..., 0]).astype(np.int32)
    weights = (x[..., 1] > 0.5).astype(np.float32)
    inputs = np.concatenate([np.full((len(x), 1), BOS, np.int32), targets[:, :-1]], axis=1)
    return inputs, targets * (weights > 0), weights


def _epochs(sentences: int, steps: int, batch_size: int = 64, max_epochs: int = MAX_EPOCHS) -> int:
    """Epochs of about `steps` steps over `sentences`: at least 1, at most `max_epochs`."""
    return min(max(1, math.ceil(steps * batch_size / max(sentences, 1))), max_epochs)


def train_language_model(x, vocabulary: int, steps: int = 2000, batch_size: int = 64,
                         seed: int = 0, learning_rate: float = 2e-3,
                         max_epochs: int = MAX_EPOCHS) -> tuple[keras.Model, dict]:
    """`language_model` trained by `fit` on packed sentences x for about `steps` steps (at
    least one epoch, at most `max_epochs`: a few hundred sentences are not read a thousand
    times; Adam, gradients clipped to norm 5, the loss on masked tokens only). Returns the
    model and its card."""
    x = np.asarray(x)
    if len(x) == 0:
        raise ValueError("a language model needs at least one sentence to train on")
    keras.utils.set_random_seed(seed)
    model = language_model(vocabulary)
    model.compile(keras.optimizers.Adam(learning_rate, clipnorm=5.0),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  weighted_metrics=[])
    inputs, targets, weights = teacher_forcing(x)
    epochs = _epochs(len(x), steps, batch_size, max_epochs)
    model.fit(inputs, targets, sample_weight=weights, batch_size=batch_size, epochs=epochs,
              shuffle=True, verbose=0)
    return model, {"name": "tfgen-lstm-lm", "train_sentences": int(len(x)), "epochs": epochs,
                   "steps": int(epochs * math.ceil(len(x) / batch_size)),
                   "batch_size": batch_size, "vocabulary": int(vocabulary)}


def log_probs(model: keras.Model, x, batch_size: int = 256) -> np.ndarray:
    """log p(sentence) under the language model, per sentence (`<eos>` counted), on batches
    of sentences of similar length cut to their longest."""
    inputs, targets, weights = teacher_forcing(x)
    lengths = weights.sum(axis=1).astype(np.int64)
    order = np.argsort(lengths, kind="stable")
    out = np.zeros(len(lengths), np.float64)
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        width = max(int(lengths[rows].max()), 1)
        logits = model(inputs[rows, :width], training=False)
        log_p = keras.ops.convert_to_numpy(keras.ops.log_softmax(logits, axis=-1)).astype(
            np.float64)
        picked = np.take_along_axis(log_p, targets[rows, :width, None], axis=-1)[..., 0]
        out[rows] = (picked * weights[rows, :width]).sum(axis=1)
    return out


def perplexity(model: keras.Model, x, batch_size: int = 256) -> float:
    """exp(-Σ log p(x) / Σ tokens) over packed sentences x (`<eos>` counted)."""
    x = np.asarray(x)
    tokens = float((np.asarray(x)[..., 1] > 0.5).sum())
    if tokens == 0:
        raise ValueError("perplexity of no tokens")
    return float(math.exp(min(-log_probs(model, x, batch_size).sum() / tokens, 700.0)))


def _fingerprint(name: str, x: np.ndarray, vocabulary: int, steps: int) -> str:
    digest = hashlib.sha256(f"tfgen-lm-v{VERSION}:{name}:{x.shape}:{vocabulary}:{steps}".encode())
    digest.update(np.ascontiguousarray(x, np.float32).tobytes())
    return digest.hexdigest()


def dataset_language_model(name: str, x_train, vocabulary: int, directory: str,
                           steps: int = 2000, progress: bool = True) -> tuple[keras.Model, dict]:
    """The language model of a dataset's train split (forward PPL), trained once and cached
    in `directory` under a hash of the version, the name, the sentences and the steps (as the
    image classifier is: `features.save_cached`)."""
    x_train = np.asarray(x_train, np.float32)
    key = _fingerprint(name, x_train, vocabulary, steps)
    stem = features.cache_stem(os.path.join(directory, "language_models"), name, key)
    cached = features.load_cached(stem)
    if cached is not None:
        return cached
    if progress:
        log.info("training a language model for %s on %d train sentences, %d epochs (once; "
                 "cached in %s)", name, len(x_train), _epochs(len(x_train), steps),
                 os.path.dirname(stem))
    model, card = train_language_model(x_train, vocabulary, steps=steps)
    card.update(dataset=name, train_split="train", sha256=key, path=stem + ".keras")
    features.save_cached(stem, model, card)
    return model, card


def reverse_perplexity(train, test, vocabulary: int, steps: int = 1000, seed: int = 0
                       ) -> tuple[float, dict]:
    """(PPL on `test`, card) of a language model trained on the packed sentences `train`:
    generated ones for the reverse PPL, as many real train sentences for its floor."""
    model, card = train_language_model(train, vocabulary, steps=steps, seed=seed)
    return perplexity(model, test), card
