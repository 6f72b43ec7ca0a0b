# GENERATED from scripts/critique_batch/cli.py by tools/generate.py; edit the source, not this copy
"""What every script shares: --workspace/--json, error reporting and exit codes.

Errors become one line on stderr ("error: FILE: WHERE: WHAT") and an exit code: 1 when the thing
checked is invalid or the work could not complete, 2 for a bad invocation or a bad input file, 74
when the system refused a write (disk full, read-only, I/O error, no permission). With --json,
stdout carries exactly one JSON object, errors included. Ctrl-C exits 130 after one line saying
what state the script left (errors.interrupted_state).

Human output prints every text that came from data or from a subagent through one_line (text.py):
one line, control characters escaped. JSON output escapes what json.dumps leaves raw (json_safe).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .base.errors import (EXIT_BAD_INPUT, EXIT_ENVIRONMENT, EXIT_FAILED, BatchError, EnvironmentFailure, InputError, MissingDependency,
                     internal_error, interrupted_state)
from .base.text import json_safe, one_line  # noqa: F401 - one_line: the scripts print every text from data through it
from .base.words import bar, cut, plural  # noqa: F401 - the scripts word their output with these

TYPE_CHECKING = False  # typing is not imported at run time: every script imports this module
if TYPE_CHECKING:
    from typing import Callable

REQUIREMENTS = "'jsonschema>=4.18' 'filelock>=3.12' 'pyarrow>=16' 'lancedb>=0.25'"
INSTALL_HINT = f"install the dependencies: pip install {REQUIREMENTS}  (or with uv: uv pip install {REQUIREMENTS})"


class Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with the usage line and one error line (with --json: one
    JSON object on stdout and the error line)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        if "--json" not in sys.argv[1:]:
            sys.stderr.write(self.format_usage())
        emit_error(InputError(message, where="usage"), "--json" in sys.argv[1:], prog=self.prog)
        sys.exit(EXIT_BAD_INPUT)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The descriptions as written. argparse makes a formatter for every add_argument, and its
    own asks shutil for the terminal's width: importing shutil (with bz2, lzma and zlib) cost every
    run about 3 ms. The width is found as shutil finds it: $COLUMNS, the terminal, else 80."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        if width is None:
            width = terminal_columns() - 2  # as argparse does
        super().__init__(prog, indent_increment, max_help_position, width)


def terminal_columns() -> int:
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


EXIT_CODES = ("Exit codes: 0 done; 1 the thing checked is invalid or the work could not complete (the output\n"
              "says why); 2 a bad command or a bad input file (one line naming the file, record and field);\n"
              "74 the system refused: disk full, read-only file system, I/O error, no permission (fix it, run\n"
              "again); 130 interrupted (Ctrl-C; it says what state it left).")


def parser(description: str, epilog: str | None = None) -> Parser:
    epilog = f"{epilog.rstrip()}\n\n{EXIT_CODES}" if epilog else EXIT_CODES
    p = Parser(description=description, epilog=epilog, formatter_class=HelpFormatter)
    p.add_argument("--workspace", default=".", metavar="DIR", help="the workspace folder (default: the current directory)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout, nothing else")
    return p


def add_culture(p: argparse.ArgumentParser, help: str) -> None:
    """The culture, accepted both ways: `SCRIPT korean ...` and `SCRIPT --culture korean ...`
    (call take_culture after parsing)."""
    p.add_argument("culture", nargs="?", metavar="CULTURE", help=f"{help} (or --culture CULTURE)")
    p.add_argument("--culture", dest="culture_flag", metavar="CULTURE", help=f"{help} (the same as the positional CULTURE)")


def take_culture(p: argparse.ArgumentParser, args: argparse.Namespace, rest: tuple[str, ...] = (),
                 required: bool = False) -> argparse.Namespace:
    """Set args.culture from either form. With --culture, positional values move on to the
    arguments named in `rest` (`add_candidates.py --culture korean images/` puts images/ in source)."""
    flag = args.culture_flag
    if flag is not None and args.culture is not None and args.culture != flag:
        values = [args.culture] + [getattr(args, name) for name in rest]
        if not rest or values[-1] is not None:
            p.error(f"two cultures given: {args.culture!r} and --culture {flag!r}")
        for name, value in zip(rest, values):
            setattr(args, name, value)
    if flag is not None:
        args.culture = flag
    if required and args.culture is None:
        p.error(f"a culture is required: {p.prog} CULTURE ... or {p.prog} --culture CULTURE ...")
    missing = [name for name in rest if getattr(args, name) is None]
    if required and missing:
        p.error(f"the following arguments are required: {', '.join(missing)}")
    return args


def emit_error(exc: BaseException, as_json: bool, prog: str | None = None) -> None:
    message = one_line(exc)  # messages quote file names and values, which may hold anything
    if isinstance(exc, MissingDependency):
        message = f"{message}; {INSTALL_HINT}"
    print(f"{prog or os.path.basename(sys.argv[0])}: error: {message}", file=sys.stderr)
    if as_json:
        payload = {"ok": False, "error": message}
        if isinstance(exc, InputError):
            payload.update(file=exc.file, where=exc.where, detail=exc.detail)
        emit_json(payload)


def emit_json(obj: dict) -> None:
    print(json_safe(json.dumps(obj, ensure_ascii=False, indent=None)))


def main(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> None:
    """Run a script body, turning every failure into a message and an exit code."""
    try:
        code = run(args)
    except BatchError as exc:
        emit_error(exc, getattr(args, "json", False))
        code = exc.exit_code
    except ModuleNotFoundError as exc:
        emit_error(MissingDependency(f"missing Python package {exc.name!r}"), getattr(args, "json", False))
        code = EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{os.path.basename(sys.argv[0])}: interrupted: {interrupted_state()}", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        code = 0
    except OSError as exc:  # the system refused something no module turned into a message
        where = f": {exc.filename}" if exc.filename else ""
        emit_error(EnvironmentFailure(f"{exc.strerror or exc}{where}"), getattr(args, "json", False))
        code = EXIT_ENVIRONMENT
    except Exception as exc:  # noqa: BLE001 - the user gets a message, not a traceback
        if os.environ.get("CRITIQUE_BATCH_DEBUG"):
            raise
        emit_error(internal_error(exc), getattr(args, "json", False))
        code = EXIT_FAILED
    sys.stdout.flush()
    sys.exit(code)
