"""A Session: one locked unit of work on one culture.

Every change happens in a Session: the culture's lock is held, the state is reconciled with the
files on disk (a crash between writing a batch file and writing progress is healed here), and
progress is written last, atomically. Batch files are written before progress, so progress is
always a fold over them (see progress.py). Constructing a Session only reads: what the
reconciliation must write is written by `begin()`, before the work (run_session calls it).

Its jobs live in one module each, as the mixins it is made of: the missing-images log
(missing_images.py), collection (collect.py), claims (claim.py) and re-queueing (requeue.py).
Rebuilding progress from the files alone is rebuild.py.
"""

from __future__ import annotations

import time

from ..base import faults
from . import progress as prog
from ..checks.batches import read_batch
from ..files.candidates import candidates_sig, load_candidates
from .claim import Claiming
from ..base.clock import iso, now as clock_now
from .collect import Collecting
from ..base.errors import InputError, WorkFailed
from ..base.jsonfiles import read_json, write_json
from .missing_images import MissingImages
from ..files.plan import Culture
from .progress import load_progress
from .rebuild import fold
from .requeue import Requeueing
from ..files.workspace import Workspace, batch_tag


class Session(MissingImages, Collecting, Claiming, Requeueing):
    """One locked unit of work on one culture."""

    def __init__(self, ws: Workspace, culture: str):
        self.ws = ws
        self.cfg: Culture = ws.culture(culture)
        self.name = culture
        self.now = clock_now()
        self.cands = load_candidates(ws, culture)
        self._dirty = False
        self._missing_doc: dict | None = None
        self._missing_unsaved = 0  # images parked since the missing-images file was last written
        self._saved_at = time.monotonic()
        self._save_took = 0.0  # seconds the last save took
        self.parked_missing: list[dict] = []  # parked by this session's claims: their file does not exist
        self.still_missing: list[dict] = []  # parked for a missing file that requeue left parked: still missing
        self._present: set[str] = set()
        self.held_back: list[dict] = []  # claims of another session a take-over left alone: too recent, not confirmed
        self._temp_files_checked = False
        self._lease_ends: list[dict] = []  # adopted claims whose input file must say their lease ended
        self.skip: set[str] = set()  # images a pick passes over (shared claims: taken by other workspaces)
        p = load_progress(ws, culture)
        if p is None:
            # never saved, or deleted by hand: the fold of every batch file on disk. Its input files
            # were saved with a progress write that is lost, not by a claim that died before
            # saving (the first claim saves progress before its input file), so their leases stay
            p = fold(ws, culture, self.cands)
            self._dirty = True
        self.progress: prog.Progress = p
        self._check_cursor()
        self._reconcile()

    def begin(self) -> None:
        """Write what the reconciliation found, before any work: remove temporary files left by a
        killed process, and end the lease of each adopted claim (before the progress that refers to
        it, and before a claim offers it again). Idempotent; save() calls it too."""
        if not self._temp_files_checked:
            self.ws.remove_stale_temp_files(self.name)
            self._temp_files_checked = True
        while self._lease_ends:
            batch = self._lease_ends.pop(0)
            write_json(self.ws.batch_path(self.name, batch["batch_id"], "input"), batch, "batch_input")

    def _check_cursor(self) -> None:
        p, images = self.progress, self.cands.images
        if self.cands.sig != p.candidates_sig:
            if not p.prefix_intact(images):
                raise InputError(
                    "images already handed out were removed or reordered; only append to a candidates file "
                    "(add_candidates.py does; remove_candidates.py removes or corrects candidates), or run "
                    "batch_status.py --rebuild after such an edit",
                    file=self.ws.display(self.cands.path), where="images",
                )
            p.apply_candidates(images, self.cands.sig)
            self._dirty = True

    def _reconcile(self) -> None:
        p = self.progress
        # an input file past next_batch: a claim whose progress write did not happen
        while self.ws.batch_path(self.name, p.next_batch, "input").exists():
            self._adopt(read_batch(self.ws, self.name, p.next_batch, "input"))
        results = []
        for key in sorted(p.in_flight, key=int):
            bid = int(key)
            result = read_batch(self.ws, self.name, bid, "result", missing_ok=True)
            if result is not None:  # collected, but progress was not written
                results.append(result)
                continue
            batch = read_batch(self.ws, self.name, bid, "input", missing_ok=True)
            if batch is None:
                raise WorkFailed(f"{self.name} batch {batch_tag(bid)} is in flight but its input file is gone; "
                                 "run batch_status.py --rebuild (its images become pending again)")
            if batch["claims"] != p.in_flight[key]["claims"]:  # a re-offer whose progress write did not happen
                self._adopt(batch)
        # a missing-images event past last_seq: a claim parked it, but its progress write did not happen
        events = [e for e in self.missing_events() if e["seq"] > p.last_seq]
        for _seq, kind, doc in sorted([(r["seq"], 0, r) for r in results] + [(e["seq"], 1, e) for e in events],
                                      key=lambda t: t[:2]):
            # in collection order, as a rebuild does
            if kind == 0:
                p.apply_result(doc)
            else:
                p.apply_missing(doc)
            self._dirty = True
        self._unpick([e["filepath"] for e in events])
        requeue = read_json(self.ws.requeue_path(self.name), "requeue", missing_ok=True)
        if requeue is not None and requeue["rev"] != p.requeue_rev:
            p.apply_requeue(requeue)
            self._dirty = True

    def _adopt(self, batch: dict) -> None:
        """Take in a claim whose process died before saving progress. Its brief was never printed
        (scripts print after saving), so its lease is ended now (its input file says so once
        begin() ran): the next claim offers it again."""
        if not prog.lease_expired(batch, self.now):
            batch["lease_expires_at"] = iso(self.now)
            self._lease_ends.append(batch)
        self.progress.apply_claim(batch, self.cands.index_of, self.cands.images)
        self._dirty = True

    def save(self) -> None:
        start = time.monotonic()
        self.begin()
        if self._missing_unsaved:
            self._save_missing()  # before progress: progress is a fold over the files
            faults.point("claim.missing_saved")
        if self.progress.forget_removed(self.cands.index_of):  # as the fold does
            self._dirty = True
        if self._dirty:
            self.progress.last_updated = iso(self.now)
            write_json(self.ws.progress_path(self.name), self.progress.to_json(), "progress")
            self._dirty = False
        self._saved_at = time.monotonic()
        self._save_took = self._saved_at - start

    def set_merged(self, batch_ids: list[int]) -> None:
        """merged_batches as the database says (sorted batch ids)."""
        if batch_ids != self.progress.merged_batches:
            self.progress.merged_batches = list(batch_ids)
            self._dirty = True

    def mark_merged(self, batch_ids: list[int]) -> None:
        """These batches are now in the database (only completed batches are recorded)."""
        done = set(self.progress.completed_batches)
        self.set_merged(sorted(set(self.progress.merged_batches) | {b for b in batch_ids if b in done}))




def run_session(ws: Workspace, culture: str, fn):
    """Run fn(session) under the culture's lock, then save progress."""
    with ws.lock(culture):
        session = Session(ws, culture)
        session.begin()
        result = fn(session)
        session.save()
        return result


def needs_attention(ws: Workspace, culture: str, p: prog.Progress | None) -> bool:
    """Cheap unlocked check: is there anything to collect or reconcile for this culture? `p`: its
    saved progress (load_progress), None when there is none."""
    if p is None:  # a session rebuilds it from the batch files, if there are any
        return ws.candidates_path(culture).exists() and any(ws.batch_files(culture).values())
    if ws.batch_path(culture, p.next_batch, "input").exists():
        return True
    if candidates_sig(ws.candidates_path(culture)) != p.candidates_sig:
        return True
    for key in p.in_flight:
        if ws.batch_path(culture, int(key), "output").exists() or ws.batch_path(culture, int(key), "result").exists():
            return True
        if not ws.batch_path(culture, int(key), "input").exists():  # deleted by hand: the session says what to do
            return True
    return False

