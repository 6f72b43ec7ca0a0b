"""Setting a culture's target (set_target.py): the workspace's plan gets only what differs from the
bundled plan, which it is merged over (plan.merge_plans)."""

from __future__ import annotations

import re

from ..base.errors import InputError
from ..base.jsonfiles import atomic_write, dumps, parse_json_bytes, read_json, raise_schema_errors, schema_errors, TMP_DIR
from .plan import DEFAULT_PLAN, merge_plans
from .workspace import Workspace

TARGET = re.compile(r"(?P<sign>\+)?(?P<n>[0-9]+)")  # fullmatch


def parse_target(text: str) -> tuple[bool, int | None]:
    """(relative, number) of `300`, `+100`, or `none` (not expanded: (False, None))."""
    t = (text or "").strip().lower()
    if t in ("none", "null", "0"):
        return False, None
    m = TARGET.fullmatch(t)
    if not m:
        raise InputError(f"expected a number of records (300), one relative to now (+100), or none; got {text!r}", where="TARGET")
    return bool(m["sign"]), int(m["n"])


def set_target(ws: Workspace, culture: str, text: str, row: dict, *, dry_run: bool = False) -> dict:
    """Give `culture` the target `text` means (see parse_target) in the workspace's plan. `+N` is
    relative to the culture's count now, `row` (status.culture_row): published (the baseline, else
    the plan's current) + new."""
    relative, n = parse_target(text)
    cfg = ws.culture(culture)
    if relative:
        if n == 0:
            raise InputError("expected a positive number after +", where="TARGET")
        target = row["reached"] + n
    else:
        target = n
    path = ws.own_plan_path
    own = parse_json_bytes(path.read_bytes(), path) if path.exists() else {}
    if not isinstance(own, dict):
        raise InputError(f"expected a JSON object, got {type(own).__name__}", file=path)
    cultures = own.setdefault("cultures", {})
    if not isinstance(cultures, dict):
        raise InputError(f"expected an object of cultures, got {type(cultures).__name__}", file=path, where="cultures")
    entry = cultures.setdefault(culture, {})
    if not isinstance(entry, dict):
        raise InputError(f"expected an object, got {type(entry).__name__}", file=path, where=f"cultures.{culture}")
    entry["target"] = target
    merged = merge_plans(read_json(DEFAULT_PLAN, "plan", cache=False), own)
    raise_schema_errors(schema_errors(merged, "plan"), path)  # nothing is written from a plan that would not load
    if not dry_run:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, [dumps(own)], temp_dir=path.parent / TMP_DIR)
    return {
        "culture": culture, "target": target, "was": cfg.target, "reached": row["reached"], "current": row["current"],
        "current_from": row["current_from"], "new": row["new"], "gap": max(target - row["reached"], 0) if target else None,
        "plan": ws.display(path), "dry_run": dry_run,
    }
