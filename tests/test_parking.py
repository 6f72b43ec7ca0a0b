"""Issue 20, section 6: a claim that parks many images whose files are missing does work linear
in their number (counted, not timed), and saves on the way, so a claim killed while parking keeps
what it parked."""

from __future__ import annotations

import json

import pytest

import support
from critique_batch.state.session import run_session
from critique_batch.state import progress as prog
from critique_batch.base.jsonfiles import read_json
from critique_batch.files.workspace import Workspace

PRESENT = 5


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    monkeypatch.setenv("CRITIQUE_BATCH_NOW", "2026-11-01T10:00:00Z")


def write_missing(ws, n: int) -> list[dict]:
    """n candidates whose files do not exist, then PRESENT whose files do."""
    images = [support.image("korean", i) for i in range(n + PRESENT)]
    path = ws / "checkpoints" / "korean_expansion_candidates.json"
    path.write_text(json.dumps({"culture": "korean", "images": images}), encoding="utf-8")
    support.touch_images(ws, images[n:])
    return images


def claim_work(ws, monkeypatch) -> dict:
    """One in-process claim; counts the filepaths hashed for the cursor's digest and the parked
    checks made (the two costs that grew with the square of the images parked)."""
    counts = {"hashed": 0, "parked_checks": 0}
    real_hash, real_parked = prog.blake2b, prog.is_parked

    class CountingHash:
        def __init__(self, **kw):
            self.h = real_hash(**kw)

        def update(self, data):
            counts["hashed"] += 1
            self.h.update(data)

        def hexdigest(self):
            return self.h.hexdigest()

    def counting_parked(f, max_attempts):
        counts["parked_checks"] += 1
        return real_parked(f, max_attempts)

    monkeypatch.setattr(prog, "blake2b", CountingHash)
    monkeypatch.setattr(prog, "is_parked", counting_parked)
    batches, parked = run_session(Workspace(ws), "korean", lambda s: (s.claim(1, 10), s.parked_missing))
    monkeypatch.undo()
    counts.update(batches=batches, parked=len(parked))
    return counts


def rebuild_matches(ws):
    r = support.run("batch_status.py", "--rebuild", "--check", "--culture", "korean", ws=ws)
    assert r.returncode == 0 and "matches" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize("n", [500, 3000])
def test_parking_many_missing_images_is_linear(ws, monkeypatch, n):
    write_missing(ws, n)
    got = claim_work(ws, monkeypatch)
    assert got["parked"] == n and got["batches"][0]["images"] == PRESENT
    # each candidate hashed a bounded number of times (was n²/2: every park re-hashed the prefix)
    assert got["hashed"] <= 2 * (n + PRESENT)
    # the retry pool is scanned once per pick, not once per 10 images parked (was n²/20)
    assert got["parked_checks"] <= 2 * n
    assert len(read_json(ws / "checkpoints" / "korean_missing_images.json", "missing_images")["events"]) == n
    rebuild_matches(ws)


def test_parking_inside_gaps_is_linear(ws, monkeypatch):
    """Images never handed out before the cursor (gaps, as after a rebuild) are parked as cheaply."""
    n = 2000
    images = write_missing(ws, n)
    support.touch_images(ws, [images[n - 1]])  # the last of the missing ones is there after all
    w = Workspace(ws)
    run_session(w, "korean", lambda s: s.progress.set_handed_out(s.cands.images, {images[n - 1]["filepath"]}))
    assert support.progress(ws, "korean")["gaps"] == [[0, n - 1]]
    got = claim_work(ws, monkeypatch)
    assert got["parked"] == n - 1 and got["parked_checks"] <= 2 * n and got["hashed"] <= 2 * (n + PRESENT)
    assert support.progress(ws, "korean")["gaps"] == []


SAVE_EVERY = {"CRITIQUE_BATCH_PARK_SAVE_EVERY": "100", "CRITIQUE_BATCH_PARK_SAVE_S": "1e9"}


def test_claim_killed_while_parking_keeps_what_it_saved(ws):
    """Saves after 100 parked, then whenever as many wait as were saved (200, 400, 800): killed at
    the second save, the claim kept 200; the rerun parks only the 800 others."""
    n = 1000
    write_missing(ws, n)
    proc = support.run("run_next_batch.py", "--culture", "korean", ws=ws, env={**SAVE_EVERY, "CRITIQUE_BATCH_FAULT": "claim.parked@2"})
    assert proc.returncode == -9, proc.stderr
    events = read_json(ws / "checkpoints" / "korean_missing_images.json", "missing_images")["events"]
    assert len(events) == 200
    assert len(prog.Progress.from_json(support.progress(ws, "korean")).parked(3)) == 200
    rebuild_matches(ws)
    again = support.run_json("run_next_batch.py", "--culture", "korean", ws=ws, env=SAVE_EVERY)
    assert len(again["parked_missing"]) == n - 200 and again["batches"][0]["images"] == PRESENT
    assert len(prog.Progress.from_json(support.progress(ws, "korean")).parked(3)) == n
    rebuild_matches(ws)


def test_claim_killed_between_missing_images_and_progress_is_healed(ws):
    """Killed after the missing-images file was written but before progress: the next session
    applies the events progress lacks (in one move of the cursor) and parks the rest."""
    n = 1000
    write_missing(ws, n)
    proc = support.run("run_next_batch.py", "--culture", "korean", ws=ws, env={**SAVE_EVERY, "CRITIQUE_BATCH_FAULT": "claim.missing_saved@2"})
    assert proc.returncode == -9, proc.stderr
    assert len(read_json(ws / "checkpoints" / "korean_missing_images.json", "missing_images")["events"]) == 200
    assert len(prog.Progress.from_json(support.progress(ws, "korean")).parked(3)) == 100
    again = support.run_json("run_next_batch.py", "--culture", "korean", ws=ws, env=SAVE_EVERY)
    assert len(again["parked_missing"]) == n - 200 and again["batches"][0]["images"] == PRESENT
    p = support.progress(ws, "korean")
    assert len(prog.Progress.from_json(p).parked(3)) == n and p["cursor"] == n + PRESENT
    rebuild_matches(ws)


def test_ctrl_c_while_parking_says_so_and_keeps_what_was_saved(ws):
    n = 500
    write_missing(ws, n)
    proc = support.run("run_next_batch.py", "--culture", "korean", ws=ws, env={**SAVE_EVERY, "CRITIQUE_BATCH_FAULT": "claim.parked:INT"})
    assert proc.returncode == 130, proc.stderr
    assert "interrupted: nothing half-written (every file is written whole, or not at all); run it again" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(prog.Progress.from_json(support.progress(ws, "korean")).parked(3)) == 100
    again = support.run_json("run_next_batch.py", "--culture", "korean", ws=ws)
    assert len(again["parked_missing"]) == n - 100 and again["batches"][0]["images"] == PRESENT
    rebuild_matches(ws)
