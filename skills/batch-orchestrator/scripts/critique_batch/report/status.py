# GENERATED from scripts/critique_batch/report/status.py by tools/generate.py; edit the source, not this copy
"""What batch_status.py reports: an overview of every culture, or one culture in detail.
Reads the plan and the progress files (the candidates file too when it changed since progress was
saved; the batch files only when a progress file is missing), never lancedb, so its cost does not
grow with the number of finished batches."""

from __future__ import annotations

import math

from ..state import progress as prog
from ..base.text import one_line
from ..base.words import bar, cut, plural
from ..base.clock import parse_time
from ..files.candidates import load_candidates
from ..state.rebuild import progress_view
from ..base.errors import BatchError
from ..files.plan import Culture, target_command
from ..files.workspace import Workspace, batch_tag

def dataset_counts(cfg: Culture, baseline, p: prog.Progress) -> tuple[int, str, int, int]:
    """(current, where it comes from, new records, regenerated). current: the dataset before this
    expansion: the published baseline's count when one is set for this culture, else the plan's
    `current`; published images critiqued again are not new records."""
    published = baseline.count(cfg.name) if baseline is not None and cfg.name in baseline.cultures else None
    regenerated = p.regenerated or 0
    return (published if published is not None else cfg.current, "baseline" if published is not None else "plan",
            p.completed - regenerated, regenerated)


class CultureRow(dict):
    """One culture's status row: the dict is what is printed (--json prints it as it is); the
    progress and the parked items it was computed from ride along as attributes, for detail()."""

    __slots__ = ("progress", "parked")


def culture_row(ws: Workspace, cfg: Culture, baseline=None, saved: dict | None = None) -> CultureRow:
    configured = ws.candidates_path(cfg.name).exists()
    p = progress_view(ws, cfg.name, saved) if configured else None
    if configured and p is None:  # candidates but nothing claimed yet
        p = prog.Progress(cfg.name)
        p.apply_candidates(load_candidates(ws, cfg.name).images, None)
    p = p or prog.Progress(cfg.name)
    parked = p.parked(cfg.max_attempts)
    current, current_from, new, regenerated = dataset_counts(cfg, baseline, p)
    reached = current + new
    target = cfg.target
    row = CultureRow({
        "culture": cfg.name,
        "configured": configured,
        "generator": cfg.generator or None,
        "current": current,
        "current_from": current_from,
        "target": target,
        "reached": reached,
        "new": new,
        "regenerated": regenerated,
        "gap": max(target - reached, 0) if target else None,
        "relative_gap": round(max(1 - reached / target, 0.0), 4) if target else None,
        "total": p.total,
        "completed": p.completed,
        "pending": p.pending(cfg.max_attempts),
        "in_flight": len(p.in_flight),
        "in_flight_items": sum(len(b["items"]) for b in p.in_flight.values()),
        "failed": len(p.failed_batches),
        "retrying": len(p.retry_pool(cfg.max_attempts)),
        "parked": len(parked),
        "unmerged": p.unmerged(),
        "sync_threshold": cfg.sync_threshold,
        "sync_due": p.sync_due(cfg.sync_threshold, cfg.max_attempts),
        "next_batch": p.next_batch,
        "rebuild_needed": p.rebuild_needed,  # candidates edited other than by appending
    })
    row.progress, row.parked = p, parked
    return row


def overview(ws: Workspace, only: str | None = None, saved: dict | None = None, broken: dict | None = None) -> list[CultureRow]:
    """Every culture's row (or only one's), ranked. `saved`: progress files the caller has read, by
    culture (the others are read here). `broken`: given (a claim by priority), a culture whose files
    cannot be read is left out and its error put there, by culture, instead of stopping the rest."""
    from ..files.baseline import load_baseline

    plan = ws.plan
    baseline = load_baseline(ws)
    names = [ws.culture(only).name] if only else list(plan.cultures)  # ws.culture: the error names the workspace's plan
    rows = []
    for n in names:
        if broken is None:
            rows.append(culture_row(ws, plan.culture(n), baseline, saved))
        elif n not in broken:
            try:
                rows.append(culture_row(ws, plan.culture(n), baseline, saved))
            except BatchError as exc:
                broken[n] = exc
    # a culture without a target is not expanded: never in the priority order
    ranked = sorted((r for r in rows if r["configured"] and r["target"] and (r["pending"] or r["in_flight"])),
                    key=lambda r: (-r["relative_gap"], r["culture"]))
    for i, r in enumerate(ranked, 1):
        r["priority"] = i
    for r in rows:
        r.setdefault("priority", None)
    return rows


def priority_order(rows: list[dict]) -> list[str]:
    return [r["culture"] for r in sorted((r for r in rows if r["priority"]), key=lambda r: r["priority"])]


def public(row: CultureRow) -> dict:
    """The row as a plain dict (what is printed), apart from the state behind it."""
    return dict(row)


def detail(ws: Workspace, row: CultureRow, cfg: Culture, now) -> dict:
    p: prog.Progress = row.progress
    d = public(row)
    last = p.last_artist
    d["last_artist"] = {"artist": last, **p.artists_status.get(last, {"total": 0, "completed": 0})} if last else None
    # the batches in flight, plus the new batches the pending images make
    d["remaining_batches"] = row["in_flight"] + math.ceil(row["pending"] / cfg.batch_size)
    d["batch_size"] = cfg.batch_size
    d["max_parallel"] = cfg.max_parallel
    durations = p.recent_durations
    if durations:
        import statistics  # only here: importing it is a tenth of a status

        per_batch = statistics.median(durations)
        d["median_batch_seconds"] = per_batch
        # in waves of max_parallel batches: never less than one batch while any is left
        d["eta_seconds"] = round(math.ceil(d["remaining_batches"] / cfg.max_parallel) * per_batch)
    else:
        d["median_batch_seconds"] = None
        d["eta_seconds"] = None
    # new records the images not yet accepted could still bring (republished images are not new)
    could_add = row["pending"] + row["in_flight_items"]
    # a milestone beyond the culture's target (a baseline or a lowered target moved it there) is not one
    d["milestones"] = [
        {"name": name, "images": n, "dataset": row["current"] + n, "done": min(row["new"], n), "reached": row["new"] >= n,
         "reachable": row["new"] + could_add >= n}
        for name, n in cfg.milestones if not row["target"] or row["current"] + n <= row["target"]
    ]
    d["next_milestone"] = next((m for m in d["milestones"] if not m["reached"]), None)
    d["in_flight_batches"] = [
        {"batch_id": int(b), "items": len(e["items"]), "lease_expires_at": e["lease_expires_at"], "claims": e["claims"],
         "expired": prog.lease_expired(e, now),
         "lease_seconds_left": max(round((parse_time(e["lease_expires_at"]) - now).total_seconds()), 0),
         "session": e.get("session")}
        for b, e in sorted(p.in_flight.items(), key=lambda kv: int(kv[0]))
    ]
    d["failed_batches"] = p.failed_batches[-5:]
    d["stuck"] = [
        {"filepath": fp, "attempts": prog.attempts(f), "skipped": f["skips"] > f["forgiven_skips"], "reason": f["reason"], "batch_id": f["batch_id"]}
        for fp, f in row.parked.items()
    ]
    d["merged_batches"] = len(p.merged_batches)
    d["last_updated"] = p.last_updated
    return d


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _now_target(r: dict) -> str:
    return f"{r['reached']:>5}/{r['target'] if r['target'] else '-':<6} {r['gap'] if r['gap'] is not None else '-':>5}"


def render_overview(rows: list[dict]) -> str:
    order = priority_order(rows)
    lines = ["culture   now/target    gap  progress                   done/total flight failed parked unmerged"]
    for r in rows:
        if not r["target"]:
            note = "no target: not expanded" + ("" if r["configured"] else "; no candidates file")
            lines.append(f"{r['culture']:<9} {_now_target(r)}  ({note})")
            continue
        if not r["configured"]:
            lines.append(f"{r['culture']:<9} {_now_target(r)}  (no candidates file)")
            continue
        frac = r["reached"] / r["target"]
        lines.append(
            f"{r['culture']:<9} {_now_target(r)}  {bar(frac)} {min(frac, 9.99) * 100:>3.0f}% "
            f"{r['completed']:>5}/{r['total']:<5} {r['in_flight']:>4} {r['failed']:>6} {r['parked']:>6} {r['unmerged']:>8}"
        )
    if any(r["current_from"] == "baseline" for r in rows):
        lines.append("now = published (baseline) + new accepted; published images critiqued again are not counted twice")
    lines.append("priority: " + (" > ".join(order) if order else "nothing left to claim"))
    if not any(r["configured"] for r in rows):
        lines.append("next: add candidates first: add_candidates.py CULTURE FOLDER_OR_MANIFEST (see --help)")
    waiting = [r for r in rows if r["sync_due"]]
    hints = []
    if order:
        hints.append("claim: run_next_batch.py --count N")
    if waiting:
        hints.append("sync due: sync_to_lancedb.py (" + ", ".join(f"{r['culture']} {r['unmerged']}" for r in waiting) + ")")
    if any(r["parked"] for r in rows):
        hints.append("parked items: batch_status.py --culture C")
    full = [r for r in rows if r["configured"] and r["target"] and r["gap"] == 0 and (r["pending"] or r["in_flight"])]
    if full:
        hints.append("target reached with images left (" + ", ".join(f"{r['culture']} {r['reached']}/{r['target']}" for r in full)
                     + "): raise it with " + target_command(full[0]["culture"], f"+{full[0]['pending'] or 100}"))
    idle = [r["culture"] for r in rows if r["configured"] and not r["target"]]
    if idle:
        hints.append("no target (" + ", ".join(idle) + "): " + target_command(idle[0]) + " to expand it")
    edited = [r["culture"] for r in rows if r["rebuild_needed"]]
    if edited:
        hints.append("candidates edited (" + ", ".join(edited) + "): batch_status.py --rebuild")
    if hints:
        lines.append("next: " + "; ".join(hints))
    return "\n".join(lines)


def _lease(b: dict) -> str:
    who = f", session {one_line(b['session'])}" if b.get("session") else ""
    if b["expired"]:
        return "lease expired" + who
    return f"lease ends in {fmt_duration(b['lease_seconds_left'])}{who}"


def render_detail(d: dict, verbose: bool = False) -> str:
    c = d["culture"]
    if not d["configured"]:
        return f"{c}: no candidates file; create it with add_candidates.py {c} FOLDER_OR_MANIFEST"
    frac = d["completed"] / d["total"] if d["total"] else 0.0
    was = f"{d['current']} published" if d["current_from"] == "baseline" else f"{d['current']}"
    regen = f"; {d['regenerated']} of them published images critiqued again" if d["regenerated"] else ""
    dataset = (f"{d['reached']}/{d['target']} = {d['reached'] / d['target'] * 100:.0f}% of the target (was {was}, gap {d['gap']})" if d["target"]
               else f"{d['reached']} (was {was}); no target in the plan: not expanded ({target_command(c)} expands it)")
    lines = [
        f"{c} expansion (generator: {d['generator'] or 'none: generator_instructions.py'})",
        f"  candidates   {plural(d['total'], 'image')}; accepted {d['completed']}{regen} {bar(frac)} {frac * 100:.1f}% of the candidates",
        f"  dataset      {dataset}",
        f"  next batch   {batch_tag(d['next_batch'])}; pending {plural(d['pending'], 'image')}, {d['retrying']} of them retries",
    ]
    if d["target"] and d["gap"] == 0 and d["pending"]:
        lines.append(f"  target       reached with {plural(d['pending'], 'image')} pending: {target_command(c, '+' + str(d['pending']))} raises it")
    if d["rebuild_needed"]:
        lines.append(f"  candidates   edited other than by appending: claims wait for batch_status.py --rebuild --culture {c}")
    if d["last_artist"]:
        la = d["last_artist"]
        lines.append(f"  last artist  {one_line(la['artist'])} ({la['completed']}/{la['total']})")
    eta = (f", ~{fmt_duration(d['eta_seconds'])} at {fmt_duration(d['median_batch_seconds'])}/batch x {d['max_parallel']} parallel"
           if d["eta_seconds"] is not None else "")
    if d["remaining_batches"]:
        flying = f" ({d['in_flight']} in flight)" if d["in_flight"] else ""
        lines.append(f"  remaining    {plural(d['remaining_batches'], 'batch')} of {d['batch_size']}{flying}{eta}")
    else:
        lines.append("  remaining    none: every image is accepted" + (" or parked" if d["parked"] else ""))
    m = d["next_milestone"]
    if not d["target"]:
        lines.append("  milestone    none: the plan gives no target")
    elif m:
        reach = "" if m["reachable"] else "; not reachable with the images not yet accepted: add candidates"
        lines.append(f"  milestone    {m['name']}: {m['done']}/{m['images']} new images (dataset {m['dataset']}){reach}")
    elif d["milestones"]:
        lines.append("  milestone    all reached")
    if d["in_flight_batches"]:
        flights = ", ".join(f"{batch_tag(b['batch_id'])} ({_lease(b)})" for b in d["in_flight_batches"])
        lines.append(f"  in flight    {flights}")
    lines.append(f"  merged       {plural(d['merged_batches'], 'batch')}; {plural(d['unmerged'], 'record')} waiting (sync at {d['sync_threshold']})")
    if d["failed"]:
        last = "; ".join(f"{batch_tag(f['batch_id'])}: {cut(one_line(f['error']), 80)}" for f in d["failed_batches"][-2:])
        lines.append(f"  failed       {plural(d['failed'], 'batch')}, last: " + last)
    if d["stuck"]:
        shown = d["stuck"] if verbose else d["stuck"][:5]
        lines.append(f"  parked       {plural(len(d['stuck']), 'item')} "
                     f"(requeue_parked.py {c} re-queues them; an image whose file is missing once it exists):")
        for s in shown:
            reason = one_line(s["reason"]) if verbose else cut(one_line(s["reason"]), 100)
            lines.append(f"    {one_line(s['filepath'])}: {reason}")
        if len(shown) < len(d["stuck"]):
            lines.append(f"    ... {len(d['stuck']) - len(shown)} more (--verbose)")
        if any(s["reason"].startswith(prog.MISSING_REASON) for s in d["stuck"]):
            lines.append(f"    a mistyped filepath: remove_candidates.py {c} --fix OLD NEW corrects it (or removes it: PATH ...)")
    return "\n".join(lines)
