# GENERATED from scripts/critique_batch/errors.py by tools/generate.py; edit the source, not this copy
"""Errors the scripts turn into exit codes and one-line messages (never a traceback)."""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_FAILED = 1  # the thing checked is invalid, or the work could not complete
EXIT_BAD_INPUT = 2  # bad invocation, or a bad input/config file


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


class MissingDependency(BatchError):
    exit_code = EXIT_BAD_INPUT
