"""Errors the scripts turn into exit codes and one-line messages (never a traceback)."""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1  # the thing checked is invalid, or the work could not complete
EXIT_BAD_INPUT = 2  # bad invocation, or a bad input/config file
# 3 and 4: run_unattended.py's (another runner; no claude)
EXIT_ENVIRONMENT = 74  # the system refused: disk full, read-only, I/O error, no permission (sysexits' EX_IOERR)


# what an interrupted script left, as cli.main says it on Ctrl-C; a step that can leave more than
# that says so (interrupted_state(text)) while it runs
NOTHING_HALF_WRITTEN = "nothing half-written (every file is written whole, or not at all); run it again"
_left: list[str] = [NOTHING_HALF_WRITTEN]


def interrupted_state(text: str | None = None) -> str:
    """Set (text given) or read what the script leaves if it is interrupted now."""
    if text is not None:
        _left[0] = text
    return _left[0]


class BatchError(Exception):
    """Base class: carries the exit code the scripts should use."""

    exit_code = EXIT_FAILED


class InputError(BatchError):
    """A bad input or config file, or a bad argument.

    The message names the file, the record (JSON path) and what was expected.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, file: Path | str | None = None, where: str | None = None):
        self.file = str(file) if file is not None else None
        self.where = where or None
        self.detail = message
        prefix = ""
        if self.file:
            prefix = f"{self.file}: "
        if self.where:
            prefix += f"{self.where}: "
        super().__init__(prefix + message)


class WorkFailed(BatchError):
    """Work that could not complete (nothing to claim, lock busy, write failed)."""

    exit_code = EXIT_FAILED


class EnvironmentFailure(WorkFailed):
    """The file system or the machine refused (disk full, read-only file system, I/O error, no
    permission): nothing is wrong with the input, and the same command works once that is fixed."""

    exit_code = EXIT_ENVIRONMENT


def environment_failure(doing: str, exc: OSError) -> EnvironmentFailure:
    """`cannot write X: No space left on device` from the OSError of a write."""
    return EnvironmentFailure(f"{doing}: {exc.strerror or exc}")


def internal_error(exc: Exception) -> WorkFailed:
    """A bug met at run time, as one line for the user (exit 1); the caller re-raises it instead
    when $CRITIQUE_BATCH_DEBUG is set."""
    return WorkFailed(f"internal error: {type(exc).__name__}: {exc} (set CRITIQUE_BATCH_DEBUG=1 for a traceback)")


class MissingDependency(BatchError):
    exit_code = EXIT_BAD_INPUT
