"""VAE presets. Each is a few lines of typed config; `tfgen presets` lists them."""

from __future__ import annotations

import os

from tfgen.trainers.config import DataOptions, OptimizerConfig, TrainingConfig, VAEConfig, VAEModelConfig
from tfgen.trainers.presets import conditional, register


def vae_space(hp, latent_sizes=(8, 16, 32), widths=(8, 16, 32)) -> dict:
    """Learning rate, latent size, width, dropout, KL schedule (with warm-up length), free
    bits."""
    space = {
        "optimizer.learning_rate": hp.Float("learning_rate", 3e-4, 3e-3, sampling="log"),
        "model.latent_dim": hp.Choice("latent_dim", list(latent_sizes)),
        "model.width": hp.Choice("width", list(widths)),
        "model.dropout": hp.Choice("dropout", [0.0, 0.1, 0.2]),
        "model.free_bits": hp.Choice("free_bits", [0.0, 0.05, 0.2]),
        "model.kl_schedule": hp.Choice("kl_schedule", ["constant", "linear"]),
    }
    with hp.conditional_scope("kl_schedule", ["linear"]):
        space["model.warmup_steps"] = hp.Int("warmup_steps", 250, 2000, step=250)
    return space


def spectrogram_vae_space(hp) -> dict:
    """The spectrogram VAE: `vae_space` with latent sizes and widths around fsdd-vae's (64,
    32) -- a 128 x 128 spectrogram holds more than a 28 x 28 digit."""
    return vae_space(hp, latent_sizes=(32, 64, 128), widths=(16, 32, 64))


def vae_depth_space(hp) -> dict:
    """`vae_space`'s learning rate, latent size and dropout, the weight average's decay, and the
    model's depth: one or two stochastic layers; the bound and estimator (ELBO, IWAE k = 5, or
    IWAE k = 5 with DReG); and, where they combine with it (not with DReG), the posterior
    (Gaussian or IAF) and prior (N(0, I) or VampPrior, with its pseudo-inputs)."""
    space = {
        "optimizer.learning_rate": hp.Float("learning_rate", 3e-4, 3e-3, sampling="log"),
        "model.latent_dim": hp.Choice("latent_dim", [8, 16, 32]),
        "model.dropout": hp.Choice("dropout", [0.0, 0.1, 0.2]),
        "model.ema_decay": hp.Choice("ema_decay", [0.99, 0.999]),
        "model.top_latent_dim": hp.Choice("top_latent_dim", [0, 8]),
    }
    bound = hp.Choice("bound", ["elbo", "iwae5", "iwae5_dreg"])
    space["model.iw_samples"] = 1 if bound == "elbo" else 5
    space["model.estimator"] = "dreg" if bound == "iwae5_dreg" else "standard"
    with hp.conditional_scope("bound", ["elbo", "iwae5"]):
        space["model.flow_steps"] = hp.Choice("flow_steps", [0, 2])
        prior = hp.Choice("prior", ["normal", "vamp"])
        space["model.prior"] = {"name": prior}
        with hp.conditional_scope("prior", ["vamp"]):  # declared whatever this trial's prior
            pseudo_inputs = hp.Choice("pseudo_inputs", [50, 200])
        if prior == "vamp":
            space["model.prior"]["pseudo_inputs"] = pseudo_inputs
    if bound == "iwae5_dreg":  # DReG needs the Gaussian posterior and the normal prior
        space.update({"model.flow_steps": 0, "model.prior": {"name": "normal"}})
    return space


@register(
    "digits-vae", "small conv VAE, 17-way categorical pixels, on 8x8 digits (best val ELBO)",
    space=vae_space,
)
def digits_vae() -> VAEConfig:
    # Digits has 1,000 training images: a small convolutional VAE (weight sharing generalises
    # better than the MLP, which overfits within a minute), the best epoch by validation ELBO,
    # early stopping (PROTOCOLS.md section 2; figures in BENCHMARKS.md).
    return VAEConfig(
        epochs=80, steps_per_epoch=50, batch_size=100, patience=8,
        data=DataOptions(name="digits", pixel_range="unit"),
        model=VAEModelConfig(network="conv", latent_dim=16, width=16,
                             likelihood={"name": "categorical", "levels": 17}),
        optimizer=OptimizerConfig(learning_rate=1e-3, beta_1=0.9),
    )


@register(
    "digits-cvae", "conditional VAE (labels to encoder and decoder) on 8x8 digits",
    space=vae_space,
)
def digits_cvae() -> VAEConfig:
    return conditional(digits_vae())


@register(
    "digits-vamp", "digits-vae with a VampPrior (100 pseudo-inputs), IWAE k=5 training, EMA",
    space=vae_depth_space,
)
def digits_vamp() -> VAEConfig:
    # VampPrior (Tomczak & Welling 2018) on the digits-vae networks, evaluated on an EMA of
    # the weights (neutral for this variant, 85.87 vs 85.79 nats; it helps the ELBO-trained
    # rows on every seed: BENCHMARKS.md, "VAE depth").
    cfg = digits_vae()
    cfg.model.prior = {"name": "vamp", "pseudo_inputs": 100}
    cfg.model.iw_samples = 5
    cfg.model.ema_decay = 0.99
    return cfg


@register(
    "digits-hvae", "digits-vae with a second stochastic layer (8-D z2), IWAE k=5, dropout 0.2, "
    "EMA", space=vae_depth_space,
)
def digits_hvae() -> VAEConfig:
    # Burda et al. (2016)'s two stochastic layers on the digits-vae trunks, trained on the IWAE
    # bound (k = 5) with dropout 0.2 in encoder and decoder, evaluated on an EMA of the
    # weights: the best digits variant measured (82.26 nats over 3 seeds; 85.51 without
    # dropout -- digits' 1,000 images overfit; BENCHMARKS.md, "VAE depth").
    cfg = digits_vae()
    cfg.model.top_latent_dim, cfg.model.iw_samples = 8, 5
    cfg.model.ema_decay, cfg.model.dropout = 0.99, 0.2
    cfg.epochs = 120  # dropout trains longer before patience stops it (best epochs 69-75)
    return cfg


@register(
    "mnist-vae", "conv VAE, Bernoulli (binarised) pixels, on MNIST 28x28 from TFDS",
    space=vae_space,
)
def mnist_vae() -> VAEConfig:
    return VAEConfig(
        epochs=30, batch_size=128,
        data=DataOptions(name="tfds:mnist", pixel_range="unit"),
        model=VAEModelConfig(network="conv", latent_dim=32, width=32,
                             likelihood={"name": "bernoulli"}, kl_schedule="linear",
                             warmup_steps=5000, eval_samples=1000),
        optimizer=OptimizerConfig(learning_rate=1e-3, beta_1=0.9),
    )


@register(
    "fmnist-vae", "conv VAE, discretised logistic mixture over 256 pixel levels, ex-post mixture "
    "sampling, on Fashion-MNIST 28x28", space=vae_space,
)
def fmnist_vae() -> VAEConfig:
    # 8-bit likelihood (PROTOCOLS.md section 4: NLL over the 256 pixel levels, in nats and bits
    # per dimension); best epoch by validation ELBO; a 20-component ex-post mixture on the
    # training codes for sampling (FD 1.4 vs 59 from the prior: BENCHMARKS.md). The end-of-run
    # NLL uses K = 50 (about 2 minutes); `tfgen evaluate` uses K = model.eval_samples too, so
    # pass --nll-samples 1000 for the protocol's figure.
    return VAEConfig(
        epochs=12, steps_per_epoch=400, batch_size=128, patience=4,
        data=DataOptions(name="fashion_mnist", pixel_range="unit"),
        model=VAEModelConfig(network="conv", latent_dim=32, width=32,
                             likelihood={"name": "discretized_logistic", "levels": 256,
                                         "components": 5},
                             eval_samples=50, expost_components=20),
        optimizer=OptimizerConfig(learning_rate=1e-3, beta_1=0.9),
        training=TrainingConfig(steps_per_execution=10),
    )


def _music_space(hp, latent_dims, widths) -> dict:
    """What the piano-roll models' spaces share: learning rate, latent size, width, frame
    dropout, output dropout and the NADE's hidden units."""
    return {
        "optimizer.learning_rate": hp.Float("learning_rate", 3e-4, 3e-3, sampling="log"),
        "model.latent_dim": hp.Choice("latent_dim", latent_dims),
        "model.width": hp.Choice("width", widths),
        "model.frame_dropout": hp.Choice("frame_dropout", [0.0, 0.2, 0.4]),
        "model.dropout": hp.Choice("dropout", [0.1, 0.3, 0.5]),
        "model.likelihood": {"name": "nade",
                             "hidden": hp.Choice("nade_hidden", [50, 150, 300])},
    }


def sequence_vae_space(hp) -> dict:
    """Learning rate, latent size, decoder width, frame dropout, output dropout, the NADE's
    hidden units and free bits of the piano-roll VAE."""
    return {**_music_space(hp, [16, 32, 64], [200, 300, 500]),
            "model.free_bits": hp.Choice("free_bits", [0.0, 0.1])}


def srnn_space(hp) -> dict:
    """The SRNN's search space: learning rate, the per-frame latent's size, the GRUs' and MLPs'
    units, the two dropouts, the NADE's hidden units and the KL warm-up."""
    return {**_music_space(hp, [8, 16, 32], [100, 200, 300]),
            "model.warmup_steps": hp.Choice("warmup_steps", [1, 56, 280])}


@register(
    "jsb-vae", "MusicVAE-style sequence VAE with NADE frames on the JSB Chorales (quarter notes; "
    "the test NLL per frame of the field's table)", space=sequence_vae_space,
)
def jsb_vae() -> VAEConfig:
    # A masked BiLSTM encoder -> z (32); an LSTM decoder of 300 units conditioned on z through
    # its initial state and every input, teacher-forced; each frame's 88 keys under a NADE
    # of 150 hidden units (RNN-NADE's frame model, Boulanger-Lewandowski et al. 2012); frame
    # dropout 0.2 and output dropout 0.3 (229 training chorales overfit within minutes);
    # gradients clipped at norm 5. The best epoch by validation ELBO; the card reports the
    # test NLL per frame with K = 1,000 (BENCHMARKS.md, "Music").
    return VAEConfig(
        epochs=300, steps_per_epoch=28, batch_size=8, patience=12,
        data=DataOptions(name="jsb_chorales", pixel_range="unit"),
        model=VAEModelConfig(network="lstm", latent_dim=32, width=300, encoder_width=128,
                             likelihood={"name": "nade", "hidden": 150}, dropout=0.3,
                             frame_dropout=0.2, sample_frames=64),
        optimizer=OptimizerConfig(learning_rate=1e-3, beta_1=0.9, clipnorm=5.0),
        training=TrainingConfig(sample_every=5, num_samples=4),
    )


@register(
    "jsb-hvae", "jsb-vae with MusicVAE's hierarchical decoder: a conductor LSTM over bars, the "
    "frame LSTM restarted from its embedding each bar", space=sequence_vae_space,
)
def jsb_hvae() -> VAEConfig:
    cfg = jsb_vae()
    cfg.model.network = "conductor"
    return cfg


@register(
    "jsb-srnn", "SRNN (Fraccaro et al. 2016): a latent per frame on a forward GRU, the backward "
    "smoothing posterior, NADE frames, on the JSB Chorales (quarter notes)", space=srnn_space,
)
def jsb_srnn() -> VAEConfig:
    # Fraccaro et al.'s model (tfgen.SRNN): d_t a GRU over the previous frames, z_t (16) from
    # p(z_t | z_{t-1}, d_t), the frame's 88 keys under a NADE of 150 hidden units given (z_t,
    # d_t); q(z_t | z_{t-1}, a_t) with a_t a GRU run backwards over [d_t, x_t], its mean a
    # residual on the prior's ("Resq"). GRUs and MLPs of 200 units; frame dropout 0.2 on d_t's
    # inputs and dropout 0.3 in the emission; KL warm-up over the first 2 epochs' steps.
    cfg = jsb_vae()
    cfg.model = VAEModelConfig(network="srnn", latent_dim=16, width=200,
                               likelihood={"name": "nade", "hidden": 150}, dropout=0.3,
                               frame_dropout=0.2, sample_frames=64, kl_schedule="linear",
                               warmup_steps=56)
    return cfg


def _shipped(*parts: str) -> str:
    """A path among the examples tfgen.data ships (midi_examples: 24 Bach chorales;
    text_examples/proverbs.txt: 100 proverbs)."""
    import tfgen.data

    return os.path.join(os.path.dirname(os.path.abspath(tfgen.data.__file__)), *parts)


@register(
    "midi-vae", "MusicVAE-style VAE on a folder of MIDI files (--set data.name=midi:DIR; default: "
    "24 example chorales): 4-bar windows on a 16th-note grid, conductor over bars, NADE frames",
    space=sequence_vae_space,
)
def midi_vae() -> VAEConfig:
    # MusicVAE's setting (Roberts et al. 2018): fixed windows of bars on a 16th grid, a
    # conductor LSTM per bar; the frame model of jsb-vae.
    cfg = jsb_vae()
    cfg.data = DataOptions(name=f"midi:{_shipped('midi_examples')}", pixel_range="unit",
                           steps_per_quarter=4, window_bars=4)
    cfg.model.network, cfg.model.sample_frames = "conductor", 64
    cfg.steps_per_epoch, cfg.batch_size = 20, 16
    return cfg


def text_vae_space(hp) -> dict:
    """The sentence VAE's search space: learning rate, latent size, the decoder (LSTM or
    Transformer) and its width, word dropout, output dropout and free bits."""
    return {
        "optimizer.learning_rate": hp.Float("learning_rate", 3e-4, 3e-3, sampling="log"),
        "model.network": hp.Choice("decoder", ["lstm", "transformer"]),
        "model.latent_dim": hp.Choice("latent_dim", [16, 32, 64]),
        "model.width": hp.Choice("width", [256, 512, 1024]),
        "model.frame_dropout": hp.Choice("word_dropout", [0.0, 0.25, 0.5]),
        "model.dropout": hp.Choice("dropout", [0.0, 0.3, 0.5]),
        "model.free_bits": hp.Choice("free_bits", [0.0, 0.125]),
    }


@register(
    "wordnet-vae", "Sentence VAE (Bowman et al. 2016) on WordNet 3.0's example sentences: "
    "BiLSTM encoder, LSTM decoder conditioned on z, word dropout, cyclical KL annealing",
    space=text_vae_space,
)
def wordnet_vae() -> VAEConfig:
    # Bowman et al.'s model: token embeddings (256) -> a masked BiLSTM (256 each way) -> z (32);
    # an LSTM decoder of 512 units with z in its initial state and at every step, teacher-forced,
    # a softmax over the 10,000-token vocabulary (built on the train split). Against posterior
    # collapse: word dropout 0.3 (a previous token shown as [UNK]), the cyclical KL schedule
    # of Fu et al. (2019; 4 cycles of 2 epochs, β rising over each cycle's first half) and free
    # bits, 0.125 nats per dimension (4 nats over the 32: the KL the code may hold free). The best
    # epoch by validation ELBO; the card reports the test NLL per token (perplexity), K = 1,000.
    return VAEConfig(
        epochs=8, steps_per_epoch=680, batch_size=64, patience=4,
        data=DataOptions(name="wordnet"),
        model=VAEModelConfig(network="lstm", latent_dim=32, width=512, encoder_width=256,
                             embedding_dim=256, likelihood={"name": "softmax"}, dropout=0.3,
                             frame_dropout=0.3, kl_schedule="cyclical", cycle_steps=1360,
                             free_bits=0.125),
        optimizer=OptimizerConfig(learning_rate=1e-3, beta_1=0.9, clipnorm=5.0),
        training=TrainingConfig(sample_every=1, num_samples=16),
    )


@register(
    "text-vae", "Sentence VAE on your own text (--set data.name=text:FILE or text:DIR; default: "
    "100 example proverbs): one sentence per line, word tokens seen twice or more",
    space=text_vae_space,
)
def text_vae() -> VAEConfig:
    # wordnet-vae's model, smaller, for a user's corpus of any size; words seen once are
    # [UNK] (data.min_count 2), examples of up to 40 tokens.
    cfg = wordnet_vae()
    proverbs = _shipped("text_examples", "proverbs.txt")
    cfg.data = DataOptions(name=f"text:{proverbs}", min_count=2, max_length=40)
    cfg.model.width, cfg.model.encoder_width, cfg.model.embedding_dim = 256, 128, 128
    cfg.model.cycle_steps = 250
    cfg.epochs, cfg.steps_per_epoch, cfg.batch_size = 20, 50, 32
    return cfg


@register(
    "fsdd-vae", "Spectrogram VAE on FSDD: the conv VAE on 128 x 128 normalised log-magnitude "
    "spectrograms, Gaussian likelihood of learned scale, Griffin-Lim back to sound",
    space=spectrogram_vae_space,
)
def fsdd_vae() -> VAEConfig:
    # The image VAE machinery on SpecGAN's representation (data.representation=spectrogram:
    # per-frequency normalised log-magnitude STFT, in [0, 1] with pixel_range unit); a
    # Gaussian with a learned scale per value fits the continuous images; samples go back to
    # sound by 16 Griffin-Lim iterations. Best epoch by validation ELBO.
    return VAEConfig(
        epochs=30, steps_per_epoch=37, batch_size=64, patience=6,
        data=DataOptions(name="fsdd", representation="spectrogram", pixel_range="unit"),
        model=VAEModelConfig(network="conv", latent_dim=64, width=32,
                             likelihood={"name": "gaussian"}),
        optimizer=OptimizerConfig(learning_rate=1e-3, beta_1=0.9),
        training=TrainingConfig(sample_every=1, num_samples=8),
    )
