"""Writes that fail (full disk, read-only workspace): a clear error, no partial, empty or temporary
file left behind, and a state that the next run (or a rebuild) accepts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import support
from critique_batch.base.errors import EXIT_ENVIRONMENT

FAILING = support.ROOT / "tests" / "failing_io.py"


def run_failing(errno_name: str, fail_from: int, script: str, *args, ws):
    cmd = [sys.executable, str(FAILING), errno_name, str(fail_from), str(support.SCRIPTS / script), *args, "--workspace", str(ws)]
    return subprocess.run(cmd, capture_output=True, text=True)


def leftovers(ws):
    return [p.name for p in (ws / "checkpoints").rglob("*")
            if p.is_file() and (p.name.endswith(".tmp") or (p.stat().st_size == 0 and p.suffix == ".json"))]


def test_full_disk_during_claim(korean_ws):
    support.run("run_next_batch.py", "--culture", "korean", ws=korean_ws, check=True)
    before = support.state_hashes(korean_ws)
    proc = run_failing("ENOSPC", 1, "run_next_batch.py", "--culture", "korean", ws=korean_ws)
    assert proc.returncode == EXIT_ENVIRONMENT, proc.stderr  # not 1, which also means "nothing claimable"
    assert "No space left on device" in proc.stderr and "korean_batch_002_input.json" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert support.state_hashes(korean_ws) == before
    assert leftovers(korean_ws) == []


def test_full_disk_between_result_and_progress(korean_ws):
    support.run("run_next_batch.py", "--culture", "korean", ws=korean_ws, check=True)
    fps = support.batch_items(korean_ws, "korean", 1)
    support.write_output(korean_ws, "korean", 1, [support.good_record("korean", fp) for fp in fps])
    proc = run_failing("ENOSPC", 2, "run_next_batch.py", "--count", "0", ws=korean_ws)  # the result file is written, progress is not
    assert proc.returncode == EXIT_ENVIRONMENT and "korean_expansion_progress.json" in proc.stderr
    assert leftovers(korean_ws) == []
    assert (korean_ws / "checkpoints" / "korean_batch_001_result.json").exists()
    assert support.progress(korean_ws, "korean")["completed"] == 0
    support.run("run_next_batch.py", "--count", "0", ws=korean_ws, check=True)  # heals from the result file
    p = support.progress(korean_ws, "korean")
    assert p["completed"] == 10 and p["completed_batches"] == [1]
    assert len(support.accepted_filepaths(korean_ws, "korean")) == 10
    assert support.run("batch_status.py", "--rebuild", "--check", ws=korean_ws).returncode == 0


def test_read_only_workspace(korean_ws):
    support.run("run_next_batch.py", "--culture", "korean", ws=korean_ws, check=True)
    before = support.state_hashes(korean_ws)
    proc = run_failing("EROFS", 1, "run_next_batch.py", "--culture", "korean", ws=korean_ws)
    assert proc.returncode == EXIT_ENVIRONMENT and "Read-only file system" in proc.stderr and "Traceback" not in proc.stderr
    assert support.state_hashes(korean_ws) == before and leftovers(korean_ws) == []
    # reading still works in a read-only workspace
    proc = run_failing("EROFS", 1, "batch_status.py", ws=korean_ws)
    assert proc.returncode == 0 and "korean" in proc.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_really_read_only_folder(korean_ws):
    support.run("run_next_batch.py", "--culture", "korean", ws=korean_ws, check=True)
    before = support.state_hashes(korean_ws)
    cp = korean_ws / "checkpoints"
    os.chmod(cp, 0o555)
    try:
        proc = support.run("run_next_batch.py", "--culture", "korean", ws=korean_ws)
        assert proc.returncode == EXIT_ENVIRONMENT and "Traceback" not in proc.stderr
        assert support.run("batch_status.py", ws=korean_ws).returncode == 0
    finally:
        os.chmod(cp, 0o755)
    assert support.state_hashes(korean_ws) == before


def test_every_write_point_of_a_collection(korean_ws):
    """Fail the n-th write of a collect-and-claim run, for every n: never a broken file, and the
    next clean run always ends in the same state as a run that never failed."""
    support.run("run_next_batch.py", "--culture", "korean", "--count", "2", "--size", "4", ws=korean_ws, check=True)
    for b in (1, 2):
        fps = support.batch_items(korean_ws, "korean", b)
        support.write_output(korean_ws, "korean", b, [support.good_record("korean", fp) for fp in fps[:-1]])
    import shutil
    pristine = korean_ws.parent / "pristine"
    shutil.copytree(korean_ws, pristine)
    env = {"CRITIQUE_BATCH_NOW": "2030-01-01T00:00:00Z"}
    support.run("run_next_batch.py", "--culture", "korean", "--count", "2", ws=korean_ws, env=env, check=True)
    expected = support.progress(korean_ws, "korean")
    for n in range(1, 8):
        trial = korean_ws.parent / f"trial{n}"
        shutil.copytree(pristine, trial)
        proc = subprocess.run([sys.executable, str(FAILING), "ENOSPC", str(n), str(support.SCRIPTS / "run_next_batch.py"),
                               "--culture", "korean", "--count", "2", "--workspace", str(trial)],
                              capture_output=True, text=True, env={**os.environ, **env})
        assert "Traceback" not in proc.stderr
        assert leftovers(trial) == []
        for f in (trial / "checkpoints").glob("*.json"):
            json.loads(f.read_text())
        again = support.run_json("run_next_batch.py", "--culture", "korean", "--count", "2", ws=trial, env=env)
        got = support.progress(trial, "korean")
        for key in ("completed", "completed_batches", "failures", "batch_accepted"):
            assert got[key] == expected[key], (n, key)
        flying = [fp for b in got["in_flight"].values() for fp in b["items"]]
        assert len(flying) == len(set(flying))
        # a claim whose brief was never printed is offered again at once, not after its lease
        assert len(again["batches"]) == 2
        assert support.run("batch_status.py", "--rebuild", "--check", ws=trial).returncode == 0


def test_full_disk_during_a_sync_is_an_environment_failure(korean_ws):
    """The first state file a sync writes (its workspace id) fails: exit 74, not 1, and nothing
    half-written; the next sync works."""
    support.run("run_next_batch.py", "--culture", "korean", ws=korean_ws, check=True)
    fps = support.batch_items(korean_ws, "korean", 1)
    support.write_output(korean_ws, "korean", 1, [support.good_record("korean", fp) for fp in fps])
    support.run("run_next_batch.py", "--count", "0", ws=korean_ws, check=True)
    proc = run_failing("ENOSPC", 1, "sync_to_lancedb.py", "--force", ws=korean_ws)
    assert proc.returncode == EXIT_ENVIRONMENT and "No space left on device" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and leftovers(korean_ws) == []
    assert support.run("sync_to_lancedb.py", "--force", ws=korean_ws).returncode == 0


def test_exit_codes_are_in_every_scripts_help():
    for script in sorted(support.SCRIPTS.glob("*.py")):
        out = support.run(script.name, "--help").stdout
        assert "74 the system refused" in " ".join(out.split()), script.name
