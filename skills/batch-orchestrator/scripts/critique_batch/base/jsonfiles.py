# GENERATED from scripts/critique_batch/base/jsonfiles.py by tools/generate.py; edit the source, not this copy
"""Schema-checked JSON reads and atomic JSON writes.

Every state file goes through `read_json` (parse + JSON Schema check, errors name the file and the
JSON path) and `write_json` (through `atomic_write`: temp file in a .tmp/ folder beside it, fsync, rename: a crash leaves the
old file or the new one, never a torn one).

Schema checks are remembered by content digest in a `.valid/` folder next to the file, so a file
that has not changed since it last passed is not re-checked: this keeps status and claim fast on
big candidate lists, and a hit spares importing jsonschema (~50 ms), without weakening the check
(the digest is of the bytes read; a hand edit, or a marker edited or deleted, means a full check).

Documents the package builds itself from input it has already checked (progress, batch files, the
missing-images log, requeue, sync state) are correct by construction: writing one does not check
it (that check imported jsonschema and was half of a claim), and the digest of what was written is
remembered, so the next read does not check it either. The tests check them instead: with
$CRITIQUE_BATCH_CHECK_WRITES set (tests/conftest.py sets it), every write is checked, as are the
files a session leaves. Documents built from what the user gave (candidates, baseline) are always
checked before they are written. jsonschema is imported only when a check actually runs.

What no JSON read here may hold, whatever its schema (parse_json_text; the error names the file and
the JSON path): NaN or Infinity (or a number too big for a float: strict JSON parsers reject them),
a key twice in one object (which one counts depends on the reader), a lone surrogate such as
"\\ud800" (not text: nothing can write it as UTF-8), or nesting deeper than MAX_NESTING levels (a
reader's recursion limit would decide, so two readers could disagree). A schema check includes
these checks: a file whose exact bytes passed one is parsed without them. Schema patterns match as
JSON Schema (ECMA 262) says: `$` is the end of the text, never before a final newline.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path

from . import faults
from .digests import blake2b
from .errors import InputError, MissingDependency, WorkFailed, environment_failure
from .text import json_safe, one_line

TYPE_CHECKING = False  # typing is not imported at run time: every script imports this module
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable

SCHEMA_DIRS = (
    Path(__file__).resolve().parents[1] / "schemas",  # generated copy that travels with scripts/
    Path(__file__).resolve().parents[3] / "schemas",  # the source, in a clone
)
SCHEMA_BASE = "https://critique-batch.local/schemas/"
MAX_ERRORS = 5
TMP_DIR = ".tmp"
BUILT_FROM_CHECKED_INPUT = frozenset({"progress", "batch_input", "batch_result", "missing_images", "requeue", "sync_state", "workspace_id",
                                      "removed_candidates"})
CHECK_WRITES_ENV = "CRITIQUE_BATCH_CHECK_WRITES"
MAX_NESTING = 64  # levels of arrays and objects a JSON text may nest: records need 3, Python's parser fails near 1,000
# what a passed check covers beyond the schema: a marker written before these checks existed is stale
CHECKS_VERSION = b"values-1"


def json_path(parts) -> str:
    """Render a jsonschema path deque as `images[3].filepath`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def schema_dir() -> Path:
    for d in SCHEMA_DIRS:
        if d.is_dir():  # a skill's copy holds only the schemas its modules name (tools/generate.py)
            return d
    raise WorkFailed("cannot find the schemas folder (looked in: " + ", ".join(map(str, SCHEMA_DIRS)) + ")")


@lru_cache(maxsize=None)
def schema_bytes(schema: str) -> bytes:
    # a schema's name is always a parameter named `schema`: tools/generate.py finds the callers' names by it
    return (schema_dir() / f"{schema}.schema.json").read_bytes()


@lru_cache(maxsize=None)
def _validator(schema: str):
    try:
        import jsonschema  # noqa: F401 - a missing package fails here, as MissingDependency
        from referencing import Registry, Resource
    except ModuleNotFoundError as exc:  # pragma: no cover - exercised by the scripts' dependency check
        raise MissingDependency(f"missing Python package {exc.name!r}") from exc
    resources = []
    for path in sorted(schema_dir().glob("*.schema.json")):
        contents = json.loads(path.read_bytes())
        resources.append((contents["$id"], Resource.from_contents(contents)))
    registry = Registry().with_resources(resources)
    return _ecma_validator()(json.loads(schema_bytes(schema)), registry=registry)


@lru_cache(maxsize=None)
def _ecma_validator():
    """Draft 2020-12 whose `pattern` matches as the standard says (ECMA 262): jsonschema uses
    Python's re.search, whose `$` also matches before a final newline, so "PAIR_1\\n" would match
    "^PAIR_[0-9]+$". And `"format": "date-time"` is asserted (jsonschema only annotates it): a
    lease time that no reader can parse would pass the schema and break status."""
    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(validator, value, instance, schema):
        if validator.is_type(instance, "string") and not ecma_regex(value).search(instance):
            yield ValidationError(f"{instance!r} does not match {value!r}")

    def date_time(validator, value, instance, schema):
        if value == "date-time" and validator.is_type(instance, "string") and not is_date_time(instance):
            yield ValidationError(f"{instance!r} is not a date-time")

    return validators.extend(Draft202012Validator, {"pattern": pattern, "format": date_time})


@lru_cache(maxsize=None)
def _pattern(name: str) -> re.Pattern:
    """The value checks' patterns, compiled on first use: an unchanged workspace's reads never run
    those checks, and compiling them cost every claim about a millisecond."""
    return re.compile({
        "date_time": r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})",
        "string": r'"(?:[^"\\]|\\.)*"',
        "not_bracket": r"[^\[\]{}]+",
        "innermost": r"\[\]|\{\}",
        "lone_surrogate": "[\ud800-\udfff]",
    }[name], re.S)


def is_date_time(text: str) -> bool:
    """An RFC 3339 date-time (2026-11-01T10:00:00Z) that Python can read."""
    if not _pattern("date_time").fullmatch(text):
        return False
    from .clock import parse_time

    try:
        parse_time(text)
    except ValueError:  # 2026-02-30
        return False
    return True


@lru_cache(maxsize=None)
def ecma_regex(pattern: str) -> re.Pattern:
    """A JSON Schema pattern as a Python regex: `$` outside a character class becomes \\Z (the end
    of the text only)."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "$":
            ch = "\\Z"
        out.append(ch)
        i += 1
    return re.compile("".join(out))


def schema_errors(obj: Any, schema: str) -> list[tuple[str, str]]:
    """All schema errors as (json path, message), sorted by path, at most MAX_ERRORS."""
    errors = sorted(_validator(schema).iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    out = []
    for err in errors[:MAX_ERRORS]:
        out.append((json_path(err.absolute_path), _describe(err)))
    return out


def _describe(err) -> str:
    """A short, expected-vs-got message for one jsonschema error."""
    if err.validator == "type":
        return f"expected {err.validator_value}, got {short_json(err.instance)}"
    if err.validator == "required":
        return err.message.replace("is a required property", "is required")
    if err.validator == "additionalProperties":
        return err.message
    if err.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        word = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[err.validator]
        return f"expected a number {word} {err.validator_value}, got {short_json(err.instance)}"
    if err.validator == "pattern" and err.validator_value == "\\S":
        return f"expected non-blank text, got {short_json(err.instance)}"
    if err.validator == "pattern" and err.validator_value == NO_CONTROL_PATTERN:
        return (f"expected a path without control characters (a newline, a tab, an escape ...: "
                f"a filepath is one line of printable text), got {short_json(err.instance)}")
    if err.validator == "pattern":
        return f"expected a string matching {err.validator_value}, got {short_json(err.instance)}"
    if err.validator == "format":
        return f"expected a date-time such as 2026-11-01T10:00:00Z, got {short_json(err.instance)}"
    if err.validator == "minLength":
        return f"expected a non-empty string, got {short_json(err.instance)}"
    return err.message


# candidates.schema.json's filepath pattern (schemas/candidates.schema.json, $defs.filepath)
NO_CONTROL_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]*$"


def short_json(value: Any) -> str:
    """A value as JSON for a message, at most 60 characters (a cut ends with …)."""
    text = json_safe(json.dumps(value, ensure_ascii=False))
    return text if len(text) <= 60 else text[:59] + "…"


def raise_schema_errors(errors: list[tuple[str, str]], file: Path | str) -> None:
    if not errors:
        return
    where, message = errors[0]
    more = f" (and {len(errors) - 1} more problem(s): " + "; ".join(f"{w}: {m}" for w, m in errors[1:]) + ")" if len(errors) > 1 else ""
    raise InputError(message + more, file=file, where=where)


def decode_text(data: bytes, file: Path | str) -> str:
    """UTF-8 bytes as text; a byte-order mark or bad UTF-8 is an InputError naming the file."""
    if data.startswith(b"\xef\xbb\xbf"):
        raise InputError("starts with a UTF-8 byte-order mark (BOM); save it as UTF-8 without BOM", file=file)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=file) from None


def read_text_file(path: Path, what: str) -> tuple[bytes, str]:
    """(bytes, text) of a UTF-8 file the user gave; `what` names what was expected, for the errors."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"file not found; expected {what}", file=path) from None
    except IsADirectoryError:
        raise InputError(f"is a folder; expected {what}", file=path) from None
    return data, decode_text(data, path)


def parse_json_bytes(data: bytes, file: Path | str, *, values_checked: bool = True) -> Any:
    """Parse bytes as JSON; a BOM, bad UTF-8, bad JSON or a value no reader should take (see the
    module's note) is an InputError naming the line and column, or the JSON path. values_checked=False:
    the caller checks the values itself (value_problem), record by record."""
    if not data or data.isspace():  # (not data.strip(): that copies the whole file)
        raise InputError("file is empty; expected JSON", file=file)
    return parse_json_text(decode_text(data, file), file, values_checked=values_checked)


class RepeatedKeys(dict):
    """A parsed object in which a key was written twice (the last value kept, as json does):
    value_problem reports it."""

    __slots__ = ("key",)


class _Watch:
    """The parser's hooks: they note what value_problem must look for (so a clean file, nearly
    every file, is not walked)."""

    __slots__ = ("seen",)

    def __init__(self):
        self.seen = False

    def pairs(self, pairs: list) -> dict:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            self.seen = True
            obj = RepeatedKeys(pairs)
            keys: set = set()
            obj.key = next(k for k, _ in pairs if k in keys or keys.add(k))
        return obj

    def constant(self, name: str) -> float:  # NaN, Infinity, -Infinity
        self.seen = True
        return float(name)

    def number(self, text: str) -> float:
        value = float(text)
        if value - value != 0:  # 1e999 is inf
            self.seen = True
        return value


def nested_too_deeply(text: str) -> bool:
    """Does the JSON text nest arrays and objects more than MAX_NESTING levels? Counted before
    parsing, the same in every process (the parser's own limit depends on the caller's stack)."""
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return False
    brackets = _pattern("not_bracket").sub("", _pattern("string").sub("", text))
    for _ in range(MAX_NESTING + 1):  # each pass removes the innermost level
        brackets, n = _pattern("innermost").subn("", brackets)
        if not n:
            return False  # done, or unbalanced: the parser says where
    return bool(brackets)


def parse_json_text(text: str, file: Path | str, where: str = "", *, values_checked: bool = True) -> Any:
    """Parse JSON text (`where`: the line of a JSONL file), refusing what the module's note lists."""
    if nested_too_deeply(text):
        raise InputError(f"not valid here: arrays and objects nested more than {MAX_NESTING} levels deep", file=file, where=where or None)
    watch = _Watch()
    try:
        obj = json.loads(text, object_pairs_hook=watch.pairs, parse_constant=watch.constant, parse_float=watch.number)
    except json.JSONDecodeError as exc:
        if where:
            raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", file=file, where=where) from None
        raise InputError(f"not valid JSON: {exc.msg}", file=file, where=f"line {exc.lineno} column {exc.colno}") from None
    except RecursionError:  # nesting under the limit, but the stack was short: still a clear error
        raise InputError("not valid here: nested too deeply", file=file, where=where or None) from None
    if values_checked and (watch.seen or "\\ud" in text or "\\uD" in text):
        problem = value_problem(obj)
        if problem is not None:
            path, message = problem
            raise InputError(message, file=file, where=_within(where, path))
    return obj


def _within(where: str, path: str) -> str:
    """`line 3` and `covered_dimensions[0]` as `line 3.covered_dimensions[0]`."""
    if not where or path == "(top level)":
        return where or path
    return where + ("" if path.startswith("[") else ".") + path


def value_problem(value: Any) -> tuple[str, str] | None:
    """(JSON path, what is wrong) of the first value in `value` that no JSON read here may hold
    (see the module's note), in document order; None when there is none."""
    stack = [(value, ())]
    while stack:
        v, path = stack.pop()
        kind = type(v)
        if kind is str:
            if _pattern("lone_surrogate").search(v):
                return json_path(path), _surrogate(v)
        elif kind is float:
            if v != v or v - v != 0:
                got = "NaN" if v != v else "Infinity" if v > 0 else "-Infinity"
                return json_path(path), f"expected a finite number, got {got} (strict JSON has neither)"
        elif kind is dict or kind is RepeatedKeys:
            if kind is RepeatedKeys:
                return json_path(path + (v.key,)), f"the key {short_json(v.key)} is written twice in one object; keep one"
            for key in v:
                if _pattern("lone_surrogate").search(key):
                    return json_path(path + (key,)), _surrogate(key) + " (in a key)"
            stack.extend((x, path + (k,)) for k, x in reversed(v.items()))
        elif kind is list:
            stack.extend((x, path + (i,)) for i, x in reversed(list(enumerate(v))))
    return None


def _surrogate(text: str) -> str:
    ch = _pattern("lone_surrogate").search(text).group()
    return f"holds {one_line(ch)}, half of a UTF-16 surrogate pair and not a character; expected Unicode text"


def _marker(path: Path) -> Path:
    return path.parent / ".valid" / path.name


def _digest(data: bytes, schema: str) -> str:
    h = blake2b(data, digest_size=32)
    h.update(schema_bytes(schema))
    h.update(CHECKS_VERSION)
    return h.hexdigest()


def read_json(path: Path, schema: str | None, *, missing_ok: bool = False, marker: Path | None = None, cache: bool = True,
              check: Callable[[Any], None] | None = None) -> Any:
    """Read, parse and schema-check one JSON file. Returns None if missing and missing_ok.
    `marker`: where to remember a passed check (default: .valid/ beside the file); cache=False:
    always check, remember nothing. `check`: more checks of the parsed document (raising
    InputError), run with the schema check: only when these bytes have not passed before."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return None
        raise InputError("file not found", file=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a JSON file", file=path) from None
    except PermissionError:
        raise InputError("cannot read the file (permission denied)", file=path) from None
    if schema is not None and cache:
        marker = marker or _marker(path)
        digest = _digest(data, schema)
        if _passed(marker, digest):  # these exact bytes passed every check: parse only
            return json.loads(data)
        obj = parse_json_bytes(data, path)
        raise_schema_errors(schema_errors(obj, schema), path)
        if check is not None:
            check(obj)
        _remember(marker, digest)
        return obj
    obj = parse_json_bytes(data, path)
    if schema is not None:
        raise_schema_errors(schema_errors(obj, schema), path)
    if check is not None:
        check(obj)
    return obj


def check_cached(obj: Any, data: bytes, schema: str, path: Path, marker: Path | None = None) -> None:
    """Schema-check obj (parsed from data); skip if these exact bytes passed before."""
    marker = marker or _marker(path)
    digest = _digest(data, schema)
    if not _passed(marker, digest):
        raise_schema_errors(schema_errors(obj, schema), path)
        _remember(marker, digest)


def _passed(marker: Path, digest: str) -> bool:
    try:
        return marker.read_text() == digest
    except OSError:
        return False


def _remember(marker: Path, digest: str) -> None:
    try:
        marker.parent.mkdir(exist_ok=True)
        atomic_write(marker, [digest.encode()], fsync=False, temp_dir=marker.parent / TMP_DIR)
    except (OSError, WorkFailed):
        pass  # a read-only workspace still works, just without the shortcut


def dumps(obj: Any) -> bytes:
    return (json_safe(json.dumps(obj, ensure_ascii=False, indent=2)) + "\n").encode("utf-8")


def write_json(path: Path, obj: Any, schema: str | None) -> None:
    """Write obj atomically (temp file + fsync + rename), checked against its schema first unless
    the package built it from checked input (BUILT_FROM_CHECKED_INPUT; always checked under
    $CRITIQUE_BATCH_CHECK_WRITES), and remember it as checked."""
    data = dumps(obj)
    if schema is not None and (schema not in BUILT_FROM_CHECKED_INPUT or os.environ.get(CHECK_WRITES_ENV)):
        errors = schema_errors(obj, schema)
        if errors:  # a bug in this package, never the user's input: fail loudly before writing
            raise WorkFailed(f"refusing to write {path}: {errors[0][0]}: {errors[0][1]}")
    atomic_write(path, [data], temp_dir=path.parent / TMP_DIR)
    if schema is not None:
        _remember(_marker(path), _digest(data, schema))


def temp_file(directory: Path, prefix: str) -> tuple[int, str]:
    """A new temporary file for an atomic write (fd, path), created exclusively under a random name
    as tempfile.mkstemp does (importing tempfile brings in random and shutil), but with the mode a
    file the user creates gets (mkstemp's 0600 would shut out a teammate in the same group)."""
    for _ in range(100):
        tmp = os.path.join(directory, f"{prefix}{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666), tmp  # the umask applies
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary file name in {directory}")


def atomic_write(dest: Path, chunks: Iterable[bytes], *, fsync: bool = True, temp_dir: Path | None = None) -> int:
    """Write chunks of bytes to dest atomically (a crash leaves the old file or the new one, never a
    torn one); returns the number of chunks. The one writer of every file this package writes.

    temp_dir given (state files: checkpoints/.tmp/, which a session clears): the data goes to a named
    temporary file there, then is renamed over dest. No temp_dir (files written into the user's
    folders: exports, the report page): the data goes to an unnamed file in dest's folder
    (O_TMPFILE), named only once complete and synced, so a process killed while writing leaves
    nothing behind; where the file system cannot link one (no O_TMPFILE, or overlayfs), to a named
    `.{name}.{pid}.tmp` beside dest, which the next write to dest removes once its process is gone.
    New files get the user's umask."""
    dest = Path(dest)
    folder = dest.parent if temp_dir is None else temp_dir
    try:
        folder.mkdir(parents=temp_dir is None, exist_ok=True)
        if temp_dir is None:
            _remove_dead_temp_files(dest)
        tmp, fd, named = _new_temp_file(dest, temp_dir)
    except OSError as exc:
        raise environment_failure(f"cannot write {dest}", exc) from None
    try:
        n = 0
        for chunk in chunks:
            _write_all(fd, chunk)
            n += 1
        if named is None:  # the unnamed file gets its name now that it is complete
            try:
                os.link(f"/proc/self/fd/{fd}", tmp, follow_symlinks=True)
            except OSError:
                named = _copy_to(fd, tmp)
        if fsync:
            os.fsync(named if named is not None else fd)
        faults.point(f"write.before-rename.{dest.name}")
        os.replace(tmp, dest)
        tmp = None
        faults.point(f"write.after-rename.{dest.name}")
        return n
    except OSError as exc:
        raise environment_failure(f"cannot write {dest}", exc) from None
    finally:
        for handle in {fd, named} - {None}:
            os.close(handle)
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _new_temp_file(dest: Path, temp_dir: Path | None) -> tuple[Path, int, int | None]:
    """(temporary path, fd to write, fd of the named file or None while the file is unnamed)."""
    if temp_dir is not None:
        fd, tmp = temp_file(temp_dir, f"{dest.name}.")
        return Path(tmp), fd, fd
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.tmp"
    try:
        return tmp, os.open(dest.parent, os.O_TMPFILE | os.O_RDWR, 0o666), None
    except (AttributeError, OSError):
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o666)
        return tmp, fd, fd


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:  # os.write may write less than it is given
        view = view[os.write(fd, view):]


def _copy_to(fd: int, path: Path) -> int:
    """Copy what the (unnamed) file fd holds to a new file at path; returns the new file's fd."""
    out = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o666)
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, 1 << 20):
        _write_all(out, chunk)
    return out


def _remove_dead_temp_files(dest: Path) -> None:
    """Remove `.{name}.{pid}.tmp` files beside dest whose process is gone (a killed export's)."""
    prefix = f".{dest.name}."
    try:
        names = [e.name for e in os.scandir(dest.parent) if e.name.startswith(prefix) and e.name.endswith(".tmp")]
    except OSError:
        return
    for name in names:
        pid = name[len(prefix):-len(".tmp")]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                os.unlink(dest.parent / name)
            except OSError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive
    return True
