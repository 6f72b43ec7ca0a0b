"""The fault points (critique_batch/base/faults.py) that fault tests kill processes at: a process dies
exactly at the point and occurrence asked for, says where in the log, and runs untouched without
the setting. Then a claim killed at each of its atomic writes in turn leaves a workspace the next
claim continues, with nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import support
from critique_batch.state.progress import Progress

PROGRAM = """
import sys
sys.path.insert(0, sys.argv[1])
from critique_batch.base import faults
for name in ("write.before-rename.a.json", "sync.committed", "write.after-rename.a.json", "write.before-rename.b.json"):
    print(name, flush=True)
    faults.point(name)
print("end", flush=True)
"""


def run_points(tmp_path, spec: str | None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRITIQUE_BATCH_FAULT")}
    log = tmp_path / "faults.log"
    if spec is not None:
        env.update(CRITIQUE_BATCH_FAULT=spec, CRITIQUE_BATCH_FAULT_LOG=str(log))
    proc = subprocess.run([sys.executable, "-c", PROGRAM, str(support.SCRIPTS)], capture_output=True, text=True, env=env)
    died = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return proc.returncode, proc.stdout.split(), died


def test_a_process_dies_at_the_point_and_occurrence_asked_for(tmp_path):
    assert run_points(tmp_path, None) == (0, ["write.before-rename.a.json", "sync.committed", "write.after-rename.a.json",
                                              "write.before-rename.b.json", "end"], [])
    code, seen, died = run_points(tmp_path, "sync.committed")
    assert code == -signal.SIGKILL and seen[-1] == "sync.committed" and died == ["sync.committed"]
    code, seen, died = run_points(tmp_path, "write.@3")  # the third point named write....
    assert code == -signal.SIGKILL and died == ["write.before-rename.b.json"] and "end" not in seen
    code, seen, died = run_points(tmp_path, "write.after-rename")
    assert code == -signal.SIGKILL and died == ["write.after-rename.a.json"]
    code, seen, died = run_points(tmp_path, "sync.committed:INT")  # a Ctrl-C there
    assert code == -signal.SIGINT and seen[-1] == "sync.committed" and died == ["sync.committed"]
    assert run_points(tmp_path, "sync.optimized")[0] == 0  # a point never reached: the process runs to its end
    assert run_points(tmp_path, "write.@5")[0] == 0


def test_a_claim_killed_at_each_of_its_writes_loses_nothing(korean_ws):
    """Claim 2 batches, killed at its 1st, 2nd, ... atomic write (before and after each rename) until
    a claim runs to its end; after each kill, the next session (a collection) takes the files on disk
    in, a rebuild agrees with the progress it kept, and nothing is lost."""
    log = korean_ws / "faults.log"
    for n in range(1, 40):
        now = {"CRITIQUE_BATCH_NOW": f"2026-11-{n:02d}T12:00:00Z"}  # a day later: the dead claims' leases have ended
        env = {"CRITIQUE_BATCH_FAULT": f"write.@{n}", "CRITIQUE_BATCH_FAULT_LOG": str(log), **now}
        proc = support.run("run_next_batch.py", "--culture", "korean", "--count", "2", "--size", "3", ws=korean_ws, env=env)
        assert "Traceback" not in proc.stderr
        support.run("run_next_batch.py", "--culture", "korean", "--count", "0", ws=korean_ws, env=now, check=True)
        check = support.run("batch_status.py", "--rebuild", "--check", ws=korean_ws, env=now)
        assert check.returncode == 0, check.stdout + check.stderr
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL and log.read_text(encoding="utf-8").splitlines()[-1].startswith("write.")
    else:
        raise AssertionError("a claim never ran to its end")
    assert n > 2, "the claim died at no write"
    row = support.run_json("batch_status.py", "--culture", "korean", ws=korean_ws, env=now)["cultures"][0]
    flying = Progress.from_json(support.progress(korean_ws, "korean")).in_flight_items()
    assert row["in_flight"] == 2 and len(flying) == 6 and row["pending"] == 34 and not row["completed"]
