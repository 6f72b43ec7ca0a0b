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
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from . import faults
from .digests import blake2b
from .errors import InputError, MissingDependency, WorkFailed

TYPE_CHECKING = False  # typing is not imported at run time: every script imports this module
if TYPE_CHECKING:
    from typing import Any, Iterable

SCHEMA_DIRS = (
    Path(__file__).resolve().parent / "schemas",  # generated copy that travels with scripts/
    Path(__file__).resolve().parents[2] / "schemas",  # the source, in a clone
)
SCHEMA_BASE = "https://critique-batch.local/schemas/"
MAX_ERRORS = 5
TMP_DIR = ".tmp"
BUILT_FROM_CHECKED_INPUT = frozenset({"progress", "batch_input", "batch_result", "missing_images", "requeue", "sync_state", "workspace_id",
                                      "removed_candidates"})
CHECK_WRITES_ENV = "CRITIQUE_BATCH_CHECK_WRITES"


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
        if (d / "plan.schema.json").is_file():
            return d
    raise WorkFailed("cannot find the schemas folder (looked in: " + ", ".join(map(str, SCHEMA_DIRS)) + ")")


@lru_cache(maxsize=None)
def schema_bytes(name: str) -> bytes:
    return (schema_dir() / f"{name}.schema.json").read_bytes()


@lru_cache(maxsize=None)
def _validator(name: str):
    try:
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
    except ModuleNotFoundError as exc:  # pragma: no cover - exercised by the scripts' dependency check
        raise MissingDependency(f"missing Python package {exc.name!r}") from exc
    resources = []
    for path in sorted(schema_dir().glob("*.schema.json")):
        contents = json.loads(path.read_bytes())
        resources.append((contents["$id"], Resource.from_contents(contents)))
    registry = Registry().with_resources(resources)
    return Draft202012Validator(json.loads(schema_bytes(name)), registry=registry)


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
    if err.validator == "pattern":
        return f"expected a string matching {err.validator_value}, got {short_json(err.instance)}"
    if err.validator == "minLength":
        return f"expected a non-empty string, got {short_json(err.instance)}"
    return err.message


def short_json(value: Any) -> str:
    """A value as JSON for a message, at most 60 characters (a cut ends with …)."""
    text = json.dumps(value, ensure_ascii=False)
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


def parse_json_bytes(data: bytes, file: Path | str) -> Any:
    """Parse bytes as JSON; a BOM, bad UTF-8 or bad JSON is an InputError naming line and column."""
    if not data or data.isspace():  # (not data.strip(): that copies the whole file)
        raise InputError("file is empty; expected JSON", file=file)
    text = decode_text(data, file)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file=file, where=f"line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InputError("not valid JSON: nested too deeply", file=file) from None


def _marker(path: Path) -> Path:
    return path.parent / ".valid" / path.name


def _digest(data: bytes, schema: str) -> str:
    h = blake2b(data, digest_size=32)
    h.update(schema_bytes(schema))
    return h.hexdigest()


def read_json(path: Path, schema: str | None, *, missing_ok: bool = False, marker: Path | None = None, cache: bool = True) -> Any:
    """Read, parse and schema-check one JSON file. Returns None if missing and missing_ok.
    `marker`: where to remember a passed check (default: .valid/ beside the file); cache=False:
    always check, remember nothing."""
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
    obj = parse_json_bytes(data, path)
    if schema is not None:
        if cache:
            check_cached(obj, data, schema, path, marker)
        else:
            raise_schema_errors(schema_errors(obj, schema), path)
    return obj


def check_cached(obj: Any, data: bytes, schema: str, path: Path, marker: Path | None = None) -> None:
    """Schema-check obj (parsed from data); skip if these exact bytes passed before."""
    marker = marker or _marker(path)
    digest = _digest(data, schema)
    try:
        if marker.read_text() == digest:
            return
    except OSError:
        pass
    raise_schema_errors(schema_errors(obj, schema), path)
    _remember(marker, digest)


def _remember(marker: Path, digest: str) -> None:
    try:
        marker.parent.mkdir(exist_ok=True)
        atomic_write(marker, [digest.encode()], fsync=False, temp_dir=marker.parent / TMP_DIR)
    except (OSError, WorkFailed):
        pass  # a read-only workspace still works, just without the shortcut


def dumps(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


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
        raise WorkFailed(f"cannot write {dest}: {exc.strerror or exc}") from None
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
        faults.point(f"write:before-rename:{dest.name}")
        os.replace(tmp, dest)
        tmp = None
        faults.point(f"write:after-rename:{dest.name}")
        return n
    except OSError as exc:
        raise WorkFailed(f"cannot write {dest}: {exc.strerror or exc}") from None
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
