"""The Session's claims: expired claims offered again as they are, then new batches from the retry
pool and the candidates, images whose file is missing parked on the way. A claim returns what it
claimed; the agent layer (dispatch.py) words each subagent's brief after the session saved."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from ..base import faults
from . import progress as prog
from ..checks.batches import read_batch
from ..base.clock import iso, parse_time
from ..base.jsonfiles import write_json

PARK_STEP = 100  # missing images parked at a time by a claim (each step moves the cursor once)
# a take-over leaves alone, unless confirmed, a claim of another session younger than this: that
# session may still be running its subagents
TAKE_OVER_QUIET_MINUTES = 10


class Claiming:
    """Session mixin: claims (see session.py for the attributes it uses)."""

    def claim(self, count: int, size: int | None, *, session: str | None = None, take_over: bool = False,
              confirmed: bool = False, shared=None) -> list[dict]:
        """Claim up to `count` batches for orchestrator `session`. With `take_over`, a batch in flight
        without output whose claim came from another session (or from no known session) is offered
        again at once, as an expired lease would be: subagents never outlive the session that started
        them. A claim younger than TAKE_OVER_QUIET_MINUTES may belong to a session still running: it
        is taken over only when `confirmed`, else listed in `self.held_back`. `shared`: the claims this
        expansion shares with other workspaces (store/shared_claims.py's SharedExpansion, given by the
        agent layer), else None: images are won there before the input file is written."""
        size = size or self.cfg.batch_size
        lease = timedelta(minutes=self.cfg.lease_minutes)
        claimed = []
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
        }
