"""The table as JSONL in the published VULCA-Bench record shape (export_critiques.py; the lines
themselves come from published.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..files import published
from .database import META_COLUMNS, Target, db_errors, open_existing
from ..base.errors import InputError, WorkFailed
from ..base.jsonfiles import atomic_write
from ..files.plan import check_culture_name
from .versions import resolve_version
from ..files.workspace import Workspace

EXPORT_FIELDS = published.PUBLISHED_KEYS
EXPORT_COLUMNS = ["filepath", "culture", "artist", "title", "critique_zh", "critique_en", "covered_dimensions", "quality_score",
                  "accepted_at", "batch_id", "pair_id", "ulid", "origin", "extra"] + list(META_COLUMNS)


def _export_order(r: dict, extra: dict) -> tuple:
    """Baseline rows in the order of their published files, then every other row by pair_id."""
    if r.get("origin") == published.PUBLISHED and isinstance(extra.get(published.ORDER_FIELD), int):
        return (0, extra[published.ORDER_FIELD], "")
    return (1, published.pair_id_number(r.get("pair_id")) or 0, r["filepath"])


def _refuse_shared_pair_ids(table, target) -> None:
    """An export never writes one pair_id on two images (a table an older version left so, or a
    version rolled back to): the lines would corrupt the published dataset."""
    from .pair_ids import shared_pair_ids, shared_text

    shared = shared_pair_ids(table, target)
    if shared:
        raise WorkFailed(f"the critiques table in {target.shown} gives {shared_text(shared)}; nothing exported: roll the "
                         "table back to before the rows that took them (sync_to_lancedb.py --list, --rollback), or remove "
                         "those rows, then sync and export again")


def export(ws: Workspace, *, culture: str | None = None, output: str | None = None, db: str | None = None,
           version: str | None = None, new_only: bool = False, dims_as_text: bool = False, whole_dataset: bool = False) -> dict:
    """Write the table as JSONL in the published VULCA-Bench shape (see published.py).

    Every row has the pair_id and ulid it was given at its first merge; the published baseline's
    rows come first, in their files' order, as their very lines; then the other rows by pair_id.
    With a baseline set, a new record's line has its culture's published shape (keys, order, types).
    new_only: only records whose pair_id the published baseline does not hold: the lines to append
    to the published files (a published image critiqued again keeps its pair_id: it is left out and
    counted). Without new_only, an export that would hold a pair_id of the baseline is refused unless
    whole_dataset says it is the whole dataset (to replace the published files, not to append).
    """
    from ..files.baseline import load_baseline

    if culture:
        check_culture_name(culture)
    baseline = load_baseline(ws)
    published_ids = baseline.pair_id_set() if baseline is not None else set()
    target, table = open_existing(ws, db)
    if version is not None:
        number, _ = resolve_version(table, target, version, "--version")
        with db_errors(target, f"cannot read version {number}"):
            table.checkout(number)
    if "pair_id" not in table.schema.names or _has_rows_without_ids(table, target):
        raise WorkFailed(f"the critiques table in {target.shown} has records without a pair_id (merged by an older "
                         "version of these scripts); run sync_to_lancedb.py --force once to give them theirs")
    _refuse_shared_pair_ids(table, target)
    where = []
    if culture:
        where.append(f"culture = '{culture}'")
    if new_only:
        where.append(f"(origin IS NULL OR origin != '{published.PUBLISHED}')")
    with db_errors(target, "cannot read the critiques table"):
        q = table.search().select(EXPORT_COLUMNS)
        if where:
            q = q.where(" AND ".join(where))
        data = q.to_arrow()
    rows = data.to_pylist()
    republished = [r for r in rows if r.get("pair_id") in published_ids]
    if new_only:
        rows = [r for r in rows if r.get("pair_id") not in published_ids]
    elif republished and not whole_dataset:
        shown = ", ".join(sorted(r["pair_id"] for r in republished)[:3]) + (", ..." if len(republished) > 3 else "")
        raise InputError(f"this export would hold {len(republished)} record(s) whose pair_id is already in the published "
                         f"baseline ({shown}): appended to the published files they would repeat. --new writes only the new "
                         "records (the lines to append); --whole-dataset writes the whole dataset, published and new (to replace "
                         "the published files, never to append)")
    extras = [json.loads(r["extra"]) if r.get("extra") else {} for r in rows]
    order = sorted(range(len(rows)), key=lambda i: _export_order(rows[i], extras[i]))
    shapes: dict[str, dict | None] = {}
    if baseline is not None:
        for r in rows:
            if r["culture"] not in shapes:
                shapes[r["culture"]] = baseline.shape(r["culture"])
    lines = (published.line_for(rows[i], extras[i], dims_as_text, shapes.get(rows[i]["culture"])) + "\n" for i in order)
    if output == "-":
        sys.stdout.writelines(lines)
        dest = None
    else:
        dest = Path(output).expanduser() if output else ws.root / "exports" / f"critiques{'_' + culture if culture else ''}.jsonl"
        dest = dest.resolve()
        atomic_write(dest, (line.encode("utf-8") for line in lines))
    first = rows[order[0]]["pair_id"] if order else None
    return {"db": target.shown, "output": ws.display(dest) if dest else "-", "records": len(rows), "culture": culture,
            "new_only": new_only, "whole_dataset": whole_dataset, "version": table.version, "first_pair_id": first,
            "published_shape": baseline is not None,
            # published images critiqued again: their pair_ids are the baseline's, so --new leaves them out
            "republished_left_out": len(republished) if new_only else 0}


def _has_rows_without_ids(table, target: Target) -> bool:
    with db_errors(target, "cannot read the critiques table"):
        return table.count_rows() > 0 and table.count_rows("pair_id IS NULL") > 0
