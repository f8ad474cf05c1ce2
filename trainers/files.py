"""Atomic file writes: every file a run or a search writes goes through `atomic`."""

from __future__ import annotations

import contextlib
import json
import os


@contextlib.contextmanager
def atomic(path: str):
    """Yield a temporary path (same extension) to write; on success it replaces `path` in one
    rename, so a kill or a full disk never leaves a truncated file or loses the previous one."""
    stem, ext = os.path.splitext(path)
    tmp = f"{stem}.tmp-{os.getpid()}{ext}"
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path: str, value: dict) -> None:
    """Write `value` to `path` atomically."""
    with atomic(path) as tmp, open(tmp, "w") as fh:
        json.dump(value, fh, indent=2)
