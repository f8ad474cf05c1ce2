"""Files anywhere TensorFlow can write: local paths through the OS, remote ones (`gs://bucket/...`
on GCS, `ram://` in tests, any `scheme://` TensorFlow has a file system for) through
`tf.io.gfile`. Every file tfgen reads or writes in a run directory, a search directory or a data
source goes through this module, so a run can live in a bucket (a preemptible TPU VM's disk is
lost with it; a pod's workers share no disk).

Local paths never import TensorFlow (the `tfgen` command's --help and config checks run
without it) and keep the OS's semantics: `atomic` is a write to a temporary file and one
`os.replace`. On a remote file system `atomic` writes the temporary object and renames it over
the target (on GCS a copy then a delete: readers see the old or the new file, never a part).
"""

from __future__ import annotations

import contextlib
import glob as _glob
import json
import os
import posixpath
import shutil
import uuid


def is_remote(path) -> bool:
    """Whether `path` names a file system of its own (`scheme://...`)."""
    return "://" in str(path)


def _gfile():
    import tensorflow as tf

    return tf.io.gfile


def join(path, *parts: str) -> str:
    path = str(path)
    return posixpath.join(path, *parts) if is_remote(path) else os.path.join(path, *parts)


def dirname(path) -> str:
    path = str(path)
    return posixpath.dirname(path.rstrip("/")) if is_remote(path) else os.path.dirname(path)


def basename(path) -> str:
    path = str(path)
    return posixpath.basename(path.rstrip("/")) if is_remote(path) else os.path.basename(path)


def relpath(path, start) -> str:
    """`path` relative to `start`, with '/' separators (the key a folder source hashes)."""
    if is_remote(path):
        return str(path)[len(str(start).rstrip("/")):].lstrip("/")
    return os.path.relpath(path, start).replace(os.sep, "/")


def read_bytes(path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def absolute(path) -> str:
    """`os.path.abspath` for a local path; a remote one as it is."""
    return str(path) if is_remote(path) else os.path.abspath(path)


def exists(path) -> bool:
    return _gfile().exists(str(path)) if is_remote(path) else os.path.exists(path)


def isdir(path) -> bool:
    return _gfile().isdir(str(path)) if is_remote(path) else os.path.isdir(path)


def isfile(path) -> bool:
    return exists(path) and not isdir(path)


def makedirs(path) -> None:
    if is_remote(path):
        _gfile().makedirs(str(path))
    else:
        os.makedirs(path, exist_ok=True)


def listdir(path) -> list[str]:
    """The names in directory `path` (sub-directories without a trailing slash)."""
    if is_remote(path):
        return [name.rstrip("/") for name in _gfile().listdir(str(path))]
    return os.listdir(path)


def walk(path):
    """`os.walk` (top-down): (directory, sub-directory names, file names)."""
    if is_remote(path):
        for root, dirs, files in _gfile().walk(str(path)):
            dirs[:] = [d.rstrip("/") for d in dirs]  # in place: a caller's sort steers the walk
            yield root, dirs, files
    else:
        yield from os.walk(path)


def glob(pattern: str) -> list[str]:
    return list(_gfile().glob(pattern)) if is_remote(pattern) else _glob.glob(pattern)


def remove(path) -> None:
    if is_remote(path):
        _gfile().remove(str(path))
    else:
        os.remove(path)


def rmtree(path) -> None:
    """Remove directory `path` and what it holds (nothing when it does not exist)."""
    if not exists(path):
        return
    if is_remote(path):
        _gfile().rmtree(str(path))
    else:
        shutil.rmtree(path, ignore_errors=True)


def rename(source, target) -> None:
    """Move `source` to `target`, replacing it."""
    if is_remote(source) or is_remote(target):
        _gfile().rename(str(source), str(target), overwrite=True)
    else:
        os.replace(source, target)


def copytree(source, target) -> None:
    """Copy directory `source` to `target` (which must not exist)."""
    if not (is_remote(source) or is_remote(target)):
        shutil.copytree(source, target)
        return
    source = str(source).rstrip("/")
    for root, _, files in walk(source):
        folder = join(target, root[len(source):].lstrip("/"))
        makedirs(folder)
        for name in files:
            _gfile().copy(join(root, name), join(folder, name), overwrite=True)


def open(path, mode: str = "r", encoding: str | None = None):
    """A file object: the builtin `open` for a local path, `tf.io.gfile.GFile` for a remote one
    (text modes read and write str, binary modes bytes)."""
    if is_remote(path):
        return _gfile().GFile(str(path), mode)
    import builtins

    return builtins.open(path, mode, encoding=encoding if "b" not in mode else None)


@contextlib.contextmanager
def atomic(path):
    """Yield a temporary path (same folder, same extensions: `best.weights.h5` ->
    `best.tmp-<pid>-<id>.weights.h5`, as Keras wants them) to write; on success it replaces
    `path` in one rename, so a kill or a full disk never leaves a truncated file or loses the
    previous one."""
    path = str(path)
    name = basename(path)
    dot = name.find(".", 1)
    stem, ext = (name, "") if dot < 0 else (name[:dot], name[dot:])
    tmp = join(dirname(path), f"{stem}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}{ext}")
    try:
        yield tmp
        rename(tmp, path)
    finally:
        if exists(tmp):
            remove(tmp)


def write_bytes(path, data: bytes) -> None:
    """Write `data` to `path` atomically (its folder made if needed)."""
    if dirname(path):
        makedirs(dirname(path))
    with atomic(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def write_json(path, value) -> None:
    """Write `value` to `path` atomically."""
    with atomic(path) as tmp, open(tmp, "w") as fh:
        fh.write(json.dumps(value, indent=2))


def read_json(path, default):
    """The JSON at `path`, or `default` when it is missing or unreadable."""
    try:
        with open(path) as fh:
            return json.loads(fh.read())
    except (OSError, ValueError):
        return default
    except Exception as err:  # tf.errors.NotFoundError and kin, on a remote file system
        if type(err).__module__.startswith("tensorflow"):
            return default
        raise
