"""Modalities: what kind of samples a dataset holds -- 2-D points, images, piano-rolls, text,
audio -- and
everything that depends on it, in one registered object per kind (`Modality`): the files
`tfgen sample` writes, the pictures and sounds TensorBoard shows, the default networks of each
model family, and the sample metrics of an `Evaluator` with their cards and baselines.

A dataset names its modality in `DatasetInfo.kind` (`tfgen.data.kind(name)` without loading
it); `get(kind)` returns the object. Adding a modality is its module plus one line in
`REGISTRY`. No TensorFlow at import.

Example:

>>> from tfgen import modalities
>>> modalities.get("images").writers
('.png', '.npy')
>>> modalities.get("pianoroll").writers
('.mid', '.wav', '.png', '.npy', '.zip')
>>> modalities.get("points").default_metric(likelihood=False)
'reverse_kl'
"""

from __future__ import annotations

import importlib

from tfgen.modalities.base import Modality

# kind -> "module:Class" (relative to tfgen.modalities)
REGISTRY: dict[str, str] = {
    "points": "points:Points",
    "images": "images:Images",
    "pianoroll": "pianoroll:PianoRoll",
    "text": "text:Text",
    "audio": "audio:Audio",
}
_MADE: dict[str, Modality] = {}


def get(kind: str) -> Modality:
    """The modality of datasets of `kind` (`DatasetInfo.kind`)."""
    if kind not in REGISTRY:
        raise ValueError(f"unknown modality {kind!r}; choose from: {', '.join(REGISTRY)}")
    if kind not in _MADE:
        module, cls = REGISTRY[kind].split(":")
        _MADE[kind] = getattr(importlib.import_module(f"tfgen.modalities.{module}"), cls)()
    return _MADE[kind]


__all__ = ["REGISTRY", "Modality", "get"]
