"""The per-culture lock: fcntl.flock on a file in checkpoints/.locks/, as the filelock package takes
it (so either excludes the other), released when its holder lets go or ends."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import support
from critique_batch.base import filelocks
from critique_batch.base.errors import InputError, WorkFailed
from critique_batch.files.workspace import Workspace


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
    code = ("import os, sys, pathlib; sys.path.insert(0, sys.argv[1]); from critique_batch.base import filelocks; "
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


# --- issue 20 §7a: a lock path that is a symbolic link ---------------------------------------------

@pytest.mark.parametrize("dangling", [True, False])
def test_a_symlinked_lock_file_touches_nothing_outside(ws, tmp_path_factory, dangling):
    """checkpoints/.locks/korean.lock pointing outside the workspace: refused (exit 2 naming it);
    the file outside is neither created nor changed."""
    support.write_candidates(ws, "korean", 3)
    outside = tmp_path_factory.mktemp("outside") / "korean.lock"
    if not dangling:
        outside.write_text("keep me")
    (ws / "checkpoints" / ".locks").mkdir(parents=True)
    (ws / "checkpoints" / ".locks" / "korean.lock").symlink_to(outside)
    proc = support.run("run_next_batch.py", "--culture", "korean", ws=ws)
    assert proc.returncode == 2, proc.stderr
    assert ".locks/korean.lock: is a symbolic link; a lock file must be a plain file" in proc.stderr and "Traceback" not in proc.stderr
    if dangling:
        assert not outside.exists()
    else:
        assert outside.read_text() == "keep me"
    assert not (ws / "checkpoints" / "korean_batch_001_input.json").exists()
    (ws / "checkpoints" / ".locks" / "korean.lock").unlink()  # as the message says: the next run works
    assert support.run("run_next_batch.py", "--culture", "korean", ws=ws).returncode == 0


def test_a_symlinked_locks_folder_is_refused(ws, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside-locks")
    (ws / "checkpoints" / ".locks").symlink_to(outside, target_is_directory=True)
    support.write_candidates(ws, "korean", 3)
    proc = support.run("run_next_batch.py", "--culture", "korean", ws=ws)
    assert proc.returncode == 2 and "the locks folder must be a plain folder" in proc.stderr, proc.stderr
    assert list(outside.iterdir()) == []


def test_lock_files_are_opened_without_following_links(tmp_path):
    target = tmp_path / "elsewhere"
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "x.lock").symlink_to(target)
    with pytest.raises(InputError):
        filelocks.acquire(tmp_path / "locks" / "x.lock", 0)
    assert not target.exists()
