# GENERATED from scripts/critique_batch/published.py by tools/generate.py; edit the source, not this copy
"""The published VULCA-Bench shape, and one spelling per image.

A published line is one JSON object with the keys pair_id, ulid, culture, image_path, artist,
title, critique_zh, critique_en, covered_dimensions, quality_score, art_form, art_style, art_genre,
medium (some lines lack the last three). image_path is the dataset's name for our filepath.
covered_dimensions is a JSON array, or in older files a JSON-encoded string of one.

Filepaths are compared in one spelling (`normalise_filepath`): the same image written with NFD
Hangul, backslashes, a leading `./` or a doubled `/` is one image.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Iterator

from .errors import InputError

# Fields a generator writes: never candidate metadata, never allowed to override a generated record.
GENERATOR_FIELDS = ("critique_zh", "critique_en", "covered_dimensions", "quality_score")
PAIR_ID = re.compile(r"^PAIR_([0-9]+)$")


def normalise_filepath(path: str) -> str:
    """One spelling per image: Unicode NFC, forward slashes, no `.` segments (so no leading `./`),
    no doubled or trailing `/`, no surrounding white space. `..` is kept (it names another folder)."""
    text = unicodedata.normalize("NFC", path).replace("\\", "/")
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
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", file=file, where=where) from None
    except RecursionError:
        raise InputError("not valid JSON: nested too deeply", file=file, where=where) from None
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}", file=file, where=where)
    return obj


def pair_number(value: Any, file, where: str) -> int:
    """The number of a `PAIR_<digits>` id; anything else is bad input."""
    m = PAIR_ID.match(value) if isinstance(value, str) else None
    if not m:
        raise InputError(f"expected PAIR_<digits>, got {json.dumps(value, ensure_ascii=False)}", file=file, where=f"{where}.pair_id")
    return int(m.group(1))


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
                             f"{_short(decoded)}", file=file, where=f"{where}.covered_dimensions")
        return True
    if isinstance(value, list) and all(isinstance(d, str) for d in value):
        return False
    raise InputError(f"expected a JSON array of dimension IDs, got {_short(value)}", file=file, where=f"{where}.covered_dimensions")


def image_path_of(row: dict, file, where: str) -> tuple[str, str]:
    """(raw spelling, normalised filepath) of a manifest row or published line: `image_path` (the
    published field) or `filepath`."""
    has_image_path = "image_path" in row
    raw = row.get("image_path") if has_image_path else row.get("filepath")
    if not isinstance(raw, str) or not raw.strip():
        if has_image_path or "filepath" in row:
            field = "image_path" if has_image_path else "filepath"
            raise InputError(f"expected the image's path as a non-empty string, got {_short(raw)}", file=file, where=f"{where}.{field}")
        raise InputError("no image_path (the published field) and no filepath: expected one of them, naming the image",
                         file=file, where=f"{where}.image_path")
    fp = normalise_filepath(raw)
    if not fp:
        raise InputError(f"expected the path of an image, got {_short(raw)}", file=file, where=f"{where}.{'image_path' if has_image_path else 'filepath'}")
    if has_image_path and isinstance(row.get("filepath"), str) and normalise_filepath(row["filepath"]) != fp:
        raise InputError(f"image_path {_short(raw)} and filepath {_short(row['filepath'])} name different images; keep one",
                         file=file, where=f"{where}.filepath")
    return raw, fp


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
