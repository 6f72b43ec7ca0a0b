# GENERATED from scripts/critique_batch/base/filelocks.py by tools/generate.py; edit the source, not this copy
"""An exclusive lock on a file, held until released or until the process ends.

On POSIX this is fcntl.flock on the lock file, which is what the filelock package does there, so
the two exclude each other; taking it directly spares importing filelock (about a fifth of a
claim). Where flock is not available (Windows, or a file system without it) the filelock package
does the work.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

from .errors import InputError, MissingDependency

TYPE_CHECKING = False  # typing is not imported at run time: every script imports this module
if TYPE_CHECKING:
    from typing import Callable

POLL_S = 0.05  # how often a waiter tries again (filelock's default)
BUSY = frozenset({errno.EACCES, errno.EAGAIN, errno.EWOULDBLOCK})


NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class LockTimeout(Exception):
    """Another process held the lock for the whole timeout."""


def acquire(path: Path, timeout: float) -> Callable[[], None]:
    """Take the lock on `path` (the file is created if needed, with the user's file mode), waiting
    up to `timeout` seconds; returns the function that releases it. Raises LockTimeout, or OSError
    when the lock file cannot be created."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return _acquire_with_package(path, timeout)
    fd = open_lock_file(path)
    try:
        if _flock(fcntl, fd, path, timeout):
            return lambda: os.close(fd)  # closing the file releases the lock
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)  # a file system without flock
    return _acquire_with_package(path, timeout)


def make_folder(folder: Path) -> None:
    """Create the locks folder (and its parents) unless it exists; a link there is refused
    (InputError), dangling or not. Raises OSError when it cannot be created."""
    _refuse_link(folder)
    folder.mkdir(parents=True, exist_ok=True)


def _refuse_link(folder: Path) -> None:
    if os.path.islink(folder):
        raise InputError("is a symbolic link; the locks folder must be a plain folder: remove the link (the next run "
                         "creates the folder)", file=folder)


def open_lock_file(path: Path) -> int:
    """The lock file, opened without following a symbolic link: a link planted at a lock's path or
    at its folder (pointing out of the workspace) must not make a lock create or touch a file
    elsewhere. A link is an InputError naming it; other failures raise OSError."""
    _refuse_link(path.parent)
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | NOFOLLOW, 0o666)
    except OSError as exc:
        if exc.errno == errno.ELOOP or os.path.islink(path):  # ELOOP: O_NOFOLLOW met a link
            raise InputError("is a symbolic link; a lock file must be a plain file: remove the link (the next run "
                             "creates the file)", file=path) from None
        raise


def _flock(fcntl, fd: int, path: Path, timeout: float) -> bool:
    """Lock fd, waiting up to `timeout` seconds; False when the file system cannot flock."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno == errno.ENOSYS:
                return False
            if exc.errno not in BUSY:
                raise
        if time.monotonic() >= deadline:
            raise LockTimeout(str(path))
        time.sleep(POLL_S)


def _acquire_with_package(path: Path, timeout: float) -> Callable[[], None]:
    try:
        from filelock import FileLock, Timeout
    except ModuleNotFoundError as exc:
        raise MissingDependency(f"missing Python package {exc.name!r}") from exc
    lock = FileLock(str(path), timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise LockTimeout(str(path)) from None
    return lock.release
