"""The per-culture lock: fcntl.flock on a file in checkpoints/.locks/, as the filelock package takes
it (so either excludes the other), released when its holder lets go or ends."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import support
from critique_batch import filelocks
from critique_batch.errors import WorkFailed
from critique_batch.workspace import Workspace


def test_a_held_lock_times_out_and_is_free_once_released(tmp_path):
    path = tmp_path / "x.lock"
    release = filelocks.acquire(path, 1)
    t = time.monotonic()
    with pytest.raises(filelocks.LockTimeout):
        filelocks.acquire(path, 0.2)
    assert time.monotonic() - t >= 0.2
    release()
    filelocks.acquire(path, 0)()


def test_the_filelock_package_and_this_lock_exclude_each_other(tmp_path):
    filelock = pytest.importorskip("filelock")
    path = tmp_path / "x.lock"
    held = filelock.FileLock(str(path), timeout=0)
    held.acquire()
    with pytest.raises(filelocks.LockTimeout):
        filelocks.acquire(path, 0.1)
    held.release()
    release = filelocks.acquire(path, 0)
    with pytest.raises(filelock.Timeout):
        filelock.FileLock(str(path), timeout=0).acquire()
    release()


def locks(ws):
    folder = ws / "checkpoints" / ".locks"
    folder.mkdir(exist_ok=True)
    return folder


def test_a_culture_lock_held_by_a_process_that_ends_is_free(ws):
    code = ("import os, sys, pathlib; sys.path.insert(0, sys.argv[1]); from critique_batch import filelocks; "
            "filelocks.acquire(pathlib.Path(sys.argv[2]), 5); os._exit(0)")
    subprocess.run([sys.executable, "-c", code, str(support.SCRIPTS), str(locks(ws) / "korean.lock")], check=True)
    with Workspace(ws).lock("korean"):
        pass


def test_a_busy_culture_lock_is_a_clear_error(ws):
    release = filelocks.acquire(locks(ws) / "korean.lock", 1)
    try:
        with pytest.raises(WorkFailed, match="korean: another process has held the lock for 0 s"):
            with Workspace(ws).named_lock("korean.lock", 0.1, "korean: another process has held the lock"):
                pass
    finally:
        release()
