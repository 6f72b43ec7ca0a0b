"""Setting a workspace's baseline (set_baseline.py): the published files scanned (baseline.py reads
them), checked against the pair_ids the critiques table already gives, and written under the sync
lock. Here, above the store, because that check opens the table."""

from __future__ import annotations

from pathlib import Path

from ..files.baseline import IMAGES, LOCK_TIMEOUT_S, SUMMARY, Scan, scan
from ..base.clock import iso, now as clock_now
from ..base.errors import InputError
from ..base.jsonfiles import write_json
from ..files.workspace import Workspace


def set_baseline(ws: Workspace, paths: list[Path], *, dry_run: bool = False) -> dict:
    """Make these published files the workspace's baseline (replacing any earlier one)."""
    if not paths:
        raise InputError("expected one or more published .jsonl files", where="FILE")
    result = scan(paths, set(ws.plan.cultures))
    cultures: dict[str, dict] = {}
    images: dict[str, dict[str, str]] = {}
    for rec in result.kept:
        c = cultures.setdefault(rec.culture, {"records": 0, "duplicates": 0, "max_pair_id": 0})
        c["records"] += 1
        images.setdefault(rec.culture, {})[rec.filepath] = rec.pair_id
    for d in result.duplicates:
        cultures[d["culture"]]["duplicates"] += 1
    for rec in result.kept:
        c = cultures[rec.culture]
        c["max_pair_id"] = max(c["max_pair_id"], int(rec.pair_id[5:]))
    stamp = iso(clock_now())
    summary = {
        "version": 1,
        "set_at": stamp,
        "sources": result.sources,
        "max_pair_id": result.max_pair_id,
        "pair_id_width": result.max_pair_width,
        "cultures": dict(sorted(cultures.items())),
        "duplicates": result.duplicates,
        "shapes": result.shapes.shapes(),
    }
    if dry_run:
        _refuse_given_pair_ids(ws, result)
        return summary
    from .sync_state import sync_lock

    ws.checkpoints.mkdir(parents=True, exist_ok=True)
    # the sync lock: no sync numbers records, and no --baseline merge reads the baseline, while it changes
    with sync_lock(ws), ws.named_lock("baseline.lock", LOCK_TIMEOUT_S, "set_baseline.py: another process has held the baseline lock"):
        _refuse_given_pair_ids(ws, result)
        # the image list first: a summary always has its images file (set_at ties them)
        write_json(ws.checkpoints / IMAGES, {"set_at": stamp, "cultures": images}, "baseline_images")
        write_json(ws.checkpoints / SUMMARY, summary, "baseline")
    return summary


def _refuse_given_pair_ids(ws: Workspace, result: Scan) -> None:
    """Exit 2 when the workspace's critiques table already gives a published pair_id to another
    image (pair_ids.refuse_published_conflicts). Without a table, or without lancedb installed,
    there is nothing to check here (sync_to_lancedb.py --baseline checks again before merging)."""
    from .database import resolve_target

    target = resolve_target(ws)
    if target.surely_without_table():
        return
    try:
        import lancedb  # noqa: F401
    except ModuleNotFoundError:
        return
    from .database import connect, open_table
    from .pair_ids import existing_ids, refuse_published_conflicts

    table = open_table(connect(target), target)
    if table is not None:
        refuse_published_conflicts(existing_ids(table, target), target, result)
