# GENERATED from scripts/critique_batch/store.py by tools/generate.py; edit the source, not this copy
"""The LanceDB side: merging accepted critiques into the `critiques` table, rollback, search, export.

This is the only module that imports lancedb / pyarrow, and only inside functions, so importing
critique_batch (status, claim, validate) never pulls them in.

Sync (`sync()`), under a workspace-wide lock (`checkpoints/.locks/lancedb-sync.lock`: one sync of a
workspace at a time). Several workspaces may write one database at once (a shared folder, s3://):
  0. Without --force, nothing due (progress.sync_due) means nothing else happens, lancedb not even imported.
  1. The workspace id (`checkpoints/workspace_id.json`, made by the first sync) goes with every row.
     If the table is not at the version the last completed sync left behind (state file
     `checkpoints/lancedb_sync_state.json`), re-derive every culture's merged_batches from the table
     (another workspace wrote, a crash after the commit, a restore by hand, a new or deleted
     database): a batch is merged when a row of it (culture, batch id, collection time, workspace
     id) is there, or when each of its records has a row at least as new; and remove duplicates.
  2. Per culture (under its lock): the completed batches not in merged_batches. A culture is merged
     when at least its `sync_threshold` (plan, default 100) records wait, or when it has records
     waiting and no work left (nothing pending, nothing in flight: the end of an expansion);
     `force` merges whatever waits.
  3. Read those result files only (cost does not grow with finished batches), one row per
     filepath (the newest critique wins), one `merge_insert` on filepath: insert new filepaths,
     update a row only when the incoming critique is newer (accepted_at, then batch id, then
     workspace id), so re-merging never rolls a re-generated critique back. filepath is the table's
     unenforced primary key, so Lance fails and retries a commit that races another writer
     inserting the same new filepath; other commit conflicts are retried here. Then the filepaths
     just merged are checked for duplicates (newest kept), which a writer without the key could add.
  4. Create missing indices, tag the version readers now see `sync-YYYYmmddTHHMMSSZ-vN`, then
     record the merged batches (after the commit: a crash in between is healed by step 1 or by
     re-merging, which the upsert makes idempotent), then the state file.
  5. Every OPTIMIZE_EVERY syncs: a whole-table duplicates check, then optimize (compaction, index
     update, pruning of old versions that keeps every tagged version; only the newest
     KEEP_SYNC_TAGS sync/rollback tags are kept).

Rollback restores a version as a new one, then declares the key and creates the indices the
restored version may lack, so search works right away.

Database: `--db URI`, else $CRITIQUE_BATCH_DB, else the plan's `database.uri` (relative to the
workspace), else `<workspace>/lancedb`. The plan's `database.storage_options`, `optimize_every` and
`keep_sync_tags` apply unless the environment variables below say otherwise. Object stores take
their settings from the environment the way LanceDB reads them (AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ALLOW_HTTP, ...), plus
$CRITIQUE_BATCH_STORAGE_OPTIONS, a JSON object of LanceDB storage options.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from . import published
from .clock import iso, now as clock_now, parse_time
from .errors import InputError, MissingDependency, WorkFailed
from .jsonfiles import atomic_write_lines, read_json, write_json
from .plan import Culture, check_culture_name
from .progress import Progress
from .workspace import Workspace


TABLE = "critiques"
STATE_FILE = "lancedb_sync_state.json"
WORKSPACE_ID_FILE = "workspace_id.json"
PK_METADATA = "lance-schema:unenforced-primary-key"  # Lance field metadata: filepath is the table's primary key
COMMIT_RETRIES = 8  # attempts of a write that fails with a commit conflict (another writer committed first)
KEY_CHUNK = 500  # filepaths per `filepath IN (...)` query
SYNC_LOCK = "lancedb-sync.lock"
OPTIMIZE_EVERY = 10  # syncs between two optimize() runs ($CRITIQUE_BATCH_OPTIMIZE_EVERY; 0 = never by itself)
KEEP_SYNC_TAGS = 50  # newest sync/rollback tags kept by optimize ($CRITIQUE_BATCH_KEEP_SYNC_TAGS; 0 = all)
SYNC_LOCK_TIMEOUT_S = 600  # how long a sync waits for another one ($CRITIQUE_BATCH_SYNC_LOCK_TIMEOUT)
PROGRESS_MIN_RECORDS = 2000  # a progress bar (TTY only) for syncs this large ($CRITIQUE_BATCH_PROGRESS_MIN_RECORDS)
PRUNE_MIN_AGE = timedelta(hours=1)  # never prune versions younger than this (readers may use them)
PRUNE_MARGIN = timedelta(minutes=10)  # prune only versions this much older than the oldest tag
OPTIMIZED_TAG = "optimized"  # moves to the version of the last optimize()
OUR_TAGS = ("sync-", "rollback-")  # tags subject to KEEP_SYNC_TAGS; any other tag is kept forever

# Columns of the table. Candidate metadata beyond these goes to `extra` (a JSON object as text).
STRING_COLUMNS = ("culture", "artist", "title", "critique_zh", "critique_en", "art_form", "art_style", "art_genre", "medium")
META_COLUMNS = ("art_form", "art_style", "art_genre", "medium")
KNOWN_FIELDS = frozenset(("filepath", "covered_dimensions", "quality_score", "batch_id", "accepted_at", "merged_at", "extra",
                          "workspace_id", "sync_id", "pair_id", "ulid", "origin") + STRING_COLUMNS)
# The newest critique of a filepath wins: accepted_at, then batch id, then workspace id (a tie-break
# between two workspaces that collected the same image in the same second in same-numbered batches).
NEWER = (
    "target.accepted_at IS NULL OR source.accepted_at > target.accepted_at OR "
    "(source.accepted_at = target.accepted_at AND (target.batch_id IS NULL OR source.batch_id > target.batch_id OR "
    "(source.batch_id = target.batch_id AND (target.workspace_id IS NULL OR source.workspace_id > target.workspace_id))))"
)
ROW_ORDER_COLUMNS = ["filepath", "accepted_at", "batch_id", "workspace_id", "sync_id"]
ZH_FTS = {"base_tokenizer": "ngram", "ngram_min_length": 1, "ngram_max_length": 2, "lower_case": True, "stem": False,
          "remove_stop_words": False, "ascii_folding": False, "max_token_length": 40}
EN_FTS = {"base_tokenizer": "simple", "language": "English", "lower_case": True, "stem": True,
          "remove_stop_words": True, "ascii_folding": True, "max_token_length": 40}
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


# --- settings, imports and errors --------------------------------------------------------------

def setting(name: str, default: int) -> int:
    """An integer setting: the environment variable $CRITIQUE_BATCH_<NAME>, else the default."""
    var = f"CRITIQUE_BATCH_{name}"
    raw = os.environ.get(var)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"expected a whole number, got {raw!r}", where=f"${var}") from None
    if value < 0:
        raise InputError(f"expected a number >= 0, got {value}", where=f"${var}")
    return value


def _lancedb():
    try:
        import lancedb  # noqa: F401
        import pyarrow  # noqa: F401
    except ModuleNotFoundError as exc:
        raise MissingDependency(f"missing Python package {exc.name!r}") from exc
    return lancedb


def arrow_schema():
    """The table's columns, explicit (never inferred from the first records)."""
    import pyarrow as pa

    s = pa.string()
    ts = pa.timestamp("us", tz="UTC")
    return pa.schema([
        pa.field("filepath", s, nullable=False),
        pa.field("culture", s),
        pa.field("artist", s),
        pa.field("title", s),
        pa.field("critique_zh", s),
        pa.field("critique_en", s),
        pa.field("covered_dimensions", pa.list_(s)),
        pa.field("quality_score", pa.float64()),
        pa.field("batch_id", pa.int64()),
        pa.field("accepted_at", ts),
        pa.field("merged_at", ts),
        pa.field("art_form", s),
        pa.field("art_style", s),
        pa.field("art_genre", s),
        pa.field("medium", s),
        pa.field("extra", s),
        pa.field("workspace_id", s),  # the workspace that merged the row (checkpoints/workspace_id.json)
        pa.field("sync_id", s),  # the sync that wrote it (random): tells apart otherwise identical duplicates
        pa.field("pair_id", s),  # published.py: given once, at the first merge
        pa.field("ulid", s),
        pa.field("origin", s),  # "generated", or "published" for a baseline record merged as it is
    ])


def table_schema():
    """arrow_schema() with filepath declared as the unenforced primary key: Lance then records the
    keys each merge_insert inserts and fails (and retries) a commit that races another writer
    inserting the same new key, instead of committing a duplicate row."""
    schema = arrow_schema()
    i = schema.get_field_index("filepath")
    return schema.set(i, schema.field(i).with_metadata({PK_METADATA: "true"}))


RETRYABLE = ("conflict", "concurrent", "retry")  # words of Lance's commit-conflict errors


def _retrying(target: "Target", doing: str, attempt: Callable[[], object], table=None):
    """attempt() with up to COMMIT_RETRIES tries while it fails with a commit conflict (Lance
    retries a conflicting merge_insert itself; this covers what it gives up on and the other
    writes). Before each retry the table is moved to the newest version."""
    for n in range(1, COMMIT_RETRIES + 1):
        try:
            with _db_errors(target, doing):
                return attempt()
        except WorkFailed as exc:
            if n == COMMIT_RETRIES or not any(w in str(exc).lower() for w in RETRYABLE):
                raise
        time.sleep(random.uniform(0.05, 0.25) * n)  # writers that collided do not collide again in step
        if table is not None:
            with _db_errors(target, "cannot read the newest table version"):
                table.checkout_latest()


@contextmanager
def _db_errors(target: "Target", doing: str):
    """LanceDB and object-store failures become one-line WorkFailed errors naming the database."""
    try:
        yield
    except (InputError, WorkFailed, MissingDependency, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - lancedb raises plain RuntimeError/OSError/ValueError
        msg = re.sub(r",\s*/\S+\.rs:\d+:\d+", "", " ".join(str(exc).split())) or type(exc).__name__
        if len(msg) > 400:
            msg = msg[:397] + "..."
        raise WorkFailed(f"{doing} ({target.shown}): {msg}") from None


# --- where the database is ----------------------------------------------------------------------

@dataclass
class Target:
    uri: str  # what lancedb.connect gets (absolute for a local folder)
    shown: str  # for messages
    local: Path | None
    storage_options: dict | None
    optimize_every: int = OPTIMIZE_EVERY
    keep_sync_tags: int = KEEP_SYNC_TAGS


def resolve_target(ws: Workspace, db: str | None = None) -> Target:
    conf = ws.plan.database
    given = db or os.environ.get("CRITIQUE_BATCH_DB")  # a relative path here is relative to the current folder
    raw = given or conf.get("uri") or "lancedb"  # ... and here to the workspace
    opts = dict(conf.get("storage_options", {})) or None
    env = os.environ.get("CRITIQUE_BATCH_STORAGE_OPTIONS")
    if env:
        try:
            extra = json.loads(env)
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg}", where="$CRITIQUE_BATCH_STORAGE_OPTIONS") from None
        if not isinstance(extra, dict):
            raise InputError("expected a JSON object of storage options", where="$CRITIQUE_BATCH_STORAGE_OPTIONS")
        opts = {**(opts or {}), **extra}
    if opts:
        opts = {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in opts.items()}
    tuning = {"optimize_every": setting("OPTIMIZE_EVERY", conf.get("optimize_every", OPTIMIZE_EVERY)),
              "keep_sync_tags": setting("KEEP_SYNC_TAGS", conf.get("keep_sync_tags", KEEP_SYNC_TAGS))}
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", raw) and not raw.startswith("file://"):
        return Target(raw.rstrip("/"), raw, None, opts, **tuning)
    path = Path(raw[len("file://"):] if raw.startswith("file://") else raw).expanduser()
    path = (path if path.is_absolute() or given else ws.root / path).resolve()
    if path.exists() and not path.is_dir():
        raise InputError("expected a database folder, found a file", file=path, where="--db")
    return Target(str(path), ws.display(path), path, opts, **tuning)


def _connect(target: Target):
    lancedb = _lancedb()
    with _db_errors(target, "cannot open the database"):
        return lancedb.connect(target.uri, storage_options=target.storage_options)


def _open_table(db, target: Target):
    """The critiques table, or None if the database has none yet."""
    with _db_errors(target, "cannot open the critiques table"):
        try:
            return db.open_table(TABLE)
        except ValueError as exc:
            if "not found" in str(exc).lower():
                return None
            raise


def _open_existing(ws: Workspace, db: str | None):
    """For readers (search, export, rollback): the table, or a clear error; never creates anything."""
    target = resolve_target(ws, db)
    if target.local is not None and not (target.local / f"{TABLE}.lance").exists():
        raise WorkFailed(f"no critiques table in {target.shown} yet; run sync_to_lancedb.py first (--force merges any amount)")
    table = _open_table(_connect(target), target)
    if table is None:
        raise WorkFailed(f"no critiques table in {target.shown} yet; run sync_to_lancedb.py first (--force merges any amount)")
    return target, table


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


def _recorded_version(ws: Workspace, target: Target) -> int | None:
    try:
        doc = read_json(_state_path(ws), "sync_state", missing_ok=True)
    except InputError as exc:  # a cache: a broken one only costs a re-derivation
        print(f"warning: ignoring {exc}; merged_batches will be checked against the table", file=sys.stderr)
        return None
    entry = (doc or {}).get("databases", {}).get(_state_key(ws, target))
    return entry["table_version"] if entry else None


def _record_version(ws: Workspace, target: Target, version: int) -> None:
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

@dataclass
class CulturePlan:
    culture: str
    waiting: int  # accepted records not merged
    threshold: int
    due: bool
    batches: list[int]  # completed batches not merged (with or without records)
    merged: list[int] = field(default_factory=list)

    def public(self) -> dict:
        return {"culture": self.culture, "waiting": self.waiting, "sync_threshold": self.threshold, "due": self.due,
                "batches": len(self.batches), "merged_batches": len(self.merged)}


def _unmerged_batches(p: Progress) -> list[int]:
    merged = set(p.merged_batches)
    return [b for b in p.completed_batches if b not in merged]


def _culture_plan(p: Progress, cfg: Culture) -> CulturePlan:
    return CulturePlan(cfg.name, p.unmerged(), cfg.sync_threshold, p.sync_due(cfg.sync_threshold, cfg.max_attempts), _unmerged_batches(p), list(p.merged_batches))


def _snapshot(ws: Workspace, name: str) -> CulturePlan | None:
    """What waits in one culture, from its saved progress (written atomically, so no lock is needed;
    a batch collected a moment ago is merged by the next sync)."""
    from .engine import progress_view

    p = progress_view(ws, name)  # a missing progress file: the fold of the batch files
    return None if p is None else _culture_plan(p, ws.culture(name))


def _mark_merged(ws: Workspace, name: str, batch_ids: list[int]) -> None:
    from .engine import run_session

    run_session(ws, name, lambda s: s.mark_merged(batch_ids))


def _cultures(ws: Workspace, culture: str | None) -> list[str]:
    if culture:
        check_culture_name(culture)
        return [ws.culture(culture).name]
    return ws.configured_cultures()


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


def _rows_table(rows: list[dict]):
    import pyarrow as pa

    schema = arrow_schema()
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema}, schema=schema)


def _newest_per_filepath(rows: list[dict]) -> tuple[list[dict], int]:
    best: dict[str, dict] = {}
    for r in rows:
        old = best.get(r["filepath"])
        if old is None or (r["accepted_at"], r["batch_id"]) > (old["accepted_at"], old["batch_id"]):
            best[r["filepath"]] = r
    return list(best.values()), len(rows) - len(best)


class Bar:
    """A one-line progress bar on stderr, only on a terminal and only for large syncs."""

    def __init__(self, total: int, records: int, label: str):
        self.on = records >= setting("PROGRESS_MIN_RECORDS", PROGRESS_MIN_RECORDS) and sys.stderr.isatty()
        self.total, self.label, self.done, self.last = max(total, 1), label, 0, 0.0

    def step(self, n: int = 1) -> None:
        self.done += n
        if self.on and (time.monotonic() - self.last > 0.1 or self.done >= self.total):
            self.last = time.monotonic()
            frac = self.done / self.total
            full = int(frac * 30)
            sys.stderr.write(f"\r{self.label} [{'#' * full}{'-' * (30 - full)}] {self.done}/{self.total}")
            sys.stderr.flush()

    def say(self, text: str) -> None:
        if self.on:
            sys.stderr.write(f"\r\033[K{text}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.on:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _read_rows(ws: Workspace, plans: list[CulturePlan], merged_at: datetime, stamp: dict | None = None) -> tuple[list[dict], dict[str, int]]:
    from .engine import read_batch

    total_batches = sum(len(pl.batches) for pl in plans)
    bar = Bar(total_batches, sum(pl.waiting for pl in plans), "reading batches")
    rows: list[dict] = []
    per_culture: dict[str, int] = {}
    for pl in plans:
        for bid in pl.batches:
            result = read_batch(ws, pl.culture, bid, "result")
            for rec in result["records"]:
                rows.append({**record_row(rec, merged_at), **(stamp or {})})
            per_culture[pl.culture] = per_culture.get(pl.culture, 0) + len(result["records"])
            bar.step()
    bar.close()
    return rows, per_culture


# --- the table ----------------------------------------------------------------------------------

def _ensure_columns(table, target: Target) -> list[str]:
    """Add columns the table lacks (a table made by an older version keeps working)."""
    import pyarrow as pa

    have = table.schema
    missing = [f for f in arrow_schema() if f.name not in have.names]
    for f in arrow_schema():
        if f.name in have.names and have.field(f.name).type != f.type:
            raise WorkFailed(
                f"column {f.name!r} of the critiques table in {target.shown} has type {have.field(f.name).type}, "
                f"expected {f.type}; export the table, move it aside and sync again"
            )
    if missing:
        def add():  # another writer may be adding the same columns: add what is still missing
            still = [f for f in missing if f.name not in table.schema.names]
            if still:
                table.add_columns(pa.schema([f.with_nullable(True) for f in still]))

        _retrying(target, "cannot add columns to the critiques table", add, table)
    return [f.name for f in missing]


def has_primary_key(table) -> bool:
    meta = table.schema.field("filepath").metadata or {}
    return any((k.decode() if isinstance(k, bytes) else k).startswith(PK_METADATA) for k in meta)


def _table_to_write(conn, table, target: Target, out: dict):
    """The critiques table made ready for a merge: created if missing (exist_ok: another writer may
    create it first), missing columns added, filepath declared the primary key (a table from
    before gets it, then is repaired of the duplicates it may hold). Notes what it did in `out`."""
    if table is None:
        with _db_errors(target, "cannot create the critiques table"):
            table = conn.create_table(TABLE, schema=table_schema(), exist_ok=True)
    out["columns_added"] = _ensure_columns(table, target)
    if _ensure_primary_key(table, target):
        out["primary_key_added"] = True
        out["duplicates_removed"] = out.get("duplicates_removed", 0) + remove_duplicates(table, target)
    return table


def _ensure_primary_key(table, target: Target) -> bool:
    """Declare filepath the primary key of a table made before it was (Lance lets a key be set
    once, as a new version). Returns True when this call declared it."""
    if has_primary_key(table):
        return False
    try:
        _retrying(target, "cannot declare filepath the primary key", lambda: has_primary_key(table) or table.set_unenforced_primary_key("filepath"), table)
    except WorkFailed as exc:
        if "already set" in str(exc):  # another writer declared it first
            return False
        print(f"warning: {exc}; duplicate rows are still removed after each merge", file=sys.stderr)
        return False
    return True


def _ensure_indices(table, target: Target) -> list[str]:
    """BTREE on filepath, FTS on both critiques (n-grams for Chinese). Returns the names created.
    Retried on a commit conflict: another writer may be indexing the same table."""
    return _retrying(target, "cannot create an index", lambda: _ensure_indices_once(table, target), table)


def _ensure_indices_once(table, target: Target) -> list[str]:
    from lancedb.index import FTS, BTree

    have = {}
    with _db_errors(target, "cannot list the table's indices"):
        for ix in table.list_indices():
            for col in ix.columns:
                have.setdefault(col, []).append(ix)
    created = []
    with _db_errors(target, "cannot create an index"):
        if not any(str(ix.index_type).lower() == "btree" for ix in have.get("filepath", [])):
            table.create_index("filepath", config=BTree(), replace=True)
            created.append("filepath (btree)")
        for col, cfg in (("critique_en", EN_FTS), ("critique_zh", ZH_FTS)):
            fts = [ix for ix in have.get(col, []) if str(ix.index_type).upper() == "FTS"]
            ok = any((ix.index_details or {}).get("base_tokenizer") == cfg["base_tokenizer"] for ix in fts)
            if not ok:
                for ix in fts:  # one FTS index per column: replace one made with another tokenizer
                    table.drop_index(ix.name)
                table.create_index(col, config=FTS(with_position=False, **cfg), replace=True)
                created.append(f"{col} (fts, {cfg['base_tokenizer']})")
    return created


def _baseline_floor(ws: Workspace) -> int:
    """The highest pair number of the published baseline (0 without one)."""
    from .baseline import load_baseline

    base = load_baseline(ws)
    return base.max_pair_id if base else 0


def _existing_ids(table, target: Target) -> dict[str, tuple[str | None, str | None]]:
    """filepath -> (pair_id, ulid) of every row (two small columns besides the key)."""
    if "pair_id" not in table.schema.names:
        return {}
    with _db_errors(target, "cannot read the critiques table"):
        data = table.search().select(["filepath", "pair_id", "ulid"]).to_arrow()
    return dict(zip(data.column("filepath").to_pylist(), zip(data.column("pair_id").to_pylist(), data.column("ulid").to_pylist())))


def _give_ids(ws: Workspace, table, target: Target, rows: list[dict]) -> list[str]:
    """pair_id and ulid for the rows about to be merged: kept for images the table holds, new ones
    after the highest given out. Rows of a table made before pair_ids were stored get theirs first
    (in the order they were accepted), so they keep the numbers an export gave them then."""
    floor = _baseline_floor(ws)
    with _db_errors(target, "cannot read the critiques table"):
        legacy = table.count_rows("pair_id IS NULL") if table.count_rows() else 0
    existing = _existing_ids(table, target)
    if legacy:
        with _db_errors(target, "cannot read the critiques table"):
            old = table.search().where("pair_id IS NULL").to_arrow().to_pylist()
        published.assign_ids(old, {}, max(floor, max((published.pair_id_number(p) or 0 for p, _ in existing.values()), default=0)))
        _update_rows(table, target, old)
        existing.update({r["filepath"]: (r["pair_id"], r["ulid"]) for r in old})
    return published.assign_ids(rows, existing, floor)


def _repair_pair_ids(ws: Workspace, table, target: Target, given: list[str]) -> int:
    """Give a new pair_id to rows that share one just given with another image (two workspaces
    merging new records into one database at the same moment both take the next number). The row
    merged first keeps it; the same rule in every writer makes them agree. Reads only the rows
    holding the numbers just given. Returns the rows renumbered."""
    if not given or "pair_id" not in table.schema.names:
        return 0
    numbers = ", ".join(f"'{p}'" for p in given)
    with _db_errors(target, "cannot read the critiques table"):
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
    top = max([_baseline_floor(ws)] + [published.pair_id_number(p) or 0 for p, _ in _existing_ids(table, target).values()])
    quoted = ", ".join("'" + fp.replace("'", "''") + "'" for fp in losers)
    with _db_errors(target, "cannot read the critiques table"):
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
    data = _rows_table(rows)
    _retrying(target, "cannot store pair_ids in the critiques table", lambda: (
        table.merge_insert("filepath").when_matched_update_all().use_index(False).execute(data)
    ), table)


def _merge(table, data, target: Target):
    # use_index(False): the scalar-index path of this Lance version does not record the inserted
    # keys, so concurrent inserts of the same new filepath would both commit (measured; see README)
    return _retrying(target, "merge into the critiques table failed", lambda: (
        table.merge_insert("filepath")
        .when_matched_update_all(where=NEWER)
        .when_not_matched_insert_all()
        .use_index(False)
        .execute(data)
    ), table)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_time(t: datetime) -> str:
    stamp = t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"arrow_cast('{stamp}', 'Timestamp(Microsecond, Some(\"UTC\"))')"


def _row_key(r: dict) -> tuple:
    """The order in which a row is newer than another (NEWER, plus sync_id for identical rows)."""
    least = datetime.min.replace(tzinfo=timezone.utc)
    return (r["accepted_at"] or least, r["batch_id"] if r["batch_id"] is not None else -1, r.get("workspace_id") or "", r.get("sync_id") or "")


def _older_than(keeper: dict) -> str:
    """SQL: rows of keeper's filepath strictly older than keeper in _row_key order. Deleting these is
    safe whatever other writers do meanwhile: the newest row of a filepath never matches."""
    ws, sid = _sql_text(keeper.get("workspace_id") or ""), _sql_text(keeper.get("sync_id") or "")
    at = _sql_time(keeper["accepted_at"])
    tie = (f"(batch_id IS NULL OR batch_id < {int(keeper['batch_id'])} OR (batch_id = {int(keeper['batch_id'])} AND "
           f"((workspace_id IS NULL AND {ws} > '') OR workspace_id < {ws} OR "
           f"((workspace_id = {ws} OR (workspace_id IS NULL AND {ws} = '')) AND ((sync_id IS NULL AND {sid} > '') OR sync_id < {sid})))))")
    return f"(filepath = {_sql_text(keeper['filepath'])} AND (accepted_at IS NULL OR accepted_at < {at} OR (accepted_at = {at} AND {tie})))"


def _key_rows(table, target: Target, filepaths: list[str] | None) -> list[dict]:
    """filepath and ordering columns of the rows of these filepaths (None: of every row)."""
    cols = [c for c in ROW_ORDER_COLUMNS if c in table.schema.names]
    out: list[dict] = []
    with _db_errors(target, "cannot read the critiques table"):
        if filepaths is None:
            out = table.search().select(cols).to_arrow().to_pylist()
        else:
            keys = sorted(set(filepaths))
            for i in range(0, len(keys), KEY_CHUNK):
                where = "filepath IN (" + ", ".join(_sql_text(k) for k in keys[i:i + KEY_CHUNK]) + ")"
                out += table.search().where(where).select(cols).to_arrow().to_pylist()
    return out


def remove_duplicates(table, target: Target, filepaths: list[str] | None = None) -> int:
    """Keep one row per filepath (the newest) among these filepaths (None: the whole table).
    Returns the number of rows removed. No write at all when there is no duplicate."""
    if not set(ROW_ORDER_COLUMNS) <= set(table.schema.names):
        return 0  # a table from before these columns: checked once the sync has added them
    groups: dict[str, list[dict]] = {}
    for r in _key_rows(table, target, filepaths):
        groups.setdefault(r["filepath"], []).append(r)
    doomed = []
    for rows in groups.values():
        if len(rows) > 1:
            keeper = max(rows, key=_row_key)
            if keeper["accepted_at"] is not None and keeper["batch_id"] is not None:  # else: not rows this package wrote
                doomed.append((keeper, len(rows) - 1))
    removed = 0
    for i in range(0, len(doomed), 100):
        chunk = doomed[i:i + 100]
        where = " OR ".join(_older_than(k) for k, _ in chunk)
        res = _retrying(target, "cannot remove duplicate rows", lambda where=where: table.delete(where), table)
        removed += getattr(res, "num_deleted_rows", None) or sum(n for _, n in chunk)
    return removed


def _stamp(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _tag(table, prefix: str, version: int, when: datetime, target: Target) -> str:
    name = f"{prefix}-{_stamp(when)}-v{version}"
    with _db_errors(target, f"cannot create tag {name}"):
        if name not in table.tags.list():
            table.tags.create(name, version)
    return name


def _present_batches(table, target: Target) -> dict[tuple[str, int], set[tuple[datetime, str | None]]]:
    """(culture, batch_id) -> the (accepted_at, workspace_id) pairs of its rows (four small columns;
    workspace_id None: a row written before rows carried it)."""
    present: dict[tuple[str, int], set[tuple[datetime, str | None]]] = {}
    names = set(table.schema.names)
    if not {"culture", "batch_id", "accepted_at"} <= names:
        return present  # not a table this package made: none of our batches is in it
    cols = ["culture", "batch_id", "accepted_at"] + (["workspace_id"] if "workspace_id" in names else [])
    with _db_errors(target, "cannot read the critiques table"):
        data = table.search().select(cols).to_arrow()
    if data.num_rows == 0:
        return present
    groups = data.group_by(cols).aggregate([])
    ids = groups.column("workspace_id").to_pylist() if "workspace_id" in cols else [None] * groups.num_rows
    for c, b, t, w in zip(groups.column("culture").to_pylist(), groups.column("batch_id").to_pylist(),
                          groups.column("accepted_at").to_pylist(), ids):
        present.setdefault((c, b), set()).add((t, w))
    return present


def _reconcile(ws: Workspace, table, target: Target, wid: str) -> list[dict]:
    """Set every culture's merged_batches to what the table holds (the one authority).

    A batch counts as merged when the table has a row of it: same culture, batch id, accepted_at
    (the batch's collection time) and workspace id (or none: rows from before the id), so a batch
    of another workspace with the same number never counts. A batch without such a row counts as
    merged only when the table holds, for each of its records, a row at least as new (by NEWER's
    order): its rows were replaced by newer critiques, or another workspace's equal one won the
    tie. Everything else is re-merged by the next sync.
    """
    from .engine import read_batch, run_session

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
    for r in _key_rows(table, target, [rec["filepath"] for recs in batches.values() for rec in recs]):
        key = _row_key({**r, "sync_id": None})
        if r["filepath"] not in best or key > best[r["filepath"]]:
            best[r["filepath"]] = key
    out = []
    for b, recs in batches.items():
        keys = [(rec["filepath"], _row_key({"accepted_at": parse_time(rec["accepted_at"]), "batch_id": b, "workspace_id": wid, "sync_id": None}))
                for rec in recs]
        if all(fp in best and best[fp] >= key for fp, key in keys):
            out.append(b)
    return out


def _maintain(table, target: Target) -> dict:
    """optimize(): compact, update indices, prune old versions while keeping every tagged one.

    Lance refuses to prune a tagged version, so pruning only reaches versions older than the
    oldest tag kept (minus PRUNE_MARGIN), never younger than PRUNE_MIN_AGE; the newest
    KEEP_SYNC_TAGS sync/rollback tags are kept (any other tag forever).
    """
    never = timedelta(days=36500)
    with _db_errors(target, "table maintenance (optimize) failed"):
        table.optimize(cleanup_older_than=never)  # compaction + index update, no pruning yet
        tags = table.tags.list()
        ours = sorted((t["version"], name) for name, t in tags.items() if name.startswith(OUR_TAGS))
        keep = target.keep_sync_tags
        dropped = [name for _, name in ours[:-keep]] if keep and len(ours) > keep else []
        for name in dropped:
            table.tags.delete(name)
        kept = [t["version"] for name, t in tags.items() if name not in dropped and name != OPTIMIZED_TAG]
        versions = {v["version"]: v["timestamp"] for v in table.list_versions()}
        older_than = PRUNE_MIN_AGE
        stamps = [versions[v] for v in kept if v in versions]
        if stamps:  # version time stamps are naive local time, like datetime.now()
            older_than = max(older_than, datetime.now() - min(stamps) + PRUNE_MARGIN)
        try:
            table.optimize(cleanup_older_than=max(older_than, timedelta(milliseconds=1)))
        except Exception as exc:  # noqa: BLE001 - a tagged version fell behind the cutoff: prune next time
            if "tagged" not in str(exc):
                raise
        if OPTIMIZED_TAG in table.tags.list():
            table.tags.update(OPTIMIZED_TAG, table.version)
        else:
            table.tags.create(OPTIMIZED_TAG, table.version)
    return {"version": table.version, "tags_dropped": dropped}


def _syncs_since_optimize(table, target: Target) -> int:
    with _db_errors(target, "cannot list tags"):
        tags = table.tags.list()
    since = tags.get(OPTIMIZED_TAG, {}).get("version", 0)
    return sum(1 for name, t in tags.items() if name.startswith("sync-") and t["version"] > since)


# --- sync ---------------------------------------------------------------------------------------

def sync(
    ws: Workspace,
    *,
    culture: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    db: str | None = None,
    optimize: bool = False,
    hook: Callable[[str], None] | None = None,
) -> dict:
    """Merge accepted, unmerged records into the critiques table. Returns a summary dict.

    `hook(stage)` is called at each step ("locked", "committed", "tagged", "marked <culture>",
    "optimized"): tests use it to stop a sync at a chosen point.
    """
    target = resolve_target(ws, db)
    names = _cultures(ws, culture)
    out = {"db": target.shown, "table": TABLE, "dry_run": dry_run, "force": force, "merged": False,
           "version": None, "table_version": None, "tag": None, "records": 0, "inserted": 0, "updated": 0,
           "unchanged": 0, "duplicates": 0, "duplicates_removed": 0, "merge_attempts": 0, "pair_ids_given": 0,
           "pair_ids_repaired": 0, "batches": 0, "rows": None, "reconciled": [], "optimized": False, "columns_added": [],
           "primary_key_added": False, "indices_created": [], "workspace_id": None, "cultures": []}
    step = hook or (lambda stage: None)
    if dry_run:  # read the saved progress files only: no lock, no database, nothing written
        plans = [pl for pl in (_snapshot(ws, n) for n in names) if pl]
        chosen = [pl for pl in plans if pl.batches and (force or pl.due)]
        out["cultures"] = [pl.public() for pl in plans]
        out["records"] = sum(pl.waiting for pl in chosen)
        out["batches"] = sum(len(pl.batches) for pl in chosen)
        out["would_merge"] = [pl.culture for pl in chosen]
        return out

    if not force and not optimize:  # the common "not yet" answer without importing lancedb (~1 s)
        plans = [pl for pl in (_snapshot(ws, n) for n in names) if pl]
        if not any(pl.batches and pl.due for pl in plans):
            out["cultures"] = [pl.public() for pl in plans]
            return out
    _lancedb()
    with sync_lock(ws):
        step("locked")
        wid = out["workspace_id"] = workspace_id(ws)
        fresh = target.local is not None and not (target.local / f"{TABLE}.lance").exists()
        conn = None if fresh else _connect(target)  # connecting creates the folder: not before there is data
        table = None if fresh else _open_table(conn, target)
        recorded = _recorded_version(ws, target)
        if table is None or recorded != table.version:  # another writer, a crash after a commit, a restore, a new database
            out["reconciled"] = _reconcile(ws, table, target, wid)
            if table is not None:  # duplicates another writer left (or an older version of this package)
                out["duplicates_removed"] += remove_duplicates(table, target)
        plans = [pl for pl in (_snapshot(ws, n) for n in names) if pl]
        out["cultures"] = [pl.public() for pl in plans]
        chosen = [pl for pl in plans if pl.batches and (force or pl.due)]
        out["batches"] = sum(len(pl.batches) for pl in chosen)
        bar = Bar(1, sum(pl.waiting for pl in chosen), "")
        if chosen:
            now = clock_now()
            rows, per_culture = _read_rows(ws, chosen, now, {"workspace_id": wid, "sync_id": uuid.uuid4().hex})
            rows, out["duplicates"] = _newest_per_filepath(rows)
            out["records"] = len(rows)
            for c in out["cultures"]:
                c["merging"] = per_culture.get(c["culture"], 0)
            if rows:
                table = _table_to_write(conn or _connect(target), table, target, out)
                given = _give_ids(ws, table, target, rows)
                out["pair_ids_given"] = len(given)
                bar.say(f"merging {len(rows)} records into {target.shown} ...")
                before = table.version
                res = _merge(table, _rows_table(rows), target)
                step("committed")
                out.update(merged=True, inserted=res.num_inserted_rows, updated=res.num_updated_rows,
                           merge_attempts=getattr(res, "num_attempts", 1))
                out["unchanged"] = len(rows) - res.num_inserted_rows - res.num_updated_rows
                # another workspace may have inserted some of these filepaths at the same moment
                out["duplicates_removed"] += remove_duplicates(table, target, [r["filepath"] for r in rows])
                out["pair_ids_repaired"] = _repair_pair_ids(ws, table, target, given)
        if table is not None:
            with _db_errors(target, "cannot read the critiques table"):
                has_rows = table.count_rows() > 0
            if has_rows:
                bar.say("indexing ...")
                out["indices_created"] = _ensure_indices(table, target)
        if out["merged"] and table.version > before:  # the tag names the version readers see (indices included)
            out["tag"] = _tag(table, "sync", table.version, now, target)
        step("tagged")
        for pl in chosen:  # only after the commit: a crash before this line is healed next time
            _mark_merged(ws, pl.culture, pl.batches)
            step(f"marked {pl.culture}")
        if table is not None:
            every = target.optimize_every
            if optimize or (out["merged"] and every and _syncs_since_optimize(table, target) >= every):
                bar.say("optimizing the table ...")
                out["duplicates_removed"] += remove_duplicates(table, target)
                _retrying(target, "table maintenance (optimize) failed", lambda: _maintain(table, target), table)
                out["optimized"] = True
                step("optimized")
            with _db_errors(target, "cannot count rows"):
                out.update(rows=table.count_rows(), table_version=table.version)
            if out["merged"]:
                out["version"] = table.version  # what --list, search and export see
            if recorded != table.version:
                _record_version(ws, target, table.version)
        bar.close()
    return out


def merge_baseline(ws: Workspace, db: str | None = None) -> dict:
    """Merge the published baseline's records (set_baseline.py) into the table, as they are.

    Only images the table does not hold are inserted: a critique the expansion generated for a
    published image is never replaced by the older published one, and running this twice changes
    nothing. The rows keep their published pair_id, ulid, keys and values, so an export gives
    their lines back unchanged; search finds them as exemplars."""
    from .baseline import load_baseline

    base = load_baseline(ws)
    if base is None:
        raise WorkFailed("this workspace has no published baseline; set one with set_baseline.py FILE.jsonl")
    target = resolve_target(ws, db)
    _lancedb()
    out = {"db": target.shown, "table": TABLE, "baseline": len(base.sources), "records": 0, "inserted": 0,
           "already": 0, "version": None, "tag": None, "rows": None, "indices_created": []}
    with sync_lock(ws):
        conn = _connect(target)
        table = _open_table(conn, target)
        recorded = _recorded_version(ws, target)
        existing = _existing_ids(table, target) if table is not None else {}
        before = table.version if table is not None else None
        now = clock_now()
        rows = []
        for order, (_, fp, line) in enumerate(base.iter_lines()):
            out["records"] += 1
            if fp in existing:
                out["already"] += 1
                continue
            columns, extra = published.baseline_row(fp, json.loads(line), order)
            score = columns["quality_score"]
            columns["quality_score"] = float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None
            if published.line_for(columns, extra) != line:  # a form the columns do not keep (spacing, an int score, ...)
                extra[published.LINE_FIELD] = line
            columns.update(batch_id=None, accepted_at=None, merged_at=now, extra=json.dumps(extra, ensure_ascii=False, sort_keys=True))
            rows.append(columns)
        if rows:
            table = _table_to_write(conn, table, target, out)
            data = _rows_table(rows)
            res = _retrying(target, "merge into the critiques table failed", lambda: (
                table.merge_insert("filepath").when_not_matched_insert_all().use_index(False).execute(data)
            ), table)
            out["inserted"] = res.num_inserted_rows
            out["indices_created"] = _ensure_indices(table, target)
            out["tag"] = _tag(table, "sync", table.version, now, target)  # the version readers see
        if table is not None:
            with _db_errors(target, "cannot count rows"):
                out.update(rows=table.count_rows(), version=table.version)
            if rows and recorded is not None and recorded == before:
                # our own rows changed nothing a workspace batch holds: keep the record current, so
                # the next sync does not re-derive merged_batches for nothing
                _record_version(ws, target, table.version)
    return out


def list_tags(ws: Workspace, db: str | None = None) -> dict:
    target, table = _open_existing(ws, db)
    with _db_errors(target, "cannot list tags"):
        tags = table.tags.list()
        versions = {v["version"]: v for v in table.list_versions()}
        current = table.version
    out = []
    for name, t in sorted(tags.items(), key=lambda kv: kv[1]["version"]):
        v = versions.get(t["version"], {})
        rows = (v.get("metadata") or {}).get("total_rows")
        out.append({"tag": name, "version": t["version"], "rows": int(rows) if rows is not None else None})
    return {"db": target.shown, "table": TABLE, "version": current, "tags": out}


# --- rollback -----------------------------------------------------------------------------------

def _resolve_version(table, target: Target, to: str, where: str) -> tuple[int, str | None]:
    """A tag name or a version number of the table -> (version, tag or None); InputError if neither."""
    to = str(to).strip()
    with _db_errors(target, "cannot read the table's versions"):
        tags = table.tags.list()
        versions = [v["version"] for v in table.list_versions()]
    if to in tags:
        return tags[to]["version"], to
    if to.isdigit() and int(to) in versions:
        return int(to), next((n for n, t in tags.items() if t["version"] == int(to)), None)
    recent = ", ".join(sorted((n for n in tags if n != OPTIMIZED_TAG), key=lambda n: tags[n]["version"])[-5:]) or "none"
    kind = "version" if to.isdigit() else "tag"
    raise InputError(
        f"no {kind} {to!r} in the critiques table (versions {min(versions)}..{max(versions)}; newest tags: {recent}); "
        "list them with sync_to_lancedb.py --list",
        where=where,
    )


def rollback(ws: Workspace, to: str, *, db: str | None = None) -> dict:
    """Restore the table to a tag or version (as a new version), then correct merged_batches."""
    _lancedb()
    to = str(to).strip()
    with sync_lock(ws):
        target, table = _open_existing(ws, db)
        version, tag = _resolve_version(table, target, to, "--rollback")
        with _db_errors(target, "cannot read the table"):
            before_version, before_rows = table.version, table.count_rows()
        now = clock_now()
        with _db_errors(target, f"cannot restore version {version}"):
            table.restore(version)
            rows = table.count_rows()
        restored_version = table.version
        # the restored version may predate the primary key or the indices: search must work right away
        _ensure_primary_key(table, target)
        indices = _ensure_indices(table, target) if rows else []
        new_version = table.version
        new_tag = _tag(table, "rollback", new_version, now, target) if restored_version != before_version else None
        changes = _reconcile(ws, table, target, workspace_id(ws))
        _record_version(ws, target, new_version)
    return {"db": target.shown, "table": TABLE, "restored": version, "restored_tag": tag, "version": new_version,
            "tag": new_tag, "rows_before": before_rows, "rows": rows, "previous_version": before_version, "reconciled": changes,
            "indices_created": indices}


# --- search -------------------------------------------------------------------------------------

RESULT_COLUMNS = ["filepath", "culture", "artist", "title", "critique_zh", "critique_en", "covered_dimensions", "quality_score", "batch_id"]


def search(ws: Workspace, query: str, *, culture: str | None = None, limit: int = 5, lang: str = "auto",
           min_quality: float | None = None, db: str | None = None) -> dict:
    """Full-text search over the critiques (Chinese query -> critique_zh, else critique_en)."""
    query = (query or "").strip()
    if not query:
        raise InputError("expected a non-empty query", where="QUERY")
    if limit < 1:
        raise InputError(f"expected a limit >= 1, got {limit}", where="--limit")
    if culture:
        check_culture_name(culture)
    if lang == "auto":
        lang = "zh" if CJK.search(query) else "en"
    column = {"zh": "critique_zh", "en": "critique_en"}[lang]
    target, table = _open_existing(ws, db)
    where = []
    if culture:
        where.append(f"culture = '{culture}'")
    if min_quality is not None:
        where.append(f"quality_score >= {float(min_quality)!r}")
    with _db_errors(target, "search failed"):
        indexed = any(column in ix.columns and str(ix.index_type).upper() == "FTS" for ix in table.list_indices())
        if not indexed:
            raise WorkFailed(f"the critiques table in {target.shown} has no full-text index on {column}; run sync_to_lancedb.py --optimize")
        q = table.search(query, query_type="fts", fts_columns=column).select(RESULT_COLUMNS + ["_score"]).limit(limit)
        if where:
            q = q.where(" AND ".join(where), prefilter=True)
        hits = q.to_list()
    results = []
    for h in hits:
        r = {k: h.get(k) for k in RESULT_COLUMNS}
        r["score"] = round(float(h.get("_score") or 0.0), 4)
        results.append(r)
    return {"db": target.shown, "query": query, "lang": lang, "column": column, "culture": culture, "results": results}


# --- export -------------------------------------------------------------------------------------

EXPORT_FIELDS = published.PUBLISHED_KEYS
EXPORT_COLUMNS = ["filepath", "culture", "artist", "title", "critique_zh", "critique_en", "covered_dimensions", "quality_score",
                  "accepted_at", "batch_id", "pair_id", "ulid", "origin", "extra"] + list(META_COLUMNS)


def _export_order(r: dict, extra: dict) -> tuple:
    """Baseline rows in the order of their published files, then every other row by pair_id."""
    if r.get("origin") == published.PUBLISHED and isinstance(extra.get(published.ORDER_FIELD), int):
        return (0, extra[published.ORDER_FIELD], "")
    return (1, published.pair_id_number(r.get("pair_id")) or 0, r["filepath"])


def export(ws: Workspace, *, culture: str | None = None, output: str | None = None, db: str | None = None,
           version: str | None = None, new_only: bool = False, dims_as_text: bool = False) -> dict:
    """Write the table as JSONL in the published VULCA-Bench shape (see published.py).

    Every row has the pair_id and ulid it was given at its first merge; the published baseline's
    rows come first, in their files' order, as their very lines; then the other rows by pair_id.
    new_only: only records critiqued in this expansion (no unchanged baseline record).
    """
    if culture:
        check_culture_name(culture)
    target, table = _open_existing(ws, db)
    if version is not None:
        number, _ = _resolve_version(table, target, version, "--version")
        with _db_errors(target, f"cannot read version {number}"):
            table.checkout(number)
    if "pair_id" not in table.schema.names or _has_rows_without_ids(table, target):
        raise WorkFailed(f"the critiques table in {target.shown} has records without a pair_id (merged by an older "
                         "version of these scripts); run sync_to_lancedb.py --force once to give them theirs")
    where = []
    if culture:
        where.append(f"culture = '{culture}'")
    if new_only:
        where.append(f"(origin IS NULL OR origin != '{published.PUBLISHED}')")
    with _db_errors(target, "cannot read the critiques table"):
        q = table.search().select(EXPORT_COLUMNS)
        if where:
            q = q.where(" AND ".join(where))
        data = q.to_arrow()
    rows = data.to_pylist()
    extras = [json.loads(r["extra"]) if r.get("extra") else {} for r in rows]
    order = sorted(range(len(rows)), key=lambda i: _export_order(rows[i], extras[i]))
    lines = (published.line_for(rows[i], extras[i], dims_as_text) + "\n" for i in order)
    if output == "-":
        sys.stdout.writelines(lines)
        dest = None
    else:
        dest = Path(output).expanduser() if output else ws.root / "exports" / f"critiques{'_' + culture if culture else ''}.jsonl"
        dest = dest.resolve()
        atomic_write_lines(dest, lines)
    first = rows[order[0]]["pair_id"] if order else None
    return {"db": target.shown, "output": ws.display(dest) if dest else "-", "records": len(rows), "culture": culture,
            "new_only": new_only, "version": table.version, "first_pair_id": first}


def _has_rows_without_ids(table, target: Target) -> bool:
    with _db_errors(target, "cannot read the critiques table"):
        return table.count_rows() > 0 and table.count_rows("pair_id IS NULL") > 0
