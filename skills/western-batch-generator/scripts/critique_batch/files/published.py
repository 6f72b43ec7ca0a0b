# GENERATED from scripts/critique_batch/files/published.py by tools/generate.py; edit the source, not this copy
"""The published VULCA-Bench shape, and one spelling per image.

A published line is one JSON object with the keys pair_id, ulid, culture, image_path, artist,
title, critique_zh, critique_en, covered_dimensions, quality_score, art_form, art_style, art_genre,
medium (some lines lack the last three). image_path is the dataset's name for our filepath.
covered_dimensions is a JSON array, or in older files a JSON-encoded string of one.

Filepaths are compared in one spelling (`normalise_filepath`): the same image written with NFD
Hangul, backslashes, a leading `./` or a doubled `/` is one image.

Identifiers are given once and kept:
  - a record whose candidate came from a published line keeps that line's pair_id and ULID;
  - a new record gets, when it is first merged into the table, the next pair_id after the highest
    one the table or the published baseline holds, and a ULID; a later critique of the same image
    keeps both. So merging another culture later moves no pair_id.
A row remembers (in its `extra` column) the keys of the published line it came from, in order, the
line's own image_path and the form of its covered_dimensions, so that its export has the same keys
and values as that line; an unchanged baseline row exports as the very line it came from.

Only plain Python here (no lancedb, no pyarrow).
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime, timezone

from ..base.digests import blake2b
from ..base.errors import InputError
from ..base.jsonfiles import parse_json_text, short_json
from ..base.text import control_character, one_line

TYPE_CHECKING = False  # typing is not imported at run time: every script imports this module
if TYPE_CHECKING:
    from typing import Any, Iterator

# Fields a generator writes: never candidate metadata, never allowed to override a generated record.
GENERATOR_FIELDS = ("critique_zh", "critique_en", "covered_dimensions", "quality_score")
PAIR_ID = re.compile(r"PAIR_([0-9]+)")  # fullmatch: "PAIR_1\n" is no pair_id


# a filepath with a scheme (http://, https://, s3://, gs://, file://...): a URL, not a local file
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def normalise_filepath(path: str) -> str:
    """One spelling per image: Unicode NFC, forward slashes, no `.` segments (so no leading `./`),
    no doubled or trailing `/`, no surrounding white space. `..` is kept (it names another folder)."""
    text = unicodedata.normalize("NFC", path).replace("\\", "/")
    scheme = URL.match(text.strip())
    if scheme:  # a URL (https://, s3://, gs://): its "//" stays, the rest is normalised
        return scheme.group(0) + normalise_filepath(text.strip()[scheme.end():]).lstrip("/")
    while True:  # until nothing changes: removing "/." can uncover white space, and stripping a "/"
        before = text
        text = text.strip()
        absolute = text.startswith("/")
        joined = "/".join(p for p in text.split("/") if p not in ("", "."))
        text = "/" + joined if absolute else joined
        if text == before:
            return text


def jsonl_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) for every non-blank line. Lines end at "\\n" only: U+2028, U+0085 and
    other characters str.splitlines() would split on are valid inside a JSON string."""
    for n, line in enumerate(text.split("\n"), start=1):
        if line.endswith("\r"):
            line = line[:-1]
        if line.strip():
            yield n, line


def parse_jsonl_object(line: str, file, where: str) -> dict:
    obj = parse_json_text(line, file, where)
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}", file=file, where=where)
    return obj


def pair_number(value: Any, file, where: str) -> int:
    """The number of a `PAIR_<digits>` id; anything else is bad input."""
    m = PAIR_ID.fullmatch(value) if isinstance(value, str) else None
    if not m:
        raise InputError(f"expected PAIR_<digits>, got {json.dumps(value, ensure_ascii=False)}", file=file, where=f"{where}.pair_id")
    return int(m.group(1))


class PairIdOwners:
    """Which image each pair_id names, as lines are read: one pair_id names one image (the same
    image may repeat it)."""

    def __init__(self):
        self._owner: dict[str, tuple[str, str]] = {}  # pair_id -> (image key, how to name it)

    def claim(self, pair_id: str, image: str, shown: str, file, where: str) -> None:
        owner = self._owner.setdefault(pair_id, (image, shown))
        if owner[0] != image:
            raise InputError(f"{pair_id} is also the pair_id of {owner[1]}; a pair_id names one image",
                             file=file, where=f"{where}.pair_id")


def check_dimensions_field(value: Any, file, where: str) -> bool:
    """Check a published covered_dimensions: a JSON array of strings, or a JSON-encoded string of
    one. Returns True when it is the string form."""
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InputError(f"expected a JSON array of dimension IDs (or a JSON string of one), got a string that is not JSON ({exc.msg})",
                             file=file, where=f"{where}.covered_dimensions") from None
        if not isinstance(decoded, list) or not all(isinstance(d, str) for d in decoded):
            raise InputError("expected a JSON array of dimension IDs (or a JSON string of one), got a string holding "
                             f"{short_json(decoded)}", file=file, where=f"{where}.covered_dimensions")
        return True
    if isinstance(value, list) and all(isinstance(d, str) for d in value):
        return False
    raise InputError(f"expected a JSON array of dimension IDs, got {short_json(value)}", file=file, where=f"{where}.covered_dimensions")


def image_path_of(row: dict, file, where: str) -> tuple[str, str]:
    """(raw spelling, normalised filepath) of a manifest row or published line: `image_path` (the
    published field) or `filepath`."""
    has_image_path = "image_path" in row
    raw = row.get("image_path") if has_image_path else row.get("filepath")
    if not isinstance(raw, str) or not raw.strip():
        if has_image_path or "filepath" in row:
            field = "image_path" if has_image_path else "filepath"
            raise InputError(f"expected the image's path as a non-empty string, got {short_json(raw)}", file=file, where=f"{where}.{field}")
        raise InputError("no image_path (the published field) and no filepath: expected one of them, naming the image",
                         file=file, where=f"{where}.image_path")
    field = "image_path" if has_image_path else "filepath"
    bad = control_character(raw)
    if bad is not None:  # printed raw, a newline in a path would start a line of its own in what the agent reads
        raise InputError(f"expected a path without control characters, got {one_line(bad)} in {short_json(raw)}; "
                         "a filepath is one line of printable text", file=file, where=f"{where}.{field}")
    fp = normalise_filepath(raw)
    if not fp:
        raise InputError(f"expected the path of an image, got {short_json(raw)}", file=file, where=f"{where}.{field}")
    if has_image_path and isinstance(row.get("filepath"), str) and normalise_filepath(row["filepath"]) != fp:
        raise InputError(f"image_path {short_json(raw)} and filepath {short_json(row['filepath'])} name different images; keep one",
                         file=file, where=f"{where}.filepath")
    return raw, fp


# --- identifiers, and the line a table row becomes -------------------------------------------

PUBLISHED_KEYS = ("pair_id", "ulid", "culture", "image_path", "artist", "title", "critique_zh", "critique_en",
                  "covered_dimensions", "quality_score", "art_form", "art_style", "art_genre", "medium")
OPTIONAL_KEYS = ("art_form", "art_style", "art_genre", "medium")  # a new record lists these only when it has a value
PAIR_WIDTH = 5  # PAIR_00001 .. PAIR_99999, wider past that
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# rows of the table: where they came from
GENERATED = "generated"  # critiqued by a generator in this expansion (new, or a published image regenerated)
PUBLISHED = "published"  # a record of the published baseline, unchanged

# bookkeeping kept in a row's `extra` (never exported as keys of their own)
KEYS_FIELD = "published_keys"  # the published line's keys, in order
DIMS_TEXT_FIELD = "published_dims_as_text"  # its covered_dimensions was a JSON-encoded string
ORDER_FIELD = "published_order"  # its position in the baseline (files in the order given, then lines)
LINE_FIELD = "published_line"  # the line itself, kept only when rebuilding it from the row would differ
BOOKKEEPING = frozenset((KEYS_FIELD, DIMS_TEXT_FIELD, ORDER_FIELD, LINE_FIELD))


def pair_id_number(pair_id) -> int | None:
    m = PAIR_ID.fullmatch(pair_id) if isinstance(pair_id, str) else None
    return int(m[1]) if m else None


def format_pair_id(n: int) -> str:
    return f"PAIR_{n:0{PAIR_WIDTH}d}"


def ulid_for(filepath: str, accepted_at: datetime | None) -> str:
    """A ULID for a new record: accepted_at in ms, then 80 bits of a hash of the filepath. Given
    once, at the record's first merge, and kept from then on."""
    ms = int(accepted_at.timestamp() * 1000) if accepted_at else 0
    value = (ms & (2**48 - 1)) << 80 | int.from_bytes(blake2b(filepath.encode(), digest_size=10).digest(), "big")
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def assign_ids(rows: list[dict], existing: dict[str, tuple[str | None, str | None]], floor: int = 0) -> list[str]:
    """Give every row its pair_id and ulid, in place; returns the pair_ids given anew.

    existing: filepath -> (pair_id, ulid) of the rows already in the table (kept, never renumbered);
    floor: the highest pair number given out elsewhere (the published baseline). New numbers follow
    the highest of the floor, the table and the incoming rows, in the order records were accepted.
    """
    top = max(floor, 0)
    for pid, _ in existing.values():
        top = max(top, pair_id_number(pid) or 0)
    fresh = []
    for r in rows:
        old_pid, old_ulid = existing.get(r["filepath"], (None, None))
        if old_pid:
            r["pair_id"] = old_pid
        r["ulid"] = old_ulid or r.get("ulid") or None
        if r.get("pair_id"):
            top = max(top, pair_id_number(r["pair_id"]) or 0)
        else:
            fresh.append(r)
    never = datetime.min.replace(tzinfo=timezone.utc)
    fresh.sort(key=lambda r: (r.get("accepted_at") or never, r.get("culture") or "", r.get("batch_id") or 0, r["filepath"]))
    for r in fresh:
        top += 1
        r["pair_id"] = format_pair_id(top)
    for r in rows:
        if not r["ulid"]:
            r["ulid"] = ulid_for(r["filepath"], r.get("accepted_at"))
    return [r["pair_id"] for r in fresh]


def dims_text(dims: list[str]) -> str:
    """covered_dimensions in the JSON-string form of the older published files."""
    return json.dumps(list(dims), ensure_ascii=False)


def line_for(row: dict, extra: dict, dims_as_text: bool = False, shape: dict | None = None) -> str:
    """One table row (with its parsed `extra`) as a published JSONL line (without the newline).

    A row from a published line has that line's keys, in its order, and its image_path; an
    unchanged baseline row is that line. A new record has, given the published culture's `shape`
    (ShapeTally.shape: a baseline is set), its keys in its order with values of its types (a
    missing text as "", an int score as a float, covered_dimensions as the JSON string the
    published lines hold); without one, the published keys, the last four only when set.
    covered_dimensions is an array, unless dims_as_text, or unless the row's published line (or
    the shape) holds the string form."""
    baseline = row.get("origin") == PUBLISHED
    if baseline and extra.get(LINE_FIELD):
        return extra[LINE_FIELD]
    keys = extra.get(KEYS_FIELD)
    types = {}
    if keys:
        as_text = dims_as_text or ((baseline or shape is not None) and bool(extra.get(DIMS_TEXT_FIELD)))
    elif shape is not None:
        keys, types = shape["keys"], shape["types"]
        as_text = dims_as_text or types.get("covered_dimensions") == "string"
    else:
        keys = [k for k in PUBLISHED_KEYS if k not in OPTIONAL_KEYS or row.get(k) is not None]
        as_text = dims_as_text
    dims = list(row.get("covered_dimensions") or [])
    values = {
        "image_path": extra.get("image_path", row["filepath"]),
        "covered_dimensions": dims_text(dims) if as_text else dims,
    }
    out = {}
    for k in keys:
        if k in values:
            out[k] = values[k]
        elif k in row:
            out[k] = row[k]
        else:
            out[k] = extra.get(k)
        if types:
            out[k] = _as_type(out[k], types.get(k))
    return json.dumps(out, ensure_ascii=False)


# --- the published shape: keys in order, and each value's JSON type ------------------------------

def json_type(value) -> str:
    """The JSON type of a value, telling a float from an integer (88.0 from 88)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _as_type(value, kind: str | None):
    """A new record's value in the published type: a missing text as "" (as the published files
    write missing metadata), an int as a float where the published values are floats."""
    if kind == "string" and value is None:
        return ""
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


class ShapeTally:
    """The shapes of published lines, per culture: a culture's shape is its lines' fullest key
    order (a line without art_style, art_genre and medium has the same shape, short of them) with
    each key's most common type."""

    def __init__(self):
        self.orders: dict[str, dict[tuple, int]] = {}
        self.types: dict[str, dict[str, dict[str, int]]] = {}

    def add(self, culture: str, record: dict) -> None:
        orders = self.orders.setdefault(culture, {})
        key = tuple(record)
        orders[key] = orders.get(key, 0) + 1
        types = self.types.setdefault(culture, {})
        for k, v in record.items():
            if v is not None:
                seen = types.setdefault(k, {})
                t = json_type(v)
                seen[t] = seen.get(t, 0) + 1

    def shape(self, culture: str) -> dict:
        orders = self.orders[culture]
        keys = max(orders, key=lambda k: (len(k), orders[k]))
        types = self.types[culture]
        return {"keys": list(keys), "types": {k: max(types[k], key=types[k].get) for k in keys if k in types}}

    def shapes(self) -> dict[str, dict]:
        return {c: self.shape(c) for c in sorted(self.orders)}


def dataset_shape(shapes: dict[str, dict]) -> dict | None:
    """The shape for a culture the published files do not hold: the fullest of the cultures'."""
    if not shapes:
        return None
    return max(shapes.values(), key=lambda s: len(s["keys"]))


def shape_difference(record: dict, shape: dict) -> str | None:
    """How a published line differs from its culture's shape, or None: lacking some of art_form,
    art_style, art_genre and medium is not a difference (older lines), nor is an integer where
    the shape has a float, nor a null."""
    keys = list(record)
    wanted = [k for k in shape["keys"] if k in record or k not in OPTIONAL_KEYS]
    if keys != wanted:
        extra = [k for k in keys if k not in shape["keys"]]
        missing = [k for k in wanted if k not in record]
        if extra:
            return "keys not in the culture's shape: " + ", ".join(extra)
        if missing:
            return "missing keys: " + ", ".join(missing)
        return "keys in another order"
    for k, v in record.items():
        want, got = shape["types"].get(k), json_type(v)
        if got != "null" and want and got != want and {got, want} != {"integer", "float"}:
            return f"{k} is a{'n' if got[0] in 'aeiou' else ''} {got}, the culture's lines hold a{'n' if want[0] in 'aeiou' else ''} {want}"
    return None


def baseline_row(filepath: str, record: dict, order: int) -> tuple[dict, dict]:
    """A published record as (columns, extra) for the table, remembering what its line needs."""
    dims = record.get("covered_dimensions")
    as_text = isinstance(dims, str)
    if as_text:
        dims = json.loads(dims)
    columns = {k: record.get(k) for k in ("pair_id", "ulid", "culture", "artist", "title", "critique_zh", "critique_en",
                                          "quality_score", "art_form", "art_style", "art_genre", "medium")}
    columns.update(filepath=filepath, covered_dimensions=[str(d) for d in dims or []], origin=PUBLISHED)
    extra = {k: v for k, v in record.items() if k not in columns and k != "covered_dimensions"}
    extra.update({KEYS_FIELD: list(record), ORDER_FIELD: order})
    if as_text:
        extra[DIMS_TEXT_FIELD] = True
    return columns, extra
