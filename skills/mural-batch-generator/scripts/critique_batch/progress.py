# GENERATED from scripts/critique_batch/progress.py by tools/generate.py; edit the source, not this copy
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

so the incremental state and `rebuild()` run the very same functions; only the order of reading
differs. merged_batches is the one exception: it records what the database holds, and is carried
over (sync re-merging is idempotent, so losing it costs time, never data).

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
import hashlib
from datetime import datetime
from typing import Any

from .clock import parse_time
from .errors import InputError
from .jsonfiles import read_json

MAX_DURATIONS = 20


def empty(culture: str) -> dict[str, Any]:
    return {
        "culture": culture,
        "total": 0,
        "completed": 0,
        "next_batch": 1,
        "last_updated": None,
        "completed_batches": [],
        "merged_batches": [],
        "failed_batches": [],
        "artists_status": {},
        "cursor": 0,
        "cursor_filepath": None,
        "cursor_digest": prefix_digest([], 0),
        "gaps": [],
        "last_seq": 0,
        "requeue_rev": 0,
        "in_flight": {},
        "failures": {},
        "batch_accepted": {},
        "last_artist": None,
        "recent_durations": [],
        "candidates_sig": None,
    }


def apply_candidates(p: dict, images: list[dict], sig: str | None) -> None:
    p["total"] = len(images)
    totals: dict[str, int] = {}
    for img in images:
        artist = artist_key(img.get("artist"))
        totals[artist] = totals.get(artist, 0) + 1
    old = p["artists_status"]
    status = {a: {"total": n, "completed": old.get(a, {}).get("completed", 0)} for a, n in sorted(totals.items())}
    for a, s in old.items():  # keep credit for artists no longer listed
        if a not in status and s["completed"]:
            status[a] = {"total": 0, "completed": s["completed"]}
    p["artists_status"] = status
    p["candidates_sig"] = sig


def artist_key(artist) -> str:
    """artists_status's key: a published record may have a null artist."""
    return artist if isinstance(artist, str) else "(no artist)"


def apply_claim(p: dict, batch: dict, index_of: dict[str, int], images: list[dict]) -> None:
    """Record a claim (new, re-offered, or adopted from an input file found on disk)."""
    bid = batch["batch_id"]
    items = [img["filepath"] for img in batch["images"]]
    p["in_flight"][str(bid)] = {
        "items": items,
        "claimed_at": batch["claimed_at"],
        "lease_expires_at": batch["lease_expires_at"],
        "claims": batch["claims"],
    }
    if batch.get("session"):  # kept only when known, so older files stay equal
        p["in_flight"][str(bid)]["session"] = batch["session"]
    p["next_batch"] = max(p["next_batch"], bid + 1)
    mark_handed_out(p, [index_of[fp] for fp in items if fp in index_of], images)


def mark_handed_out(p: dict, indices: list[int], images: list[dict]) -> None:
    """Candidates at these indices are no longer gaps, and the cursor moves past them; images it
    passes that are not among them become gaps (as set_handed_out computes them in a rebuild)."""
    if p["gaps"]:
        p["gaps"] = _remove_from_ranges(p["gaps"], indices)
    top = max(indices, default=-1)
    if top + 1 > p["cursor"]:
        p["gaps"] += _remove_from_ranges([[p["cursor"], top + 1]], indices)
        p["cursor"] = top + 1
        p["cursor_filepath"] = images[top]["filepath"]
        p["cursor_digest"] = prefix_digest(images, top + 1)


def set_handed_out(p: dict, images: list[dict], handed: set[str]) -> None:
    """Cursor and gaps from the set of images ever handed out (accepted, in flight or failed):
    the cursor follows the last of them, and every image before it that is not among them is a
    gap, offered by the next claims."""
    flags = [img["filepath"] in handed for img in images]
    top = max((i for i, f in enumerate(flags) if f), default=-1)
    p["cursor"] = top + 1
    p["cursor_filepath"] = images[top]["filepath"] if top >= 0 else None
    p["cursor_digest"] = prefix_digest(images, top + 1)
    gaps: list[list[int]] = []
    for i in range(top + 1):
        if flags[i]:
            continue
        if gaps and gaps[-1][1] == i:
            gaps[-1][1] = i + 1
        else:
            gaps.append([i, i + 1])
    p["gaps"] = gaps


def gap_indices(p: dict, limit: int) -> list[int]:
    """The first `limit` candidate indices in gaps, in candidates order."""
    out: list[int] = []
    for start, end in p["gaps"]:
        out += range(start, min(end, start + limit - len(out)))
        if len(out) >= limit:
            break
    return out


def gap_count(p: dict) -> int:
    return sum(end - start for start, end in p["gaps"])


def _remove_from_ranges(ranges: list[list[int]], indices: list[int]) -> list[list[int]]:
    drop = set(indices)
    out: list[list[int]] = []
    for start, end in ranges:
        run = None
        for i in range(start, end):
            if i in drop:
                run = None
            elif run is None:
                run = [i, i + 1]
                out.append(run)
            else:
                run[1] = i + 1
    return out


def prefix_digest(images: list[dict], n: int) -> str:
    """Digest of the first n filepaths: images handed out must never be reordered or removed."""
    h = hashlib.blake2b(digest_size=12)
    for img in images[:n]:
        h.update(img["filepath"].encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


def apply_result(p: dict, result: dict) -> None:
    bid = result["batch_id"]
    p["in_flight"].pop(str(bid), None)
    p["last_seq"] = max(p["last_seq"], result["seq"])
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
                p["regenerated"] = p.get("regenerated", 0) + 1
            p["failures"].pop(fp, None)
            artist = artist_of.get(fp)
            if artist is not None:
                entry = p["artists_status"].setdefault(artist, {"total": 0, "completed": 0})
                entry["completed"] += 1
                p["last_artist"] = artist
            continue
        f = _failure(p, fp, bid)
        if verdict == "skipped":
            f["skips"] += 1
            f["reason"] = "skipped: " + item.get("reason", "")
        else:
            f["failures"] += 1
            f["reason"] = item.get("reason", verdict)
        f["batch_id"] = bid
    p["batch_accepted"][str(bid)] = accepted
    p["completed"] += accepted
    if result["status"] == "completed":
        if bid not in p["completed_batches"]:
            bisect.insort(p["completed_batches"], bid)
    else:
        p["failed_batches"].append({"batch_id": bid, "error": result["error"] or "failed", "timestamp": result["collected_at"]})
    took = (parse_time(result["collected_at"]) - parse_time(result["claimed_at"])).total_seconds()
    p["recent_durations"] = (p["recent_durations"] + [round(max(took, 0.0), 3)])[-MAX_DURATIONS:]


MISSING_REASON = "image file not found: "
NO_BATCH = 0  # failures[...]["batch_id"] of an image parked at claim time: it was in no batch


def _failure(p: dict, filepath: str, batch_id: int) -> dict:
    """The failures entry of an image, made empty on its first failure or skip."""
    return p["failures"].setdefault(
        filepath, {"failures": 0, "skips": 0, "forgiven_failures": 0, "forgiven_skips": 0, "reason": "", "batch_id": batch_id}
    )


def apply_missing(p: dict, event: dict) -> None:
    """An image parked by a claim because its file does not exist: one skip, no attempt."""
    f = _failure(p, event["filepath"], NO_BATCH)
    f["skips"] += 1
    f["reason"] = MISSING_REASON + event["path"]
    f["batch_id"] = NO_BATCH
    p["last_seq"] = max(p["last_seq"], event["seq"])


def missing_file_park(f: dict) -> bool:
    return f["reason"].startswith(MISSING_REASON)


def apply_requeue(p: dict, requeue: dict | None) -> None:
    """Set forgiven counts from the requeue file (absolute values, so applying twice is harmless)."""
    if not requeue:
        return
    for fp, forgiven in requeue["items"].items():
        f = p["failures"].get(fp)
        if f is not None:
            f["forgiven_failures"] = min(forgiven["failures"], f["failures"])
            f["forgiven_skips"] = min(forgiven["skips"], f["skips"])
    p["requeue_rev"] = requeue["rev"]


# --- derived views -------------------------------------------------------------------------

def attempts(f: dict) -> int:
    return f["failures"] - f["forgiven_failures"]


def is_parked(f: dict, max_attempts: int) -> bool:
    return attempts(f) >= max_attempts or f["skips"] > f["forgiven_skips"]


def in_flight_items(p: dict) -> set[str]:
    return {fp for b in p["in_flight"].values() for fp in b["items"]}


def parked(p: dict, max_attempts: int) -> dict[str, dict]:
    return {fp: f for fp, f in p["failures"].items() if is_parked(f, max_attempts)}


def retry_pool(p: dict, max_attempts: int) -> list[str]:
    busy = in_flight_items(p)
    return [fp for fp, f in p["failures"].items() if fp not in busy and not is_parked(f, max_attempts)]


def unmerged(p: dict) -> int:
    merged = set(p["merged_batches"])
    return sum(n for b, n in p["batch_accepted"].items() if int(b) not in merged)


def pending(p: dict, max_attempts: int) -> int:
    """Items neither accepted, in flight, nor parked."""
    return len(retry_pool(p, max_attempts)) + gap_count(p) + max(p["total"] - p["cursor"], 0)


def sync_due(p: dict, sync_threshold: int, max_attempts: int) -> bool:
    """The sync rule: at least `sync_threshold` accepted records wait (the seed's rule), or records
    wait and the culture has no work left (nothing pending or in flight), so an expansion's tail
    is merged too."""
    waiting = unmerged(p)
    if waiting >= sync_threshold:
        return True
    return waiting > 0 and not p["in_flight"] and pending(p, max_attempts) == 0


def comparable(p: dict) -> dict:
    """The state without its time stamp, for rebuild == incremental comparisons."""
    q = dict(p)
    q.pop("last_updated", None)
    q.pop("candidates_sig", None)
    return q


def lease_expired(entry: dict, now: datetime) -> bool:
    return parse_time(entry["lease_expires_at"]) <= now


def load_progress(ws: Workspace, culture: str) -> dict | None:
    path = ws.progress_path(culture)
    try:
        p = read_json(path, "progress", missing_ok=True)
    except InputError as exc:
        exc.args = (f"{exc.args[0]}; progress is derived from the batch files: "
                    f"batch_status.py --rebuild --culture {culture} recomputes it",)
        raise
    if p is not None and p["culture"] != culture:
        raise InputError(f"expected {culture!r}, got {p['culture']!r}", file=path, where="culture")
    if p is not None:
        p.setdefault("gaps", [])  # files written before gaps existed
    return p
