"""The typed progress state: it reads and writes the progress file field for field (same keys,
same order, same bytes), what it writes passes the schema, and a Session only reads until its
work begins."""

from __future__ import annotations

import json
import os

from hypothesis import given, settings
from hypothesis import strategies as st

import support
from critique_batch.state.session import Session, run_session
from critique_batch.state.rebuild import rebuild_progress
from critique_batch.state import progress as prog
from critique_batch.base.jsonfiles import TMP_DIR, dumps, schema_errors
from critique_batch.files.workspace import Workspace

# the keys of a progress file as every earlier version wrote them (regenerated only once non-zero)
FILE_KEYS = ["culture", "total", "completed", "next_batch", "last_updated", "completed_batches", "merged_batches",
             "failed_batches", "artists_status", "cursor", "cursor_filepath", "cursor_digest", "gaps", "last_seq",
             "requeue_rev", "in_flight", "failures", "batch_accepted", "last_artist", "recent_durations", "candidates_sig"]
STAMP = "2026-11-01T10:00:00Z"
LATER = "2026-11-01T10:07:30Z"


@st.composite
def progress_states(draw) -> prog.Progress:
    """A progress state reached by claims, results, parked missing files and requeues, in any order."""
    n = draw(st.integers(1, 12))
    images = [{"filepath": f"images/p_{i:02d}.jpg", "artist": draw(st.sampled_from(["Kim", "Lee", None]))} for i in range(n)]
    for img in images:
        if draw(st.booleans()):
            img["pair_id"] = f"PAIR_{images.index(img):05d}"
    index_of = {img["filepath"]: i for i, img in enumerate(images)}
    p = prog.Progress("korean")
    p.apply_candidates(images, draw(st.sampled_from([None, "12:345"])))
    seq = 0
    for _ in range(draw(st.integers(0, 8))):
        op = draw(st.sampled_from(["claim", "result", "missing", "requeue"]))
        if op == "claim":
            picked = draw(st.lists(st.sampled_from(images), min_size=1, max_size=4, unique_by=lambda i: i["filepath"]))
            session = draw(st.sampled_from([None, "s-1"]))
            batch = {"batch_id": p.next_batch, "claimed_at": STAMP, "lease_expires_at": LATER, "claims": draw(st.integers(1, 3)),
                     "images": picked, **({"session": session} if session else {})}
            p.apply_claim(batch, index_of, images)
        elif op == "result" and p.in_flight:
            bid = draw(st.sampled_from(sorted(p.in_flight)))
            verdicts = [draw(st.sampled_from(["accepted", "rejected", "missing", "skipped"])) for _ in p.in_flight[bid]["items"]]
            items = [{"filepath": fp, "verdict": v, **({} if v == "accepted" else {"reason": f"{v}: why"})}
                     for fp, v in zip(p.in_flight[bid]["items"], verdicts)]
            records = [dict(images[index_of[i["filepath"]]]) for i in items if i["verdict"] == "accepted"]
            seq += 1
            status = "completed" if records else "failed"
            p.apply_result({"batch_id": int(bid), "seq": seq, "status": status, "error": None if records else "no record accepted",
                            "claimed_at": STAMP, "collected_at": LATER, "items": items, "records": records})
        elif op == "missing":
            seq += 1
            fp = draw(st.sampled_from(images))["filepath"]
            p.apply_missing({"seq": seq, "filepath": fp, "path": f"/data/{fp}", "at": STAMP})
        elif op == "requeue" and p.failures:
            fps = draw(st.lists(st.sampled_from(sorted(p.failures)), min_size=1, unique=True))
            p.apply_requeue({"culture": "korean", "rev": p.requeue_rev + 1,
                             "items": {fp: {"failures": p.failures[fp]["failures"], "skips": p.failures[fp]["skips"], "at": STAMP} for fp in fps}})
    if draw(st.booleans()):
        p.last_updated = LATER
        p.merged_batches = list(p.completed_batches[:1])
    return p


@settings(max_examples=80, deadline=None)
@given(progress_states())
def test_progress_round_trips_and_matches_its_schema(p):
    doc = p.to_json()
    assert schema_errors(doc, "progress") == []
    keys = [k for k in FILE_KEYS] + (["regenerated"] if p.regenerated is not None else [])
    assert list(doc) == keys
    again = prog.Progress.from_json(json.loads(dumps(doc)))
    assert again == p
    assert dumps(again.to_json()) == dumps(doc)  # byte for byte, as the file is written


def test_a_file_keeps_its_key_order():
    """A file written before `gaps` existed gets it at its end, as earlier versions wrote it back."""
    doc = prog.Progress("korean").to_json()
    del doc["gaps"]
    doc = {**doc, "regenerated": 2}
    back = prog.Progress.from_json(json.loads(json.dumps(doc))).to_json()
    assert list(back) == [k for k in FILE_KEYS if k != "gaps"] + ["regenerated", "gaps"]
    assert back["gaps"] == [] and back["regenerated"] == 2


def test_constructing_a_session_writes_nothing_until_it_begins(korean_ws, monkeypatch):
    """A dead claim (its input file past next_batch, lease live) and temp files a killed process
    left: the Session sees both, and changes the disk only when its work begins (or it saves)."""
    monkeypatch.setenv("CRITIQUE_BATCH_NOW", STAMP)
    ws = Workspace(korean_ws)
    run_session(ws, "korean", lambda s: s.claim(1, 5))
    progress_path = ws.progress_path("korean")
    saved = progress_path.read_bytes()
    run_session(ws, "korean", lambda s: s.claim(1, 5))
    progress_path.write_bytes(saved)  # the second claim's progress write was lost: its process died
    tmp = korean_ws / "checkpoints" / TMP_DIR
    tmp.mkdir(exist_ok=True)
    stale = tmp / "korean_expansion_progress.json.x1y2.tmp"
    stale.write_bytes(b"{")
    before = support.state_hashes(korean_ws)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (korean_ws / "checkpoints").iterdir() if p.is_file()}

    with ws.lock("korean"):
        session = Session(ws, "korean")
        assert session.progress.next_batch == 3 and "2" in session.progress.in_flight  # adopted in memory
        assert session.progress.in_flight["2"]["lease_expires_at"] == STAMP  # its lease ended
        assert support.state_hashes(korean_ws) == before and stale.exists()
        assert {p.name: p.stat().st_mtime_ns for p in (korean_ws / "checkpoints").iterdir() if p.is_file()} == mtimes
        session.save()

    assert not stale.exists()
    batch = json.loads(ws.batch_path("korean", 2, "input").read_text(encoding="utf-8"))
    assert batch["lease_expires_at"] == STAMP
    assert support.progress(korean_ws, "korean")["in_flight"]["2"]["lease_expires_at"] == STAMP
    assert not os.listdir(tmp)


def test_a_round_collects_then_claims_by_priority(ws, monkeypatch):
    """dispatch.next_round, the policy run_next_batch.py prints: collection first, then claims from
    the culture furthest from its target, the next culture once one has no room."""
    from critique_batch.report import status
    from critique_batch.agent.dispatch import next_round

    monkeypatch.setenv("CRITIQUE_BATCH_NOW", STAMP)
    support.write_candidates(ws, "korean", 40)
    support.write_candidates(ws, "chinese", 40)
    w = Workspace(ws)
    order = status.priority_order(status.overview(w))
    first = next_round(w, None, 1, 4)
    assert [b["culture"] for b in first.batches] == order[:1] and not first.collected and first.failure is None
    bid = first.batches[0]["batch_id"]
    support.write_output(ws, order[0], bid, [support.good_record(order[0], fp) for fp in support.batch_items(ws, order[0], bid)])
    room = w.culture(order[0]).max_parallel
    second = next_round(w, None, room + 1, 4)
    assert [(c["culture"], c["batch_id"], c["accepted"]) for c in second.collected] == [(order[0], bid, 4)]
    assert [b["culture"] for b in second.batches] == [order[0]] * room + [order[1]]
    assert next_round(w, "korean", 0, None).batches == []  # collect only


def test_rebuild_check_writes_only_when_asked(korean_ws, monkeypatch):
    monkeypatch.setenv("CRITIQUE_BATCH_NOW", STAMP)
    w = Workspace(korean_ws)
    run_session(w, "korean", lambda s: s.claim(2, 5))
    path = w.progress_path("korean")
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["completed"] = 3  # a hand edit
    path.write_text(json.dumps(doc), encoding="utf-8")
    edited = path.read_bytes()
    [check] = rebuild_progress(w, ["korean"], write=False)
    assert (check.culture, check.matches, check.changed, check.was_broken) == ("korean", False, ["completed"], None)
    assert path.read_bytes() == edited
    [fixed] = rebuild_progress(w, ["korean"], write=True)
    assert fixed.changed == ["completed"] and support.progress(korean_ws, "korean")["completed"] == 0
    assert rebuild_progress(w, ["korean"], write=False)[0].matches
