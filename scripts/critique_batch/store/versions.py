"""The critiques table's versions: a tag per sync, listing them, optimize (compaction, index update,
pruning that keeps every tagged version), and rollback to a tag or version.

Rollback restores a version as a new one, then declares the key and creates the indices the
restored version may lack, so search works right away; then it sets merged_batches to what the
restored table holds (the next sync re-merges what it removed).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ..base.clock import now as clock_now
from .database import TABLE, Target, db_errors, ensure_indices, ensure_primary_key, open_existing, require_lancedb
from ..base.errors import InputError
from .sync_state import reconcile, record_version, sync_lock, workspace_id
from ..files.workspace import Workspace

PRUNE_MIN_AGE = timedelta(hours=1)  # never prune versions younger than this (readers may use them)
PRUNE_MARGIN = timedelta(minutes=10)  # prune only versions this much older than the oldest tag
OPTIMIZED_TAG = "optimized"  # moves to the version of the last optimize()
OUR_TAGS = ("sync-", "rollback-")  # tags subject to KEEP_SYNC_TAGS; any other tag is kept forever


def _stamp(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def create_tag(table, prefix: str, version: int, when: datetime, target: Target) -> str:
    name = f"{prefix}-{_stamp(when)}-v{version}"
    with db_errors(target, f"cannot create tag {name}"):
        if name not in table.tags.list():
            table.tags.create(name, version)
    return name


def maintain(table, target: Target) -> dict:
    """optimize(): compact, update indices, prune old versions while keeping every tagged one.

    Lance refuses to prune a tagged version, so pruning only reaches versions older than the
    oldest tag kept (minus PRUNE_MARGIN), never younger than PRUNE_MIN_AGE; the newest
    KEEP_SYNC_TAGS sync/rollback tags are kept (any other tag forever).
    """
    never = timedelta(days=36500)
    with db_errors(target, "table maintenance (optimize) failed"):
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


def syncs_since_optimize(table, target: Target) -> int:
    with db_errors(target, "cannot list tags"):
        tags = table.tags.list()
    since = tags.get(OPTIMIZED_TAG, {}).get("version", 0)
    return sum(1 for name, t in tags.items() if name.startswith("sync-") and t["version"] > since)

def list_tags(ws: Workspace, db: str | None = None) -> dict:
    target, table = open_existing(ws, db)
    with db_errors(target, "cannot list tags"):
        tags = table.tags.list()
        versions = {v["version"]: v for v in table.list_versions()}
        current = table.version
    out = []
    for name, t in sorted(tags.items(), key=lambda kv: kv[1]["version"]):
        v = versions.get(t["version"], {})
        rows = (v.get("metadata") or {}).get("total_rows")
        out.append({"tag": name, "version": t["version"], "rows": int(rows) if rows is not None else None})
    return {"db": target.shown, "table": TABLE, "version": current, "tags": out}



def resolve_version(table, target: Target, to: str, where: str) -> tuple[int, str | None]:
    """A tag name or a version number of the table -> (version, tag or None); InputError if neither."""
    to = str(to).strip()
    with db_errors(target, "cannot read the table's versions"):
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
    require_lancedb()
    to = str(to).strip()
    with sync_lock(ws):
        target, table = open_existing(ws, db)
        version, tag = resolve_version(table, target, to, "--rollback")
        with db_errors(target, "cannot read the table"):
            before_version, before_rows = table.version, table.count_rows()
        now = clock_now()
        with db_errors(target, f"cannot restore version {version}"):
            table.restore(version)
            rows = table.count_rows()
        restored_version = table.version
        # the restored version may predate the primary key or the indices: search must work right away
        ensure_primary_key(table, target)
        indices = ensure_indices(table, target) if rows else []
        new_version = table.version
        new_tag = create_tag(table, "rollback", new_version, now, target) if restored_version != before_version else None
        changes = reconcile(ws, table, target, workspace_id(ws))
        record_version(ws, target, new_version)
    return {"db": target.shown, "table": TABLE, "restored": version, "restored_tag": tag, "version": new_version,
            "tag": new_tag, "rows_before": before_rows, "rows": rows, "previous_version": before_version, "reconciled": changes,
            "indices_created": indices}

