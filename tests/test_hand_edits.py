"""Hand edits, late writers and file modes (issue 10): every script run as a user runs it.

After any hand edit followed by the advised `batch_status.py --rebuild`, every candidate is
accepted, parked with a reason, in flight, or pending again (none silently disappears), live
leases stay live, and `--rebuild --check` agrees with the kept state."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

import support

CP = "checkpoints"
LIVE = {"CRITIQUE_BATCH_NOW": "2026-11-01T10:00:00Z"}


def at(minutes: int) -> dict:
    return {"CRITIQUE_BATCH_NOW": f"2026-11-01T{10 + minutes // 60:02d}:{minutes % 60:02d}:00Z"}


def claim(ws, count=1, env=LIVE, **kw):
    return support.run_json("run_next_batch.py", "--culture", "korean", "--count", str(count), ws=ws, env=env, **kw)


def answer(ws, bid, good=True):
    fps = support.batch_items(ws, "korean", bid)
    support.write_output(ws, "korean", bid, [support.good_record("korean", fp) for fp in fps])
    return fps


def status(ws, env=LIVE) -> dict:
    return support.run_json("batch_status.py", "--culture", "korean", ws=ws, env=env)["cultures"][0]


def rebuild(ws, *extra, env=LIVE):
    return support.run("batch_status.py", "--rebuild", *extra, ws=ws, env=env)


def assert_check_passes(ws, env=LIVE):
    proc = rebuild(ws, "--check", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def finish(ws, env=LIVE, rounds=20):
    """Answer every batch well until nothing is left; return the accepted filepaths."""
    for _ in range(rounds):
        got = support.run_json("run_next_batch.py", "--culture", "korean", "--count", "4", ws=ws, env=env, expect=None)
        for b in got["batches"]:
            answer(ws, b["batch_id"])
        if not got["batches"] and not support.progress(ws, "korean")["in_flight"]:
            break
    return support.accepted_filepaths(ws, "korean")


def progress_path(ws):
    return ws / CP / "korean_expansion_progress.json"


# --- rebuilds and hand edits -------------------------------------------------------------------

def test_deleted_input_of_in_flight_batch_is_pending_after_rebuild(korean_ws):
    claim(korean_ws, count=3)
    lost = support.batch_items(korean_ws, "korean", 2)
    (korean_ws / CP / "korean_batch_002_input.json").unlink()
    proc = support.run("run_next_batch.py", "--count", "0", ws=korean_ws, env=LIVE)
    assert proc.returncode == 1 and "--rebuild" in proc.stderr
    out = rebuild(korean_ws)
    assert out.returncode == 0 and "pending 10 -> 20" in out.stdout, out.stdout
    assert_check_passes(korean_ws)
    row = status(korean_ws)
    assert row["completed"] == 0 and row["in_flight"] == 2 and row["pending"] == 20  # 10 of batch 2 + 10 never claimed
    [b] = claim(korean_ws)["batches"]
    assert support.batch_items(korean_ws, "korean", b["batch_id"]) == lost  # the lost images come first, in order
    assert b["batch_id"] == 4  # never a batch id that was handed out before
    assert_check_passes(korean_ws)
    for bid in (1, 3, 4):
        answer(korean_ws, bid)
    accepted = finish(korean_ws)
    assert sorted(accepted) == sorted(img["filepath"] for img in support.image_list(korean_ws, "korean"))
    assert_check_passes(korean_ws)


def test_deleted_last_input_does_not_reuse_its_batch_id(korean_ws):
    """A subagent may still write batch 2's output: batch 2 is never handed out with other images."""
    claim(korean_ws, count=2)
    answer(korean_ws, 2)
    (korean_ws / CP / "korean_batch_002_input.json").unlink()
    assert rebuild(korean_ws).returncode == 0
    [b] = claim(korean_ws)["batches"]
    assert b["batch_id"] == 3
    assert_check_passes(korean_ws)


def test_image_inserted_at_top_is_claimed_after_rebuild(korean_ws):
    claim(korean_ws, count=2)
    path = korean_ws / CP / "korean_expansion_candidates.json"
    doc = json.loads(path.read_text())
    new = {"filepath": "images/korean/new_first.jpg", "artist": "Newcomer", "title": "First"}
    support.touch_images(korean_ws, [new])  # a claim parks an image without a file
    doc["images"].insert(0, new)
    path.write_text(json.dumps(doc))
    proc = support.run("run_next_batch.py", "--culture", "korean", ws=korean_ws, env=LIVE)
    assert proc.returncode == 2 and "--rebuild" in proc.stderr
    row = status(korean_ws)  # status shows the truth at once, and what to do
    assert row["rebuild_needed"] and row["pending"] == 21 and row["total"] == 41
    assert "batch_status.py --rebuild" in support.run("batch_status.py", ws=korean_ws, env=LIVE, check=True).stdout
    assert rebuild(korean_ws, "--check").returncode == 1
    assert rebuild(korean_ws).returncode == 0
    assert not status(korean_ws)["rebuild_needed"]
    assert_check_passes(korean_ws)
    assert status(korean_ws)["pending"] == 21 and status(korean_ws)["total"] == 41
    [b] = claim(korean_ws)["batches"]
    items = support.batch_items(korean_ws, "korean", b["batch_id"])
    assert items[0] == new["filepath"] and len(items) == 10
    assert_check_passes(korean_ws)
    for bid in (1, 2, 3):
        answer(korean_ws, bid)
    accepted = finish(korean_ws)
    assert len(accepted) == len(set(accepted)) == 41


def test_deleted_progress_keeps_live_leases(korean_ws):
    claim(korean_ws, count=2)
    inputs = {b: (korean_ws / CP / f"korean_batch_00{b}_input.json").read_bytes() for b in (1, 2)}
    progress_path(korean_ws).unlink()
    got = claim(korean_ws, env=at(10))
    [b] = got["batches"]
    assert b["batch_id"] == 3 and not b["resumed"]
    for bid, data in inputs.items():  # the input files carry the leases: untouched
        assert (korean_ws / CP / f"korean_batch_00{bid}_input.json").read_bytes() == data
    flying = support.progress(korean_ws, "korean")["in_flight"]
    assert sorted(flying) == ["1", "2", "3"] and flying["1"]["lease_expires_at"] == "2026-11-01T11:00:00Z"
    assert_check_passes(korean_ws, env=at(10))


def test_first_claim_killed_before_progress_is_offered_again_at_once(korean_ws):
    """A crash in the very first claim (its brief never printed) is told apart from a deleted
    progress file: the first claim saves progress before it writes an input file, so an input file
    past next_batch is a lost claim (offered again at once), never a lost progress file."""
    failing = support.ROOT / "tests" / "failing_io.py"
    cmd = [sys.executable, str(failing), "ENOSPC", "3", str(support.SCRIPTS / "run_next_batch.py"), "--culture", "korean",
           "--workspace", str(korean_ws)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **LIVE})
    assert proc.returncode == 74 and "korean_expansion_progress.json" in proc.stderr, proc.stderr  # 74: the disk, not the input
    assert (korean_ws / CP / "korean_batch_001_input.json").exists()
    [b] = claim(korean_ws)["batches"]
    assert b["batch_id"] == 1 and b["resumed"]
    assert_check_passes(korean_ws)


def test_first_claim_session_saves_progress_before_its_input_file(korean_ws, monkeypatch):
    sys.path.insert(0, str(support.SCRIPTS))
    from critique_batch.base import jsonfiles
    from critique_batch.state import claim, session
    from critique_batch.state.session import run_session
    from critique_batch.files.workspace import Workspace

    monkeypatch.setenv("CRITIQUE_BATCH_NOW", LIVE["CRITIQUE_BATCH_NOW"])
    order = []
    real = jsonfiles.write_json

    def spy(path, obj, schema):
        order.append(path.name)
        real(path, obj, schema)

    monkeypatch.setattr(session, "write_json", spy)  # progress
    monkeypatch.setattr(claim, "write_json", spy)  # the batch's input file
    run_session(Workspace(korean_ws), "korean", lambda s: s.claim(1, None))
    assert order[0] == "korean_expansion_progress.json" and order[1] == "korean_batch_001_input.json"


def test_missing_progress_with_waiting_output_is_noticed(korean_ws):
    claim(korean_ws, count=2)
    answer(korean_ws, 1)
    progress_path(korean_ws).unlink()
    row = status(korean_ws)
    assert row["in_flight"] == 2 and row["pending"] == 20
    overview = support.run_json("batch_status.py", ws=korean_ws, env=LIVE)
    assert next(r for r in overview["cultures"] if r["culture"] == "korean")["in_flight"] == 2
    out = support.run("run_next_batch.py", "--count", "0", ws=korean_ws, env=LIVE, check=True).stdout
    assert "collected korean 001: 10 accepted" in out
    assert status(korean_ws)["completed"] == 10
    assert_check_passes(korean_ws)


def test_missing_progress_is_seen_by_status_and_sync(korean_ws):
    pytest.importorskip("lancedb")
    claim(korean_ws)
    answer(korean_ws, 1)
    support.run("run_next_batch.py", "--count", "0", ws=korean_ws, env=LIVE, check=True)
    progress_path(korean_ws).unlink()
    row = status(korean_ws)
    assert row["completed"] == 10 and row["unmerged"] == 10
    got = support.run_json("sync_to_lancedb.py", "--force", ws=korean_ws, env=LIVE)
    assert got["records"] == 10 and got["merged"]
    assert status(korean_ws)["unmerged"] == 0
    assert_check_passes(korean_ws)


def test_healed_progress_matches_rebuild_in_last_artist_and_durations(korean_ws):
    claim(korean_ws, count=2)
    answer(korean_ws, 2)
    support.run("run_next_batch.py", "--count", "0", ws=korean_ws, env=at(5), check=True)  # batch 2 first
    answer(korean_ws, 1)
    support.run("run_next_batch.py", "--count", "0", ws=korean_ws, env=at(20), check=True)
    kept = support.progress(korean_ws, "korean")
    progress_path(korean_ws).unlink()
    support.run("run_next_batch.py", "--count", "0", ws=korean_ws, env=at(25), check=True)  # heals
    healed = support.progress(korean_ws, "korean")
    for key in ("last_artist", "recent_durations", "completed", "completed_batches", "artists_status"):
        assert healed[key] == kept[key], key
    assert_check_passes(korean_ws, env=at(25))


def test_results_of_several_lost_progress_writes_apply_in_collection_order(korean_ws):
    sys.path.insert(0, str(support.SCRIPTS))
    from critique_batch.state.rebuild import rebuild
    from critique_batch.state import progress as prog
    from critique_batch.files.workspace import Workspace

    claim(korean_ws, count=2)
    saved = progress_path(korean_ws).read_bytes()
    answer(korean_ws, 2)
    support.run("run_next_batch.py", "--count", "0", ws=korean_ws, env=at(5), check=True)
    answer(korean_ws, 1)
    support.run("run_next_batch.py", "--count", "0", ws=korean_ws, env=at(20), check=True)
    kept = support.progress(korean_ws, "korean")
    progress_path(korean_ws).write_bytes(saved)  # both progress writes lost, both result files kept
    support.run("run_next_batch.py", "--count", "0", ws=korean_ws, env=at(25), check=True)
    healed = support.progress(korean_ws, "korean")
    assert healed["last_artist"] == kept["last_artist"] and healed["recent_durations"] == kept["recent_durations"]
    fresh = rebuild(Workspace(korean_ws), "korean")
    assert fresh.comparable() == prog.Progress.from_json(healed).comparable()


def test_status_and_check_see_added_candidates_at_once(korean_ws, tmp_path):
    claim(korean_ws)
    manifest = tmp_path / "more.jsonl"
    manifest.write_text("".join(json.dumps(support.image("korean", i)) + "\n" for i in range(40, 45)))
    support.run("add_candidates.py", "korean", manifest, ws=korean_ws, check=True)
    row = status(korean_ws)
    assert row["total"] == 45 and row["pending"] == 35
    assert_check_passes(korean_ws)


# --- late and partial writers ------------------------------------------------------------------

def test_output_rewritten_after_collection_is_reported(korean_ws):
    claim(korean_ws)
    fps = support.batch_items(korean_ws, "korean", 1)
    support.write_output(korean_ws, "korean", 1, [support.good_record("korean", fp) for fp in fps[:5]])
    support.run("run_next_batch.py", "--count", "0", ws=korean_ws, env=LIVE, check=True)
    # the subagent "fixes" its file after the collection
    answer(korean_ws, 1)
    proc = support.run("validate_batch.py", "korean", "1", ws=korean_ws, env=LIVE)
    assert proc.returncode == 1
    last = proc.stdout.strip().splitlines()[-1]
    assert "already collected" in last and "will not be read" in last
    doc = support.run_json("validate_batch.py", "korean", "1", ws=korean_ws, env=LIVE, expect=1)
    assert doc["ok"] is False and doc["collected"]["at"] == "2026-11-01T10:00:00Z" and doc["collected"]["changed_since"] is True


def test_validate_of_the_collected_output_itself(korean_ws):
    claim(korean_ws)
    answer(korean_ws, 1)
    support.run("run_next_batch.py", "--count", "0", ws=korean_ws, env=LIVE, check=True)
    proc = support.run("validate_batch.py", "korean", "1", ws=korean_ws, env=LIVE)
    assert proc.returncode == 0, proc.stdout
    assert "already collected" in proc.stdout.strip().splitlines()[-1]


def test_second_claim_brief_and_accepted_claim_are_recorded(korean_ws):
    [fresh] = claim(korean_ws)["batches"]
    [b] = claim(korean_ws, env=at(61))["batches"]
    assert b["batch_id"] == 1 and b["resumed"]
    assert "handed out before" in b["brief"].lower()
    assert len(b["brief"].encode()) - len(fresh["brief"].encode()) <= 45  # briefs stay short (<= 600 bytes)
    first = claim(korean_ws, env=at(0), expect=None)  # a new batch's brief has no such clause
    assert all("handed out before" not in x["brief"].lower() for x in first["batches"])
    answer(korean_ws, 1)
    support.run("run_next_batch.py", "--count", "0", ws=korean_ws, env=at(70), check=True)
    result = json.loads((korean_ws / CP / "korean_batch_001_result.json").read_text())
    assert result["claim"] == 2
    assert_check_passes(korean_ws, env=at(70))


# --- file modes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_files_get_the_users_umask(korean_ws, umask):
    def run(script, *args):
        cmd = [sys.executable, str(support.SCRIPTS / script), *map(str, args), "--workspace", str(korean_ws)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **LIVE}, preexec_fn=lambda: os.umask(umask))
        assert proc.returncode == 0, proc.stderr

    run("run_next_batch.py", "--count", "2")
    answer(korean_ws, 1)
    run("run_next_batch.py", "--count", "0")
    run("batch_status.py", "--rebuild")
    want = 0o666 & ~umask
    cp = korean_ws / CP
    made = [cp / "korean_expansion_progress.json", cp / "korean_batch_001_input.json", cp / "korean_batch_001_result.json",
            *[p for p in (cp / ".valid").iterdir() if p.is_file()], *[p for p in (cp / ".locks").iterdir() if p.is_file()]]
    for path in made:
        assert stat.S_IMODE(path.stat().st_mode) == want, (path.name, oct(path.stat().st_mode))
    for folder in (cp / ".valid", cp / ".locks", cp / ".tmp"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask, folder.name


def test_export_gets_the_users_umask(korean_ws):
    pytest.importorskip("lancedb")
    claim(korean_ws)
    answer(korean_ws, 1)
    support.run("run_next_batch.py", "--count", "0", ws=korean_ws, env=LIVE, check=True)
    support.run("sync_to_lancedb.py", "--force", ws=korean_ws, env=LIVE, check=True)
    cmd = [sys.executable, str(support.SCRIPTS / "export_critiques.py"), "--workspace", str(korean_ws)]
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=lambda: os.umask(0o002))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE((korean_ws / "exports" / "critiques.jsonl").stat().st_mode) == 0o664
