"""A hypothesis state machine of the claim / answer / collect / retry / park / requeue / rebuild
life cycle, checked step by step against a simple model of what must happen."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import support
from critique_batch.state.rebuild import rebuild
from critique_batch.state.session import run_session
from critique_batch.state import progress as prog
from critique_batch.base.clock import iso
from critique_batch.files.workspace import Workspace

MAX_PARALLEL, MAX_ATTEMPTS, LEASE_MIN = 4, 3, 60
ITEM_KINDS = st.sampled_from(["good", "good", "bad", "missing", "skip"])


class Model:
    def __init__(self, images: list[str]):
        self.images = images
        self.cursor = 0
        self.next_bid = 1
        self.in_flight: dict[int, dict] = {}  # bid -> {"items", "expires", "answer"}
        self.accepted: set[str] = set()
        self.failures: dict[str, int] = {}
        self.forgiven: dict[str, int] = {}
        self.skipped: set[str] = set()

    def parked(self) -> set[str]:
        out = {fp for fp, n in self.failures.items() if n - self.forgiven.get(fp, 0) >= MAX_ATTEMPTS}
        return out | self.skipped

    def claim(self, count: int, size: int, now: int) -> list[int]:
        got = []
        for bid in sorted(self.in_flight):
            b = self.in_flight[bid]
            if len(got) < count and b["expires"] <= now and b["answer"] is None:
                b["expires"] = now + LEASE_MIN
                got.append(bid)
        while len(got) < count and len(self.in_flight) < MAX_PARALLEL:
            busy = {fp for b in self.in_flight.values() for fp in b["items"]}
            parked = self.parked()
            retry = [fp for fp in self.images if fp in self.failures and fp not in busy and fp not in parked]
            items = retry[:size]
            while len(items) < size and self.cursor < len(self.images):
                items.append(self.images[self.cursor])
                self.cursor += 1
            if not items:
                break
            self.in_flight[self.next_bid] = {"items": items, "expires": now + LEASE_MIN, "answer": None}
            got.append(self.next_bid)
            self.next_bid += 1
        return got

    def collect(self) -> None:
        for bid in sorted(self.in_flight):
            b = self.in_flight[bid]
            if b["answer"] is None:
                continue
            del self.in_flight[bid]
            kinds = b["answer"] if isinstance(b["answer"], dict) else {fp: "bad" for fp in b["items"]}
            for fp in b["items"]:
                k = kinds[fp]
                if k == "good":
                    self.accepted.add(fp)
                    self.failures.pop(fp, None)
                    self.forgiven.pop(fp, None)
                elif k == "skip":
                    self.skipped.add(fp)
                    self.failures.setdefault(fp, 0)
                else:
                    self.failures[fp] = self.failures.get(fp, 0) + 1

    def requeue(self) -> None:
        for fp in self.parked():
            self.forgiven[fp] = self.failures.get(fp, 0)
        self.skipped.clear()


class LifeCycle(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="cb-model-"))
        (self.dir / "checkpoints").mkdir()
        images = support.write_candidates(self.dir, "korean", 14)
        self.model = Model([img["filepath"] for img in images])
        self.base = datetime.now(timezone.utc).replace(microsecond=0)
        self.minute = 0
        self.saved_env = os.environ.get("CRITIQUE_BATCH_NOW")
        self._set_clock()

    def _set_clock(self):
        os.environ["CRITIQUE_BATCH_NOW"] = iso(self.base + timedelta(minutes=self.minute))

    def teardown(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.saved_env is None:
            os.environ.pop("CRITIQUE_BATCH_NOW", None)
        else:
            os.environ["CRITIQUE_BATCH_NOW"] = self.saved_env

    def ws(self):
        return Workspace(self.dir)

    def progress(self) -> dict:
        return support.progress(self.dir, "korean")

    @rule(count=st.integers(1, 3), size=st.integers(1, 4))
    def claim(self, count, size):
        got = run_session(self.ws(), "korean", lambda s: s.claim(count, size))
        want = self.model.claim(count, size, self.minute)
        assert [b["batch_id"] for b in got] == want
        for b in got:
            assert support.batch_items(self.dir, "korean", b["batch_id"]) == self.model.in_flight[b["batch_id"]]["items"]

    @rule(pick=st.integers(0, 7), kinds=st.lists(ITEM_KINDS, min_size=4, max_size=4),
          whole=st.sampled_from(["records", "records", "malformed", "not_a_list"]))
    def answer(self, pick, kinds, whole):
        if not self.model.in_flight:
            return
        bids = sorted(self.model.in_flight)
        bid = bids[pick % len(bids)]
        b = self.model.in_flight[bid]
        if whole == "malformed":
            support.write_output(self.dir, "korean", bid, "[{\"filepath\": ")
            b["answer"] = "malformed"
            return
        if whole == "not_a_list":
            support.write_output(self.dir, "korean", bid, json.dumps({"records": []}))
            b["answer"] = "malformed"
            return
        answer, records = {}, []
        for fp, kind in zip(b["items"], kinds):
            answer[fp] = kind
            if kind == "good":
                records.append(support.good_record("korean", fp))
            elif kind == "bad":
                records.append(support.bad_record("korean", fp, "short_zh"))
            elif kind == "skip":
                records.append({"filepath": fp, "skipped": "could not open the image"})
        support.write_output(self.dir, "korean", bid, records)
        b["answer"] = answer

    @rule()
    def collect(self):
        self.minute += 2  # outputs are older than the write grace period when collected
        self._set_clock()
        run_session(self.ws(), "korean", lambda s: s.collect())
        self.model.collect()

    @rule(minutes=st.sampled_from([5, 30, 61]))
    def time_passes(self, minutes):
        self.minute += minutes
        self._set_clock()

    @rule()
    def requeue(self):
        run_session(self.ws(), "korean", lambda s: s.requeue(None))
        self.model.requeue()

    @rule()
    def rebuild(self):
        run_session(self.ws(), "korean", lambda s: None)
        fresh = rebuild(self.ws(), "korean")
        assert fresh.comparable() == prog.Progress.from_json(self.progress()).comparable()

    @invariant()
    def matches_model(self):
        path = self.dir / "checkpoints" / "korean_expansion_progress.json"
        if not path.exists():
            return
        p = self.progress()
        m = self.model
        assert p["completed"] == len(m.accepted)
        accepted = support.accepted_filepaths(self.dir, "korean")
        assert len(accepted) == len(set(accepted)) and set(accepted) == m.accepted
        assert {int(k): v["items"] for k, v in p["in_flight"].items()} == {k: v["items"] for k, v in m.in_flight.items()}
        assert set(prog.Progress.from_json(p).parked(MAX_ATTEMPTS)) == m.parked()
        assert p["next_batch"] == m.next_bid
        pending = len(m.images) - len(m.accepted) - len(m.parked() - m.accepted) - sum(len(b["items"]) for b in m.in_flight.values())
        assert prog.Progress.from_json(p).pending(MAX_ATTEMPTS) == pending


TestLifeCycle = LifeCycle.TestCase
TestLifeCycle.settings = settings(max_examples=60, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
