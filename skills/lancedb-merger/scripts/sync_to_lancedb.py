#!/usr/bin/env python3
# GENERATED from scripts/sync_to_lancedb.py by tools/generate.py; edit the source, not this copy
"""Merge accepted critiques into LanceDB (table `critiques`): idempotent upsert, one row per filepath whatever the writers.

  sync_to_lancedb.py                          merge each culture with >= its sync_threshold (plan, default 100) records waiting
  sync_to_lancedb.py --force                  merge whatever waits, any amount
  sync_to_lancedb.py --culture korean --force one culture only
  sync_to_lancedb.py --dry-run                say what would be merged; change nothing
  sync_to_lancedb.py --db s3://bucket/vulca   another database (credentials from AWS_* variables)
  sync_to_lancedb.py --list                   the table's tags (one per sync) with versions and rows
  sync_to_lancedb.py --rollback sync-20260301T101500Z-v12
                                              restore a tag (or a version number); the next sync re-merges what it removed
  sync_to_lancedb.py --optimize               compact and update the indices now (done by itself every 10 syncs)
  sync_to_lancedb.py --baseline               merge the published baseline's records (set_baseline.py) as they are

A culture is also merged below its threshold once it has no work left (nothing pending or in flight).
Each sync that writes is a new table version with a tag sync-<UTC time>-v<version>; merged batches
are recorded in the progress files only after the commit, so a crash is healed by the next run.
Several workspaces may sync into one database at once: each row carries its workspace's id
(checkpoints/workspace_id.json), and duplicates of the filepaths just merged are removed (newest kept).
Database: --db, else $CRITIQUE_BATCH_DB, else the plan's database.uri, else <workspace>/lancedb. Object stores read their
settings from the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_REGION, AWS_ALLOW_HTTP, ...) or $CRITIQUE_BATCH_STORAGE_OPTIONS (a JSON object).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402


def waiting_text(cultures) -> str:
    return ", ".join(f"{c['culture']} {c['waiting']} waiting (sync at {c['sync_threshold']})" for c in cultures) or "no culture has started"


def reconciled_lines(changes) -> list[str]:
    lines = []
    for ch in changes:
        parts = []
        if ch["now_unmerged"]:
            parts.append(f"{cli.plural(len(ch['now_unmerged']), 'batch')} to re-merge")
        if ch["now_merged"]:
            parts.append(f"{cli.plural(len(ch['now_merged']), 'batch')} found in the table")
        lines.append(f"note: {ch['culture']} merged_batches corrected from the table: " + ", ".join(parts))
    return lines


def baseline_hint(ws, args) -> str:
    """Where a workspace has a published baseline and surely no table yet, the command that merges it."""
    from critique_batch.files import baseline
    from critique_batch.store.database import resolve_target

    if baseline.is_set(ws) and resolve_target(ws, args.db).surely_without_table():
        return "\nthe published baseline is not in the table yet: sync_to_lancedb.py --baseline merges it (search and export then find it)"
    return ""


def force_hint(args) -> str:
    """The --force hint, only where --force would change something."""
    return "" if args.force else "; --force merges any amount"


def run(args) -> int:
    from critique_batch.store import sync, versions
    from critique_batch.files.workspace import Workspace

    ws = Workspace(args.workspace)
    modes = [m for m in ("rollback", "list", "baseline") if getattr(args, m)]
    dry = args.dry_run and modes != ["baseline"]  # --baseline --dry-run says what it would insert
    if modes and (args.force or dry or args.culture or args.optimize or len(modes) > 1):
        raise cli.InputError(f"--{modes[0]} cannot be combined with other options", where="usage")

    if args.list:
        out = versions.list_tags(ws, args.db)
        if args.json:
            cli.emit_json(out)
        else:
            print(f"{cli.one_line(out['db'])}: table {out['table']} at version {out['version']}")
            for t in out["tags"]:
                print(f"  {t['tag']:<40} version {t['version']:>5}  {t['rows'] if t['rows'] is not None else '?':>7} rows")
        return 0

    if args.baseline:
        report = sync.merge_baseline(ws, db=args.db, dry_run=args.dry_run)
        if args.json:
            cli.emit_json(report.as_json())
            return 0
        if args.dry_run:
            table = f"version {report.version}, {report.rows} rows" if report.version is not None else "no table yet"
            print(f"dry run: would insert {report.inserted} of {report.records} published records into {cli.one_line(report.db)} "
                  f"({table}), {report.already} already in the table; nothing changed")
            return 0
        print(f"baseline: {report.inserted} of {report.records} published records inserted, "
              f"{report.already} already in the table")
        print(f"{cli.one_line(report.db)}: version {report.version}" + (f", tag {report.tag}" if report.tag else "") + f"; {report.rows} rows")
        return 0

    if args.rollback:
        out = versions.rollback(ws, args.rollback, db=args.db)
        if args.json:
            cli.emit_json(out)
            return 0
        what = f"tag {out['restored_tag']} (version {out['restored']})" if out["restored_tag"] else f"version {out['restored']}"
        if out["tag"]:
            print(f"restored {what} as version {out['version']}, tag {out['tag']}; rows {out['rows_before']} -> {out['rows']}"
                  + ("; indices rebuilt" if out["indices_created"] else ""))
        else:
            print(f"the table is already at {what}; nothing restored")
        for line in reconciled_lines(out["reconciled"]):
            print(line)
        if any(ch["now_unmerged"] for ch in out["reconciled"]):
            print("their records wait to be merged again: the next sync that is due merges them (--force: now)")
        return 0

    report = sync.sync(ws, culture=args.culture, force=args.force, dry_run=args.dry_run, db=args.db, optimize=args.optimize)
    if args.json:
        cli.emit_json(report.as_json())
        return 0
    for line in reconciled_lines(report.reconciled):
        print(line)
    if args.dry_run:
        if report.would_merge:
            per = ", ".join(f"{c['culture']} {c['waiting']}" for c in report.cultures if c["culture"] in report.would_merge)
            print(f"dry run: would merge {cli.plural(report.records, 'record')} ({per}) into {cli.one_line(report.db)}, "
                  f"recording {cli.plural(report.batches, 'batch')} as merged; nothing changed")
        else:
            print(f"dry run: nothing would be merged ({waiting_text(report.cultures)}){force_hint(args)}")
        return 0
    if report.merged:
        per = ", ".join(f"{c['culture']} {c['merging']}" for c in report.cultures if c.get("merging"))
        dup = f", {cli.plural(report.duplicates, 'older duplicate')} skipped" if report.duplicates else ""
        # batches without accepted records are recorded as merged too: the count is of batches, not of sources
        print(f"merged {cli.plural(report.records, 'record')} ({per}): "
              f"{report.inserted} inserted, {report.updated} updated, {report.unchanged} unchanged{dup}; "
              f"{cli.plural(report.batches, 'batch')} recorded as merged")
        tag = f", tag {report.tag}" if report.tag else ""
        print(f"{cli.one_line(report.db)}: version {report.version}{tag}; {report.rows} rows" + ("; optimized" if report.optimized else ""))
    elif report.unchanged:  # a re-run, or records another workspace merged first: no new version, no tag
        print(f"{cli.plural(report.unchanged, 'record')} already in the table as they are, nothing written; "
              f"{cli.plural(report.batches, 'batch')} recorded as merged")
    elif report.batches:
        print(f"recorded {cli.plural(report.batches, 'batch')} without accepted records as merged; nothing to write")
    elif args.optimize:
        print(f"nothing to merge ({waiting_text(report.cultures)})" + ("; optimized" if report.optimized else "; nothing to optimize"))
    else:
        print(f"nothing to merge: {waiting_text(report.cultures)}{force_hint(args)}" + baseline_hint(ws, args))
    if report.duplicates_removed:  # another workspace's writer inserted the same filepaths at the same moment
        print(f"removed {cli.plural(report.duplicates_removed, 'duplicate row')}: one row per filepath, the newest kept")
    return 0


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    cli.add_culture(p, "merge this culture only")
    p.add_argument("--force", action="store_true", help="merge whatever waits, below the threshold too")
    p.add_argument("--dry-run", action="store_true", help="say what would be merged; change nothing")
    p.add_argument("--db", metavar="URI",
                   help="database folder or URI (default: $CRITIQUE_BATCH_DB, the plan's database.uri, or <workspace>/lancedb)")
    p.add_argument("--rollback", metavar="TAG_OR_VERSION", help="restore the table to a tag or version and correct merged_batches")
    p.add_argument("--list", action="store_true", help="list the table's tags and versions")
    p.add_argument("--optimize", action="store_true", help="compact the table and update its indices now")
    p.add_argument("--baseline", action="store_true", help="merge the published baseline's records into the table, unchanged")
    cli.main(run, cli.take_culture(p, p.parse_args()))
