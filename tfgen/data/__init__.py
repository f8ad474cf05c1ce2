"""Datasets: a name plus options in, a `tf.data.Dataset` ready for `fit` out.

Names (see `tfgen datasets`):
    ring8, grid25   2-D Gaussian mixtures (PROTOCOLS.md section 1), generated from the seed.
    digits          scikit-learn's bundled 8x8 digits, split and scaled per PROTOCOLS.md section 2.
    fashion_mnist   Fashion-MNIST's IDX files (Debian's dataset-fashion-mnist), PROTOCOLS.md sec. 4.
    tfds:NAME       any TensorFlow Datasets image dataset (mnist, cifar10, celeb_a, ...).
    folder:PATH     a directory of images, optionally one sub-folder per class.
    idx:DIR         MNIST-format IDX files (train-images-idx3-ubyte[.gz], ...).
    npz:PATH        a user's arrays: x [N, H, W(, C)], optional y.
    jsb_chorales    the JSB Chorales piano-rolls (shipped; the polyphonic-music benchmark split).
    midi:DIR        a user's MIDI files as piano-rolls (`tfgen.data.midi`).

Piano-rolls come packed (`tfgen.data.music.pack`): [pieces, frames, 88 + 1], the last channel
marking each piece's own frames; training batches are cut to their longest piece.

folder:, idx:, npz: and midi: sources hold out val and test examples by a stable hash of each example's
key (`data.val_fraction`, `data.test_fraction`; see `tfgen.data.arrays`).

Example:

>>> import tfgen
>>> ds = tfgen.data.load("ring8", batch_size=512, seed=0)          # endless training stream
>>> ds = tfgen.data.load("digits", split="test", batch_size=100, training=False, labels=True)
"""

from tfgen import lazy

# Handed on lazily (`tfgen.lazy`): `DataOptions` and the dataset names import no TensorFlow.
__all__ = ["BUILTIN", "FORMS", "MIXTURES", "ArraySource", "DataOptions", "DatasetInfo", "Mixture",
           "PIXEL_RANGES", "Source", "check_name", "image_info", "kind", "load",
           "load_distributed", "num_replicas", "source", "value_range"]
__getattr__, __dir__ = lazy.attach(__name__, {
    "BUILTIN": "names", "FORMS": "names", "check_name": "names", "kind": "names",
    "load": "loading", "load_distributed": "loading", "num_replicas": "loading",
    "source": "loading",
    "MIXTURES": "mixtures", "Mixture": "mixtures",
    "PIXEL_RANGES": "options", "DataOptions": "options", "value_range": "options",
    "ArraySource": "sources", "DatasetInfo": "sources", "Source": "sources",
    "image_info": "sources",
})
