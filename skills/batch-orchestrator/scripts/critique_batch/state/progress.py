# GENERATED from scripts/critique_batch/state/progress.py by tools/generate.py; edit the source, not this copy
"""Progress as a fold over batch files.

The progress file keeps the seed's fields (total, completed, next_batch, last_updated,
completed_batches, merged_batches, failed_batches, artists_status) plus what claims and retries
need. Every field is a function of the files on disk:

    candidates  ->  total, artists_status.total
    input files ->  in_flight, next_batch, cursor       (apply_claim)
    result files -> completed, *_batches, failures, regenerated ...  (apply_result, in collection order `seq`)
    requeue file -> forgiven failures                    (apply_requeue)
    missing-images file -> images parked at claim time because their file does not exist
                   (apply_missing: one skip each, in the same `seq` order as the result files)
    candidates  ->  failures of filepaths no longer candidates are dropped (forget_removed)

so the incremental state and `rebuild()` run the very same methods of `Progress`; only the order
of reading differs. merged_batches is the one exception: it records what the database holds, and
is carried over (sync re-merging is idempotent, so losing it costs time, never data).

Which images are pending: every candidate that is not accepted, in flight or parked. That set is
kept cheaply as the retry pool (`failures` not parked and not in flight), plus every candidate
from `cursor` on (never handed out: candidates are only appended between rebuilds, which
`cursor_digest` checks), plus `gaps`: index ranges before the cursor that were never handed out,
or whose claim was lost (an image inserted above handed-out ones, a deleted input file). A
rebuild computes cursor and gaps from the set of images handed out (set_handed_out); claims take
retries first, then gaps, then the cursor's images.
"""

from __future__ import annotations

import bisect
from datetime import datetime

from ..base.clock import parse_time
from ..base.digests import blake2b
from ..base.errors import InputError
from ..base.jsonfiles import read_json

TYPE_CHECKING = False  # typing is not imported at run time: it costs a claim about 4 ms
if TYPE_CHECKING:
    from typing import TypedDict

    from ..files.workspace import Workspace

    class InFlight(TypedDict, total=False):
        items: list[str]
        claimed_at: str
        lease_expires_at: str
        claims: int
        session: str  # kept only when known, so older files stay equal

    class Failure(TypedDict):
        failures: int
        skips: int
        forgiven_failures: int
        forgiven_skips: int
        reason: str
        batch_id: int

    class FailedBatch(TypedDict):
        batch_id: int
        error: str
        timestamp: str

    class ArtistStatus(TypedDict):
        total: int
        completed: int

MAX_DURATIONS = 20
MISSING_REASON = "image file not found: "
NO_BATCH = 0  # failures[...]["batch_id"] of an image parked at claim time: it was in no batch


def prefix_digest(images: list[dict], n: int) -> str:
    """Digest of the first n filepaths: images handed out must never be reordered or removed."""
    h = blake2b(digest_size=12)
    _hash_filepaths(h, images, 0, n)
    return h.hexdigest()


def _hash_filepaths(h, images: list[dict], start: int, end: int) -> None:
    """The prefix digest's input: each filepath of images[start:end], NUL-terminated."""
    for img in images[start:end]:
        h.update(img["filepath"].encode("utf-8", "surrogatepass") + b"\0")


# the progress file's keys, in the order they are written, each with its default (a callable
# makes a fresh one)
DEFAULTS = {
    "culture": None,
    "total": 0,
    "completed": 0,
    "next_batch": 1,
    "last_updated": None,  # str
    "completed_batches": list,  # [int]
    "merged_batches": list,  # [int]
    "failed_batches": list,  # [FailedBatch]
    "artists_status": dict,  # {artist: ArtistStatus}
    "cursor": 0,
    "cursor_filepath": None,  # str
    "cursor_digest": lambda: prefix_digest([], 0),
    "gaps": list,  # [[start, end]]; absent in files written before gaps existed
    "last_seq": 0,
    "requeue_rev": 0,
    "in_flight": dict,  # {batch_id: InFlight}
    "failures": dict,  # {filepath: Failure}
    "batch_accepted": dict,  # {batch_id: accepted}
    "last_artist": None,  # str
    "recent_durations": list,  # [seconds]
    "candidates_sig": None,  # str
    # images of the published dataset critiqued again; None: absent from the file (older files stay equal)
    "regenerated": None,  # int
}
JSON_KEYS = tuple(DEFAULTS)


class Progress:
    """One culture's progress file (schemas/progress.schema.json), field for field. Changed only
    by the engine's Session (and by the fold that builds it), through the apply_* methods.

    Progress(culture, **fields): a field not given takes its default (DEFAULTS). Two progress states
    are equal when their saved fields are."""

    # a plain class rather than a dataclass: importing dataclasses and building the class cost
    # every claim about 15 ms
    __slots__ = (*JSON_KEYS, "rebuild_needed", "_order", "_prefix")

    def __init__(self, culture: str, *, _order: tuple[str, ...] = (), **fields):
        unknown = fields.keys() - DEFAULTS.keys()
        if unknown:
            raise TypeError(f"Progress has no field {sorted(unknown)[0]!r}")
        fields["culture"] = culture
        for name, default in DEFAULTS.items():
            setattr(self, name, fields[name] if name in fields else default() if callable(default) else default)
        # never saved: a reader's view of a candidates file edited other than by appending (claims ask for a rebuild)
        self.rebuild_needed = False
        # the key order of the file it was read from: written back in that order (a file older than
        # a key gets it at its end), so a file round-trips byte for byte
        self._order = _order
        # (images, n, hash of images[:n]): the cursor's digest, extended as the cursor moves, so that
        # moving it costs the images passed, not the whole prefix (a claim parking thousands of
        # missing images moves it once per hundred)
        self._prefix: tuple | None = None

    def _saved(self) -> tuple:
        return tuple(getattr(self, name) for name in JSON_KEYS)

    def __eq__(self, other) -> bool:
        return self._saved() == other._saved() if isinstance(other, Progress) else NotImplemented

    def __repr__(self) -> str:
        return "Progress(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in JSON_KEYS) + ")"

    @classmethod
    def from_json(cls, doc: dict) -> Progress:
        """From a progress document already checked against its schema."""
        return cls(**doc, _order=tuple(doc))

    def to_json(self) -> dict:
        keys = list(self._order) + [k for k in JSON_KEYS if k not in self._order]
        return {k: getattr(self, k) for k in keys if k != "regenerated" or self.regenerated is not None}

    def contradiction(self) -> tuple[str, str] | None:
        """(field, what is wrong) when the counts disagree with the batch records kept beside them,
        as only a hand edit makes them; None when they agree. Files written before batch_accepted
        existed are not checked."""
        if "batch_accepted" not in self._order:
            return None
        accepted = sum(self.batch_accepted.values())
        if self.completed != accepted:
            return "completed", f"completed is {self.completed}, its batches accepted {accepted}"
        artists = sum(s["completed"] for s in self.artists_status.values())
        if artists != accepted:
            return "artists_status", f"artists_status counts {artists} completed, its batches accepted {accepted}"
        known = [int(b) for b in self.batch_accepted] + [int(b) for b in self.in_flight] + list(self.completed_batches)
        if known and max(known) >= self.next_batch:
            return "next_batch", f"next_batch is {self.next_batch}, but batch {max(known)} exists"
        return None

    # --- changes, each a function of one file --------------------------------------------
    def apply_candidates(self, images: list[dict], sig: str | None) -> None:
        self.total = len(images)
        totals: dict[str, int] = {}
        for img in images:
            artist = artist_key(img.get("artist"))
            totals[artist] = totals.get(artist, 0) + 1
        old = self.artists_status
        status = {a: {"total": n, "completed": old.get(a, {}).get("completed", 0)} for a, n in sorted(totals.items())}
        for a, s in old.items():  # keep credit for artists no longer listed
            if a not in status and s["completed"]:
                status[a] = {"total": 0, "completed": s["completed"]}
        self.artists_status = status
        self.candidates_sig = sig

    def apply_claim(self, batch: dict, index_of: dict[str, int], images: list[dict]) -> None:
        """Record a claim (new, re-offered, or adopted from an input file found on disk)."""
        bid = batch["batch_id"]
        items = [img["filepath"] for img in batch["images"]]
        entry: InFlight = {
            "items": items,
            "claimed_at": batch["claimed_at"],
            "lease_expires_at": batch["lease_expires_at"],
            "claims": batch["claims"],
        }
        if batch.get("session"):  # kept only when known, so older files stay equal
            entry["session"] = batch["session"]
        self.in_flight[str(bid)] = entry
        self.next_batch = max(self.next_batch, bid + 1)
        self.mark_handed_out([index_of[fp] for fp in items if fp in index_of], images)

    def mark_handed_out(self, indices: list[int], images: list[dict]) -> None:
        """Candidates at these indices are no longer gaps, and the cursor moves past them; images it
        passes that are not among them become gaps (as set_handed_out computes them in a rebuild)."""
        if self.gaps:
            self.gaps = _remove_from_ranges(self.gaps, indices)
        top = max(indices, default=-1)
        if top + 1 > self.cursor:
            self.gaps += _remove_from_ranges([[self.cursor, top + 1]], indices)
            self.cursor = top + 1
            self.cursor_filepath = images[top]["filepath"]
            self.cursor_digest = self._prefix_digest(images, top + 1)

    def _prefix_digest(self, images: list[dict], n: int) -> str:
        """prefix_digest(images, n), extending the hash of a shorter prefix of the same list when
        there is one (hashlib's digest() leaves a hash open to more data)."""
        cached = self._prefix
        if cached is not None and cached[0] is images and cached[1] <= n:
            _, start, h = cached
        else:
            start, h = 0, blake2b(digest_size=12)
        _hash_filepaths(h, images, start, n)
        self._prefix = (images, n, h)
        return h.hexdigest()

    def set_handed_out(self, images: list[dict], handed: set[str]) -> None:
        """Cursor and gaps from the set of images ever handed out (accepted, in flight or failed):
        the cursor follows the last of them, and every image before it that is not among them is a
        gap, offered by the next claims."""
        flags = [img["filepath"] in handed for img in images]
        top = max((i for i, f in enumerate(flags) if f), default=-1)
        self.cursor = top + 1
        self.cursor_filepath = images[top]["filepath"] if top >= 0 else None
        self.cursor_digest = self._prefix_digest(images, top + 1)
        gaps: list[list[int]] = []
        for i in range(top + 1):
            if flags[i]:
                continue
            if gaps and gaps[-1][1] == i:
                gaps[-1][1] = i + 1
            else:
                gaps.append([i, i + 1])
        self.gaps = gaps

    def apply_result(self, result: dict) -> None:
        bid = result["batch_id"]
        self.in_flight.pop(str(bid), None)
        self.last_seq = max(self.last_seq, result["seq"])
        artist_of = {r["filepath"]: artist_key(r.get("artist")) for r in result["records"]}
        # images of the published dataset critiqued again (their candidate carries the pair_id): status
        # must not count them as new records; kept only when non-zero, so older files stay equal
        republished = {r["filepath"] for r in result["records"] if r.get("pair_id")}
        accepted = 0
        for item in result["items"]:
            fp, verdict = item["filepath"], item["verdict"]
            if verdict == "accepted":
                accepted += 1
                if fp in republished:
                    self.regenerated = (self.regenerated or 0) + 1
                self.failures.pop(fp, None)
                artist = artist_of.get(fp)
                if artist is not None:
                    entry = self.artists_status.setdefault(artist, {"total": 0, "completed": 0})
                    entry["completed"] += 1
                    self.last_artist = artist
                continue
            f = self._failure(fp, bid)
            if verdict == "skipped":
                f["skips"] += 1
                f["reason"] = "skipped: " + item.get("reason", "")
            else:
                f["failures"] += 1
                f["reason"] = item.get("reason", verdict)
            f["batch_id"] = bid
        self.batch_accepted[str(bid)] = accepted
        self.completed += accepted
        if result["status"] == "completed":
            if bid not in self.completed_batches:
                bisect.insort(self.completed_batches, bid)
        else:
            self.failed_batches.append({"batch_id": bid, "error": result["error"] or "failed",
                                        "timestamp": result["collected_at"]})
        took = (parse_time(result["collected_at"]) - parse_time(result["claimed_at"])).total_seconds()
        self.recent_durations = (self.recent_durations + [round(max(took, 0.0), 3)])[-MAX_DURATIONS:]

    def _failure(self, filepath: str, batch_id: int) -> Failure:
        """The failures entry of an image, made empty on its first failure or skip."""
        return self.failures.setdefault(
            filepath, {"failures": 0, "skips": 0, "forgiven_failures": 0, "forgiven_skips": 0, "reason": "",
                       "batch_id": batch_id}
        )

    def apply_missing(self, event: dict) -> None:
        """An image parked by a claim because its file does not exist: one skip, no attempt."""
        f = self._failure(event["filepath"], NO_BATCH)
        f["skips"] += 1
        f["reason"] = MISSING_REASON + event["path"]
        f["batch_id"] = NO_BATCH
        self.last_seq = max(self.last_seq, event["seq"])

    def forget_removed(self, index_of: dict[str, int]) -> bool:
        """Drop the failures of filepaths no longer among the candidates (removed or corrected: see
        candidate_edits.py): they are neither pending nor parked, so the counts add up to the total.
        Their accepted records stay counted: those are in the result files. True when any was dropped."""
        gone = [fp for fp in self.failures if fp not in index_of]
        for fp in gone:
            del self.failures[fp]
        return bool(gone)

    def apply_requeue(self, requeue: dict | None) -> None:
        """Set forgiven counts from the requeue file (absolute values, so applying twice is harmless)."""
        if not requeue:
            return
        for fp, forgiven in requeue["items"].items():
            f = self.failures.get(fp)
            if f is not None:
                f["forgiven_failures"] = min(forgiven["failures"], f["failures"])
                f["forgiven_skips"] = min(forgiven["skips"], f["skips"])
        self.requeue_rev = requeue["rev"]

    # --- derived views ---------------------------------------------------------------------
    def gap_indices(self, limit: int) -> list[int]:
        """The first `limit` candidate indices in gaps, in candidates order."""
        out: list[int] = []
        for start, end in self.gaps:
            out += range(start, min(end, start + limit - len(out)))
            if len(out) >= limit:
                break
        return out

    def prefix_intact(self, images: list[dict]) -> bool:
        """The images handed out are still the first `cursor` candidates, in order: the candidates
        file was only appended to since."""
        return self.cursor <= len(images) and self._prefix_digest(images, self.cursor) == self.cursor_digest

    def gap_count(self) -> int:
        return sum(end - start for start, end in self.gaps)

    def in_flight_items(self) -> set[str]:
        return {fp for b in self.in_flight.values() for fp in b["items"]}

    def parked(self, max_attempts: int) -> dict[str, Failure]:
        return {fp: f for fp, f in self.failures.items() if is_parked(f, max_attempts)}

    def retry_pool(self, max_attempts: int) -> list[str]:
        busy = self.in_flight_items()
        return [fp for fp, f in self.failures.items() if fp not in busy and not is_parked(f, max_attempts)]

    def unmerged(self) -> int:
        merged = set(self.merged_batches)
        return sum(n for b, n in self.batch_accepted.items() if int(b) not in merged)

    def pending(self, max_attempts: int) -> int:
        """Items neither accepted, in flight, nor parked."""
        return len(self.retry_pool(max_attempts)) + self.gap_count() + max(self.total - self.cursor, 0)

    def pending_items(self, images: list[dict], max_attempts: int) -> list[str]:
        """The filepaths pending() counts, in the order claims take them; `images`: the candidates."""
        indices = [i for start, end in self.gaps for i in range(start, end)] + list(range(self.cursor, len(images)))
        return self.retry_pool(max_attempts) + [images[i]["filepath"] for i in indices]

    def sync_due(self, sync_threshold: int, max_attempts: int) -> bool:
        """The sync rule: at least `sync_threshold` accepted records wait (the seed's rule), or records
        wait and the culture has no work left (nothing pending or in flight), so an expansion's tail
        is merged too."""
        waiting = self.unmerged()
        if waiting >= sync_threshold:
            return True
        return waiting > 0 and not self.in_flight and self.pending(max_attempts) == 0

    def comparable(self) -> dict:
        """The state without its time stamp, for rebuild == incremental comparisons."""
        q = self.to_json()
        q.pop("last_updated", None)
        q.pop("candidates_sig", None)
        return q


def artist_key(artist) -> str:
    """artists_status's key: a published record may have a null artist."""
    return artist if isinstance(artist, str) else "(no artist)"


def _remove_from_ranges(ranges: list[list[int]], indices: list[int]) -> list[list[int]]:
    """The [start, end) ranges without these indices; costs the ranges and the indices, never the
    width of a range (a claim calls it for every hundred images it parks)."""
    drop = sorted(set(indices))
    out: list[list[int]] = []
    for start, end in ranges:
        k = bisect.bisect_left(drop, start)
        pos = start
        while k < len(drop) and drop[k] < end:
            if drop[k] > pos:
                out.append([pos, drop[k]])
            pos = drop[k] + 1
            k += 1
        if pos < end:
            out.append([pos, end])
    return out


def missing_file_park(f: Failure) -> bool:
    return f["reason"].startswith(MISSING_REASON)


def attempts(f: Failure) -> int:
    return f["failures"] - f["forgiven_failures"]


def is_parked(f: Failure, max_attempts: int) -> bool:
    return attempts(f) >= max_attempts or f["skips"] > f["forgiven_skips"]


def lease_expired(entry: dict, now: datetime) -> bool:
    return parse_time(entry["lease_expires_at"]) <= now


def load_progress(ws: Workspace, culture: str, *, consistent: bool = True) -> Progress | None:
    """The saved progress, or None. consistent: refuse a file whose counts contradict its batch
    records (the rebuild, which compares field by field, reads it as it is)."""
    path = ws.progress_path(culture)
    try:
        doc = read_json(path, "progress", missing_ok=True)
    except InputError as exc:
        exc.args = (f"{exc.args[0]}; progress is derived from the batch files: "
                    f"batch_status.py --rebuild --culture {culture} recomputes it",)
        raise
    if doc is None:
        return None
    if doc["culture"] != culture:
        raise InputError(f"expected {culture!r}, got {doc['culture']!r}", file=path, where="culture")
    p = Progress.from_json(doc)
    wrong = p.contradiction() if consistent else None
    if wrong:  # a hand edit: believing it would show a count no batch file backs
        raise InputError(f"{wrong[1]}: the file contradicts its own batch records (edited by hand?); progress is "
                         f"derived from the batch files: batch_status.py --rebuild --culture {culture} recomputes it",
                         file=path, where=wrong[0])
    return p
