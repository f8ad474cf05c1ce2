"""Text (sentences as token ids in the packed layout of `tfgen.data.text`): .txt and .jsonl out,
TensorBoard text summaries (samples, reconstructions, homotopies), the sentence VAE's networks,
and as metrics the NLL per token (perplexity) beside self-BLEU, distinct-n and memorisation,
each with its real-vs-real floor."""

from __future__ import annotations

import json
import math
from typing import ClassVar

import numpy as np

from tfgen import fileio
from tfgen.data import text as text_data
from tfgen.errors import OptionError, UserError
from tfgen.modalities.base import Modality, SampleMetrics

STATISTICS = ("self_bleu", "distinct_1", "distinct_2")
MAX_SENTENCES = 1000  # self-BLEU on at most this many sentences (a fixed subset)
REVERSE_SENTENCES = 10_000  # the reverse PPL's language models train on this many (at most)


def token_lists(x) -> list[tuple[int, ...]]:
    """Packed sentences -> their token ids up to (not including) `<eos>`."""
    x = np.asarray(x)
    ids, mask = np.rint(x[..., 0]).astype(np.int64), x[..., 1] > 0.5
    out = []
    for row, keep in zip(ids, mask):
        row = row[keep]
        ends = np.flatnonzero(row == text_data.EOS)
        out.append(tuple(row[:ends[0]] if len(ends) else row))
    return out


def reconstructions(model, x, batch_size: int = 256) -> np.ndarray:
    """Greedy sentences decoded from the codes of packed sentences x: a VAE's posterior means
    (`encode` -> (mean, log-variance)), an ARAE's codes."""
    out = []
    for start in range(0, len(x), batch_size):
        codes = model.encode(x[start:start + batch_size])
        out.append(model.decode(codes[0] if isinstance(codes, tuple) else codes))
    return np.concatenate(out)


def reconstruction_bleu(model, x) -> float:
    """Corpus BLEU-4 of the greedy reconstructions of x against x itself (`<eos>` left out;
    1: every sentence comes back)."""
    from tfgen.metrics.text import corpus_bleu

    return corpus_bleu(token_lists(reconstructions(model, x)), [[s] for s in token_lists(x)])


class TextMetrics(SampleMetrics):
    """Statistics of `num` generated sentences (`statistics` of `tfgen.metrics.text`): self-BLEU
    (BLEU-4 of each against the others; lower is more diverse), distinct-1 and distinct-2,
    and memorisation -- the fraction found verbatim in the training text (`verbatim`) and the
    median longest n-gram copied from one training sentence (`copied_tokens`). Each floor is
    the same figure of as many real sentences of the reference split (against train).

    With a language model (`features`: "auto", tfgen's LSTM language model of the train
    split, trained once and cached; or a Keras model file mapping ids to next-token logits)
    also the forward PPL of the samples (floor: the reference sentences'), and with `reverse`
    the reverse PPL: a language model trained on `REVERSE_SENTENCES` generated sentences (at
    most the train split's size) scores the reference split; floor: the same model trained on
    as many real train sentences (`tfgen.metrics.language_model`).

    For models with a code per sentence (a sentence VAE, an ARAE) also the reconstruction
    BLEU of the reference sentences (`reconstruction_bleu`)."""

    def __init__(self, evaluator, num, features=None, cache_dir=None, progress=False,
                 reverse=False, reverse_steps=1000):
        from tfgen.metrics import language_model as lm
        from tfgen.metrics import text as stats

        ev = self.ev = evaluator
        ref, _ = ev.source.numpy(ev.split)
        self.reference_x = ref
        self.reference = token_lists(ref)
        self.num = num or min(len(self.reference), MAX_SENTENCES)
        self.vocabulary = len(ev.info.vocabulary)
        self.train = self.train_x = None
        has_train = "train" in ev.info.splits and ev.split != "train"
        if ev.baseline_split is not None or features is not None or reverse:
            self.train_x = ev.source.numpy("train" if "train" in ev.info.splits
                                           else ev.baseline_split)[0]
        if ev.baseline_split is not None:
            self.train = token_lists(self.train_x)
            real = self.reference[:self.num]
            self.floor = stats.statistics(real, self.train, seed=ev.seed)
            ev.baselines.update({s: self.floor[s] for s in STATISTICS})
            if ev.memorisation:
                ev.baselines["verbatim"] = self.floor["verbatim"]
                ev.baselines["copied_tokens"] = self.floor["copied_median"]
        self.lm = self.lm_card = None
        if features is not None and has_train:
            if isinstance(features, str) and features != "auto":
                import keras

                self.lm = keras.saving.load_model(features, compile=False)
                self.lm_card = {"name": features}
            else:
                from tfgen.metrics.features import cache_dir as default_cache

                self.lm, self.lm_card = lm.dataset_language_model(
                    ev.info.name, self.train_x, self.vocabulary, cache_dir or default_cache(),
                    progress=progress)
            ev.baselines["forward_ppl"] = lm.perplexity(self.lm, ref[:self.num])
        self.reverse = bool(reverse and has_train)
        self.reverse_steps = int(reverse_steps)
        if self.reverse:
            self.reverse_num = min(len(self.train_x), REVERSE_SENTENCES)
            if ev.baseline_split is not None:
                rows = np.random.default_rng(ev.seed).permutation(len(self.train_x))
                ev.baselines["reverse_ppl"], _ = lm.reverse_perplexity(
                    self.train_x[np.sort(rows[:self.reverse_num])], ref, self.vocabulary,
                    self.reverse_steps, ev.seed)

    def names(self, model):
        names = list(STATISTICS)
        if self.ev.memorisation and self.train is not None:
            names += ["verbatim", "copied_tokens"]
        if self.lm is not None:
            names.append("forward_ppl")
        if self.reverse:
            names.append("reverse_ppl")
        if getattr(model, "has_code", False):
            names.append("reconstruction_bleu")
        return names

    def values(self, model):
        from tfgen.metrics import text as stats

        generated = self.ev.sample(model, self.num)
        sentences = token_lists(generated)
        ours = stats.statistics(sentences, self.train or self.reference, seed=self.ev.seed)
        out = {s: ours[s] for s in STATISTICS}
        if self.ev.memorisation and self.train is not None:
            out.update(verbatim=ours["verbatim"], copied_tokens=ours["copied_median"])
        out["text_detail"] = ours
        if getattr(model, "has_code", False):
            out["reconstruction_bleu"] = reconstruction_bleu(model, self.reference_x[:self.num])
        if self.lm is not None or self.reverse:
            from tfgen.metrics import language_model as lm

            if self.lm is not None:
                out["forward_ppl"] = lm.perplexity(self.lm, generated)
            if self.reverse:
                many = (generated if self.reverse_num <= len(generated)
                        else self.ev.sample(model, self.reverse_num))
                out["reverse_ppl"], out["reverse_detail"] = lm.reverse_perplexity(
                    many[:self.reverse_num], self.reference_x, self.vocabulary,
                    self.reverse_steps, self.ev.seed)
        return out

    def card(self, name, card, details):
        ours = details["text_detail"]
        card.update(num_generated=ours["num_sentences"], mean_length=ours["mean_length"],
                    num_reference=len(self.reference))
        definitions = {
            "self_bleu": "mean BLEU-4 (smoothing 1) of each sentence against the other "
            f"generated ones (at most {MAX_SENTENCES}); baseline: real reference sentences",
            "distinct_1": "distinct unigrams / all unigrams of the generated sentences",
            "distinct_2": "distinct bigrams / all bigrams of the generated sentences",
            "verbatim": "fraction of generated sentences found verbatim in the training text; "
            "baseline: the reference sentences'",
            "copied_tokens": "median over sentences of the longest n-gram found in one "
            "training sentence (tokens); baseline: the reference sentences'",
            "forward_ppl": "perplexity per token (<eos> counted) of the generated sentences "
            "under tfgen's LSTM language model of the train split; baseline: the reference "
            "sentences'",
            "reverse_ppl": "perplexity per token of the reference split under a language model "
            "trained on generated sentences; baseline: the same model trained on as many real "
            "train sentences",
            "reconstruction_bleu": "corpus BLEU-4 of the greedy reconstructions (decoded from "
            "each reference sentence's code: a VAE's posterior mean) against the sentences; "
            "1: every one comes back"}
        card["definition"] = definitions[name]
        if name == "forward_ppl":
            card["language_model"] = self.lm_card
        if name == "reverse_ppl":
            card.update(num_generated=details["reverse_detail"]["train_sentences"],
                        num_reference=len(self.reference), language_model=details[
                            "reverse_detail"])
        if name == "reconstruction_bleu":
            card.update(num_generated=min(self.num, len(self.reference)),
                        num_reference=min(self.num, len(self.reference)))
        if name == "copied_tokens":
            card["detail"] = {k: ours[k] for k in ("copied_p95", "copied_max",
                                                   "copied_fraction")}


class Text(Modality):
    name: ClassVar[str] = "text"
    title: ClassVar[str] = "text"
    writers: ClassVar[tuple[str, ...]] = (".txt", ".jsonl", ".npy")
    default_out: ClassVar[str] = "samples.txt"
    metrics: ClassVar[dict[str, str]] = {
        "nll_per_token": "min", "perplexity": "min", "self_bleu": "min", "distinct_1": "max",
        "distinct_2": "max", "verbatim": "min", "copied_tokens": "min", "forward_ppl": "min",
        "reverse_ppl": "min", "reconstruction_bleu": "max"}
    likelihood_metrics: ClassVar[tuple[str, ...]] = ("nll_per_token", "perplexity")
    cheap_metrics: ClassVar[str | None] = "text statistics"
    sequence_networks: ClassVar[tuple[str, ...]] = ("lstm", "transformer")

    def value_range(self, pixel_range):
        return None  # token ids

    def default_metric(self, likelihood):
        return "nll_per_token" if likelihood else "self_bleu"

    def sample_metrics(self, evaluator, num, features, cache_dir, progress, cas=False,
                       cas_steps=1000):
        """`cas` (the metric that trains a model on samples): the reverse PPL here."""
        return TextMetrics(evaluator, num, features, cache_dir, progress, cas, cas_steps)

    def likelihood_values(self, log_px, x) -> dict:
        """Per token (`<eos>` counted): -Σ log p(x) / tokens, and its exp, the perplexity."""
        tokens = float(text_data.lengths(x).sum())
        nll = float(-np.sum(log_px) / tokens)
        return {"nll_per_token": nll, "perplexity": float(math.exp(min(nll, 700.0))),
                "nll_tokens": int(tokens)}

    def likelihood_card(self, card, info):
        card["unit"] = "nats per sentence"

    latent_metrics: ClassVar[bool] = True

    def likelihood_metric_card(self, name, card, values):
        card.update(unit="nats per token" if name == "nll_per_token" else "per token",
                    tokens=values["nll_tokens"], definition=(
                        "-Σ log p(x) over the sentences / their tokens, <eos> counted"
                        if name == "nll_per_token" else "exp(nll_per_token)"))

    # -- networks -----------------------------------------------------------------------------

    default_networks: ClassVar[dict[str, str]] = {"vae": "lstm", "gan": "arae"}
    gan_networks: ClassVar[tuple[str, ...]] = ("arae",)

    def vae(self, info, likelihood, *, network, latent_dim, width, depth, conditional, dropout,
            context_dim=0, frame_dropout: float = 0.0, encoder_width: int | None = None,
            sample_frames: int = 64, embedding_dim: int = 256, heads: int = 4, **_):
        """A `tfgen.TextVAE` (Bowman et al. 2016): token embeddings of `embedding_dim`, the
        masked BiLSTM encoder (`encoder_width` units each way, default width / 2), and the
        decoder -- "lstm": an LSTM of `width` units with z in its initial state and every
        input; "transformer": `depth` causal Transformer blocks of `width` units and `heads`
        heads with z as a prefix (`tfgen.networks.TransformerDecoder`) -- word dropout
        `frame_dropout`, softmax over the vocabulary; samples as long as the data's
        sentences."""
        from tfgen import ingredients, networks
        from tfgen.models import TextVAE

        if network not in self.sequence_networks:
            raise OptionError("network", f"text takes the sequence networks "
                              f"{', '.join(self.sequence_networks)}; got {network!r}")
        if likelihood.name != "softmax":
            raise OptionError("likelihood", f"text takes the softmax likelihood over its "
                              f"vocabulary; got {likelihood.name}")
        if network == "transformer" and width % heads:
            raise OptionError("heads", f"the Transformer's width ({width}) must be a multiple "
                              f"of its heads ({heads})")
        vocabulary = len(info.vocabulary)
        likelihood = ingredients.get("likelihood", {"name": "softmax", "classes": vocabulary})
        encoder_units = encoder_width or max(width // 2, 1)
        if network == "transformer":
            encoder = networks.sequence_encoder(1, latent_dim, encoder_units, vocabulary,
                                                embedding_dim)
            decoder = networks.TransformerDecoder(
                latent_dim, vocabulary, likelihood.row_params(1), units=width, depth=depth,
                heads=heads, frame_dropout=frame_dropout, dropout=dropout,
                embedding_dim=embedding_dim, name="decoder")
        else:
            encoder, decoder = networks.sequence_vae_networks(
                1, likelihood, latent_dim=latent_dim, encoder_units=encoder_units,
                decoder_units=width, frame_dropout=frame_dropout, dropout=dropout,
                vocabulary=vocabulary, embedding_dim=embedding_dim)
        return encoder, decoder, TextVAE, {"sample_frames": info.shape[0],
                                           "likelihood": likelihood}

    def gan(self, info, *, network, latent_dim, width, depth, spectral_norm, conditional, pac,
            orthogonal, code_dim=128, autoencoder_width=256, embedding_dim=128,
            code_noise=0.1, encoder_weight=0.1, **_):
        """A `tfgen.ARAE` (Zhao et al. 2018): MLP generator and critic of `depth` layers of
        `width` units over codes of `code_dim`, the autoencoder's BiLSTM encoder and LSTM
        decoder of `autoencoder_width` units; sentences as long as the data's."""
        from tfgen import networks
        from tfgen.models import ARAE

        if network != "arae":
            raise OptionError("network", f"text takes the GAN network arae; got {network!r}")
        for key, value in (("conditional", conditional), ("pac", pac != 1),
                           ("orthogonal", orthogonal)):
            if value:
                raise OptionError(key, "the text GAN (arae) is unconditional, without PacGAN "
                                  "or orthogonal regularisation")
        generator, discriminator, encoder, decoder = networks.arae_networks(
            len(info.vocabulary), latent_dim=latent_dim, code_dim=code_dim,
            units=autoencoder_width, embedding_dim=embedding_dim, width=width, depth=depth,
            spectral_norm=spectral_norm)
        return generator, discriminator, ARAE, {
            "encoder": encoder, "decoder": decoder, "sample_frames": info.shape[0],
            "code_noise": code_noise, "encoder_weight": encoder_weight}

    def diagnostics(self, source, labels):
        from tfgen.callbacks import LatentDiagnostics

        vocab, level = source.info.vocabulary, source.info.tokens
        return [LatentDiagnostics(source.fixed_batch(8), None, projector=source.fixed_batch(1000),
                                  describe=lambda x: text_data.decode(x, vocab, level))]

    # -- samples out --------------------------------------------------------------------------

    @staticmethod
    def _vocabulary(context):
        vocab = context.get("vocabulary")
        if not vocab:
            raise UserError("this run records no vocabulary (train it again with this version "
                            "of tfgen)")
        return vocab

    def write_other(self, samples, path, context):
        vocab, level = self._vocabulary(context), context.get("tokens", "word")
        sentences = text_data.decode(samples, vocab, level)
        if path.lower().endswith(".txt"):
            fileio.write_bytes(path, ("\n".join(sentences) + "\n").encode("utf-8"))
            return
        scores = context.get("scores")
        lines = []
        for i, (sentence, length) in enumerate(zip(sentences, text_data.lengths(samples))):
            row = {"text": sentence, "tokens": int(length)}
            if scores is not None:
                row.update({k: float(v[i]) for k, v in scores.items()})
            lines.append(json.dumps(row, ensure_ascii=False))
        fileio.write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"))

    def read_example(self, spec, context):
        """A sentence (tokenised as the run's data; words it never saw are [UNK])."""
        if not spec.strip():
            raise UserError("an empty sentence: give the words, e.g. \"the cat sat\"")
        x, _ = text_data.encode([spec], self._vocabulary(context), context.get("max_length", 32),
                                context.get("tokens", "word"), context.get("lowercase", True))
        return x[0].astype(np.float32)

    # -- TensorBoard --------------------------------------------------------------------------

    def context(self, source):
        """The vocabulary and how text becomes tokens, and two real sentences for the
        homotopy."""
        info = source.info
        return {"vocabulary": list(info.vocabulary), "tokens": info.tokens,
                "max_length": int(info.shape[0]), "lowercase": bool(info.lowercase),
                "pieces": source.fixed_batch(2)[0]}

    def summary_samples(self, default):
        return 16

    def pictures(self, model, samples, context):
        return {}

    def texts(self, model, samples, context) -> dict[str, str]:
        """Markdown for TensorBoard's Text tab: the samples, and for a sentence VAE the
        homotopy (Bowman et al.'s Table 3) between two real sentences."""
        vocab, level = self._vocabulary(context), context.get("tokens", "word")
        out = {"generated": _markdown_list(text_data.decode(samples, vocab, level))}
        pieces = context.get("pieces")
        if pieces is not None and len(pieces) >= 2 and getattr(model, "has_code", False):
            path = model.interpolate(pieces[0], pieces[1], steps=5)
            out["homotopy"] = _markdown_list(text_data.decode(path, vocab, level))
        return out


def _markdown_list(lines) -> str:
    return "\n".join(f"{i + 1}. {line or '(empty)'}" for i, line in enumerate(lines))
