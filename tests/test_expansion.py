"""A whole expansion driven by the scripts, as the orchestrator agent drives it, with a scripted
stand-in for the subagents that writes valid, invalid, malformed, skipped and missing output."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import support


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_250_image_korean_expansion(ws):
    support.write_candidates(ws, "korean", 250)
    gen = support.ScriptedGenerator(ws, "korean", seed=7)
    clock = datetime(2026, 11, 1, tzinfo=timezone.utc)
    outcomes = Counter()
    requeues = 0
    for _round in range(200):
        clock += timedelta(minutes=5)
        env = {"CRITIQUE_BATCH_NOW": iso(clock)}
        status = support.run_json("batch_status.py", ws=ws, env=env)["cultures"]
        kr = next(c for c in status if c["culture"] == "korean")
        if kr["completed"] == 250:
            break
        # from the workspace, as Claude Code runs there: the briefs' paths are relative, the brief at most 600 bytes
        got = support.run_json("run_next_batch.py", "--culture", "korean", "--count", "4", ws=ws, env=env, expect=None, cwd=ws)
        if not got["batches"]:
            if kr["in_flight"]:  # only abandoned claims left: let their leases expire
                clock += timedelta(minutes=61)
                continue
            assert kr["parked"], kr
            support.run("requeue_parked.py", "korean", ws=ws, env=env, check=True)
            requeues += 1
            continue
        for b in got["batches"]:
            assert len(b["brief"].encode()) <= 600
            outcomes[gen.answer(b["batch_id"])] += 1
        clock += timedelta(minutes=2)  # malformed files are judged once they are old enough
        support.run("run_next_batch.py", "--count", "0", ws=ws, env={"CRITIQUE_BATCH_NOW": iso(clock)}, check=True)
    else:
        raise AssertionError("the expansion did not finish")

    p = support.progress(ws, "korean")
    assert p["completed"] == 250
    accepted = support.accepted_filepaths(ws, "korean")
    assert len(accepted) == 250 and len(set(accepted)) == 250, "an item was accepted twice"
    assert set(accepted) == {img["filepath"] for img in support.image_list(ws, "korean")}
    assert sum(s["completed"] for s in p["artists_status"].values()) == 250
    # the mix really happened
    assert outcomes["malformed"] >= 1 and outcomes["abandoned"] >= 1 and outcomes["answered"] >= 20
    assert p["failed_batches"], "malformed outputs must fail their batch"
    check = support.run("batch_status.py", "--rebuild", "--check", ws=ws)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "matches" in check.stdout
