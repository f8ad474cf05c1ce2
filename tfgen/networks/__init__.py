"""Network builders: functional Keras models for generators, discriminators, encoders, decoders.

All builders return plain `keras.Model`s built from Keras layers and a few registered tfgen
layers (they save and load as `.keras` in safe mode). Conditional networks take
`[inputs, labels]` with integer labels of shape [batch]. Final layers run in float32 under mixed
precision.

- MLP: for 2-D points (ring8, grid25).
- Dropout (VAE encoders and decoders, `dropout=`): a VAE draws its masks from its own stateless
  noise, so they are the same on 1 and N replicas and after a resume.
- DCGAN: strided (transposed) convolutions, sized from the image shape (8x8, 28x28, 32x32,
  64x64, any size that halves to at most 7): the generator starts at the smallest resolution
  >= 4 reached by halving and doubles it up; the discriminator mirrors it.
- ResNet (SNGAN, Miyato et al. 2018) for 32x32.
- IAF (Kingma et al. 2016): MADE-masked autoregressive flow steps for VAE posteriors.
- BigGAN-style (Brock et al. 2019): hierarchical latent, class-conditional batch norm from a
  shared embedding, self-attention, projection discriminator, optional orthogonal
  regularisation; 28x28, 32x32, 64x64 (sizes that halve to 4-7).
- Piano-roll GAN (MuseGAN-style): convolutions over time and pitch of fixed windows, optional
  straight-through binary notes (BinaryMuseGAN).
- Sequences (piano-rolls): a masked bidirectional LSTM encoder and an autoregressive LSTM
  decoder, flat or with MusicVAE's conductor (`FrameDecoder`).
"""

from tfgen.networks.biggan import (
    ConditionalBatchNormalization,
    OrthogonalRegularizer,
    SelfAttention,
    biggan_discriminator,
    biggan_generator,
)
from tfgen.networks.blocks import Dropout
from tfgen.networks.build import (
    GAN_NETWORKS,
    VAE_NETWORKS,
    build_gan_networks,
    build_vae_latent_networks,
    build_vae_networks,
)
from tfgen.networks.conv import (
    conv_decoder,
    conv_encoder,
    dcgan_discriminator,
    dcgan_generator,
    num_upsamplings,
)
from tfgen.networks.flows import IAFStep, iaf_flow, made_masks
from tfgen.networks.mlp import (
    gaussian_mlp,
    mlp_decoder,
    mlp_discriminator,
    mlp_encoder,
    mlp_generator,
)
from tfgen.networks.pianoroll import (
    StraightThroughBinary,
    pianoroll_discriminator,
    pianoroll_generator,
)
from tfgen.networks.resnet import resnet_discriminator, resnet_generator
from tfgen.networks.sequence import (
    FrameDecoder,
    arae_networks,
    sequence_encoder,
    sequence_vae_networks,
)
from tfgen.networks.spectrogram import LogMel
from tfgen.networks.srnn import SRNNDecoder, SRNNEncoder, srnn_networks
from tfgen.networks.transformer import TransformerDecoder
from tfgen.networks.wavegan import PhaseShuffle, wavegan_discriminator, wavegan_generator

__all__ = [
    "GAN_NETWORKS", "VAE_NETWORKS", "ConditionalBatchNormalization", "Dropout", "FrameDecoder",
    "IAFStep", "SRNNDecoder", "arae_networks", "SRNNEncoder", "StraightThroughBinary",
    "OrthogonalRegularizer", "SelfAttention", "biggan_discriminator", "biggan_generator",
    "build_gan_networks", "build_vae_latent_networks", "build_vae_networks", "gaussian_mlp",
    "iaf_flow", "made_masks", "conv_decoder", "conv_encoder", "dcgan_discriminator",
    "dcgan_generator", "mlp_decoder", "mlp_discriminator", "mlp_encoder", "mlp_generator",
    "num_upsamplings", "pianoroll_discriminator", "pianoroll_generator", "resnet_discriminator",
    "resnet_generator", "sequence_encoder", "sequence_vae_networks", "srnn_networks",
    "TransformerDecoder", "LogMel", "PhaseShuffle", "wavegan_discriminator", "wavegan_generator",
]
