"""Removing candidates and correcting their filepaths (remove_candidates.py): the one change to a
candidates file other than appending, made under the culture's lock and followed at once by a
rebuild of its progress (claims refuse a file whose handed-out images were removed or renamed
until progress is rebuilt).

A candidate whose record was accepted, or that is in flight, is refused: the accepted record is in
the result files and stays; an image in flight may still get its record. A removed or corrected
filepath's failures and parking no longer count (progress.forget_removed): a corrected image is
pending again under its new filepath, with its metadata kept.

Those failures are still in the batch and missing-images files, so a filepath appended again later
gets them back in a rebuild: the removal log ({culture}_removed_candidates.json) lets
add_candidates.py see that and rebuild progress at once (reappended), so the kept progress never
differs from the rebuild."""

from __future__ import annotations

from .rebuild import fold, rebuild, rebuild_locked
from ..checks.batches import read_batch
from ..files.candidates import Candidates, load_candidates
from ..base.clock import iso, now as clock_now
from ..base.errors import InputError
from ..base.jsonfiles import read_json, write_json
from .progress import Progress
from ..files.published import normalise_filepath
from ..files.workspace import Workspace, batch_tag


def accepted_in(ws: Workspace, culture: str) -> dict[str, int]:
    """Every filepath with an accepted record, and the batch that accepted it (last one wins)."""
    out: dict[str, int] = {}
    for bid in ws.batch_ids(culture, "result"):
        for item in read_batch(ws, culture, bid, "result")["items"]:
            if item["verdict"] == "accepted":
                out[item["filepath"]] = bid
    return out


def counts(p: Progress, max_attempts: int) -> dict:
    """Status's counts of one culture: completed + pending + parked + in_flight_items == total."""
    return {
        "total": p.total,
        "completed": p.completed,
        "pending": p.pending(max_attempts),
        "parked": len(p.parked(max_attempts)),
        "in_flight_items": sum(len(b["items"]) for b in p.in_flight.values()),
    }


def _unknown(fp: str, culture: str, known: dict[str, int]) -> str:
    import difflib  # only for this message

    close = difflib.get_close_matches(fp, list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{fp!r} is not a candidate of {culture}{hint}"


def edit_candidates(ws: Workspace, culture: str, remove: list[str], fixes: list[tuple[str, str]], *,
                    dry_run: bool = False) -> dict:
    """Remove the filepaths in `remove` and rename each (OLD, NEW) of `fixes`, all or nothing;
    rebuild the culture's progress. Every refusal is an InputError naming what to do instead."""
    cfg = ws.culture(culture)
    if not remove and not fixes:
        raise InputError("nothing to do: give the filepaths to remove, or --fix OLD NEW", where="arguments")
    with ws.lock(culture):
        cands = load_candidates(ws, culture)  # checked: culture, duplicates

        def known(fp: str) -> str:  # as written in the file (an entry edited by hand), else normalised as imports are
            return fp if fp in cands.index_of else normalise_filepath(fp)

        remove = [known(fp) for fp in remove]
        fixes = [(known(old), normalise_filepath(new)) for old, new in fixes]
        doc = read_json(cands.path, "candidates")
        # what the batch files say now (a kept progress may be stale or edited by hand)
        current = rebuild(ws, culture)
        accepted = accepted_in(ws, culture)
        busy = {fp: int(bid) for bid, entry in current.in_flight.items() for fp in entry["items"]}
        parked = current.parked(cfg.max_attempts)
        problems = []
        seen: set[str] = set()
        new_names: set[str] = set()
        for fp in remove + [old for old, _ in fixes]:
            if fp in seen:
                problems.append(f"{fp!r} is given twice")
            seen.add(fp)
            if fp not in cands.index_of:
                problems.append(_unknown(fp, culture, cands.index_of))
            elif fp in accepted:
                problems.append(f"{fp!r} was accepted (batch {batch_tag(accepted[fp])}): its record stays in the dataset, "
                                "so the candidate stays too; nothing to remove or correct")
            elif fp in busy:
                problems.append(f"{fp!r} is in flight in batch {batch_tag(busy[fp])}: run this again once that batch is "
                                f"collected (run_next_batch.py --count 0 collects; batch_status.py --culture {culture} shows it)")
        for old, new in fixes:
            if new == old:
                problems.append(f"--fix {old!r} {new!r}: the new filepath is the old one")
            elif new in cands.index_of:
                problems.append(f"--fix {old!r} {new!r}: {new!r} is already a candidate of {culture} "
                                f"(images[{cands.index_of[new]}]); remove {old!r} instead")
            elif new in new_names:
                problems.append(f"--fix ... {new!r}: the new filepath is given twice")
            new_names.add(new)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise InputError(problems[0] + more + "; nothing was changed", file=ws.display(cands.path))
        renamed = dict(fixes)
        dropped = set(remove)
        images = [img if img["filepath"] not in renamed else {**img, "filepath": renamed[img["filepath"]]}
                  for img in doc["images"] if img["filepath"] not in dropped]
        report = {
            "culture": culture,
            "dry_run": dry_run,
            "removed": remove,
            "fixed": [{"old": old, "new": new, "was_parked": old in parked,
                       "file_missing": str(m) if (m := ws.image_missing(new)) is not None else None} for old, new in fixes],
            "unparked": sorted(fp for fp in seen if fp in parked),
            "candidates": len(images),
        }
        if dry_run:  # the fold of the files as they would be, nothing written
            after = fold(ws, culture, Candidates(cands.path, images, {img["filepath"]: i for i, img in enumerate(images)}, ""), current)
        else:
            log = removal_log(ws, culture) or {"culture": culture, "filepaths": {}}
            log["filepaths"].update({fp: iso(clock_now()) for fp in seen})
            # first: an entry too many costs one rebuild, never a wrong count
            write_json(ws.removed_candidates_path(culture), log, "removed_candidates")
            write_json(cands.path, {**doc, "images": images}, "candidates")
            after = rebuild_locked(ws, culture, write=True)[1]
        report["status"] = counts(after, cfg.max_attempts)
        return report


def removal_log(ws: Workspace, culture: str) -> dict | None:
    path = ws.removed_candidates_path(culture)
    log = read_json(path, "removed_candidates", missing_ok=True)
    if log is not None and log["culture"] != culture:
        raise InputError(f"expected {culture!r} (the file name says so), got {log['culture']!r}", file=ws.display(path), where="culture")
    return log


def reappended(ws: Workspace, culture: str, added: list[str]) -> list[str]:
    """After add_candidates.py appended `added` (lock held): those once removed or renamed away
    bring their earlier failures back, which only a rebuild sees, so progress is rebuilt now."""
    log = removal_log(ws, culture)
    back = [fp for fp in added if log is not None and fp in log["filepaths"]]
    if back and ws.progress_path(culture).exists():
        rebuild_locked(ws, culture, write=True)
    return back
