"""Run `tfgen` in a subprocess and SIGKILL it at a chosen moment."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tfgen_env(**extra) -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), **extra)


def kill_when(args, path: Path, delay: float = 0.0, timeout: float = 240) -> None:
    """Start `tfgen *args`, SIGKILL it `delay` s after `path` appears; never leaves the process
    behind."""
    child = subprocess.Popen([sys.executable, "-m", "tfgen.trainers.cli", *map(str, args)],
                             env=tfgen_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + timeout
        while not path.exists():
            assert child.poll() is None, f"the process ended before {path} appeared"
            assert time.time() < deadline
            time.sleep(0.02)
        time.sleep(delay)
        assert child.poll() is None
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def tfgen(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    """`tfgen *args` run to its end (stdout and stderr captured as text)."""
    return subprocess.run([sys.executable, "-m", "tfgen.trainers.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=tfgen_env(),
                          check=False)


def start(args, stderr=subprocess.PIPE) -> subprocess.Popen:
    """`tfgen *args` in a subprocess (stdout discarded, stderr captured as text)."""
    return subprocess.Popen([sys.executable, "-m", "tfgen.trainers.cli", *map(str, args)],
                            env=tfgen_env(), stdout=subprocess.DEVNULL, stderr=stderr,
                            text=True)


def kill_after(args, delay: float, probe=lambda: "", after: Path | None = None,
               timeout: float = 300) -> str:
    """Start `tfgen *args` and SIGKILL it `delay` s after it started -- or after the file
    `after` appeared -- unless it ended first; returns what `probe()` said at the moment of the
    kill (e.g. which files existed), for the test's log."""
    child, begin = start(args, stderr=subprocess.DEVNULL), time.time()
    try:
        if after is not None:
            while not Path(after).exists() and child.poll() is None:
                assert time.time() - begin < timeout, f"{after} never appeared"
                time.sleep(0.01)
            begin = time.time()
        while child.poll() is None and time.time() - begin < delay:
            time.sleep(0.01)
        state = probe()
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            child.wait()
            return state
        return f"{state} (had already exited)"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
