"""The LanceDB database: where it is, connecting, the `critiques` table's columns and indices,
commit retries, one row per filepath. The only module importing lancedb and pyarrow, and only
inside functions, so importing critique_batch (status, claim, validate) never pulls them in.

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
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from ..base.errors import EnvironmentFailure, InputError, MissingDependency, WorkFailed
from ..files.workspace import Workspace, setting

TABLE = "critiques"
# what the system says (lancedb passes on the OS's message) when the disk, not the data, is at fault
ENVIRONMENT_MESSAGES = ("No space left on device", "Read-only file system", "Input/output error", "Permission denied",
                        "Disk quota exceeded")
PK_METADATA = "lance-schema:unenforced-primary-key"  # Lance field metadata: filepath is the table's primary key
COMMIT_RETRIES = 8  # attempts of a write that fails with a commit conflict (another writer committed first)
KEY_CHUNK = 500  # filepaths per `filepath IN (...)` query
OPTIMIZE_EVERY = 10  # syncs between two optimize() runs ($CRITIQUE_BATCH_OPTIMIZE_EVERY; 0 = never by itself)
KEEP_SYNC_TAGS = 50  # newest sync/rollback tags kept by optimize ($CRITIQUE_BATCH_KEEP_SYNC_TAGS; 0 = all)

# Columns of the table. Candidate metadata beyond these goes to `extra` (a JSON object as text).
STRING_COLUMNS = ("culture", "artist", "title", "critique_zh", "critique_en",
                  "art_form", "art_style", "art_genre", "medium")
META_COLUMNS = ("art_form", "art_style", "art_genre", "medium")
KNOWN_FIELDS = frozenset(("filepath", "covered_dimensions", "quality_score", "batch_id", "accepted_at", "merged_at",
                          "extra", "workspace_id", "sync_id", "pair_id", "ulid", "origin") + STRING_COLUMNS)
# The newest critique of a filepath wins: accepted_at, then batch id, then workspace id (a tie-break
# between two workspaces that collected the same image in the same second in same-numbered batches).
NEWER = (
    "target.accepted_at IS NULL OR source.accepted_at > target.accepted_at OR "
    "(source.accepted_at = target.accepted_at AND (target.batch_id IS NULL OR source.batch_id > target.batch_id OR "
    "(source.batch_id = target.batch_id AND "
    "(target.workspace_id IS NULL OR source.workspace_id > target.workspace_id))))"
)
ROW_ORDER_COLUMNS = ["filepath", "accepted_at", "batch_id", "workspace_id", "sync_id"]
ZH_FTS = {"base_tokenizer": "ngram", "ngram_min_length": 1, "ngram_max_length": 2, "lower_case": True, "stem": False,
          "remove_stop_words": False, "ascii_folding": False, "max_token_length": 40}
EN_FTS = {"base_tokenizer": "simple", "language": "English", "lower_case": True, "stem": True,
          "remove_stop_words": True, "ascii_folding": True, "max_token_length": 40}
def require_lancedb():
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


def retrying(target: "Target", doing: str, attempt: Callable[[], object], table=None):
    """attempt() with up to COMMIT_RETRIES tries while it fails with a commit conflict (Lance
    retries a conflicting merge_insert itself; this covers what it gives up on and the other
    writes). Before each retry the table is moved to the newest version."""
    for n in range(1, COMMIT_RETRIES + 1):
        try:
            with db_errors(target, doing):
                return attempt()
        except WorkFailed as exc:
            if n == COMMIT_RETRIES or not any(w in str(exc).lower() for w in RETRYABLE):
                raise
        time.sleep(random.uniform(0.05, 0.25) * n)  # writers that collided do not collide again in step
        if table is not None:
            with db_errors(target, "cannot read the newest table version"):
                table.checkout_latest()


def merge_on_filepath(table, data, target: "Target", doing: str, *, update: str | None, insert: bool):
    """One merge_insert keyed on filepath, retried (retrying). update: None leaves a matched row as
    it is, "all" overwrites it, any other text is the SQL condition under which it is overwritten;
    insert: new filepaths are inserted. Every write on filepath goes through here for one reason:
    use_index(False), because the scalar-index path of this Lance version does not record the
    inserted keys, so concurrent inserts of the same new filepath would both commit (measured; see
    docs/scripts.md, sync_to_lancedb.py)."""
    def merge():
        builder = table.merge_insert("filepath")
        if update is not None:
            builder = builder.when_matched_update_all(where=None if update == "all" else update)
        if insert:
            builder = builder.when_not_matched_insert_all()
        return builder.use_index(False).execute(data)

    return retrying(target, doing, merge, table)


@contextmanager
def db_errors(target: "Target", doing: str):
    """LanceDB and object-store failures become one-line WorkFailed errors naming the database."""
    try:
        yield
    except (InputError, WorkFailed, MissingDependency, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - lancedb raises plain RuntimeError/OSError/ValueError
        msg = re.sub(r",\s*/\S+\.rs:\d+:\d+", "", " ".join(str(exc).split())) or type(exc).__name__
        if len(msg) > 400:
            msg = msg[:397] + "..."
        if isinstance(exc, OSError) and exc.errno is not None or any(s in msg for s in ENVIRONMENT_MESSAGES):
            raise EnvironmentFailure(f"{doing} ({target.shown}): {msg}") from None
        raise WorkFailed(f"{doing} ({target.shown}): {msg}") from None

# --- where the database is ----------------------------------------------------------------------

class Target:
    __slots__ = ("uri", "shown", "local", "storage_options", "optimize_every", "keep_sync_tags")

    def __init__(self, uri: str, shown: str, local: Path | None, storage_options: dict | None,
                 optimize_every: int = OPTIMIZE_EVERY, keep_sync_tags: int = KEEP_SYNC_TAGS):
        self.uri = uri  # what lancedb.connect gets (absolute for a local folder)
        self.shown = shown  # for messages
        self.local = local
        self.storage_options = storage_options
        self.optimize_every = optimize_every
        self.keep_sync_tags = keep_sync_tags

    def surely_without_table(self) -> bool:
        """A local database without the table's folder (known without connecting, which would create it)."""
        return self.local is not None and not (self.local / f"{TABLE}.lance").exists()


def resolve_target(ws: Workspace, db: str | None = None) -> Target:
    conf = ws.plan.database
    given = db or os.environ.get("CRITIQUE_BATCH_DB")  # a relative path here is relative to the current folder
    raw = given or conf.get("uri") or "lancedb"  # ... and here to the workspace
    tuning = {"optimize_every": setting("OPTIMIZE_EVERY", conf.get("optimize_every", OPTIMIZE_EVERY)),
              "keep_sync_tags": setting("KEEP_SYNC_TAGS", conf.get("keep_sync_tags", KEEP_SYNC_TAGS))}
    return target_at(ws, raw, storage_options(conf.get("storage_options")), relative_to_cwd=bool(given), where="--db",
                     **tuning)


def storage_options(planned: dict | None) -> dict | None:
    """A plan's storage options with $CRITIQUE_BATCH_STORAGE_OPTIONS over them, as LanceDB wants them (text)."""
    opts = dict(planned or {}) or None
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
    return opts


def target_at(ws: Workspace, raw: str, opts: dict | None, *, relative_to_cwd: bool, where: str, **tuning) -> Target:
    """A database URI (an object store's, or a folder: relative to the current folder when the user
    typed it, else to the workspace) as a Target."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", raw) and not raw.startswith("file://"):
        return Target(raw.rstrip("/"), raw, None, opts, **tuning)
    path = Path(raw[len("file://"):] if raw.startswith("file://") else raw).expanduser()
    path = (path if path.is_absolute() or relative_to_cwd else ws.root / path).resolve()
    if path.exists() and not path.is_dir():
        raise InputError("expected a database folder, found a file", file=path, where=where)
    return Target(str(path), ws.display(path), path, opts, **tuning)


def keep_lancedb_wakeable() -> bool:
    """base.loop_wakeup.keep_wakeable for lancedb's background loop (True if it had to); nothing
    where a lancedb version keeps no such loop."""
    from ..base.loop_wakeup import keep_wakeable

    try:
        from lancedb import background_loop
    except ImportError:
        return False
    loop = getattr(getattr(background_loop, "LOOP", None), "loop", None)
    return keep_wakeable(loop) if loop is not None else False


def connect(target: Target, doing: str = "cannot open the database", **options):
    """lancedb.connect to the target (`options`: lancedb.connect's others), for every table of ours."""
    lancedb = require_lancedb()
    keep_lancedb_wakeable()  # else it hangs in Codex CLI's sandbox
    with db_errors(target, doing):
        return lancedb.connect(target.uri, storage_options=target.storage_options, **options)


def open_table(db, target: Target):
    """The critiques table, or None if the database has none yet."""
    with db_errors(target, "cannot open the critiques table"):
        try:
            return db.open_table(TABLE)
        except ValueError as exc:
            if "not found" in str(exc).lower():
                return None
            raise


def open_existing(ws: Workspace, db: str | None):
    """For readers (search, export, rollback): the table, or a clear error; never creates anything."""
    target = resolve_target(ws, db)
    table = None if target.surely_without_table() else open_table(connect(target), target)
    if table is None:
        from ..files import baseline

        # a workspace with a published baseline may have nothing of its own to merge yet
        first = ("sync_to_lancedb.py --baseline (the published baseline's records) or sync_to_lancedb.py --force"
                 if baseline.is_set(ws) else "sync_to_lancedb.py first (--force merges any amount)")
        raise WorkFailed(f"no critiques table in {target.shown} yet; run {first}")
    return target, table


def rows_table(rows: list[dict]):
    """Rows (dicts of column values) as an arrow table of the table's columns."""
    import pyarrow as pa

    schema = arrow_schema()
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema}, schema=schema)


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

        retrying(target, "cannot add columns to the critiques table", add, table)
    return [f.name for f in missing]


def has_primary_key(table) -> bool:
    meta = table.schema.field("filepath").metadata or {}
    return any((k.decode() if isinstance(k, bytes) else k).startswith(PK_METADATA) for k in meta)


class TableRepairs:
    """What making a table ready for a merge changed (a table from an older version of this package)."""

    __slots__ = ("columns_added", "primary_key_added", "duplicates_removed")

    def __init__(self, columns_added: list[str] | None = None, primary_key_added: bool = False,
                 duplicates_removed: int = 0):
        self.columns_added = [] if columns_added is None else columns_added
        self.primary_key_added = primary_key_added
        self.duplicates_removed = duplicates_removed


def table_to_write(conn, table, target: Target):
    """The critiques table made ready for a merge: created if missing (exist_ok: another writer may
    create it first), missing columns added, filepath declared the primary key (a table from
    before gets it, then is repaired of the duplicates it may hold). Returns (table, TableRepairs)."""
    if table is None:
        with db_errors(target, "cannot create the critiques table"):
            table = conn.create_table(TABLE, schema=table_schema(), exist_ok=True)
    repairs = TableRepairs(_ensure_columns(table, target))
    if ensure_primary_key(table, target):
        repairs.primary_key_added = True
        repairs.duplicates_removed = remove_duplicates(table, target)
    return table, repairs


def ensure_primary_key(table, target: Target) -> bool:
    """Declare filepath the primary key of a table made before it was (Lance lets a key be set
    once, as a new version). Returns True when this call declared it."""
    if has_primary_key(table):
        return False
    try:
        retrying(target, "cannot declare filepath the primary key",
                 lambda: has_primary_key(table) or table.set_unenforced_primary_key("filepath"), table)
    except WorkFailed as exc:
        if "already set" in str(exc):  # another writer declared it first
            return False
        print(f"warning: {exc}; duplicate rows are still removed after each merge", file=sys.stderr)
        return False
    return True


def ensure_indices(table, target: Target) -> list[str]:
    """BTREE on filepath, FTS on both critiques (n-grams for Chinese). Returns the names created.
    Retried on a commit conflict: another writer may be indexing the same table."""
    return retrying(target, "cannot create an index", lambda: _ensure_indices_once(table, target), table)


def _ensure_indices_once(table, target: Target) -> list[str]:
    from lancedb.index import FTS, BTree

    have = {}
    with db_errors(target, "cannot list the table's indices"):
        for ix in table.list_indices():
            for col in ix.columns:
                have.setdefault(col, []).append(ix)
    created = []
    with db_errors(target, "cannot create an index"):
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

def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_time(t: datetime) -> str:
    stamp = t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"arrow_cast('{stamp}', 'Timestamp(Microsecond, Some(\"UTC\"))')"


def row_key(r: dict) -> tuple:
    """The order in which a row is newer than another (NEWER, plus sync_id for identical rows)."""
    least = datetime.min.replace(tzinfo=timezone.utc)
    return (r["accepted_at"] or least, r["batch_id"] if r["batch_id"] is not None else -1,
            r.get("workspace_id") or "", r.get("sync_id") or "")


def _older_than(keeper: dict) -> str:
    """SQL: rows of keeper's filepath strictly older than keeper in row_key order. Deleting these is
    safe whatever other writers do meanwhile: the newest row of a filepath never matches."""
    ws, sid = sql_text(keeper.get("workspace_id") or ""), sql_text(keeper.get("sync_id") or "")
    at = _sql_time(keeper["accepted_at"])
    tie = (f"(batch_id IS NULL OR batch_id < {int(keeper['batch_id'])} OR (batch_id = {int(keeper['batch_id'])} AND "
           f"((workspace_id IS NULL AND {ws} > '') OR workspace_id < {ws} OR "
           f"((workspace_id = {ws} OR (workspace_id IS NULL AND {ws} = '')) AND "
           f"((sync_id IS NULL AND {sid} > '') OR sync_id < {sid})))))")
    return (f"(filepath = {sql_text(keeper['filepath'])} AND "
            f"(accepted_at IS NULL OR accepted_at < {at} OR (accepted_at = {at} AND {tie})))")


def key_rows(table, target: Target, filepaths: list[str] | None) -> list[dict]:
    """filepath and ordering columns of the rows of these filepaths (None: of every row)."""
    cols = [c for c in ROW_ORDER_COLUMNS if c in table.schema.names]
    out: list[dict] = []
    with db_errors(target, "cannot read the critiques table"):
        if filepaths is None:
            out = table.search().select(cols).to_arrow().to_pylist()
        else:
            keys = sorted(set(filepaths))
            for i in range(0, len(keys), KEY_CHUNK):
                where = "filepath IN (" + ", ".join(sql_text(k) for k in keys[i:i + KEY_CHUNK]) + ")"
                out += table.search().where(where).select(cols).to_arrow().to_pylist()
    return out


def remove_duplicates(table, target: Target, filepaths: list[str] | None = None) -> int:
    """Keep one row per filepath (the newest) among these filepaths (None: the whole table).
    Returns the number of rows removed. No write at all when there is no duplicate."""
    if not set(ROW_ORDER_COLUMNS) <= set(table.schema.names):
        return 0  # a table from before these columns: checked once the sync has added them
    groups: dict[str, list[dict]] = {}
    for r in key_rows(table, target, filepaths):
        groups.setdefault(r["filepath"], []).append(r)
    doomed = []
    for rows in groups.values():
        if len(rows) > 1:
            keeper = max(rows, key=row_key)
            # else: not rows this package wrote
            if keeper["accepted_at"] is not None and keeper["batch_id"] is not None:
                doomed.append((keeper, len(rows) - 1))
    removed = 0
    for i in range(0, len(doomed), 100):
        chunk = doomed[i:i + 100]
        where = " OR ".join(_older_than(k) for k, _ in chunk)
        res = retrying(target, "cannot remove duplicate rows", lambda where=where: table.delete(where), table)
        removed += getattr(res, "num_deleted_rows", None) or sum(n for _, n in chunk)
    return removed

