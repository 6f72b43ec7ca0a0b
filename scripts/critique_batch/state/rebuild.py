"""Progress as a fold over the batch files alone: the rebuild (batch_status.py --rebuild), its
check against the kept progress, and the unlocked view that status and sync read."""

from __future__ import annotations

from . import progress as prog
from ..checks.batches import read_batch
from ..files.candidates import Candidates, candidates_sig, load_candidates
from ..base.clock import iso, now as clock_now
from ..base.errors import InputError
from ..base.jsonfiles import read_json, write_json
from .progress import load_progress
from ..files.workspace import Workspace


def fold(ws: Workspace, culture: str, cands: Candidates, old: prog.Progress | None = None) -> prog.Progress:
    """Progress as a fold over the candidates, batch, missing-images and requeue files alone. Leases are as the
    input files say. merged_batches is carried over from `old` (what the database holds)."""
    files = ws.batch_files(culture)
    p = prog.Progress(culture)
    p.apply_candidates(cands.images, cands.sig)
    results = [read_batch(ws, culture, bid, "result") for bid in files["result"]]
    for bid in files["input"]:
        p.apply_claim(read_batch(ws, culture, bid, "input"), cands.index_of, cands.images)
    missing = read_json(ws.missing_images_path(culture), "missing_images", missing_ok=True) or {"events": []}
    # results and images parked at claim time, in collection order
    for _, kind, doc in sorted([(r["seq"], 0, r) for r in results] + [(e["seq"], 1, e) for e in missing["events"]], key=lambda t: t[:2]):
        if kind == 0:
            p.apply_result(doc)  # also ends the batch's claim
        else:
            p.apply_missing(doc)
    p.apply_requeue(read_json(ws.requeue_path(culture), "requeue", missing_ok=True))
    p.forget_removed(cands.index_of)  # a removed or corrected candidate is no longer parked
    # a batch id with any file on disk is never handed out again: a subagent may still write an
    # output for a batch whose input file was deleted
    p.next_batch = max([p.next_batch] + [bid + 1 for ids in files.values() for bid in ids])
    handed = p.in_flight_items() | set(p.failures)
    handed.update(item["filepath"] for r in results for item in r["items"] if item["verdict"] == "accepted")
    p.set_handed_out(cands.images, handed)
    if old is not None:
        p.merged_batches = sorted(set(old.merged_batches) & set(p.completed_batches))
    return p


_UNREAD = object()


def rebuild(ws: Workspace, culture: str, old=_UNREAD) -> prog.Progress:
    """Recompute progress from the candidates, batch and requeue files alone. `old`: the kept
    progress when the caller has read it (None: missing or unreadable); read here otherwise."""
    cands = load_candidates(ws, culture)
    if old is _UNREAD:
        try:
            old = load_progress(ws, culture)
        except InputError:
            old = None  # a broken progress file is what rebuild is for
    p = fold(ws, culture, cands, old)
    p.last_updated = iso(clock_now())
    return p


class RebuildCheck:
    """One culture's rebuild compared with the progress kept on disk."""

    __slots__ = ("culture", "matches", "changed", "was_broken", "pending", "pending_before", "nothing_kept")

    def __init__(self, culture: str, matches: bool, changed: list[str], was_broken: str | None, pending: int,
                 pending_before: int | None, nothing_kept: bool = False):
        self.culture = culture
        self.matches = matches
        self.changed = changed  # the fields that differ
        self.was_broken = was_broken  # why the kept progress file could not be read
        self.pending = pending
        self.pending_before = pending_before
        self.nothing_kept = nothing_kept  # no progress file yet: nothing to compare (a session folds the files)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


def rebuild_progress(ws: Workspace, names: list[str], *, write: bool) -> list[RebuildCheck]:
    """Rebuild each culture's progress under its lock and compare it with the kept one; with
    `write`, replace a kept progress that differs (or is missing or unreadable)."""
    out = []
    for name in names:
        with ws.lock(name):
            out.append(rebuild_locked(ws, name, write=write)[0])
    return out


def rebuild_locked(ws: Workspace, name: str, *, write: bool) -> tuple[RebuildCheck, prog.Progress]:
    """rebuild_progress of one culture whose lock the caller holds; also returns the rebuilt progress."""
    try:
        kept = load_progress(ws, name, consistent=False)  # a contradiction shows as the fields that differ
    except InputError as exc:
        kept, broken = None, str(exc)
    else:
        broken = None
    if kept is not None:  # totals from a candidates file appended to since (as a session sees it)
        kept = with_candidates(ws, name, kept)
    fresh = rebuild(ws, name, kept)
    nothing_kept = kept is None and broken is None
    kept_cmp = kept.comparable() if kept is not None else {}
    changed = [] if nothing_kept else sorted(k for k, v in fresh.comparable().items() if kept_cmp.get(k) != v)
    if write and (changed or kept is None):
        write_json(ws.progress_path(name), fresh.to_json(), "progress")
    tries = ws.culture(name).max_attempts
    check = RebuildCheck(name, not changed, changed, broken, fresh.pending(tries),
                         kept.pending(tries) if kept is not None else None, nothing_kept)
    return check, fresh


def with_candidates(ws: Workspace, culture: str, p: prog.Progress) -> prog.Progress:
    """p with totals from the candidates file when it changed since p was saved (add_candidates.py
    appends without a session): what the next session will see. Cheap when unchanged (one stat)."""
    sig = candidates_sig(ws.candidates_path(culture))
    if sig is not None and sig != p.candidates_sig:
        cands = load_candidates(ws, culture)
        p.apply_candidates(cands.images, cands.sig)
    return p


def progress_view(ws: Workspace, culture: str, saved: dict | None = None) -> prog.Progress | None:
    """Progress for readers (status, sync), without the lock and without writing: the saved file
    with current totals; or the fold of the batch files when it is missing (and batch files exist)
    or when the candidates file was edited other than by appending (claims then ask for a rebuild:
    the returned view has rebuild_needed set, a field never saved). None when nothing was ever
    claimed. `saved`: progress files the caller has read, by culture (this one is read when absent)."""
    p = saved[culture] if saved is not None and culture in saved else load_progress(ws, culture)
    if p is None:
        if not ws.candidates_path(culture).exists() or not any(ws.batch_files(culture).values()):
            return None
        return fold(ws, culture, load_candidates(ws, culture))
    sig = candidates_sig(ws.candidates_path(culture))
    if sig is None or sig == p.candidates_sig:
        return p
    cands = load_candidates(ws, culture)
    if not p.prefix_intact(cands.images):
        view = fold(ws, culture, cands, p)
        view.rebuild_needed = True
        return view
    p.apply_candidates(cands.images, cands.sig)
    return p
