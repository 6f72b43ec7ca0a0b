# GENERATED from scripts/critique_batch/store/sync.py by tools/generate.py; edit the source, not this copy
"""Sync: merging accepted critiques into the `critiques` table; merging the published baseline.

A sync runs under a workspace-wide lock (`checkpoints/.locks/lancedb-sync.lock`: one sync of a
workspace at a time). Several workspaces may write one database at once (a shared folder, s3://).
`sync()` is these steps, in order:
  0. Without --force, nothing due (progress.sync_due) means nothing else happens, lancedb not even
     imported; a dry run answers from the saved progress files alone (`_say_what_would_merge`).
  1. `_open_database`: the workspace id (`checkpoints/workspace_id.json`, made by the first sync)
     goes with every row; the table, unless a local database surely has none.
  2. `_heal_merged_batches`: if the table is not at the version the last completed sync left
     behind (sync_state), re-derive every culture's merged_batches from the table (another
     workspace wrote, a crash after the commit, a restore by hand, a new or deleted database):
     a batch is merged when a row of it (culture, batch id, collection time, workspace id) is
     there, or when each of its records has a row at least as new; and remove duplicates.
  3. `_choose_batches`: per culture, the completed batches not in merged_batches. A culture is
     merged when at least its `sync_threshold` (plan, default 100) records wait, or when it has
     records waiting and no work left (nothing pending, nothing in flight: the end of an
     expansion); `force` merges whatever waits.
  4. `_merge_chosen`: read those result files only (cost does not grow with finished batches), one
     row per filepath (the newest critique wins), pair_id and ulid given (kept for images the table
     holds), one `merge_insert` on filepath: insert new filepaths, update a row only when the
     incoming critique is newer (accepted_at, then batch id, then workspace id), so re-merging
     never rolls a re-generated critique back. filepath is the table's unenforced primary key, so
     Lance fails and retries a commit that races another writer inserting the same new filepath;
     other commit conflicts are retried here. Then the filepaths just merged are checked for
     duplicates (newest kept), which a writer without the key could add, and pair_ids another
     workspace gave at the same moment are repaired.
  5. `_index` creates missing indices, `_tag_new_version` tags the version readers now see
     `sync-YYYYmmddTHHMMSSZ-vN`, then `_mark_chosen_merged` records the merged batches (after the
     commit: a crash in between is healed by step 2 or by re-merging, which the upsert makes
     idempotent).
  6. `_optimize_when_due`: every OPTIMIZE_EVERY syncs, a whole-table duplicates check, then optimize
     (compaction, index update, pruning of old versions that keeps every tagged version; only the
     newest KEEP_SYNC_TAGS sync/rollback tags are kept).
  7. `_record_table_version`: the table's rows and version in the report, then the state file.
  8. After a merge, the invariant: no pair_id held by two rows (pair_ids.check_unique; exit 1
     naming the rows when broken).
Interrupted (Ctrl-C), a sync says what it left (errors.interrupted_state): before the commit,
nothing in the table; after it, a committed merge whose indices, tag or merged_batches the next
sync completes (indices are created whenever missing, merged_batches re-derived from the table).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import datetime
from typing import Callable

from ..base import faults
from . import pair_ids
from ..files import published
from ..base.words import bar
from ..base.clock import now as clock_now, parse_time
from .database import (KEY_CHUNK, KNOWN_FIELDS, NEWER, STRING_COLUMNS, TABLE, Target, TableRepairs, connect, db_errors, ensure_indices,
                       merge_on_filepath, open_table, remove_duplicates, require_lancedb, resolve_target, retrying, rows_table, sql_text,
                       table_to_write)
from ..base.errors import NOTHING_HALF_WRITTEN, WorkFailed, interrupted_state
from .sync_state import UnmergedBatches, mark_merged, reconcile, record_version, recorded_version, sync_lock, unmerged_batches, workspace_id
from .versions import create_tag, maintain, syncs_since_optimize
from ..files.workspace import Workspace, setting

PROGRESS_MIN_RECORDS = 2000  # a progress bar (TTY only) for syncs this large ($CRITIQUE_BATCH_PROGRESS_MIN_RECORDS)


# --- turning accepted records into rows ---------------------------------------------------------

def _text(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def record_row(rec: dict, merged_at: datetime) -> dict:
    extra = {k: v for k, v in rec.items() if k not in KNOWN_FIELDS}
    row = {k: _text(rec.get(k)) for k in STRING_COLUMNS}
    row.update(
        filepath=rec["filepath"],
        covered_dimensions=[str(d) for d in rec.get("covered_dimensions") or []],
        quality_score=float(rec["quality_score"]) if rec.get("quality_score") is not None else None,
        batch_id=int(rec["batch_id"]),
        accepted_at=parse_time(rec["accepted_at"]),
        merged_at=merged_at,
        extra=json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None,
        # identifiers a published line gave the candidate are kept; new ones are given at the merge
        pair_id=rec["pair_id"] if published.pair_id_number(rec.get("pair_id")) is not None else None,
        ulid=rec["ulid"] if isinstance(rec.get("ulid"), str) and rec["ulid"] else None,
        origin=published.GENERATED,
    )
    return row


def _newest_per_filepath(rows: list[dict]) -> tuple[list[dict], int]:
    best: dict[str, dict] = {}
    for r in rows:
        old = best.get(r["filepath"])
        if old is None or (r["accepted_at"], r["batch_id"]) > (old["accepted_at"], old["batch_id"]):
            best[r["filepath"]] = r
    return list(best.values()), len(rows) - len(best)


class ProgressBar:
    """A one-line progress bar on stderr, only on a terminal and only for large syncs."""

    def __init__(self, total: int, records: int, label: str):
        self.on = records >= setting("PROGRESS_MIN_RECORDS", PROGRESS_MIN_RECORDS) and sys.stderr.isatty()
        self.total, self.label, self.done, self.last = max(total, 1), label, 0, 0.0

    def step(self, n: int = 1) -> None:
        self.done += n
        if self.on and (time.monotonic() - self.last > 0.1 or self.done >= self.total):
            self.last = time.monotonic()
            filled = int(self.done / self.total * 30) / 30  # a cell fills once reached (bar() rounds)
            sys.stderr.write(f"\r{self.label} {bar(filled, 30)} {self.done}/{self.total}")
            sys.stderr.flush()

    def say(self, text: str) -> None:
        if self.on:
            sys.stderr.write(f"\r\033[K{text}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.on:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _read_rows(ws: Workspace, unmerged: list[UnmergedBatches], merged_at: datetime, stamp: dict | None = None) -> tuple[list[dict], dict[str, int]]:
    from ..checks.batches import read_batch

    total_batches = sum(len(u.batches) for u in unmerged)
    progress = ProgressBar(total_batches, sum(u.waiting for u in unmerged), "reading batches")
    rows: list[dict] = []
    per_culture: dict[str, int] = {}
    for u in unmerged:
        for bid in u.batches:
            result = read_batch(ws, u.culture, bid, "result")
            for rec in result["records"]:
                rows.append({**record_row(rec, merged_at), **(stamp or {})})
            per_culture[u.culture] = per_culture.get(u.culture, 0) + len(result["records"])
            progress.step()
    progress.close()
    return rows, per_culture


def merge_rows(table, data, target: Target):
    """One merge_insert on filepath: new filepaths inserted, a row updated only by a newer critique (NEWER)."""
    return merge_on_filepath(table, data, target, "merge into the critiques table failed", update=NEWER, insert=True)


# --- sync, step by step ------------------------------------------------------------------------

class SyncReport:
    """What a sync did (or, in a dry run, would do). as_json() is sync_to_lancedb.py's --json object."""

    __slots__ = ("db", "table", "dry_run", "force", "merged", "version", "table_version", "tag", "records", "inserted", "updated",
                 "unchanged", "duplicates", "duplicates_removed", "merge_attempts", "pair_ids_given", "pair_ids_repaired", "batches",
                 "rows", "reconciled", "optimized", "columns_added", "primary_key_added", "indices_created", "workspace_id", "cultures",
                 "would_merge")  # in as_json()'s order

    def __init__(self, *, db: str, dry_run: bool = False, force: bool = False):
        self.db = db  # the database as messages show it
        self.table = TABLE
        self.dry_run = dry_run
        self.force = force
        self.merged = False  # a merge was committed
        self.version: int | None = None  # the version readers now see (when merged)
        self.table_version: int | None = None
        self.tag: str | None = None
        self.records = 0  # rows merged: one per filepath
        self.inserted = 0
        self.updated = 0
        self.unchanged = 0
        self.duplicates = 0  # older critiques of a filepath in the same merge, skipped
        self.duplicates_removed = 0  # rows removed from the table (one per filepath, the newest kept)
        self.merge_attempts = 0
        self.pair_ids_given = 0
        self.pair_ids_repaired = 0
        self.batches = 0  # batches recorded as merged
        self.rows: int | None = None
        self.reconciled: list[dict] = []  # merged_batches corrected from the table, per culture
        self.optimized = False
        self.columns_added: list[str] = []
        self.primary_key_added = False
        self.indices_created: list[str] = []
        self.workspace_id: str | None = None
        self.cultures: list[dict] = []  # UnmergedBatches.public(), plus "merging" when a merge read them
        self.would_merge: list[str] | None = None  # a dry run's cultures to merge (only in a dry run)

    def as_json(self) -> dict:
        out = {name: getattr(self, name) for name in self.__slots__}
        if self.would_merge is None:
            del out["would_merge"]
        return out


class _Sync:
    """What one sync's steps hand on to each other."""

    __slots__ = ("ws", "target", "report", "stage", "conn", "table", "recorded", "chosen", "progress", "merged_at", "version_before")

    def __init__(self, ws: Workspace, target: Target, report: SyncReport, stage: Callable[[str], None]):
        self.ws = ws
        self.target = target
        self.report = report
        self.stage = stage  # the hook: tests stop a sync at a stage
        self.conn: object = None
        self.table: object = None  # the critiques table (None: not there yet)
        self.recorded: int | None = None  # the table version the last completed sync of this workspace left
        self.chosen: list[UnmergedBatches] = []
        self.progress: ProgressBar | None = None
        self.merged_at: datetime | None = None
        self.version_before: int | None = None  # the table's version before this sync's merge


def _waiting(ws: Workspace, names: list[str]) -> list[UnmergedBatches]:
    return [u for u in (unmerged_batches(ws, n) for n in names) if u]


def _to_merge(waiting: list[UnmergedBatches], force: bool) -> list[UnmergedBatches]:
    """The cultures a sync merges: those due (force: any with unmerged batches)."""
    return [u for u in waiting if u.batches and (force or u.due)]


def _say_what_would_merge(report: SyncReport, waiting: list[UnmergedBatches], force: bool) -> SyncReport:
    chosen = _to_merge(waiting, force)
    report.cultures = [u.public() for u in waiting]
    report.records = sum(u.waiting for u in chosen)
    report.batches = sum(len(u.batches) for u in chosen)
    report.would_merge = [u.culture for u in chosen]
    return report


def _open_database(run: _Sync) -> None:
    run.report.workspace_id = workspace_id(run.ws)
    if not run.target.surely_without_table():  # connecting creates the folder: not before there is data
        run.conn = connect(run.target)
        run.table = open_table(run.conn, run.target)
    run.recorded = recorded_version(run.ws, run.target)


def _heal_merged_batches(run: _Sync) -> None:
    """merged_batches re-derived from the table when it is not at the version our last sync left:
    another writer, a crash after a commit, a restore, a new database."""
    if run.table is not None and run.recorded == run.table.version:
        return
    run.report.reconciled = reconcile(run.ws, run.table, run.target, run.report.workspace_id)
    if run.table is not None:  # duplicates another writer left (or an older version of this package)
        run.report.duplicates_removed += remove_duplicates(run.table, run.target)


def _choose_batches(run: _Sync, names: list[str], force: bool) -> None:
    waiting = _waiting(run.ws, names)
    run.report.cultures = [u.public() for u in waiting]
    run.chosen = _to_merge(waiting, force)
    run.report.batches = sum(len(u.batches) for u in run.chosen)
    run.progress = ProgressBar(1, sum(u.waiting for u in run.chosen), "")


def _merge_chosen(run: _Sync) -> None:
    """The chosen batches' records as rows (the newest critique of each filepath), merged."""
    if not run.chosen:
        return
    report = run.report
    run.merged_at = clock_now()
    rows, per_culture = _read_rows(run.ws, run.chosen, run.merged_at, {"workspace_id": report.workspace_id, "sync_id": uuid.uuid4().hex})
    rows, report.duplicates = _newest_per_filepath(rows)
    report.records = len(rows)
    for c in report.cultures:
        c["merging"] = per_culture.get(c["culture"], 0)
    if rows:
        _write_rows(run, rows)


def _write_rows(run: _Sync, rows: list[dict]) -> None:
    """The table made ready, ids given, one merge; then what racing writers may have left, repaired."""
    report, target = run.report, run.target
    run.table, repairs = table_to_write(run.conn or connect(target), run.table, target)
    report.columns_added, report.primary_key_added = repairs.columns_added, repairs.primary_key_added
    report.duplicates_removed += repairs.duplicates_removed
    table = run.table
    report.unchanged, rows = _newer_than_the_table(table, target, rows)
    if not rows:  # nothing the table does not hold already: no merge, so no new version and no tag
        return
    given = pair_ids.give_ids(run.ws, table, target, rows)
    report.pair_ids_given = len(given)
    run.progress.say(f"merging {len(rows)} records into {target.shown} ...")
    run.version_before = table.version
    run.stage("merging")
    res = merge_rows(table, rows_table(rows), target)
    interrupted_state(f"the merge into {target.shown} is committed (table version {table.version}); its indices, tag or "
                      "merged_batches may not be: run sync_to_lancedb.py again, it completes them")
    run.stage("committed")
    report.merged, report.inserted, report.updated = True, res.num_inserted_rows, res.num_updated_rows
    report.merge_attempts = getattr(res, "num_attempts", 1)
    report.unchanged += len(rows) - res.num_inserted_rows - res.num_updated_rows
    # another workspace may have inserted some of these filepaths at the same moment
    report.duplicates_removed += remove_duplicates(table, target, [r["filepath"] for r in rows])
    report.pair_ids_repaired = pair_ids.repair_pair_ids(run.ws, table, target, given)
    run.stage("deduped")


def _newer_than_the_table(table, target: Target, rows: list[dict]) -> tuple[int, list[dict]]:
    """(how many rows the table holds as they are or newer, the others). A merge of rows that change
    nothing would still commit a version (Lance commits every merge_insert): a sync re-run after a
    crash, or records another workspace merged first. The merge itself keeps its NEWER condition for
    writers racing this one."""
    held: dict[str, tuple] = {}
    fps = [r["filepath"] for r in rows]
    with db_errors(target, "cannot read the critiques table"):
        for i in range(0, len(fps), KEY_CHUNK):
            where = "filepath IN (" + ", ".join(sql_text(fp) for fp in fps[i:i + KEY_CHUNK]) + ")"
            for t in table.search().where(where).select(["filepath", "accepted_at", "batch_id", "workspace_id"]).to_arrow().to_pylist():
                held[t["filepath"]] = (t["accepted_at"], t["batch_id"], t["workspace_id"])
    newer = [r for r in rows if r["filepath"] not in held or _newer(r, held[r["filepath"]])]
    return len(rows) - len(newer), newer


def _newer(row: dict, held: tuple) -> bool:
    """database.NEWER, for one row against the table's (accepted_at, batch_id, workspace_id)."""
    at, batch, wid = held
    if at is None or row["accepted_at"] != at:
        return at is None or row["accepted_at"] > at
    if batch is None or row["batch_id"] != batch:
        return batch is None or row["batch_id"] > batch
    return wid is None or (row.get("workspace_id") or "") > wid


def _index(run: _Sync) -> None:
    if run.table is None:
        return
    with db_errors(run.target, "cannot read the critiques table"):
        has_rows = run.table.count_rows() > 0
    if has_rows:
        run.progress.say("indexing ...")
        run.report.indices_created = ensure_indices(run.table, run.target)


def _tag_new_version(run: _Sync) -> None:
    if run.report.merged and run.table.version > run.version_before:  # the tag names the version readers see (indices included)
        run.report.tag = create_tag(run.table, "sync", run.table.version, run.merged_at, run.target)
    run.stage("tagged")


def _mark_chosen_merged(run: _Sync) -> None:
    for u in run.chosen:  # only after the commit: a crash before this line is healed next time
        mark_merged(run.ws, u.culture, u.batches)
        run.stage(f"marked {u.culture}")


def _optimize_when_due(run: _Sync, optimize: bool) -> None:
    table, target, report = run.table, run.target, run.report
    if table is None:
        return
    every = target.optimize_every
    if optimize or (report.merged and every and syncs_since_optimize(table, target) >= every):
        run.progress.say("optimizing the table ...")
        report.duplicates_removed += remove_duplicates(table, target)
        retrying(target, "table maintenance (optimize) failed", lambda: maintain(table, target), table)
        report.optimized = True
        run.stage("optimized")


def _record_table_version(run: _Sync) -> None:
    table, target, report = run.table, run.target, run.report
    if table is None:
        return
    with db_errors(target, "cannot count rows"):
        report.rows, report.table_version = table.count_rows(), table.version
    if report.merged:
        report.version = table.version  # what --list, search and export see
    if run.recorded != table.version:
        record_version(run.ws, target, table.version)
    run.stage("recorded")


def sync(
    ws: Workspace,
    *,
    culture: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    db: str | None = None,
    optimize: bool = False,
    hook: Callable[[str], None] | None = None,
) -> SyncReport:
    """Merge accepted, unmerged records into the critiques table (the steps in the module's docstring).

    `hook(stage)` is called at each stage ("locked", "merging", "committed", "deduped", "tagged",
    "marked <culture>", "optimized", "recorded"): tests use it to stop a sync at a chosen point. Each
    stage is also the fault point `sync.<stage>` (faults.py; a space becomes a dot), where a fault test kills a sync process.
    """
    target = resolve_target(ws, db)
    names = ws.culture_names(culture)
    report = SyncReport(db=target.shown, dry_run=dry_run, force=force)
    if dry_run:  # read the saved progress files only: no lock, no database, nothing written
        return _say_what_would_merge(report, _waiting(ws, names), force)
    if not force and not optimize:  # the common "not yet" answer without importing lancedb (~1 s)
        waiting = _waiting(ws, names)
        if not _to_merge(waiting, force=False):
            report.cultures = [u.public() for u in waiting]
            return report
    require_lancedb()
    with sync_lock(ws):
        run = _Sync(ws, target, report, _stages(hook))
        run.stage("locked")
        _open_database(run)
        _heal_merged_batches(run)
        _choose_batches(run, names, force)
        _merge_chosen(run)
        _index(run)
        _tag_new_version(run)
        _mark_chosen_merged(run)
        _optimize_when_due(run, optimize)
        _record_table_version(run)
        run.progress.close()
        interrupted_state(NOTHING_HALF_WRITTEN)
        if report.merged:
            pair_ids.check_unique(run.ws, run.table, target)
    return report


def _stages(hook: Callable[[str], None] | None) -> Callable[[str], None]:
    """What runs at each stage: the test's hook, and a fault point `sync.<stage>` ($CRITIQUE_BATCH_FAULT)."""
    def stage(name: str) -> None:
        faults.point("sync." + name.replace(" ", "."))
        if hook is not None:
            hook(name)
    return stage


# --- the published baseline ----------------------------------------------------------------------

class BaselineMergeReport:
    """What merging the published baseline did. as_json() is `sync_to_lancedb.py --baseline --json`."""

    __slots__ = ("db", "table", "baseline", "dry_run", "records", "inserted", "already", "version", "tag", "rows", "indices_created",
                 "repairs")  # in as_json()'s order

    def __init__(self, *, db: str, baseline: int, dry_run: bool = False):
        self.db = db
        self.table = TABLE
        self.baseline = baseline  # the baseline's published files
        self.dry_run = dry_run  # nothing written: inserted says how many would be
        self.records = 0  # records read (an image listed twice counts twice)
        self.inserted = 0
        self.already = 0  # images the table holds already (never replaced)
        self.version: int | None = None
        self.tag: str | None = None
        self.rows: int | None = None
        self.indices_created: list[str] = []
        self.repairs: TableRepairs | None = None  # when rows were merged: what making the table ready changed

    def as_json(self) -> dict:
        out = {name: getattr(self, name) for name in self.__slots__ if name != "repairs"}
        if self.repairs is not None:
            out["columns_added"] = self.repairs.columns_added
            if self.repairs.primary_key_added:
                out.update(primary_key_added=True, duplicates_removed=self.repairs.duplicates_removed)
        return out


def _baseline_rows(scan, existing: dict, merged_at: datetime, report: BaselineMergeReport) -> list[dict]:
    """Rows of the baseline's records (scan: baseline.Scan, its kept lines) whose images the table
    does not hold, as published."""
    rows = []
    for order, (fp, line) in enumerate((rec.filepath, rec.text) for rec in scan.kept):
        report.records += 1
        if fp in existing:
            report.already += 1
            continue
        columns, extra = published.baseline_row(fp, json.loads(line), order)
        score = columns["quality_score"]
        columns["quality_score"] = float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None
        if published.line_for(columns, extra) != line:  # a form the columns do not keep (spacing, an int score, ...)
            extra[published.LINE_FIELD] = line
        columns.update(batch_id=None, accepted_at=None, merged_at=merged_at, extra=json.dumps(extra, ensure_ascii=False, sort_keys=True))
        rows.append(columns)
    return rows


def merge_baseline(ws: Workspace, db: str | None = None, *, dry_run: bool = False) -> BaselineMergeReport:
    """Merge the published baseline's records (set_baseline.py) into the table, as they are.

    Only images the table does not hold are inserted: a critique the expansion generated for a
    published image is never replaced by the older published one, and running this twice changes
    nothing. The rows keep their published pair_id, ulid, keys and values, so an export gives
    their lines back unchanged; search finds them as exemplars. A dry run reads the table (when
    there is one) and the published files, checks the pair_ids as a merge would, counts what would
    be inserted, and writes nothing."""
    from ..files.baseline import load_baseline

    base = load_baseline(ws)
    if base is None:
        raise WorkFailed("this workspace has no published baseline; set one with set_baseline.py FILE.jsonl")
    target = resolve_target(ws, db)
    require_lancedb()
    report = BaselineMergeReport(db=target.shown, baseline=len(base.sources), dry_run=dry_run)
    if dry_run:
        table = None if target.surely_without_table() else open_table(connect(target), target)
        existing = pair_ids.existing_ids(table, target) if table is not None else {}
        scan = base.verified_scan()
        pair_ids.refuse_published_conflicts(existing, target, scan)
        report.inserted = len(_baseline_rows(scan, existing, clock_now(), report))
        if table is not None:
            with db_errors(target, "cannot count rows"):
                report.rows, report.version = table.count_rows(), table.version
        return report
    with sync_lock(ws):  # set_baseline.py holds it too: the baseline does not change under a merge
        faults.point("baseline.locked")
        conn = connect(target)
        table = open_table(conn, target)
        recorded = recorded_version(ws, target)
        existing = pair_ids.existing_ids(table, target) if table is not None else {}
        scan = base.verified_scan()  # the published files, read once
        pair_ids.refuse_published_conflicts(existing, target, scan)
        before = table.version if table is not None else None
        now = clock_now()
        rows = _baseline_rows(scan, existing, now, report)
        if rows:
            table, report.repairs = table_to_write(conn, table, target)
            data = rows_table(rows)
            faults.point("baseline.merging")
            res = merge_on_filepath(table, data, target, "merge into the critiques table failed", update=None, insert=True)
            report.inserted = res.num_inserted_rows
            interrupted_state(f"the published records are in {target.shown} (table version {table.version}); its indices or "
                              "tag may not be: run sync_to_lancedb.py --baseline again, it completes them")
            faults.point("baseline.committed")
        if table is not None:
            with db_errors(target, "cannot count rows"):
                has_rows = table.count_rows() > 0
            if has_rows:  # every run: an interrupted one may have left the table without its indices
                report.indices_created = ensure_indices(table, target)
            faults.point("baseline.indexed")
            if rows:
                report.tag = create_tag(table, "sync", table.version, now, target)  # the version readers see
            with db_errors(target, "cannot count rows"):
                report.rows, report.version = table.count_rows(), table.version
            if rows and recorded is not None and recorded == before:
                # our own rows changed nothing a workspace batch holds: keep the record current, so
                # the next sync does not re-derive merged_batches for nothing
                record_version(ws, target, table.version)
        interrupted_state(NOTHING_HALF_WRITTEN)
        if rows:
            pair_ids.check_unique(ws, table, target)
    return report
