"""The fault harness: a scripted expansion of 3 cultures while claims, collections and syncs run
in parallel processes that are killed with SIGKILL at random points.

Short mode (default, CI): 3 x 60 images, >= 15 kills. Long mode: CRITIQUE_BATCH_LONG=1
(or `./run-tests.sh --long`): 3 x 300 images, >= 50 kills.

At the end every state file parses and passes its schema, rebuild == incremental, every candidate
is accepted exactly once or parked with a reason, and the LanceDB table (when the merger is
installed) holds each accepted record exactly once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path


import support
from critique_batch import progress as prog
from critique_batch.jsonfiles import read_json
from critique_batch.workspace import BATCH_FILE

CULTURES = ["korean", "indian", "mural"]
SYNC = support.SCRIPTS / "sync_to_lancedb.py"


def long_mode(config) -> bool:
    return bool(os.environ.get("CRITIQUE_BATCH_LONG")) or config.getoption("--long", default=False)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def spawn(args: list[str], ws: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args, "--workspace", str(ws)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **env})


def check_state_files(ws: Path) -> None:
    """Every file of the workspace parses and passes its schema."""
    schema_of = {"input": "batch_input", "result": "batch_result"}
    for path in sorted((ws / "checkpoints").glob("*.json")):
        m = BATCH_FILE.match(path.name)
        if m and m["kind"] in schema_of:
            read_json(path, schema_of[m["kind"]])
        elif path.name.endswith("_expansion_progress.json"):
            read_json(path, "progress")
        elif path.name.endswith("_expansion_candidates.json"):
            read_json(path, "candidates")
        elif path.name.endswith("_requeued.json"):
            read_json(path, "requeue")
    assert not [p for p in (ws / "checkpoints").rglob("*.tmp") if p.is_file()]


def test_fault_campaign(ws, request):
    long = long_mode(request.config)
    n_images, min_kills = (300, 50) if long else (60, 15)
    rng = random.Random(20261126)
    for c in CULTURES:
        support.write_candidates(ws, c, n_images)
    gens = {c: support.ScriptedGenerator(ws, c, seed=i, p_invalid=0.2, p_malformed=0.05, p_abandon=0.05, p_skip=0.01)
            for i, c in enumerate(CULTURES)}
    answered: set[tuple[str, int, int]] = set()  # (culture, batch, claims) already answered or abandoned
    clock = datetime(2026, 11, 1, tzinfo=timezone.utc)
    kills = 0
    have_sync = SYNC.exists()
    for round_ in range(400):
        clock += timedelta(minutes=3)
        env = {"CRITIQUE_BATCH_NOW": iso(clock), "CRITIQUE_BATCH_LOCK_TIMEOUT": "30"}
        jobs = [[str(support.SCRIPTS / "run_next_batch.py"), "--count", str(rng.randint(0, 4))] for _ in range(rng.randint(2, 4))]
        if have_sync and rng.random() < 0.5:
            jobs.append([str(SYNC), "--force"])
        procs = [spawn(j, ws, env) for j in jobs]
        victims = rng.sample(procs, k=rng.randint(0, min(2, len(procs))))
        deadline = time.monotonic() + 30
        for v in victims:
            time.sleep(rng.uniform(0.0, 0.25))
            if v.poll() is None:
                v.send_signal(signal.SIGKILL)
                kills += 1
        for p in procs:
            _, err = p.communicate(timeout=max(deadline - time.monotonic(), 1))
            if p.returncode not in (-signal.SIGKILL,):
                assert "Traceback" not in err, err
                assert p.returncode in (0, 1), err
        # the subagents answer what is in flight (each claim once; some are abandoned)
        for c in CULTURES:
            path = ws / "checkpoints" / f"{c}_expansion_progress.json"
            if not path.exists():
                continue
            for key, entry in json.loads(path.read_text())["in_flight"].items():
                token = (c, int(key), entry["claims"])
                out = ws / "checkpoints" / f"{c}_batch_{int(key):03d}_output.json"
                if token in answered or out.exists():
                    continue
                answered.add(token)
                gens[c].answer(int(key))
        # done when nothing is pending or in flight anywhere (and enough kills happened)
        rows = support.run_json("batch_status.py", ws=ws, env=env)["cultures"]
        busy = [r for r in rows if r["culture"] in CULTURES and (r["pending"] or r["in_flight"])]
        if not busy and kills >= min_kills:
            break
        if round_ % 10 == 9:
            clock += timedelta(minutes=61)  # abandoned claims come back after their lease
    else:
        raise AssertionError("the campaign did not finish")
    # a clean final pass: collect everything, merge everything
    env = {"CRITIQUE_BATCH_NOW": iso(clock + timedelta(minutes=5))}
    for c in CULTURES:  # a session per culture also clears temporary files of killed writers
        support.run("run_next_batch.py", "--culture", c, "--count", "0", ws=ws, env=env, check=True)
    assert kills >= min_kills

    parked_total = sum(len(prog.parked(support.progress(ws, c), 3)) for c in CULTURES)
    print(f"\nfault campaign: {len(CULTURES)} x {n_images} images, {round_ + 1} rounds, {kills} processes killed, "
          f"{sum(support.progress(ws, c)['completed'] for c in CULTURES)} accepted, {parked_total} parked")
    check_state_files(ws)
    check = support.run("batch_status.py", "--rebuild", "--check", ws=ws, env=env)
    assert check.returncode == 0, check.stdout
    for c in CULTURES:
        p = support.progress(ws, c)
        accepted = support.accepted_filepaths(ws, c)
        assert len(accepted) == len(set(accepted)), f"{c}: an item was accepted twice"
        parked = prog.parked(p, 3)
        assert all(f["reason"] for f in parked.values())
        everything = {img["filepath"] for img in support.image_list(ws, c)}
        assert set(accepted) | set(parked) == everything and not set(accepted) & set(parked)
        assert p["completed"] == len(accepted)
    if have_sync:
        support.run("sync_to_lancedb.py", "--force", ws=ws, env=env, check=True)
        rows = _table_filepaths(ws)
        for c in CULTURES:
            accepted = set(support.accepted_filepaths(ws, c))
            mine = [fp for cul, fp in rows if cul == c]
            assert len(mine) == len(set(mine)) == len(accepted) and set(mine) == accepted
            p = support.progress(ws, c)
            assert set(p["merged_batches"]) == {int(b) for b, n in p["batch_accepted"].items() if n}


def _table_filepaths(ws: Path) -> list[tuple[str, str]]:
    code = ("import lancedb,sys,json; t=lancedb.connect(sys.argv[1]).open_table('critiques');"
            "a=t.to_arrow(); print(json.dumps(list(zip(a['culture'].to_pylist(), a['filepath'].to_pylist()))))")
    out = subprocess.run([sys.executable, "-c", code, str(ws / "lancedb")], capture_output=True, text=True, check=True).stdout
    return [tuple(x) for x in json.loads(out)]
