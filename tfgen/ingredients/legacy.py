"""The keyword arguments a `GAN` took before its ingredients were objects -- `augment="color"`,
`ada=...`, `compile(gradient_penalty=..., r1_penalty=..., lecam=..., top_k=...)` -- as
ingredients: what old scripts, saved models (`model.keras` configs) and flat config keys
(`model.lecam`, `model.ada_target`, ...) still give."""

from __future__ import annotations

from tfgen.errors import OptionError
from tfgen.ingredients.base import REGISTRY, Ingredient, get

# (legacy keyword, ingredient, its option); the first keyword of each ingredient switches it
# on (0 / "" / 1.0 for top-k: off).
REGULARIZER_KEYWORDS = (
    ("gradient_penalty", "gradient_penalty", "weight"),
    ("r1_penalty", "r1", "gamma"), ("r1_interval", "r1", "interval"),
    ("lecam", "lecam", "weight"), ("lecam_decay", "lecam", "decay"),
    ("consistency", "consistency", "weight"), ("consistency_ops", "consistency", "ops"),
    ("top_k", "top_k", "fraction"), ("top_k_gamma", "top_k", "gamma"),
    ("top_k_period", "top_k", "period"),
)
ADA_KEYWORDS = (("ada", "ops"), ("ada_target", "target"), ("ada_p", "p"), ("ada_kimg", "kimg"),
                ("ada_interval", "interval"))
_OFF = {"top_k": 1.0}
# Every flat keyword as (keyword, ingredient, option); an ingredient's first one chose it.
KEYWORDS = (REGULARIZER_KEYWORDS + tuple((k, "ada", f) for k, f in ADA_KEYWORDS)
            + (("augment", "diffaugment", "policies"), ("prior", "normal", "name"),
               ("prior", "vamp", "name"), ("pseudo_inputs", "vamp", "pseudo_inputs")))


def legacy_key(ingredient: str, option: str) -> str:
    """The flat keyword of an ingredient's option (e.g. ("lecam", "decay") -> "lecam_decay");
    for an option without one (a rule of the ingredient as a whole), the keyword that chose
    the ingredient."""
    named = [k for k, n, f in KEYWORDS if n == ingredient]
    return next((k for k, n, f in KEYWORDS if (n, f) == (ingredient, option)),
                named[0] if named else option)


def regularizers(**keywords) -> list[Ingredient]:
    """The regularisers the legacy keywords switch on, in the registry's order."""
    unknown = set(keywords) - {k for k, _, _ in REGULARIZER_KEYWORDS}
    if unknown:
        raise TypeError(f"unknown regulariser keywords {sorted(unknown)}")
    out = []
    for name in REGISTRY["regularizer"]:
        fields = [(k, f) for k, n, f in REGULARIZER_KEYWORDS if n == name and k in keywords]
        switch = next((k for k, n, _ in REGULARIZER_KEYWORDS if n == name), None)
        if switch not in keywords or keywords[switch] == _OFF.get(name, 0):
            continue
        out.append(_made(name, "regularizer", {f: keywords[k] for k, f in fields}))
    return out


def augmentation(augment=None, **ada_keywords) -> Ingredient | None:
    """The augmentation of `GAN(augment=..., ada=..., ada_target=...)`: `augment` a name, dict
    or object, or (legacy) DiffAugment's policies ("color,translation"); `ada` (legacy) ADA's
    operations, with its `ada_*` options. Both at once is refused."""
    unknown = set(ada_keywords) - {k for k, _ in ADA_KEYWORDS}
    if unknown:
        raise TypeError(f"unknown augmentation keywords {sorted(unknown)}")
    ada = ada_keywords.get("ada") or ""
    if augment and ada:
        raise OptionError("ada", "choose DiffAugment or ADA, not both")
    if ada:
        return _made("ada", "augmentation", {f: ada_keywords[k] for k, f in ADA_KEYWORDS
                                             if k in ada_keywords})
    if not augment:
        return None
    if isinstance(augment, str) and augment not in REGISTRY["augmentation"]:
        return _made("diffaugment", "augmentation", {"policies": augment})
    return get("augmentation", augment)


def _made(name: str, kind: str, options: dict) -> Ingredient:
    """The ingredient from legacy options, its errors naming the legacy keyword."""
    try:
        return get(kind, {"name": name, **options})
    except OptionError as err:
        raise OptionError(legacy_key(name, err.key), str(err)) from None


def prior(spec, pseudo_inputs: int | None = None) -> Ingredient:
    """The prior of `VAE(prior=..., pseudo_inputs=...)`: a name, dict or object; (legacy) the
    VampPrior's C as `pseudo_inputs` beside `prior="vamp"` (ignored with "normal", as before)."""
    if spec == "vamp" and pseudo_inputs is not None:
        return get("prior", {"name": "vamp", "pseudo_inputs": pseudo_inputs})
    return get("prior", spec)
