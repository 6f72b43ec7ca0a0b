# GENERATED from scripts/critique_batch/checks/validation.py by tools/generate.py; edit the source, not this copy
"""Checking one batch output file: JSON Schema for the record shape, then the culture's quality
rules from the plan. Read-only; used by validate_batch.py and by collection alike, so a file that
validates is exactly a file that collection accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..base.words import plural
from ..base.errors import InputError
from ..base.jsonfiles import parse_json_bytes, schema_errors, value_problem
from ..files.plan import Culture, Plan
from ..files.published import normalise_filepath
from ..base.text import han_ideograph

DIMENSION_ID_IN_TEXT = re.compile(r"[A-Z]{2,4}_L[1-5]_D[1-9][0-9]*")
DIMENSION_ID = re.compile(r"(?P<prefix>[A-Z]{2,4})_L[1-5]_D[1-9][0-9]*")  # fullmatch: no trailing newline


class RecordCheck:
    __slots__ = ("index", "filepath", "problems", "skipped", "item")

    def __init__(self, index: int, filepath: str | None, problems: list[str] | None = None, skipped: str | None = None,
                 item: bool = False):
        self.index = index
        self.filepath = filepath  # the batch image it is for, spelled as the batch spells it (else as written)
        self.problems = [] if problems is None else problems  # "field: what is wrong"
        self.skipped = skipped
        self.item = item  # the first record for one of the batch's images (else a stray record)

    @property
    def ok(self) -> bool:
        return not self.problems


class OutputCheck:
    """The verdict on one output file. `error` set means the file as a whole is unusable.

    The counts are per batch image (valid + invalid + skipped + missing = the batch's images): an
    image's verdict is that of its first record. Records for no image of the batch, or repeating
    one, are `strays`, reported apart and never counted as images."""

    __slots__ = ("path", "error", "records", "raw", "missing")

    def __init__(self, path: Path, error: str | None = None, records: list[RecordCheck] | None = None,
                 raw: list[Any] | None = None, missing: list[str] | None = None):
        self.path = path
        self.error = error
        self.records = [] if records is None else records
        self.raw = [] if raw is None else raw
        self.missing = [] if missing is None else missing

    @property
    def valid(self) -> list[RecordCheck]:
        return [r for r in self.records if r.item and r.ok and r.skipped is None]

    @property
    def invalid(self) -> list[RecordCheck]:
        """Batch images whose record has a problem."""
        return [r for r in self.records if r.item and not r.ok]

    @property
    def skipped(self) -> list[RecordCheck]:
        return [r for r in self.records if r.item and r.ok and r.skipped is not None]

    @property
    def strays(self) -> list[RecordCheck]:
        return [r for r in self.records if not r.item]

    @property
    def problems(self) -> list[RecordCheck]:
        """Every record with a problem, strays included, in file order."""
        return [r for r in self.records if not r.ok]

    @property
    def passed(self) -> bool:
        return self.error is None and not self.problems and not self.missing


def _id_chars(text: str) -> int:
    """Characters of dimension IDs cited in the text (JP_L2_D1笔墨技法): not prose, so they do
    not count against the share of Chinese characters (the length rule still counts them)."""
    return sum(len(m.group(0)) for m in DIMENSION_ID_IN_TEXT.finditer(text))


def count_zh(text: str) -> tuple[int, int]:
    """(characters that are not whitespace, of which CJK ideographs)."""
    chars = sum(1 for ch in text if not ch.isspace())
    return chars, len(han_ideograph().findall(text))


def check_output_bytes(data: bytes, path: Path, culture: Culture, plan: Plan, batch_items: list[str]) -> OutputCheck:
    try:
        records = parse_json_bytes(data, path, values_checked=False)  # checked record by record below
    except InputError as exc:
        return OutputCheck(path=path, error=f"{exc.where + ': ' if exc.where else ''}{exc.detail}")
    if not isinstance(records, list):
        return OutputCheck(path=path, error="expected a JSON array of records at the top level, got "
                           f"{type(records).__name__ if not isinstance(records, dict) else 'an object'}")
    return check_records(records, path, culture, plan, batch_items)


def check_records(records: list, path: Path, culture: Culture, plan: Plan, batch_items: list[str]) -> OutputCheck:
    """Check parsed records (an output file's, or a result file's accepted ones) for a batch's images."""
    result = OutputCheck(path=path)
    result.raw = records
    # one spelling per image: "./a.jpg", "a\\b.jpg" or an NFD name match the batch's image
    in_batch: dict[str, str] = {}
    for fp in batch_items:
        in_batch.setdefault(normalise_filepath(fp), fp)
    seen: dict[str, int] = {}
    for i, rec in enumerate(records):
        fp = rec.get("filepath") if isinstance(rec, dict) else None
        check = RecordCheck(index=i, filepath=fp if isinstance(fp, str) else None)
        result.records.append(check)
        if not isinstance(rec, dict):
            check.problems.append(f"(record): expected an object, got {type(rec).__name__}")
            continue
        # NaN, a key written twice, a lone surrogate: the schema would pass them (NaN < 0 is false),
        # and the result file could not hold them; the record's other checks would only add noise
        unusable = value_problem(rec)
        if unusable is not None:
            check.problems.append(f"{unusable[0]}: {unusable[1]}")
        else:
            reported = set()
            for where, message in schema_errors(rec, "critique_record"):
                if where not in reported:  # one problem per field: "" fails both minLength and the non-blank pattern
                    reported.add(where)
                    check.problems.append(f"{where}: {message}")
        if check.filepath is not None:
            item = in_batch.get(normalise_filepath(check.filepath))
            if item is None:
                check.problems.append(f"filepath: {check.filepath!r} is not one of this batch's images")
            else:
                check.filepath = item
                if item in seen:
                    check.problems.append(f"filepath: duplicate of record [{seen[item]}]")
                    first = result.records[seen[item]]
                    if not any(p.startswith("filepath: duplicate") for p in first.problems):
                        first.problems.append(f"filepath: duplicate of record [{i}]")
                else:
                    seen[item] = i
                    check.item = True
        if "skipped" in rec:
            if isinstance(rec.get("skipped"), str):
                check.skipped = rec["skipped"].strip()
            continue
        if unusable is None:
            _quality(rec, culture, plan, check)
    result.missing = [fp for fp in batch_items if fp not in seen]
    return result


def _quality(rec: dict, culture: Culture, plan: Plan, check: RecordCheck) -> None:
    q = culture.quality
    zh = rec.get("critique_zh")
    if isinstance(zh, str):
        chars, cjk = count_zh(zh)
        if chars < q.min_zh_chars:
            check.problems.append(f"critique_zh: {plural(chars, 'character')}, need >= {q.min_zh_chars}")
        elif chars and cjk / max(chars - _id_chars(zh), 1) < q.min_zh_cjk_ratio:
            check.problems.append(f"critique_zh: only {cjk} of {chars} characters are Chinese; write it in Chinese")
    en = rec.get("critique_en")
    if isinstance(en, str):
        words = len(en.split())
        if words < q.min_en_words:
            check.problems.append(f"critique_en: {plural(words, 'word')}, need >= {q.min_en_words}")
        elif han_ideograph().search(en) and len(han_ideograph().findall(en)) > words:
            check.problems.append("critique_en: mostly Chinese characters; write it in English")
    dims = rec.get("covered_dimensions")
    if isinstance(dims, list) and all(isinstance(d, str) for d in dims):
        dupes = sorted({d for d in dims if dims.count(d) > 1})
        if dupes:
            check.problems.append(f"covered_dimensions: listed twice: {', '.join(dupes)}")
        known = culture.dimension_ids
        foreign = []
        unknown = []
        for d in dict.fromkeys(dims):
            if d in known:
                continue
            m = DIMENSION_ID.fullmatch(d)
            if m is None:
                continue  # the schema's pattern check already reports it
            owner = plan.prefix_owner(m["prefix"])
            (foreign if owner and owner != culture.name else unknown).append((d, owner))
        if foreign:
            check.problems.append(
                "covered_dimensions: " + ", ".join(f"{d} belongs to {o}" for d, o in foreign)
                + f"; use {culture.prefix}_ IDs of the {culture.name} catalogue"
            )
        if unknown:
            check.problems.append(
                "covered_dimensions: not in the " + culture.name + " catalogue: " + ", ".join(d for d, _ in unknown)
            )
        valid = len(set(dims) & known)
        if valid < q.min_dimensions:
            check.problems.append(f"covered_dimensions: {valid} valid {culture.prefix} dimensions, need >= {q.min_dimensions}")
    score = rec.get("quality_score")
    if isinstance(score, (int, float)) and not isinstance(score, bool) and score < q.min_quality_score and 0 <= score <= 100:
        check.problems.append(f"quality_score: {score} is below this culture's minimum {q.min_quality_score}")
    if "culture" in rec and rec["culture"] != culture.name:
        check.problems.append(f"culture: expected {culture.name!r}, got {rec['culture']!r}")
    if q.require_layer_evidence and isinstance(zh, str) and isinstance(en, str) and isinstance(dims, list):
        from .evidence import check as layer_evidence  # only when the plan asks

        check.problems += layer_evidence(rec, culture, plan)
