"""The fault harness: a scripted expansion of 3 cultures while claims, collections and syncs run
in parallel processes that are killed with SIGKILL at points the test chooses at random (faults.py:
an atomic write before or after its rename, a stage of a sync), never at a time a faster machine outruns.

Short mode (default, CI): 3 x 60 images, >= 15 kills. Long mode: CRITIQUE_BATCH_LONG=1
(or `./run-tests.sh --long`): 3 x 300 images, >= 50 kills.

At the end every state file parses and passes its schema, rebuild == incremental, every candidate
is accepted exactly once or parked with a reason, and the LanceDB table (when the merger is
installed) holds each accepted record exactly once.

A second campaign: two workspaces syncing into one database at the same time while syncs are killed
(test_two_workspaces_one_database_killed).

test_hand_edits_then_advised_rebuild: hand edits between the steps of an expansion, each followed
by the rebuild the error messages advise (short: 40 images, 9 edits; long: 150 images, 40 edits).
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
from critique_batch.state import progress as prog
from critique_batch.base.jsonfiles import read_json
from critique_batch.files.workspace import BATCH_FILE

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
        m = BATCH_FILE.fullmatch(path.name)
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
    where: dict[str, int] = {}  # kinds of fault points where processes died
    log = ws / "faults.log"
    have_sync = SYNC.exists()
    for round_ in range(400):
        clock += timedelta(minutes=3)
        env = {"CRITIQUE_BATCH_NOW": iso(clock), "CRITIQUE_BATCH_LOCK_TIMEOUT": "30"}
        jobs = [[str(support.SCRIPTS / "run_next_batch.py"), "--count", str(rng.randint(0, 4))] for _ in range(rng.randint(2, 4))]
        if have_sync and rng.random() < 0.5:
            jobs.append([str(SYNC), "--force"])
        # victims die at a point the test chooses (faults.py): their Nth atomic write (before or after
        # its rename), or a stage of a sync; a process that ends before its point is not a kill
        victims = set(rng.sample(range(len(jobs)), k=rng.randint(0, min(2, len(jobs)))))
        procs = []
        for i, j in enumerate(jobs):
            fault = {}
            if i in victims:
                point = rng.choice(SYNC_POINTS) if j[0] == str(SYNC) else f"write.@{rng.randint(1, 6)}"
                fault = {"CRITIQUE_BATCH_FAULT": point, "CRITIQUE_BATCH_FAULT_LOG": str(log)}
            procs.append(spawn(j, ws, {**env, **fault}))
        deadline = time.monotonic() + 60
        for p in procs:
            _, err = p.communicate(timeout=max(deadline - time.monotonic(), 1))
            if p.returncode not in (-signal.SIGKILL,):
                assert "Traceback" not in err, err
                assert p.returncode in (0, 1), err
        for point in killed_at(log):
            kills += 1
            kind = ".".join(point.split(".")[:2])  # write.before-rename, sync.committed, ...
            where[kind] = where.get(kind, 0) + 1
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

    parked_total = sum(len(prog.Progress.from_json(support.progress(ws, c)).parked(3)) for c in CULTURES)
    print(f"\nfault campaign: {len(CULTURES)} x {n_images} images, {round_ + 1} rounds, {kills} processes killed {where}, "
          f"{sum(support.progress(ws, c)['completed'] for c in CULTURES)} accepted, {parked_total} parked")
    check_state_files(ws)
    check = support.run("batch_status.py", "--rebuild", "--check", ws=ws, env=env)
    assert check.returncode == 0, check.stdout
    for c in CULTURES:
        p = support.progress(ws, c)
        accepted = support.accepted_filepaths(ws, c)
        assert len(accepted) == len(set(accepted)), f"{c}: an item was accepted twice"
        parked = prog.Progress.from_json(p).parked(3)
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


# --- hand edits followed by the advised rebuild ------------------------------------------------

def _pending_images(p: dict, images: list[dict]) -> set[str]:
    """What progress says is pending: the retry pool, the gaps before the cursor, the cursor's tail."""
    out = set(prog.Progress.from_json(p).retry_pool(3))
    for start, end in p["gaps"]:
        out.update(img["filepath"] for img in images[start:end])
    out.update(img["filepath"] for img in images[p["cursor"]:])
    return out


def check_nothing_disappears(ws: Path, culture: str, env: dict) -> dict:
    """Every candidate is accepted, parked with a reason, in flight or pending: exactly one of them;
    status agrees, and `--rebuild --check` passes."""
    check = support.run("batch_status.py", "--rebuild", "--check", ws=ws, env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    p = support.progress(ws, culture)
    images = support.image_list(ws, culture)
    everything = {img["filepath"] for img in images}
    accepted = support.accepted_filepaths(ws, culture)
    assert len(accepted) == len(set(accepted)), "an image was accepted twice"
    parked = prog.Progress.from_json(p).parked(3)
    assert all(f["reason"] for f in parked.values())
    flying = prog.Progress.from_json(p).in_flight_items()
    pending = _pending_images(p, images)
    parts = [set(accepted) & everything, set(parked) & everything, flying & everything, pending & everything]
    assert sum(len(x) for x in parts) == len(everything), "an image is in two states"
    assert set().union(*parts) == everything, f"images disappeared: {sorted(everything - set().union(*parts))[:5]}"
    row = support.run_json("batch_status.py", "--culture", culture, ws=ws, env=env)["cultures"][0]
    assert row["pending"] == len(pending) and row["completed"] == len(accepted)
    return {"accepted": len(accepted), "parked": len(parked), "in_flight": len(flying), "pending": len(pending)}


def _write_images(ws: Path, culture: str, images: list[dict]) -> None:
    path = ws / "checkpoints" / f"{culture}_expansion_candidates.json"
    path.write_text(json.dumps({"culture": culture, "images": images}, ensure_ascii=False))
    support.touch_images(ws, images)  # a claim parks an image without a file


CYCLE = ["delete_input", "insert_top", "delete_progress", "shuffle_unclaimed", "insert_middle", "remove_unclaimed", "append"]


def hand_edit(ws: Path, culture: str, rng: random.Random, serial: int) -> str:
    """One edit a user might make by hand. Returns its name."""
    cp = ws / "checkpoints"
    p = support.progress(ws, culture)
    images = support.image_list(ws, culture)
    handed = prog.Progress.from_json(p).in_flight_items() | set(p["failures"]) | set(support.accepted_filepaths(ws, culture))
    kinds = ["insert_top", "insert_middle", "append", "delete_progress"]
    if p["in_flight"]:
        kinds.append("delete_input")
    if any(img["filepath"] not in handed for img in images):
        kinds += ["remove_unclaimed", "shuffle_unclaimed"]
    # each kind in turn (when it applies), so that a short run covers them all
    kind = next((k for k in CYCLE[serial % len(CYCLE):] + CYCLE if k in kinds), None) or rng.choice(kinds)
    new = {"filepath": f"images/{culture}/added/hand_{serial:04d}.jpg", "artist": "Added By Hand", "title": f"Hand {serial}"}
    if kind == "insert_top":
        _write_images(ws, culture, [new] + images)
    elif kind == "insert_middle":
        at = rng.randint(0, len(images))
        _write_images(ws, culture, images[:at] + [new] + images[at:])
    elif kind == "append":
        _write_images(ws, culture, images + [new])
    elif kind == "delete_progress":
        (cp / f"{culture}_expansion_progress.json").unlink()
    elif kind == "delete_input":
        bid = int(rng.choice(sorted(p["in_flight"])))
        (cp / f"{culture}_batch_{bid:03d}_input.json").unlink()
    elif kind == "remove_unclaimed":
        victim = rng.choice([img for img in images if img["filepath"] not in handed])
        _write_images(ws, culture, [img for img in images if img is not victim])
    else:  # reorder the images never handed out among themselves
        free = [i for i, img in enumerate(images) if img["filepath"] not in handed]
        moved = [images[i] for i in free]
        rng.shuffle(moved)
        for i, img in zip(free, moved):
            images[i] = img
        _write_images(ws, culture, images)
    return kind


def test_hand_edits_then_advised_rebuild(ws, request):
    """A scripted expansion with hand edits between the steps (insert at the top or middle, append,
    remove or reorder images not handed out, delete an in-flight batch's input file, delete the
    progress file), each followed by the rebuild the error messages advise. After each: nothing
    disappears, and `--rebuild --check` passes; at the end every image is accepted or parked."""
    long = long_mode(request.config)
    n_images, n_edits = (150, 40) if long else (40, 9)
    rng = random.Random(20261127)
    culture = "korean"
    support.write_candidates(ws, culture, n_images)
    gen = support.ScriptedGenerator(ws, culture, seed=7, p_invalid=0.2, p_malformed=0.05, p_abandon=0.1, p_skip=0.02)
    clock = datetime(2026, 11, 1, tzinfo=timezone.utc)
    answered: set[tuple[int, int]] = set()
    edits: dict[str, int] = {}
    serial = 0
    for round_ in range(300):  # noqa: B007 - printed after the loop
        clock += timedelta(minutes=rng.choice([3, 3, 3, 61]))
        env = {"CRITIQUE_BATCH_NOW": iso(clock)}
        proc = support.run("run_next_batch.py", "--culture", culture, "--count", str(rng.randint(0, 2)), "--size", "4", ws=ws, env=env)
        assert "Traceback" not in proc.stderr
        if proc.returncode == 2 or "--rebuild" in proc.stderr:  # what the error advises
            assert "batch_status.py --rebuild" in proc.stderr, proc.stderr
            support.run("batch_status.py", "--rebuild", "--culture", culture, ws=ws, env=env, check=True)
            check_nothing_disappears(ws, culture, env)
            continue
        assert proc.returncode in (0, 1), proc.stderr
        p = support.progress(ws, culture)
        for key, entry in p["in_flight"].items():
            out = ws / "checkpoints" / f"{culture}_batch_{int(key):03d}_output.json"
            if (int(key), entry["claims"]) in answered or out.exists():
                continue
            answered.add((int(key), entry["claims"]))
            gen.answer(int(key))
        if sum(edits.values()) < n_edits and rng.random() < 0.5:
            serial += 1
            kind = hand_edit(ws, culture, rng, serial)
            edits[kind] = edits.get(kind, 0) + 1
            if kind == "delete_progress" or rng.random() < 0.5:  # the user rebuilds at once, or a script tells them to
                support.run("batch_status.py", "--rebuild", ws=ws, env=env, check=True)
                check_nothing_disappears(ws, culture, env)
            continue
        row = support.run_json("batch_status.py", "--culture", culture, ws=ws, env=env)["cultures"][0]
        if sum(edits.values()) >= n_edits and not row["pending"] and not row["in_flight"]:
            break
    else:
        raise AssertionError(f"the expansion did not finish: {edits}")
    env = {"CRITIQUE_BATCH_NOW": iso(clock + timedelta(minutes=5))}
    support.run("run_next_batch.py", "--culture", culture, "--count", "0", ws=ws, env=env, check=True)
    figures = check_nothing_disappears(ws, culture, env)
    print(f"\nhand edits: {round_ + 1} rounds, edits {edits}, {figures}")
    assert figures["pending"] == figures["in_flight"] == 0
    assert figures["accepted"] + figures["parked"] == len(support.image_list(ws, culture))
    check_state_files(ws)


# the points of a sync that merges (faults.py): before the commit, after it, and between the steps
# that follow it; every sync that merges reaches each of them
SYNC_POINTS = ["sync.merging", "sync.committed", "sync.deduped", "sync.tagged", "sync.marked.korean",
               "write.before-rename.korean_expansion_progress.json", "write.after-rename.korean_expansion_progress.json",
               "write.before-rename.lancedb_sync_state.json", "sync.recorded"]


def killed_at(log: Path) -> list[str]:
    """The fault points where processes died (faults.py's log), and the log emptied."""
    if not log.exists():
        return []
    points = log.read_text(encoding="utf-8").splitlines()
    log.unlink()
    return points


def test_two_workspaces_one_database_killed(tmp_path, request):
    """Two workspaces (sharing some filepaths) sync into one database folder at the same time; in each
    round one or both workspaces' syncs die (SIGKILL) at a point of the sync the test chooses
    (faults.py: before the commit, after it, between the steps after it), while the other workspace's
    syncs run on; new batches keep arriving. After a final healing sync of each, every accepted record
    is in the table exactly once (the newest per filepath) and each workspace's merged_batches agrees
    with the table.

    Short mode: 4 rounds. Long mode: 24 rounds. At least one kill per faulted workspace and round."""
    import store_support as sup
    from critique_batch.store import sync_state

    long = long_mode(request.config)
    rounds = 24 if long else 4
    rng = random.Random(20261127)
    db = str(tmp_path / "shared-db")
    roots = [sup.make_ws(tmp_path / name, {"korean": 10}, batch_size=4) for name in ("a", "b")]
    for k, root in enumerate(roots):  # images 20.. are in both workspaces
        doc = {"culture": "korean", "images": [sup.image("korean", i) for i in range(20 * k, 20 * k + 4 * 3 * rounds)]}
        (root / "checkpoints" / "korean_expansion_candidates.json").write_text(json.dumps(doc), encoding="utf-8")
        support.touch_images(root, doc["images"])
    kills: dict[str, int] = {}
    for round_ in range(rounds):
        for k, root in enumerate(roots):
            sup.produce(root, "korean", rng.randint(1, 3), version=k)  # something to merge: the first sync merges
        faulted = {root: rng.choice(SYNC_POINTS) for root in rng.sample(roots, k=rng.randint(1, 2))}
        procs = []
        for root in roots:
            env = {"CRITIQUE_BATCH_FAULT": faulted[root], "CRITIQUE_BATCH_FAULT_LOG": str(root / "faults.log")} if root in faulted else {}
            procs += [(root, spawn([str(SYNC), "--force", "--db", db], root, env)) for _ in range(rng.randint(1, 2))]
        for root, p in procs:
            _, err = p.communicate(timeout=300)
            if p.returncode != -signal.SIGKILL:
                assert p.returncode == 0 and "Traceback" not in err, err
            else:
                assert root in faulted, "a sync died that was not asked to"
        for root, point in faulted.items():
            died = killed_at(root / "faults.log")
            assert died and set(died) == {point}, f"round {round_}: no sync of {root.name} died at {point}: {died}"
            assert sum(1 for r, p in procs if r == root and p.returncode == -signal.SIGKILL) == len(died)
            kills[point] = kills.get(point, 0) + len(died)
    for root in roots:  # the healing syncs, one after the other
        support.run("sync_to_lancedb.py", "--force", "--db", db, ws=root, check=True)
    for root in roots:  # each sees the other's last commit: nothing left to merge, nothing re-merged
        out = support.run_json("sync_to_lancedb.py", "--force", "--db", db, ws=root)
        assert not out["merged"] and out["records"] == 0, out

    rows = sup.table_rows(db)
    fps = [r["filepath"] for r in rows]
    want: dict[str, tuple] = {}
    for root in roots:
        wid = json.loads((root / "checkpoints" / sync_state.WORKSPACE_ID_FILE).read_text())["workspace_id"]
        for fp, rec in sup.accepted(root, "korean").items():
            want[fp] = max(want.get(fp, ()), (rec["accepted_at"], rec["batch_id"], wid))
        p = sup.progress(root, "korean")
        assert set(p["merged_batches"]) == set(p["completed_batches"]), "a workspace has batches left unmerged"
    assert len(fps) == len(set(fps)) == len(want), f"{len(fps)} rows for {len(set(fps))} filepaths, {len(want)} accepted"
    got = {r["filepath"]: (r["accepted_at"].isoformat().replace("+00:00", "Z"), r["batch_id"], r["workspace_id"]) for r in rows}
    assert got == want
    print(f"\ntwo workspaces, one database: {rounds} rounds, syncs killed at {kills}, {len(fps)} rows == filepaths == accepted")
