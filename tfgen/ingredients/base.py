"""The seam every optional training ingredient plugs into: what an ingredient is, what it may be
checked against (`Facts`), and the registry `get` resolves names, dicts and objects through.

An ingredient is a dataclass of its options (`tfgen.options.param` fields: ranges and help,
checked when it is made), with:

- `check(facts)`: refuse a model it cannot be attached to (one place: the library calls it
  with the facts of the model, the trainer with those of the config, and both show the same
  message);
- `attach(model)`: create its training state on the model (`GenerativeModel.state_variable`:
  checkpointed, saved, and found again by name when the model is compiled again);
- `logs` (the values it logs each train step) and `streams` (the names of its random draws);
- `get_config()`: {"name": ..., options...}, which `get` turns back into the object.

The hooks a GAN calls are those of `Regularizer` and `Augmentation` (`tfgen.ingredients`);
the model's train steps are one loop over its ingredients.
"""

from __future__ import annotations

import dataclasses
import importlib
import weakref
from typing import Any, ClassVar

from tfgen.errors import OptionError
from tfgen.options import check_fields, did_you_mean


@dataclasses.dataclass(frozen=True)
class Facts:
    """What an ingredient may be checked against; None: not known where it is checked (a
    library model does not know its data's pixel range; a config knows no network shapes).

    Attributes:
        conditional: the model is class-conditional.
        images: its samples are images [B, H, W, C] (else flat vectors).
        objective: the GAN's adversarial objective, by name.
        pixel_range: "symmetric" ([-1, 1]) or "unit" ([0, 1]) data.
    """

    conditional: bool | None = None
    images: bool | None = None
    objective: str | None = None
    pixel_range: str | None = None


@dataclasses.dataclass(eq=False)
class Ingredient:
    """Base of every ingredient (see the module docstring)."""

    name: ClassVar[str]  # its name in the registry and in configs
    kind: ClassVar[str]  # the registry it belongs to
    logs: ClassVar[tuple[str, ...]] = ()  # the values it logs each train step
    streams: ClassVar[tuple[str, ...]] = ()  # the names of its random draws
    needs_images: ClassVar[bool] = False

    def __post_init__(self):
        for f in dataclasses.fields(self):  # 10 -> 10.0 for a float option, 4.0 -> 4 for an int
            value, kind = getattr(self, f.name), str(f.type)
            if isinstance(value, bool):
                continue
            if kind.startswith("float") and isinstance(value, int):
                setattr(self, f.name, float(value))
            elif kind.startswith("int") and isinstance(value, float):
                if not value.is_integer():
                    raise OptionError(f.name, f"{f.name}: must be an integer; got {value!r}")
                setattr(self, f.name, int(value))
        check_fields(self)

    def check(self, facts: Facts) -> None:
        """Raise `OptionError` if the ingredient cannot be used with a model of `facts`."""
        if self.needs_images and facts.images is False:
            raise OptionError("name", f"{self.title} transforms images (B, H, W, C)")

    @property
    def title(self) -> str:
        """Its name in messages."""
        return self.name

    def join(self, model) -> None:
        """Attach to `model` (`attach`), once: an ingredient holds its model's state, so one
        object serves one model (the same model compiled again takes it again)."""
        owner = getattr(self, "_owner", None)
        if owner is not None and owner() is not None and owner() is not model:
            raise OptionError("name", f"this {self.title} belongs to another model; give each "
                              "model its own (e.g. the same config dict or name)")
        self._owner = weakref.ref(model)
        self.attach(model)

    def attach(self, model) -> None:
        """Create the ingredient's training state on `model` (default: none)."""

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, **{f.name: getattr(self, f.name)
                                      for f in dataclasses.fields(self)}}


# kind -> name -> "module:Class" (relative to tfgen.ingredients): adding an ingredient is its
# module plus one line here. Read by `get` and by the config's choice lists, without importing
# an ingredient's module before it is needed.
REGISTRY: dict[str, dict[str, str]] = {
    "regularizer": {
        "gradient_penalty": "gradient_penalty:GradientPenalty",
        "r1": "r1:R1",
        "r2": "r2:R2",
        "lecam": "lecam:LeCam",
        "consistency": "consistency:Consistency",
        "top_k": "top_k:TopK",
    },
    "augmentation": {
        "diffaugment": "diffaugment:DiffAugment",
        "ada": "ada:ADA",
    },
    "prior": {
        "normal": "normal_prior:NormalPrior",
        "vamp": "vamp:VampPrior",
    },
    "likelihood": {
        "bernoulli": "bernoulli:Bernoulli",
        "continuous_bernoulli": "continuous_bernoulli:ContinuousBernoulli",
        "gaussian": "gaussian:Gaussian",
        "categorical": "categorical:Categorical",
        "discretized_logistic": "discretized_logistic:DiscretizedLogisticMixture",
        "nade": "nade:NADE",
        "softmax": "softmax:Softmax",
    },
}


def ingredient_class(kind: str, name: str) -> type[Ingredient]:
    names = REGISTRY[kind]
    if name not in names:
        raise OptionError("name", f"unknown {kind} {name!r}{did_you_mean(name, names)}; "
                          f"choose from: {', '.join(names)}")
    module, cls = names[name].split(":")
    return getattr(importlib.import_module(f"tfgen.ingredients.{module}"), cls)


def _a(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def get(kind: str, spec) -> Ingredient:
    """An ingredient of `kind` from a name, a config dict ({"name": ..., options}) or an
    object (returned as it is), Keras `get()` style."""
    if isinstance(spec, Ingredient):
        if spec.kind != kind:
            raise OptionError("name", f"{spec.name} is {_a(spec.kind)}, not {_a(kind)}")
        return spec
    if isinstance(spec, str):
        return ingredient_class(kind, spec)()
    if isinstance(spec, dict) and isinstance(spec.get("name"), str):
        options = {k: v for k, v in spec.items() if k != "name"}
        cls = ingredient_class(kind, spec["name"])
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - fields)
        if unknown:
            known = (f"its options: {', '.join(sorted(fields))}" if fields
                     else "it takes no options")
            raise OptionError(unknown[0], f"{cls.name} has no option {unknown[0]!r}"
                              f"{did_you_mean(unknown[0], fields)}; {known}")
        return cls(**options)
    raise OptionError("name", f"{_a(kind)} is a name, a dict with a 'name', or an object; "
                      f"got {spec!r}")
