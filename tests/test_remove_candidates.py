"""Removing and correcting candidates (remove_candidates.py, issue 21 section 3): a mistyped
filepath parked at its first claim is corrected or removed cleanly, a hand removal plus --rebuild no
longer leaves it parked, and the status counts add up to the total (also as a hypothesis state
machine over claims, collections, removals and corrections)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import support
from critique_batch.state.rebuild import progress_view, rebuild
from critique_batch.state.session import run_session
from critique_batch.state import progress as prog
from critique_batch.state.candidate_edits import counts, edit_candidates
from critique_batch.state.candidate_sources import add_candidates
from critique_batch.base.errors import InputError
from critique_batch.files.workspace import Workspace

T0 = "2026-11-01T10:00:00Z"
TYPO = "images/korean/a/typo.jpg"  # never has a file: parked at its first claim
FIXED = "images/korean/a/fixed.jpg"


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    monkeypatch.setenv("CRITIQUE_BATCH_NOW", T0)


def manifest_ws(ws: Path, n: int = 5) -> list[str]:
    """n images with files, plus TYPO third, imported with add_candidates.py as a user does."""
    fps = [f"images/korean/a/p{i}.jpg" for i in range(n)]
    support.touch_images(ws, [{"filepath": fp} for fp in fps])
    fps.insert(2, TYPO)
    rows = "".join(f"{fp},Artist A,Title {i}\n" for i, fp in enumerate(fps))
    (ws / "m.csv").write_text("filepath,artist,title\n" + rows, encoding="utf-8")
    support.run("add_candidates.py", "korean", ws / "m.csv", ws=ws, check=True)
    return fps


def status(ws: Path) -> dict:
    return support.run_json("batch_status.py", "--culture", "korean", ws=ws)["cultures"][0]


def adds_up(row: dict) -> bool:
    return row["completed"] + row["pending"] + row["parked"] + row["in_flight_items"] == row["total"]


def park_typo(ws: Path) -> None:
    """The first claim reaches TYPO and parks it (its file does not exist)."""
    out = support.run("run_next_batch.py", "korean", "--size", "3", ws=ws, check=True).stdout
    assert f"{TYPO}: image file not found" in out and "remove_candidates.py korean --fix OLD NEW" in out
    assert status(ws)["parked"] == 1


def rebuild_check(ws: Path) -> None:
    r = support.run("batch_status.py", "--rebuild", "--check", "--culture", "korean", ws=ws)
    assert r.returncode == 0, r.stdout + r.stderr


def test_hand_removal_then_rebuild_no_longer_parks_it(ws):
    """The issue's reproduction: before, the removed image stayed parked and the counts exceeded the total."""
    manifest_ws(ws)
    park_typo(ws)
    path = ws / "checkpoints" / "korean_expansion_candidates.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["images"] = [img for img in doc["images"] if img["filepath"] != TYPO]
    path.write_text(json.dumps(doc), encoding="utf-8")
    support.run("batch_status.py", "--rebuild", "--culture", "korean", ws=ws, check=True)
    row = status(ws)
    assert (row["total"], row["parked"], row["in_flight_items"], row["pending"]) == (5, 0, 3, 2)
    assert adds_up(row)
    assert TYPO not in support.run("batch_status.py", "korean", ws=ws, check=True).stdout
    rebuild_check(ws)


def test_fix_keeps_metadata_and_makes_the_parked_image_pending(ws):
    manifest_ws(ws)
    park_typo(ws)
    support.touch_images(ws, [{"filepath": FIXED}])
    r = support.run("remove_candidates.py", "korean", "--fix", TYPO, FIXED, ws=ws, check=True)
    assert r.stdout.splitlines()[0] == "korean: corrected 1 filepath; 1 parked item no longer parked; candidates now 6"
    assert "progress rebuilt" in r.stdout
    images = support.image_list(ws, "korean")
    assert images[2] == {"filepath": FIXED, "artist": "Artist A", "title": "Title 2"}  # in place, metadata kept
    row = status(ws)
    assert (row["parked"], row["pending"], row["in_flight_items"]) == (0, 3, 3) and adds_up(row)
    rebuild_check(ws)
    # the corrected image is claimed next (a gap before the cursor), with a subagent this time
    support.run("run_next_batch.py", "korean", "--size", "1", ws=ws, check=True)
    assert support.batch_items(ws, "korean", 2) == [FIXED]
    rebuild_check(ws)


def test_remove_a_parked_and_a_pending_candidate(ws):
    fps = manifest_ws(ws)
    park_typo(ws)
    got = support.run_json("remove_candidates.py", "korean", TYPO, "./" + fps[-1], ws=ws)  # a spelling normalised
    assert got["removed"] == [TYPO, fps[-1]] and got["unparked"] == [TYPO] and got["candidates"] == 4
    assert got["status"] == {"total": 4, "completed": 0, "pending": 1, "parked": 0, "in_flight_items": 3}
    assert [img["filepath"] for img in support.image_list(ws, "korean")] == [fps[0], fps[1], fps[3], fps[4]]
    row = status(ws)
    assert {k: row[k] for k in got["status"]} == got["status"]
    rebuild_check(ws)
    # the loop carries on: the one pending image is claimed, nothing asks for a rebuild
    support.run("run_next_batch.py", "korean", ws=ws, check=True)
    assert support.batch_items(ws, "korean", 2) == [fps[4]]


def test_dry_run_and_culture_flag_change_nothing(ws):
    manifest_ws(ws)
    park_typo(ws)
    before = support.state_hashes(ws)
    r = support.run("remove_candidates.py", "--culture", "korean", "--fix", TYPO, FIXED, "--dry-run", ws=ws, check=True)
    assert r.stdout.splitlines()[0] == "korean: would correct 1 filepath; 1 parked item no longer parked; candidates would be 6"
    assert f"{FIXED}: no file at" in r.stdout and "a claim parks it again" in r.stdout
    got = support.run_json("remove_candidates.py", "--culture", "korean", TYPO, "--dry-run", ws=ws)
    assert got["dry_run"] and got["status"]["parked"] == 0 and got["status"]["total"] == 5
    assert support.state_hashes(ws) == before


def test_appended_again_its_parking_comes_back_and_progress_is_rebuilt(ws):
    manifest_ws(ws)
    park_typo(ws)
    support.run("remove_candidates.py", "korean", TYPO, ws=ws, check=True)
    log = json.loads((ws / "checkpoints" / "korean_removed_candidates.json").read_text(encoding="utf-8"))
    assert list(log["filepaths"]) == [TYPO] and log["filepaths"][TYPO] == T0
    (ws / "again.csv").write_text(f"filepath,artist,title\n{TYPO},Artist A,Title 2\n", encoding="utf-8")
    support.run("add_candidates.py", "korean", ws / "again.csv", ws=ws, check=True)
    row = status(ws)
    assert (row["total"], row["parked"]) == (6, 1) and adds_up(row)  # its file is still missing: parked again
    rebuild_check(ws)


def answer_and_collect(ws: Path, bid: int) -> None:
    items = support.batch_items(ws, "korean", bid)
    support.write_output(ws, "korean", bid, [support.good_record("korean", fp) for fp in items])
    support.run("run_next_batch.py", "korean", "--count", "0", ws=ws, check=True)


@pytest.mark.parametrize("args, says", [
    (("images/korean/a/p0.jpeg",), "'images/korean/a/p0.jpeg' is not a candidate of korean (did you mean 'images/korean/a/p0.jpg'?)"),
    (("images/korean/a/p0.jpg",), "'images/korean/a/p0.jpg' was accepted (batch 001): its record stays in the dataset"),
    (("images/korean/a/p3.jpg",), "'images/korean/a/p3.jpg' is in flight in batch 002: run this again once that batch is collected"),
    (("--fix", TYPO, "images/korean/a/p4.jpg"), "'images/korean/a/p4.jpg' is already a candidate of korean (images[5]); remove"),
    ((TYPO, TYPO), f"'{TYPO}' is given twice"),
    ((TYPO, "images/korean/a/p0.jpg"), "was accepted (batch 001)"),  # all or nothing: TYPO stays too
    ((), "nothing to do"),
])
def test_refusals_exit_2_and_change_nothing(ws, args, says):
    manifest_ws(ws)
    park_typo(ws)  # batch 001: p0, p1, p2 (TYPO parked on the way)
    answer_and_collect(ws, 1)
    support.run("run_next_batch.py", "korean", "--size", "1", ws=ws, check=True)  # batch 002: p3
    before = support.state_hashes(ws)
    r = support.run("remove_candidates.py", "korean", *args, ws=ws)
    assert r.returncode == 2, r.stdout + r.stderr
    assert says in r.stderr and len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
    assert support.state_hashes(ws) == before


def test_refusals_in_json(ws):
    manifest_ws(ws)
    park_typo(ws)
    r = support.run("remove_candidates.py", "korean", "images/korean/a/p1.jpg", "--json", ws=ws)
    got = json.loads(r.stdout)
    assert r.returncode == 2 and got["ok"] is False and "is in flight in batch 001" in got["error"]
    assert got["file"].endswith("checkpoints/korean_expansion_candidates.json")


# --- the core, as a state machine: random claims, answers, removals and corrections -------------

class CandidateEditsMachine(RuleBasedStateMachine):
    """Whatever is removed or corrected, and whenever: completed + pending + parked + in flight ==
    total, and the kept progress equals the rebuild."""

    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="cands-"))
        (self.dir / "checkpoints").mkdir()
        self.ws = Workspace(self.dir)
        images = support.write_candidates(self.dir, "korean", 12)
        for img in images[3::4]:  # a few mistyped: no file, parked at their first claim
            (self.dir / img["filepath"]).unlink()
        self.serial = 0
        self.removed: list[str] = []

    def teardown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def _session(self, fn):
        return run_session(self.ws, "korean", fn)

    def _filepaths(self) -> list[str]:
        return [img["filepath"] for img in support.image_list(self.dir, "korean")]

    @rule(size=st.integers(1, 4))
    def claim(self, size):
        self._session(lambda s: s.claim(1, size))

    @rule(good=st.booleans(), pick=st.integers(0, 5))
    def answer_and_collect(self, good, pick):
        p = progress_view(self.ws, "korean")
        if p is None or not p.in_flight:
            return
        bid = sorted(int(b) for b in p.in_flight)[pick % len(p.in_flight)]
        items = support.batch_items(self.dir, "korean", bid)
        records = [support.good_record("korean", fp) if good else support.bad_record("korean", fp, "short_zh") for fp in items]
        support.write_output(self.dir, "korean", bid, records)
        self._session(lambda s: s.collect())

    @rule(pick=st.integers(0, 50), fix=st.booleans(), with_file=st.booleans(), failed=st.booleans())
    def remove_or_fix(self, pick, fix, with_file, failed):
        fps = self._filepaths()
        p = progress_view(self.ws, "korean")
        if failed and p is not None:  # one with a history (failed, parked) more often than chance would pick it
            fps = [fp for fp in fps if fp in p.failures] or fps
        if not fps:
            return
        old = fps[pick % len(fps)]
        try:
            if fix:
                self.serial += 1
                new = f"images/korean/fixed_{self.serial}.jpg"
                if with_file:
                    support.touch_images(self.dir, [{"filepath": new}])
                edit_candidates(self.ws, "korean", [], [(old, new)])
                assert new in self._filepaths() and old not in self._filepaths()
            else:
                edit_candidates(self.ws, "korean", [old], [])
                assert old not in self._filepaths()
            self.removed.append(old)
        except InputError as exc:  # accepted or in flight: refused, as said
            assert "was accepted" in str(exc) or "is in flight" in str(exc)
            assert old in self._filepaths()

    @rule(pick=st.integers(0, 50))
    def append_again(self, pick):
        """add_candidates.py appends a removed filepath again: its earlier failures count again."""
        back = [fp for fp in self.removed if fp not in self._filepaths()]
        if not back:
            return
        manifest = self.dir / "again.csv"
        manifest.write_text(f"filepath,artist,title\n{back[pick % len(back)]},Again,Again\n", encoding="utf-8")
        add_candidates(self.ws, "korean", manifest, done=set(), dry_run=False)

    @rule()
    def requeue(self):
        if progress_view(self.ws, "korean") is not None:
            self._session(lambda s: s.requeue(None))

    @invariant()
    def counts_add_up(self):
        p = progress_view(self.ws, "korean")
        if p is None:
            return
        c = counts(p, self.ws.culture("korean").max_attempts)
        assert c["completed"] + c["pending"] + c["parked"] + c["in_flight_items"] == c["total"] == len(self._filepaths())

    @invariant()
    def rebuild_equals_incremental(self):
        if not self.ws.progress_path("korean").exists():
            return
        self._session(lambda s: None)  # the kept state is brought up to date by a session
        kept = prog.load_progress(self.ws, "korean")
        assert rebuild(self.ws, "korean").comparable() == kept.comparable()


TestCandidateEditsMachine = CandidateEditsMachine.TestCase
TestCandidateEditsMachine.settings = settings(max_examples=25, stateful_step_count=15, deadline=None,
                                              suppress_health_check=[HealthCheck.too_slow])
