"""Several syncs at once, and syncs killed (SIGKILL) at random points: every accepted record ends
up in the table exactly once, and merged_batches agrees with the table."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time

import pytest

import store_support as sup
from critique_batch import sync, sync_state
from critique_batch.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def check_exactly_once(root, cultures, db=None, env=None):
    rows = sup.table_rows(db or str(root / "lancedb"), env or None)
    fps = [r["filepath"] for r in rows]
    assert len(fps) == len(set(fps)), "a filepath is in the table twice"
    by_fp = {r["filepath"]: r for r in rows}
    want = {}
    for c in cultures:
        want.update(sup.accepted(root, c))
        p = sup.progress(root, c)
        with_records = sup.batch_ids_with_records(root, c)
        assert set(p["merged_batches"]) >= with_records, f"{c}: merged_batches misses batches that are in the table"
    assert set(by_fp) == set(want)
    for fp, rec in want.items():
        assert by_fp[fp]["critique_zh"] == rec["critique_zh"] and by_fp[fp]["batch_id"] == rec["batch_id"]


def start_sync(root, *args, env=None):
    full = dict(os.environ)
    full.update(env or {})
    cmd = [sys.executable, str(sup.SCRIPTS / "sync_to_lancedb.py"), "--workspace", str(root), "--json", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full)


@pytest.mark.parametrize("where", ["local", "s3"])
def test_four_syncs_at_once(tmp_path, where):
    import json

    env, db, server = {}, None, None
    if where == "s3":
        server = sup.S3Server()
        env = server.env
        db = server.bucket("b" + hashlib.sha1(str(tmp_path).encode()).hexdigest()[:16])
    try:
        root = sup.make_ws(tmp_path / "ws", {"korean": 60, "chinese": 40})
        sup.produce(root, "korean", 12)
        sup.produce(root, "chinese", 8)
        args = ["--force"] + (["--db", db] if db else [])
        procs = [start_sync(root, *args, env=env) for _ in range(4)]
        outs = []
        for p in procs:
            stdout, stderr = p.communicate(timeout=120)
            assert p.returncode == 0, stderr
            assert "Traceback" not in stderr
            outs.append(json.loads(stdout))
        assert sum(o["inserted"] for o in outs) == 100
        assert sum(1 for o in outs if o["merged"]) == 1  # the others found nothing left to merge
        check_exactly_once(root, ["korean", "chinese"], db, env)
    finally:
        if server:
            server.stop()


def lock_held(root) -> bool:
    """True while some process holds the workspace's sync lock."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(root / "checkpoints" / ".locks" / sync_state.SYNC_LOCK), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    lock.release()
    return False


def test_sigkill_during_twenty_syncs(tmp_path):
    """20 syncs, each SIGKILLed at a random moment of its critical section (or running to the end);
    new batches keep arriving in between, and optimize runs every 3 syncs."""
    rng = random.Random(20260301)
    root = sup.make_ws(tmp_path / "ws", {"korean": 200, "chinese": 200}, batch_size=4)
    env = {"CRITIQUE_BATCH_OPTIMIZE_EVERY": "3"}
    (root / "checkpoints" / ".locks").mkdir(exist_ok=True)
    killed = 0
    for i in range(20):
        sup.produce(root, "korean", rng.randint(0, 3))
        sup.produce(root, "chinese", rng.randint(0, 2))
        proc = start_sync(root, "--force", env=env)
        delay = rng.uniform(0.0, 0.35)
        deadline = time.monotonic() + 60
        while proc.poll() is None and not lock_held(root) and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode in (0, -signal.SIGKILL), stderr
        assert "Traceback" not in stderr
    assert killed >= 5, f"only {killed} of 20 syncs were killed mid-way: the test did not test much"
    out = sync.sync(Workspace(root), force=True).as_json()
    check_exactly_once(root, ["korean", "chinese"])
    for c in ("korean", "chinese"):
        assert sorted(sup.progress(root, c)["merged_batches"]) == sorted(sup.progress(root, c)["completed_batches"])
    assert out["rows"] == sum(len(sup.accepted(root, c)) for c in ("korean", "chinese"))
