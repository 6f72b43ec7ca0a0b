"""A published dataset's check (check_dataset.py): the files a maintainer appends to, read as they
are, and what would make them inconsistent: a pair_id or ulid given twice, a culture whose lines
have more than one shape (key order, value types), an image_path repeated within a culture; and
what today's rules (the plan) say of the records, per culture, with the reasons counted.

Only repeated pair_ids and ulids, malformed pair_ids and shapes are problems (exit 1): the published
dataset itself repeats some image_paths, and some of its records predate today's rules (both are
reported, not failed)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from ..base.errors import InputError
from ..base.jsonfiles import read_text_file
from ..files.published import GENERATOR_FIELDS, PAIR_ID, ShapeTally, jsonl_lines, normalise_filepath, parse_jsonl_object, shape_difference
from ..files.workspace import Workspace

SHOWN = 3  # places named per problem (the JSON has them all)


def check_files(ws: Workspace, paths: list[Path]) -> dict:
    """Check published JSONL files together. Bad input (a file missing, a line that is not a JSON
    object) is an InputError: the check did not run."""
    if not paths:
        raise InputError("expected one or more published .jsonl files", where="FILE")
    ws.plan  # noqa: B018 - the rules the records are checked against: a bad plan is reported before any file is read
    lines: list[tuple[str, int, dict]] = []  # (file name, line number, record)
    for path in paths:
        _, text = read_text_file(path, "a published .jsonl file")
        for n, line in jsonl_lines(text):
            lines.append((path.name, n, parse_jsonl_object(line, path, f"line {n}")))
    problems: list[dict] = []
    problems += _repeats(lines, "pair_id")
    problems += _repeats(lines, "ulid")
    for name, n, rec in lines:
        if not (isinstance(rec.get("pair_id"), str) and PAIR_ID.match(rec["pair_id"])):
            problems.append({"kind": "pair_id", "message": f"pair_id {json.dumps(rec.get('pair_id'))} is not PAIR_<digits>",
                             "places": [f"{name} line {n}"]})
    by_culture: dict[str, list[tuple[str, int, dict]]] = {}
    for item in lines:
        c = item[2].get("culture")
        by_culture.setdefault(c if isinstance(c, str) and c else "(no culture)", []).append(item)
    tally = ShapeTally()
    for c, items in by_culture.items():
        for _, _, rec in items:
            tally.add(c, rec)
    cultures = {}
    for c in sorted(by_culture):
        items = by_culture[c]
        shape = tally.shape(c)
        differ: dict[str, list[str]] = {}
        for name, n, rec in items:
            why = shape_difference(rec, shape)
            if why:
                differ.setdefault(why, []).append(f"{name} line {n}")
        for why, places in differ.items():
            problems.append({"kind": "shape", "culture": c, "message": f"{c}: {len(places)} line(s) differ from the culture's "
                             f"other lines: {why}", "places": places})
        cultures[c] = _culture_report(ws, c, items, shape)
    return {"files": [str(p) for p in paths], "lines": len(lines), "problems": problems, "cultures": cultures,
            "clean": not problems}


def _repeats(lines, key: str) -> list[dict]:
    seen: dict[str, list[str]] = {}
    for name, n, rec in lines:
        v = rec.get(key)
        if isinstance(v, str) and v:
            seen.setdefault(v, []).append(f"{name} line {n}")
    return [{"kind": key, "message": f"{key} {v} is given {len(places)} times", "places": places}
            for v, places in seen.items() if len(places) > 1]


def _culture_report(ws: Workspace, culture: str, items, shape: dict) -> dict:
    first: dict[str, tuple[str, int, dict]] = {}
    repeated = []
    for name, n, rec in items:
        raw = rec.get("image_path")
        fp = normalise_filepath(raw) if isinstance(raw, str) else f"(line {name}:{n})"
        if fp in first:
            repeated.append({"image_path": raw, "place": f"{name} line {n}", "first": f"{first[fp][0]} line {first[fp][1]}"})
        else:
            first[fp] = (name, n, rec)
    out = {
        "lines": len(items), "images": len(first), "repeated_images": repeated,
        "shape": shape, "without_metadata": sum(1 for _, _, r in items if any(k not in r for k in ("art_style", "art_genre", "medium"))),
    }
    cfg = ws.plan.cultures.get(culture)
    if cfg is None:
        out["rules"] = None  # not a culture of the plan: no rules to check against
        return out
    records = [rec for _, _, rec in first.values()]
    failing = Counter()
    met = 0
    for check in _rule_checks(ws, cfg, records):
        if check.ok:
            met += 1
        else:
            for p in check.problems:
                failing[reason_of(p)] += 1
    used = set()
    for rec in records:
        used.update(_dims(rec.get("covered_dimensions")) or [])
    known = cfg.dimension_ids
    out["rules"] = {"records": len(records), "met": met, "failing": dict(failing.most_common()),
                    "min_dimensions": cfg.quality.min_dimensions}
    out["dimensions"] = {"used": len(used), "catalogue": len(known), "official": cfg.official_dimensions,
                         # IDs the records use beyond the count the dataset's README gives (negative: fewer)
                         "beyond_official": len(used) - cfg.official_dimensions if cfg.official_dimensions else None,
                         "outside_catalogue": sorted(used - known)}
    return out


def _dims(value):
    """covered_dimensions as the rules read it: the array a JSON string holds (older published
    files), else the value as it is (the rules say what is wrong with it)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            pass
    return value


def _rule_checks(ws: Workspace, cfg, records: list[dict]):
    """One RecordCheck per record: the checks collection makes of a generator's record."""
    from .validation import check_output_bytes

    batch = []
    for i, rec in enumerate(records):
        r = {"filepath": f"record {i}", "culture": cfg.name}
        r.update({k: rec[k] for k in GENERATOR_FIELDS if k in rec})
        if "covered_dimensions" in r:
            r["covered_dimensions"] = _dims(r["covered_dimensions"])
        batch.append(r)
    data = json.dumps(batch, ensure_ascii=False).encode("utf-8")
    return check_output_bytes(data, Path("published"), cfg, ws.plan, [r["filepath"] for r in batch]).records


def reason_of(problem: str) -> str:
    """A reason to count: the problem without the record's own numbers or IDs
    ("critique_en: 98 words, need >= 100" -> "critique_en: too few words, need >= 100")."""
    m = re.match(r"^([\w.\[\]]+): [0-9]+ (.*), need >= ([0-9.]+)$", problem)
    if m:
        what = m[2] + "s" if m[2] in ("word", "character") else m[2]
        return f"{m[1]}: too few {what}, need >= {m[3]}"
    if "catalogue" in problem or "belongs to" in problem:
        return problem.split(":", 1)[0] + ": IDs of another culture or not in the catalogue"
    return re.sub(r"\b[0-9]+\b", "N", problem)
