"""The fault harness: a scripted expansion of 3 cultures while claims, collections and syncs run
in parallel processes that are killed with SIGKILL at random points.

Short mode (default, CI): 3 x 60 images, >= 15 kills. Long mode: CRITIQUE_BATCH_LONG=1
(or `./run-tests.sh --long`): 3 x 300 images, >= 50 kills.

At the end every state file parses and passes its schema, rebuild == incremental, every candidate
is accepted exactly once or parked with a reason, and the LanceDB table (when the merger is
installed) holds each accepted record exactly once.

A second campaign: two workspaces syncing into one database at the same time while syncs are killed
(test_two_workspaces_one_database_killed).
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


def test_two_workspaces_one_database_killed(tmp_path, request):
    """Two workspaces (sharing some filepaths) sync into one database folder at the same time while
    syncs are SIGKILLed at random moments; new batches keep arriving. After a final healing sync
    of each, every accepted record is in the table exactly once (the newest per filepath) and each
    workspace's merged_batches agrees with the table.

    Short mode: 4 rounds, >= 3 kills. Long mode: 24 rounds, >= 12 kills."""
    import store_support as sup
    from critique_batch import store

    long = long_mode(request.config)
    rounds, min_kills = (24, 12) if long else (4, 3)
    rng = random.Random(20261127)
    db = str(tmp_path / "shared-db")
    roots = [sup.make_ws(tmp_path / name, {"korean": 10}, batch_size=4) for name in ("a", "b")]
    for k, root in enumerate(roots):  # images 20.. are in both workspaces
        doc = {"culture": "korean", "images": [sup.image("korean", i) for i in range(20 * k, 20 * k + 4 * 3 * rounds)]}
        (root / "checkpoints" / "korean_expansion_candidates.json").write_text(json.dumps(doc), encoding="utf-8")
    kills = 0
    for round_ in range(rounds):
        for k, root in enumerate(roots):
            sup.produce(root, "korean", rng.randint(0, 3), version=k)
        procs = [spawn([str(SYNC), "--force", "--db", db], root, {}) for root in roots for _ in range(rng.randint(1, 2))]
        victims = rng.sample(procs, k=rng.randint(1, min(2, len(procs))))
        for v in victims:
            time.sleep(rng.uniform(0.3, 3.5))  # an import takes ~1-2 s; the critical section follows
            if v.poll() is None:
                v.send_signal(signal.SIGKILL)
                kills += 1
        for p in procs:
            _, err = p.communicate(timeout=300)
            if p.returncode != -signal.SIGKILL:
                assert p.returncode == 0 and "Traceback" not in err, err
    assert kills >= min_kills, f"only {kills} syncs were killed mid-way"
    for root in roots:  # the healing syncs, one after the other
        support.run("sync_to_lancedb.py", "--force", "--db", db, ws=root, check=True)
    for root in roots:  # each sees the other's last commit: nothing left to merge, nothing re-merged
        out = support.run_json("sync_to_lancedb.py", "--force", "--db", db, ws=root)
        assert not out["merged"] and out["records"] == 0, out

    rows = sup.table_rows(db)
    fps = [r["filepath"] for r in rows]
    want: dict[str, tuple] = {}
    for root in roots:
        wid = json.loads((root / "checkpoints" / store.WORKSPACE_ID_FILE).read_text())["workspace_id"]
        for fp, rec in sup.accepted(root, "korean").items():
            want[fp] = max(want.get(fp, ()), (rec["accepted_at"], rec["batch_id"], wid))
        p = sup.progress(root, "korean")
        assert set(p["merged_batches"]) == set(p["completed_batches"]), "a workspace has batches left unmerged"
    assert len(fps) == len(set(fps)) == len(want), f"{len(fps)} rows for {len(set(fps))} filepaths, {len(want)} accepted"
    got = {r["filepath"]: (r["accepted_at"].isoformat().replace("+00:00", "Z"), r["batch_id"], r["workspace_id"]) for r in rows}
    assert got == want
    print(f"\ntwo workspaces, one database: {rounds} rounds, {kills} syncs killed, {len(fps)} rows == filepaths == accepted")
