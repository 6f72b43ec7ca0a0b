# GENERATED from scripts/critique_batch/store/pair_ids.py by tools/generate.py; edit the source, not this copy
"""pair_id and ulid for the rows a sync merges (see published.py for their form): kept for images
the table holds, new ones after the highest given out (and after the published baseline's); pair
numbers two workspaces gave at the same moment, repaired.

A pair_id once given is never given to another image. Three checks hold that:
  - a published baseline whose pair_id the table already gives to another image is refused (exit 2,
    naming the published line and the row), by set_baseline.py and again by `--baseline`: the
    published dataset's numbers are fixed, and a record the table numbered may have been exported;
    neither is renumbered (`published_conflicts`);
  - a record that keeps its published pair_id (an image re-critiqued) is refused the same way when
    the table gives that pair_id to another image (`give_ids`);
  - after every merge the whole table is checked (`shared_pair_ids`): numbers two workspaces gave
    at the same moment are repaired (repair_pair_ids); any other pair_id held by two rows (a table
    written by an older version, or edited by hand) fails the sync loudly, exit 1, naming the rows.
"""

from __future__ import annotations

import sys

from ..files import published
from .database import KEY_CHUNK, Target, db_errors, merge_on_filepath, rows_table, sql_text
from ..base.errors import InputError, WorkFailed
from ..files.workspace import Workspace

SHOWN = 3  # rows named in a message
NEVER_AGAIN = "a pair_id once given is never given to another image"


def _baseline_floor(ws: Workspace) -> int:
    """The highest pair number of the published baseline (0 without one)."""
    from ..files.baseline import load_baseline

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
    given = published.assign_ids(rows, existing, floor)
    _refuse_taken(ws, rows, existing, target)
    return given


def _owner_of(existing: dict[str, tuple[str | None, str | None]]) -> dict[str, str]:
    """pair_id -> the filepath holding it in the table."""
    return {pid: fp for fp, (pid, _) in existing.items() if pid}


def _refuse_taken(ws: Workspace, rows: list[dict], existing: dict, target: Target) -> None:
    """A record keeping its published pair_id (an image re-critiqued) whose pair_id the table gives
    to another image: refused before anything is written."""
    owner = _owner_of(existing)
    for r in rows:
        other = owner.get(r["pair_id"])
        if other is not None and other != r["filepath"]:
            result = ws.batch_path(r["culture"], r["batch_id"], "result") if r.get("batch_id") is not None else None
            raise InputError(f"{r['pair_id']} of {r['filepath']!r} (its candidate's published pair_id) is already the pair_id of "
                             f"{other!r} in the critiques table ({target.shown}); {NEVER_AGAIN}. Import the candidate "
                             "without its pair_id (it then gets a new one), or roll the table back to before the other "
                             "image's merge (sync_to_lancedb.py --list, --rollback)",
                             file=ws.display(result) if result else None, where=f"records[filepath={r['filepath']!r}].pair_id")


def published_conflicts(existing: dict, records) -> list[tuple[object, str]]:
    """(published record, the filepath the table gives its pair_id to) for every published record
    (baseline.PublishedRecord) whose pair_id the table (existing_ids) gives to another image."""
    owner = _owner_of(existing)
    return [(rec, owner[rec.pair_id]) for rec in records if owner.get(rec.pair_id, rec.filepath) != rec.filepath]


def refuse_published_conflicts(existing: dict, target: Target, scan) -> None:
    """Exit 2 when the table (existing_ids) gives a pair_id of these published files (a
    baseline.Scan) to another image, naming the published line and the table's row."""
    clashes = published_conflicts(existing, scan.kept)
    if not clashes:
        return
    rec, other = clashes[0]
    more = f" ({len(clashes) - 1} more published line(s) like it)" if len(clashes) > 1 else ""
    raise InputError(f"{rec.pair_id} of {rec.filepath!r} is already the pair_id of {other!r} in the critiques table "
                     f"({target.shown}){more}; {NEVER_AGAIN}. The table numbered its records before this baseline was "
                     "set: if they were never published, roll the table back to before their merge (sync_to_lancedb.py "
                     "--list, --rollback), set the baseline, then sync again (new records are numbered after the "
                     "baseline's highest pair_id)",
                     file=scan.sources[rec.source]["path"], where=f"line {rec.line}.pair_id")


def shared_pair_ids(table, target: Target) -> dict[str, list[dict]]:
    """pair_id -> the rows holding it, for every pair_id held by more than one row (one column read
    and counted; the rows only of those)."""
    if table is None or "pair_id" not in table.schema.names:
        return {}
    with db_errors(target, "cannot read the critiques table"):
        data = table.search().select(["pair_id"]).to_arrow()
    column = data.column("pair_id")
    import pyarrow.compute as pc

    # the common case, all distinct, costs one hash pass (about 0.1 s at 500,000 rows); counts only when not
    if len(pc.unique(column)) - (1 if column.null_count else 0) == data.num_rows - column.null_count:
        return {}
    counts = data.group_by("pair_id").aggregate([("pair_id", "count")])
    shared = [p for p, n in zip(counts.column("pair_id").to_pylist(), counts.column("pair_id_count").to_pylist()) if p and n > 1]
    if not shared:
        return {}
    names = set(table.schema.names)
    cols = [c for c in ("filepath", "pair_id", "culture", "origin", "workspace_id", "merged_at") if c in names]
    out: dict[str, list[dict]] = {}
    with db_errors(target, "cannot read the critiques table"):
        for start in range(0, len(shared), KEY_CHUNK):
            quoted = ", ".join(sql_text(p) for p in shared[start:start + KEY_CHUNK])
            for r in table.search().where(f"pair_id IN ({quoted})").select(cols).to_arrow().to_pylist():
                out.setdefault(r["pair_id"], []).append(r)
    return dict(sorted(out.items()))


RACE_WINDOW_S = 600  # rows of two workspaces merged this close together may have taken one number at once


def _given_at_once(rows: list[dict]) -> bool:
    """Generated rows, each from another workspace, merged within RACE_WINDOW_S: two writers that
    took the next number at the same moment (what repair_pair_ids repairs), not an older bug."""
    if not all(r.get("origin") in (None, published.GENERATED) for r in rows):
        return False
    workspaces = {r.get("workspace_id") for r in rows}
    times = [r.get("merged_at") for r in rows]
    return (None not in workspaces and len(workspaces) == len(rows) and None not in times
            and (max(times) - min(times)).total_seconds() <= RACE_WINDOW_S)


def check_unique(ws: Workspace, table, target: Target) -> None:
    """The invariant every merge ends with: no pair_id held by two rows. Numbers two workspaces gave
    generated records at the same moment are repaired first, by the rule every writer applies (the
    row merged first keeps it): this check may run between another writer's merge and its own
    repair. Any other violation is an error (exit 1) naming the rows: which record should keep a
    number is the dataset owner's decision."""
    shared = shared_pair_ids(table, target)
    racing = [pid for pid, rows in shared.items() if _given_at_once(rows)]
    if racing:
        repair_pair_ids(ws, table, target, racing)
        shared = shared_pair_ids(table, target)
    if not shared:
        return
    raise WorkFailed(f"the critiques table ({target.shown}) gives {shared_text(shared)}; {NEVER_AGAIN}. The merge itself is "
                     "complete; export would repeat these numbers. Roll the table back to before the rows that took them "
                     "(sync_to_lancedb.py --list, --rollback), or remove those rows, then sync again")


def shared_text(shared: dict[str, list[dict]]) -> str:
    """`N pair_id(s) to more than one image (PAIR_...: 'a.jpg' (korean/generated), ...)` for messages."""
    shown = []
    for pid, rows in list(shared.items())[:SHOWN]:
        held = ", ".join(f"{r['filepath']!r} ({'/'.join(str(r[k]) for k in ('culture', 'origin') if r.get(k))})" for r in rows)
        shown.append(f"{pid}: {held}")
    more = f"; {len(shared) - SHOWN} more" if len(shared) > SHOWN else ""
    return f"{len(shared)} pair_id(s) to more than one image ({'; '.join(shown)}{more})"


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
