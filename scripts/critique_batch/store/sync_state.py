"""What a workspace knows of its merges into the database: the sync lock, the table version its
last sync left (`checkpoints/lancedb_sync_state.json`), its workspace id
(`checkpoints/workspace_id.json`), each culture's unmerged batches, and merged_batches: marked after
a commit, or re-derived from the table when someone else changed it (`reconcile`).
"""

from __future__ import annotations

import sys
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ..base.clock import iso, now as clock_now, parse_time
from .database import Target, db_errors, key_rows, row_key
from ..base.errors import InputError
from ..base.jsonfiles import read_json, write_json
from ..files.plan import Culture
from ..state.progress import Progress
from ..files.workspace import Workspace, setting

STATE_FILE = "lancedb_sync_state.json"
WORKSPACE_ID_FILE = "workspace_id.json"
SYNC_LOCK = "lancedb-sync.lock"
SYNC_LOCK_TIMEOUT_S = 600  # how long a sync waits for another one ($CRITIQUE_BATCH_SYNC_LOCK_TIMEOUT)


# --- locks and the state file -------------------------------------------------------------------

@contextmanager
def sync_lock(ws: Workspace, timeout: float | None = None):
    """One writer per workspace: every sync and rollback holds this lock."""
    wait = setting("SYNC_LOCK_TIMEOUT", SYNC_LOCK_TIMEOUT_S) if timeout is None else timeout
    with ws.named_lock(SYNC_LOCK, wait, "another sync has held the database lock"):
        yield


def _state_path(ws: Workspace) -> Path:
    return ws.checkpoints / STATE_FILE


def _state_key(ws: Workspace, target: Target) -> str:
    """A database inside the workspace is keyed by its relative path, so a moved workspace keeps its state."""
    if target.local is not None:
        try:
            return "./" + target.local.relative_to(ws.root).as_posix()
        except ValueError:
            pass
    return target.uri


def recorded_version(ws: Workspace, target: Target) -> int | None:
    try:
        doc = read_json(_state_path(ws), "sync_state", missing_ok=True)
    except InputError as exc:  # a cache: a broken one only costs a re-derivation
        print(f"warning: ignoring {exc}; merged_batches will be checked against the table", file=sys.stderr)
        return None
    entry = (doc or {}).get("databases", {}).get(_state_key(ws, target))
    return entry["table_version"] if entry else None


def record_version(ws: Workspace, target: Target, version: int) -> None:
    try:
        doc = read_json(_state_path(ws), "sync_state", missing_ok=True) or {"databases": {}}
    except InputError:
        doc = {"databases": {}}
    doc["databases"][_state_key(ws, target)] = {"table_version": int(version), "updated_at": iso(clock_now())}
    write_json(_state_path(ws), doc, "sync_state")


def workspace_id(ws: Workspace) -> str:
    """This workspace's id (checkpoints/workspace_id.json), made by its first sync (call with the
    sync lock held). A copied folder keeps it: a copy is the same workspace, its merged batches the
    same rows. A broken file is an error, never replaced: a new id would disown the rows in the table."""
    path = ws.checkpoints / WORKSPACE_ID_FILE
    doc = read_json(path, "workspace_id", missing_ok=True)
    if doc is None:
        doc = {"workspace_id": uuid.uuid4().hex, "created_at": iso(clock_now())}
        write_json(path, doc, "workspace_id")
    return doc["workspace_id"]


# --- what waits to be merged --------------------------------------------------------------------

class UnmergedBatches:
    """A culture's batches that wait to be merged, and whether a sync is due for them."""

    __slots__ = ("culture", "waiting", "threshold", "due", "batches", "merged")

    def __init__(self, culture: str, waiting: int, threshold: int, due: bool, batches: list[int], merged: list[int] | None = None):
        self.culture = culture
        self.waiting = waiting  # accepted records not merged
        self.threshold = threshold
        self.due = due
        self.batches = batches  # completed batches not merged (with or without records)
        self.merged = [] if merged is None else merged

    def public(self) -> dict:
        return {"culture": self.culture, "waiting": self.waiting, "sync_threshold": self.threshold, "due": self.due,
                "batches": len(self.batches), "merged_batches": len(self.merged)}


def _completed_not_merged(p: Progress) -> list[int]:
    merged = set(p.merged_batches)
    return [b for b in p.completed_batches if b not in merged]


def _unmerged_of(p: Progress, cfg: Culture) -> UnmergedBatches:
    return UnmergedBatches(cfg.name, p.unmerged(), cfg.sync_threshold, p.sync_due(cfg.sync_threshold, cfg.max_attempts),
                           _completed_not_merged(p), list(p.merged_batches))


def unmerged_batches(ws: Workspace, name: str) -> UnmergedBatches | None:
    """What waits in one culture, from its saved progress (written atomically, so no lock is needed;
    a batch collected a moment ago is merged by the next sync)."""
    from ..state.rebuild import progress_view

    p = progress_view(ws, name)  # a missing progress file: the fold of the batch files
    return None if p is None else _unmerged_of(p, ws.culture(name))


def mark_merged(ws: Workspace, name: str, batch_ids: list[int]) -> None:
    from ..state.session import run_session

    run_session(ws, name, lambda s: s.mark_merged(batch_ids))


# --- merged_batches from the table --------------------------------------------------------------

def _present_batches(table, target: Target) -> dict[tuple[str, int], set[tuple[datetime, str | None]]]:
    """(culture, batch_id) -> the (accepted_at, workspace_id) pairs of its rows (four small columns;
    workspace_id None: a row written before rows carried it)."""
    present: dict[tuple[str, int], set[tuple[datetime, str | None]]] = {}
    names = set(table.schema.names)
    if not {"culture", "batch_id", "accepted_at"} <= names:
        return present  # not a table this package made: none of our batches is in it
    cols = ["culture", "batch_id", "accepted_at"] + (["workspace_id"] if "workspace_id" in names else [])
    with db_errors(target, "cannot read the critiques table"):
        data = table.search().select(cols).to_arrow()
    if data.num_rows == 0:
        return present
    groups = data.group_by(cols).aggregate([])
    ids = groups.column("workspace_id").to_pylist() if "workspace_id" in cols else [None] * groups.num_rows
    for c, b, t, w in zip(groups.column("culture").to_pylist(), groups.column("batch_id").to_pylist(),
                          groups.column("accepted_at").to_pylist(), ids):
        present.setdefault((c, b), set()).add((t, w))
    return present


def reconcile(ws: Workspace, table, target: Target, wid: str) -> list[dict]:
    """Set every culture's merged_batches to what the table holds (the one authority).

    A batch counts as merged when the table has a row of it: same culture, batch id, accepted_at
    (the batch's collection time) and workspace id (or none: rows from before the id), so a batch
    of another workspace with the same number never counts. A batch without such a row counts as
    merged only when the table holds, for each of its records, a row at least as new (by NEWER's
    order): its rows were replaced by newer critiques, or another workspace's equal one won the
    tie. Everything else is re-merged by the next sync.
    """
    from ..checks.batches import read_batch
    from ..state.session import run_session

    present = _present_batches(table, target) if table is not None else {}
    changes = []
    for name in ws.configured_cultures():
        if not ws.progress_path(name).exists():
            continue

        def fn(s, name=name):
            old = s.progress.merged_batches
            new, unsure = [], {}
            for b in s.progress.completed_batches:
                if s.progress.batch_accepted.get(str(b), 0) == 0:
                    new.append(b)
                    continue
                result = read_batch(ws, name, b, "result")
                collected = parse_time(result["collected_at"])
                if present.get((name, b), set()) & {(collected, wid), (collected, None)}:
                    new.append(b)
                elif table is not None:
                    unsure[b] = result["records"]
            if unsure:
                new = sorted(new + _superseded(table, target, unsure, wid))
            s.set_merged(new)
            return old, new

        old, new = run_session(ws, name, fn)
        if old != new:
            changes.append({"culture": name, "now_unmerged": sorted(set(old) - set(new)), "now_merged": sorted(set(new) - set(old))})
    return changes


def _superseded(table, target: Target, batches: dict[int, list[dict]], wid: str) -> list[int]:
    """The batches each of whose records has a row in the table at least as new as itself."""
    best: dict[str, tuple] = {}
    for r in key_rows(table, target, [rec["filepath"] for recs in batches.values() for rec in recs]):
        key = row_key({**r, "sync_id": None})
        if r["filepath"] not in best or key > best[r["filepath"]]:
            best[r["filepath"]] = key
    out = []
    for b, recs in batches.items():
        keys = [(rec["filepath"], row_key({"accepted_at": parse_time(rec["accepted_at"]), "batch_id": b, "workspace_id": wid, "sync_id": None}))
                for rec in recs]
        if all(fp in best and best[fp] >= key for fp, key in keys):
            out.append(b)
    return out

