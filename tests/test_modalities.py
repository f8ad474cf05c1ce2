"""The modality registry: every kind a dataset can name has its object, with its writers,
metric directions and default metric; a kind of data is refused by name."""

import pytest

from tfgen import data, modalities
from tfgen.errors import UserError


def test_every_dataset_kind_has_its_modality():
    for name, kind in (("ring8", "points"), ("digits", "images"), ("tfds:mnist", "images"),
                       ("jsb_chorales", "pianoroll"), ("midi:/some/folder", "pianoroll")):
        assert data.kind(name) == kind
        assert modalities.get(kind).name == kind


@pytest.mark.parametrize("kind", list(modalities.REGISTRY))
def test_modalities_declare_writers_metrics_and_a_default_metric(kind):
    m = modalities.get(kind)
    assert ".npy" in m.writers and all(w.startswith(".") for w in m.writers)
    assert set(m.metrics.values()) <= {"min", "max"}
    for likelihood in (False, True):
        metric = m.default_metric(likelihood)
        assert metric in m.metrics or metric in ("nll",), metric


def test_an_output_the_modality_does_not_write_is_one_line():
    with pytest.raises(UserError, match=r"--out must end in \.png or \.npy for images"):
        modalities.get("images").check_out("samples.mid")
    assert modalities.get("pianoroll").check_out("x.MID") == ".mid"
    with pytest.raises(ValueError, match="unknown modality 'video'"):
        modalities.get("video")


def test_gan_networks_of_each_modality_are_the_builders_names():
    from tfgen.modalities.base import Modality
    from tfgen.networks import build

    assert Modality.gan_networks == build.IMAGE_GAN_NETWORKS
    every = {n for kind in modalities.REGISTRY for n in modalities.get(kind).gan_networks}
    assert every == set(build.GAN_NETWORKS)
