# GENERATED from scripts/critique_batch/pair_ids.py by tools/generate.py; edit the source, not this copy
"""pair_id and ulid for the rows a sync merges (see published.py for their form): kept for images
the table holds, new ones after the highest given out (and after the published baseline's); pair
numbers two workspaces gave at the same moment, repaired."""

from __future__ import annotations

import sys

from . import published
from .database import Target, db_errors, merge_on_filepath, rows_table, sql_text
from .workspace import Workspace


def _baseline_floor(ws: Workspace) -> int:
    """The highest pair number of the published baseline (0 without one)."""
    from .baseline import load_baseline

    base = load_baseline(ws)
    return base.max_pair_id if base else 0


def existing_ids(table, target: Target) -> dict[str, tuple[str | None, str | None]]:
    """filepath -> (pair_id, ulid) of every row (two small columns besides the key)."""
    if "pair_id" not in table.schema.names:
        return {}
    with db_errors(target, "cannot read the critiques table"):
        data = table.search().select(["filepath", "pair_id", "ulid"]).to_arrow()
    return dict(zip(data.column("filepath").to_pylist(), zip(data.column("pair_id").to_pylist(), data.column("ulid").to_pylist())))


def give_ids(ws: Workspace, table, target: Target, rows: list[dict]) -> list[str]:
    """pair_id and ulid for the rows about to be merged: kept for images the table holds, new ones
    after the highest given out. Rows of a table made before pair_ids were stored get theirs first
    (in the order they were accepted), so they keep the numbers an export gave them then."""
    floor = _baseline_floor(ws)
    with db_errors(target, "cannot read the critiques table"):
        legacy = table.count_rows("pair_id IS NULL") if table.count_rows() else 0
    existing = existing_ids(table, target)
    if legacy:
        with db_errors(target, "cannot read the critiques table"):
            old = table.search().where("pair_id IS NULL").to_arrow().to_pylist()
        published.assign_ids(old, {}, max(floor, max((published.pair_id_number(p) or 0 for p, _ in existing.values()), default=0)))
        _update_rows(table, target, old)
        existing.update({r["filepath"]: (r["pair_id"], r["ulid"]) for r in old})
    return published.assign_ids(rows, existing, floor)


def repair_pair_ids(ws: Workspace, table, target: Target, given: list[str]) -> int:
    """Give a new pair_id to rows that share one just given with another image (two workspaces
    merging new records into one database at the same moment both take the next number). The row
    merged first keeps it; the same rule in every writer makes them agree. Reads only the rows
    holding the numbers just given. Returns the rows renumbered."""
    if not given or "pair_id" not in table.schema.names:
        return 0
    numbers = ", ".join(f"'{p}'" for p in given)
    with db_errors(target, "cannot read the critiques table"):
        data = table.search().where(f"pair_id IN ({numbers})").select(["filepath", "pair_id", "merged_at"]).to_arrow().to_pylist()
    if len(data) <= len(given):
        return 0
    groups: dict[str, list[dict]] = {}
    for r in data:
        groups.setdefault(r["pair_id"], []).append(r)
    losers = [r["filepath"] for g in groups.values() if len(g) > 1
              for r in sorted(g, key=lambda r: (r["merged_at"], r["filepath"]))[1:]]
    if not losers:
        return 0
    top = max([_baseline_floor(ws)] + [published.pair_id_number(p) or 0 for p, _ in existing_ids(table, target).values()])
    quoted = ", ".join(sql_text(fp) for fp in losers)
    with db_errors(target, "cannot read the critiques table"):
        rows = table.search().where(f"filepath IN ({quoted})").to_arrow().to_pylist()
    rows.sort(key=lambda r: losers.index(r["filepath"]))
    for i, r in enumerate(rows, 1):
        r["pair_id"] = published.format_pair_id(top + i)
    _update_rows(table, target, rows)
    print(f"note: {len(rows)} record(s) shared a pair_id with another image (merged at the same moment "
          f"from another workspace) and got new ones", file=sys.stderr)
    return len(rows)


def _update_rows(table, target: Target, rows: list[dict]) -> None:
    """Write these whole rows over the rows of their filepaths (their pair_ids changed)."""
    data = rows_table(rows)
    merge_on_filepath(table, data, target, "cannot store pair_ids in the critiques table", update="all", insert=False)
