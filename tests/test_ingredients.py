"""The ingredient seam (`tfgen.ingredients`): Keras `get()`-style resolution, options checked
when an ingredient is made, configs that round-trip, and a package the `tfgen` command can
check configs with before importing TensorFlow."""

import dataclasses
import subprocess
import sys

import pytest

from tfgen import ingredients
from tfgen.errors import OptionError
from tfgen.ingredients import legacy

ALL = [(kind, name) for kind, names in ingredients.REGISTRY.items() for name in names]


@pytest.mark.parametrize("kind,name", ALL)
def test_every_ingredient_round_trips_its_config(kind, name):
    made = ingredients.get(kind, name)
    assert made.name == name and made.kind == kind
    config = made.get_config()
    assert config["name"] == name
    again = ingredients.get(kind, config)
    assert again.get_config() == config and type(again) is type(made)
    assert ingredients.get(kind, made) is made  # an object is taken as it is
    for f in dataclasses.fields(made):  # every option has its help
        assert f.metadata.get("help"), f"{name}.{f.name} has no help"


@pytest.mark.parametrize("kind,spec,key,message", [
    ("regularizer", "lecan", "name", "unknown regularizer 'lecan' (did you mean 'lecam'?); "
     "choose from: " + ", ".join(ingredients.REGISTRY["regularizer"])),
    ("regularizer", {"name": "r1", "gama": 1.0}, "gama",
     "r1 has no option 'gama' (did you mean 'gamma'?); its options: gamma, interval"),
    ("regularizer", {"name": "r1", "interval": 0}, "interval", "interval: must be >= 1; got 0"),
    ("regularizer", {"name": "lecam", "decay": 1.0}, "decay", "decay: must be < 1.0; got 1.0"),
    ("regularizer", {"name": "top_k", "fraction": 0.0}, "fraction",
     "fraction: must be > 0.0; got 0.0"),
    ("regularizer", {"name": "consistency", "ops": "xflip,warp"}, "ops",
     "unknown ADA operation 'warp'; choose groups blit, geom, color, cutout or operations "
     "xflip, rotate90, xint, scale, rotate, aniso, xfrac, brightness, contrast, lumaflip, hue, "
     "saturation, cutout"),
    ("augmentation", {"name": "ada", "p": 1.5}, "p", "p: must be <= 1.0; got 1.5"),
    ("augmentation", {"name": "diffaugment", "policies": ""}, "policies",
     "DiffAugment needs at least one policy"),
    ("augmentation", ingredients.R1(), "name", "r1 is a regularizer, not an augmentation"),
    ("augmentation", 3, "name", "an augmentation is a name, a dict with a 'name', or an object; "
     "got 3"),
])
def test_bad_options_name_what_is_wrong(kind, spec, key, message):
    with pytest.raises(OptionError) as err:
        ingredients.get(kind, spec)
    assert (err.value.key, str(err.value)) == (key, message)


def test_legacy_keywords_become_the_ingredients_in_registry_order():
    made = legacy.regularizers(top_k=0.5, lecam=0.3, lecam_decay=0.9, gradient_penalty=0.0,
                               r1_penalty=1.0, consistency=0.0)
    assert [r.get_config() for r in made] == [
        {"name": "r1", "gamma": 1.0, "interval": 1},
        {"name": "lecam", "weight": 0.3, "decay": 0.9},
        {"name": "top_k", "fraction": 0.5, "gamma": 0.99, "period": 1000}]
    with pytest.raises(OptionError) as err:  # the keyword's name, not the option's
        legacy.regularizers(lecam=0.3, lecam_decay=2.0)
    assert err.value.key == "lecam_decay"
    assert legacy.augmentation("color,cutout").get_config() == {
        "name": "diffaugment", "policies": "color,cutout"}
    assert legacy.augmentation("", ada="") is None


def test_the_package_imports_no_tensorflow():
    code = ("import sys; sys.argv = ['tfgen']\n"
            "from tfgen import ingredients, rules\n"
            "for kind, names in ingredients.REGISTRY.items():\n"
            "    for name in names: ingredients.get(kind, name).check(ingredients.Facts())\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_options_take_the_type_they_declare():
    """An integral float for an int option and an int for a float one, as YAML and old keyword
    calls give them; a fractional one for an int is refused."""
    top_k = ingredients.get("regularizer", {"name": "top_k", "gamma": 1, "period": 10.0})
    assert (type(top_k.gamma), type(top_k.period)) == (float, int)
    with pytest.raises(OptionError, match="interval: must be an integer; got 2.5"):
        ingredients.R1(interval=2.5)
