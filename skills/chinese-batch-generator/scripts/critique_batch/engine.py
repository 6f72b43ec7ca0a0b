# GENERATED from scripts/critique_batch/engine.py by tools/generate.py; edit the source, not this copy
"""Collecting finished batches, claiming new ones, re-queueing parked items, rebuilding progress.

Every change happens in a `Session`: the culture's lock is held, the state is reconciled with
the files on disk (a crash between writing a batch file and writing progress is healed here), and
progress is written last, atomically. Batch files are written before progress, so progress is
always a fold over them (see progress.py). Constructing a Session only reads: what the
reconciliation must write is written by `begin()`, before the work (run_session calls it).
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from . import faults
from . import progress as prog
from .batches import output_digest, read_batch
from .candidates import Candidates, candidates_sig, load_candidates
from .clock import iso, now as clock_now, parse_time
from .errors import InputError, WorkFailed
from .instructions import brief, check_brief_paths
from .jsonfiles import read_json, write_json
from .plan import Culture
from .progress import load_progress
from .published import GENERATOR_FIELDS
from .workspace import Workspace, batch_tag, setting

PARK_STEP = 100  # missing images parked at a time by a claim (each step moves the cursor once)
PARK_SAVE_EVERY = 1000  # a claim saves what it parked once this many wait ($CRITIQUE_BATCH_PARK_SAVE_EVERY) ...
PARK_SAVE_S = 10  # ... and as many as it saved, or this many seconds passed ($CRITIQUE_BATCH_PARK_SAVE_S)
# a take-over leaves alone, unless confirmed, a claim of another session younger than this: that
# session may still be running its subagents
TAKE_OVER_QUIET_MINUTES = 10
WRITE_GRACE_S = 60  # a malformed output younger than this, under a live claim, may still be being written


class Session:
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
        self._shared = _UNREAD  # shared_claims.SharedExpansion when claims are shared, else None
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

    # --- reconciliation with the files on disk ---------------------------------------------
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
        for _seq, kind, doc in sorted([(r["seq"], 0, r) for r in results] + [(e["seq"], 1, e) for e in events], key=lambda t: t[:2]):
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

    def missing_events(self) -> list[dict]:
        if self._missing_doc is None:
            self._missing_doc = (read_json(self.ws.missing_images_path(self.name), "missing_images", missing_ok=True)
                                 or {"culture": self.name, "events": []})
            if self._missing_doc["culture"] != self.name:
                raise InputError(f"expected {self.name!r}, got {self._missing_doc['culture']!r}",
                                 file=self.ws.missing_images_path(self.name), where="culture")
        return self._missing_doc["events"]

    def _unpick(self, filepaths: list[str]) -> None:
        """Images parked outside any batch are handed out all the same: the cursor moves past them
        (one move for them all: its cost is the images it passes)."""
        index_of = self.cands.index_of
        indices = [index_of[fp] for fp in filepaths if fp in index_of]
        if indices:
            self.progress.mark_handed_out(indices, self.cands.images)

    def _park_missing(self, found: list[tuple[dict, Path]]) -> None:
        """Park images whose file does not exist, as a skip of each (no attempt counted). Applied to
        progress now (so no later pick offers them); written to the missing-images file by
        _save_missing before anything else is written (the rebuild reads that file)."""
        if not found:
            return
        events = self.missing_events()
        for img, path in found:
            event = {"seq": self.progress.last_seq + 1, "filepath": img["filepath"], "path": str(path), "at": iso(self.now)}
            events.append(event)
            self.progress.apply_missing(event)
            self.parked_missing.append({"filepath": event["filepath"], "reason": prog.MISSING_REASON + event["path"]})
        self._unpick([img["filepath"] for img, _ in found])
        self._missing_unsaved += len(found)
        self._dirty = True

    def _save_missing(self) -> None:
        """Write the images parked since the last write (before progress, which is a fold over the
        files). Lost in a crash before it: those images are simply checked again."""
        if self._missing_unsaved:
            write_json(self.ws.missing_images_path(self.name), self._missing_doc, "missing_images")
            self._missing_unsaved = 0

    def _parking_save_due(self) -> bool:
        """A claim parking many images saves what it parked on the way, so a killed claim keeps it:
        after PARK_SAVE_EVERY parked, then whenever the unsaved ones are as many as the saved
        (each write costs the whole file: doubling keeps the writes' total linear) or PARK_SAVE_S
        seconds passed since the last save, and four times as long as it took (so saving never takes
        more than a fifth of the claim's time)."""
        unsaved = self._missing_unsaved
        if unsaved < setting("PARK_SAVE_EVERY", PARK_SAVE_EVERY):
            return False
        saved = len(self._missing_doc["events"]) - unsaved
        since = time.monotonic() - self._saved_at
        return unsaved >= saved or since >= max(setting("PARK_SAVE_S", PARK_SAVE_S, float), 4 * self._save_took)

    def _adopt(self, batch: dict) -> None:
        """Take in a claim whose process died before saving progress. Its brief was never printed
        (scripts print after saving), so its lease is ended now (its input file says so once
        begin() ran): the next claim offers it again."""
        if not prog.lease_expired(batch, self.now):
            batch["lease_expires_at"] = iso(self.now)
            self._lease_ends.append(batch)
        self.progress.apply_claim(batch, self.cands.index_of, self.cands.images)
        self._dirty = True

    @property
    def shared(self):
        """This expansion's claims shared with other workspaces (shared_claims.py), or None (the default)."""
        if self._shared is _UNREAD:
            from . import shared_claims  # light: lancedb is imported only when claims are shared

            self._shared = shared_claims.SharedExpansion(self) if shared_claims.configured(self.ws) else None
        return self._shared

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

    # --- what the database holds (sync) ------------------------------------------------------
    def set_merged(self, batch_ids: list[int]) -> None:
        """merged_batches as the database says (sorted batch ids)."""
        if batch_ids != self.progress.merged_batches:
            self.progress.merged_batches = list(batch_ids)
            self._dirty = True

    def mark_merged(self, batch_ids: list[int]) -> None:
        """These batches are now in the database (only completed batches are recorded)."""
        done = set(self.progress.completed_batches)
        self.set_merged(sorted(set(self.progress.merged_batches) | {b for b in batch_ids if b in done}))

    # --- collection ------------------------------------------------------------------------
    def collect(self) -> list[dict]:
        """Collect every in-flight batch whose output file exists."""
        out = []
        for key in sorted(self.progress.in_flight, key=int):
            summary = self.collect_batch(int(key))
            if summary is not None:
                out.append(summary)
        return out

    def collect_batch(self, bid: int) -> dict | None:
        entry = self.progress.in_flight[str(bid)]
        out_path = self.ws.batch_path(self.name, bid, "output")
        try:
            data = out_path.read_bytes()
            mtime = out_path.stat().st_mtime
        except FileNotFoundError:
            return None
        batch = read_batch(self.ws, self.name, bid, "input")
        items = [img["filepath"] for img in batch["images"]]
        from .validation import check_output_bytes  # only a collection needs it: spared by status and claim

        check = check_output_bytes(data, out_path, self.cfg, self.ws.plan, items)
        claim_no = batch["claims"]
        live = not prog.lease_expired(entry, self.now)
        if check.error and live and self.now.timestamp() - mtime < WRITE_GRACE_S:
            return None  # maybe still being written: leave it alone for now
        verdicts, records = self._verdicts(check, batch, items)
        if self.shared is not None:  # accepted: done for every workspace (or returned: another holds it now)
            verdicts, records = self.shared.settle(batch, verdicts, records)
        accepted = sum(1 for v in verdicts if v["verdict"] == "accepted")
        failed = check.error is not None or (accepted == 0 and any(v["verdict"] in ("rejected", "missing") for v in verdicts))
        error = None
        if check.error:
            error = f"output file unusable: {check.error}"
        elif failed:
            error = "no record accepted: " + next(v["reason"] for v in verdicts if v["verdict"] in ("rejected", "missing"))
        result = {
            "culture": self.name,
            "batch_id": bid,
            "seq": self.progress.last_seq + 1,
            "status": "failed" if failed else "completed",
            "error": error,
            "claimed_at": entry["claimed_at"],
            "collected_at": iso(self.now),
            "claim": claim_no,  # several claims may have written this file: the last write is what was read
            "output_digest": output_digest(data),
            "items": verdicts,
            "records": records,
        }
        write_json(self.ws.batch_path(self.name, bid, "result"), result, "batch_result")
        self.progress.apply_result(result)
        self._dirty = True
        counts = {k: sum(1 for v in verdicts if v["verdict"] == k) for k in ("accepted", "rejected", "missing", "skipped")}
        return {
            "culture": self.name,
            "batch_id": bid,
            "status": result["status"],
            "error": error,
            **counts,
            "returned": [{"filepath": v["filepath"], "reason": v["reason"]} for v in verdicts if v["verdict"] in ("rejected", "missing")],
        }

    def _verdicts(self, check, batch: dict, items: list[str]) -> tuple[list[dict], list[dict]]:
        meta = {img["filepath"]: img for img in batch["images"]}
        if check.error:
            return [{"filepath": fp, "verdict": "rejected", "reason": f"output file unusable: {check.error}"} for fp in items], []
        by_fp: dict[str, dict] = {}
        records = []
        for rc in check.records:
            if rc.filepath is None or rc.filepath not in meta or rc.filepath in by_fp:
                continue
            if not rc.ok:
                by_fp[rc.filepath] = {"filepath": rc.filepath, "verdict": "rejected", "reason": "; ".join(rc.problems)}
            elif rc.skipped is not None:
                by_fp[rc.filepath] = {"filepath": rc.filepath, "verdict": "skipped", "reason": rc.skipped}
            else:
                by_fp[rc.filepath] = {"filepath": rc.filepath, "verdict": "accepted"}
                rec = dict(check.raw[rc.index])
                # the candidates' metadata is authoritative, except for what the generator writes:
                # a candidates file of an older version may hold a published line's critique fields
                rec.update({k: v for k, v in meta[rc.filepath].items() if k not in GENERATOR_FIELDS})
                # accepted_at equals the result's collected_at: the merger relies on it to tell which
                # batches a table holds (sync_state.reconcile rebuilds merged_batches from it)
                rec.update(culture=self.name, batch_id=batch["batch_id"], accepted_at=iso(self.now))
                records.append(rec)
        verdicts = [by_fp.get(fp) or {"filepath": fp, "verdict": "missing", "reason": "no record for this image in the output"} for fp in items]
        from .similarity import screen as screen_near_duplicates  # as check_output_bytes

        return screen_near_duplicates(self.ws, self.cfg, self.ws.plan, verdicts, records)  # a no-op unless the plan asks

    # --- claiming --------------------------------------------------------------------------
    def claim(self, count: int, size: int | None, *, session: str | None = None, take_over: bool = False,
              confirmed: bool = False) -> list[dict]:
        """Claim up to `count` batches for orchestrator `session`. With `take_over`, a batch in flight
        without output whose claim came from another session (or from no known session) is offered
        again at once, as an expired lease would be: subagents never outlive the session that started
        them. A claim younger than TAKE_OVER_QUIET_MINUTES may belong to a session still running: it
        is taken over only when `confirmed`, else listed in `self.held_back`."""
        size = size or self.cfg.batch_size
        lease = timedelta(minutes=self.cfg.lease_minutes)
        check_brief_paths(self.ws)  # before any claim is written: its brief could not be printed
        claimed = []
        shared = self.shared
        if shared is not None:
            shared.reconcile()  # shared claims of a claim killed before its input file: released
        if not self.ws.progress_path(self.name).exists():
            # progress before the first input file: an input file without progress is then always a
            # lost progress file (leases kept), never a claim that died before printing its brief
            self._dirty = True
            self.save()
        # 1. resume: an expired claim is offered again as it is (same batch id, same input file)
        for key in sorted(self.progress.in_flight, key=int):
            if len(claimed) >= count:
                break
            entry = self.progress.in_flight[key]
            if self.ws.batch_path(self.name, int(key), "output").exists():
                continue
            expired = prog.lease_expired(entry, self.now)
            if not expired:
                if not take_over or (session is not None and entry.get("session") == session):
                    continue
                age_s = (self.now - parse_time(entry["claimed_at"])).total_seconds()
                if age_s < TAKE_OVER_QUIET_MINUTES * 60 and not confirmed:
                    self.held_back.append({"culture": self.name, "batch_id": int(key), "session": entry.get("session"),
                                           "claimed_seconds_ago": max(round(age_s), 0)})
                    continue
            batch = read_batch(self.ws, self.name, int(key), "input")
            batch.update(claimed_at=iso(self.now), lease_expires_at=iso(self.now + lease), claims=batch["claims"] + 1)
            batch.pop("session", None)
            if session:
                batch["session"] = session
            if shared is not None:
                shared.renew(batch)
            claimed.append(self._write_claim(batch, resumed=True, taken_over=not expired))
        # 2. new batches, retry pool first, then fresh images in candidates order
        while len(claimed) < count and len(self.progress.in_flight) < self.cfg.max_parallel:
            bid = self.progress.next_batch
            # shared: won in the shared table before the input file is written
            picked = self._pick_present(size) if shared is None else shared.pick(size, bid, self.now + lease)
            if not picked:
                break
            batch = {
                "culture": self.name,
                "batch_id": bid,
                "generator": self.cfg.generator,
                "output": self.ws.batch_path(self.name, bid, "output").name,
                "claimed_at": iso(self.now),
                "first_claimed_at": iso(self.now),
                "lease_expires_at": iso(self.now + lease),
                "claims": 1,
                **({"session": session} if session else {}),
                "images": picked,
            }
            claimed.append(self._write_claim(batch, resumed=False))
        return claimed

    def _pick_present(self, size: int) -> list[dict]:
        """Up to `size` images whose file exists, in the order claims take them (_offered); those
        whose file does not are parked on the way: one stat per image passed, never a stat of every
        candidate, and one pass however many are parked. Parking thousands saves on the way
        (_parking_save_due), so a killed claim keeps what it parked."""
        picked: list[dict] = []
        missing: list[tuple[dict, Path]] = []
        for img in self._offered():
            fp = img["filepath"]
            if fp in self.skip:
                continue
            path = None if fp in self._present else self.ws.image_missing(fp)
            if path is None:
                self._present.add(fp)
                picked.append(img)
                if len(picked) >= size:
                    break
                continue
            missing.append((img, path))
            if len(missing) >= PARK_STEP:
                self._park_missing(missing)
                missing = []
                if self._parking_save_due():
                    self.save()
                    faults.point("claim.parked")
        self._park_missing(missing)
        self._save_missing()
        return picked

    def _offered(self):
        """Candidates in the order claims take them: retries first, then images never handed out,
        gaps before the cursor, then from the cursor (the state as it was when the pick began:
        parking on the way moves the cursor past parked images)."""
        index_of, images = self.cands.index_of, self.cands.images
        retry = sorted(index_of[fp] for fp in self.progress.retry_pool(self.cfg.max_attempts) if fp in index_of)
        gaps, cursor = [range(start, end) for start, end in self.progress.gaps], self.progress.cursor
        for indices in (retry, *gaps, range(cursor, len(images))):
            for i in indices:
                yield images[i]

    def _write_claim(self, batch: dict, *, resumed: bool, taken_over: bool = False) -> dict:
        path = self.ws.batch_path(self.name, batch["batch_id"], "input")
        write_json(path, batch, "batch_input")
        self.progress.apply_claim(batch, self.cands.index_of, self.cands.images)
        self._dirty = True
        out = self.ws.batch_path(self.name, batch["batch_id"], "output")
        return {
            "culture": self.name,
            "batch_id": batch["batch_id"],
            "input": self.ws.display(path),
            "output": self.ws.display(out),
            "generator": self.cfg.generator,
            "images": len(batch["images"]),
            "resumed": resumed,
            "taken_over": taken_over,
            "lease_expires_at": batch["lease_expires_at"],
            "brief": brief(self.ws, self.cfg, batch["batch_id"], len(batch["images"]), claim=batch["claims"]),
        }

    # --- parked items ----------------------------------------------------------------------
    def requeue(self, only: list[str] | None) -> list[str]:
        parked = self.progress.parked(self.cfg.max_attempts)
        if only:
            unknown = [fp for fp in only if fp not in parked]
            if unknown:
                raise InputError(f"not a parked item of {self.name}: {unknown[0]!r}", where="--item")
            parked = {fp: parked[fp] for fp in only}
        # an image parked because its file does not exist stays parked while the file is still missing
        for fp in sorted(parked):
            if prog.missing_file_park(parked[fp]) and self.ws.image_missing(fp) is not None:
                self.still_missing.append({"filepath": fp, "reason": parked.pop(fp)["reason"]})
        if not parked:
            return []
        path = self.ws.requeue_path(self.name)
        doc = read_json(path, "requeue", missing_ok=True) or {"culture": self.name, "rev": 0, "items": {}}
        doc["rev"] = max(doc["rev"], self.progress.requeue_rev) + 1
        for fp, f in parked.items():
            doc["items"][fp] = {"failures": f["failures"], "skips": f["skips"], "at": iso(self.now)}
        write_json(path, doc, "requeue")
        self.progress.apply_requeue(doc)
        self._dirty = True
        return sorted(parked)


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
