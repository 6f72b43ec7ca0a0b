"""Several syncs at once, and syncs killed (SIGKILL) at random points: every accepted record ends
up in the table exactly once, and merged_batches agrees with the table."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys

import pytest

import store_support as sup
from critique_batch.store import sync
from critique_batch.files.workspace import Workspace

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


# where a sync dies (faults.py): before its commit, after it, between the steps after it, during the
# optimize that every third sync runs; None: the sync runs to its end
KILL_POINTS = ["sync.merging", "sync.committed", "sync.deduped", "sync.tagged", "sync.marked.korean",
               "sync.marked.chinese", "write.before-rename.korean_expansion_progress.json",
               "write.after-rename.chinese_expansion_progress.json", "sync.optimized", "sync.recorded", None]


def test_sigkill_during_twenty_syncs(tmp_path):
    """20 syncs, each SIGKILLed at a point of its critical section the test chooses (or running to
    the end); new batches keep arriving in between, and optimize runs every 3 syncs."""
    rng = random.Random(20260301)
    root = sup.make_ws(tmp_path / "ws", {"korean": 200, "chinese": 200}, batch_size=4)
    log = tmp_path / "faults.log"
    killed: list[str] = []
    for _ in range(20):
        sup.produce(root, "korean", rng.randint(1, 3))  # korean always has something to merge
        sup.produce(root, "chinese", rng.randint(1, 2))
        point = rng.choice(KILL_POINTS)
        env = {"CRITIQUE_BATCH_OPTIMIZE_EVERY": "3"}
        if point:
            env.update(CRITIQUE_BATCH_FAULT=point, CRITIQUE_BATCH_FAULT_LOG=str(log))
        proc = start_sync(root, "--force", env=env)
        _, stderr = proc.communicate(timeout=120)
        assert "Traceback" not in stderr
        died = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        if point is None or point == "sync.optimized" and proc.returncode == 0:  # not every sync optimizes
            assert proc.returncode == 0 and not died, stderr
        else:
            assert proc.returncode == -signal.SIGKILL and died == [point], (point, proc.returncode, stderr)
            killed.append(point)
    assert len(killed) >= 10 and "sync.optimized" in killed, killed
    out = sync.sync(Workspace(root), force=True).as_json()
    check_exactly_once(root, ["korean", "chinese"])
    for c in ("korean", "chinese"):
        assert sorted(sup.progress(root, c)["merged_batches"]) == sorted(sup.progress(root, c)["completed_batches"])
    assert out["rows"] == sum(len(sup.accepted(root, c)) for c in ("korean", "chinese"))
