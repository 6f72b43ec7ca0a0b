"""Unattended runs (run_unattended.py, critique_batch.unattended).

Fast tests: the stop rules and log lines as functions, and the runner as a user runs it with a fake
`claude` (tests/fake_claude.py) on PATH. Then the real, pinned Claude Code CLI against the scripted
Messages API stand-in (tests/anthropic_standin.py), as in test_claude_code.py: three rounds reach a
small target and stop; rounds whose subagents write invalid output stop the runner after two rounds
without progress; SIGTERM mid-round leaves a workspace that `batch_status.py --rebuild --check`
confirms, and the next run takes over the dead batch. The real-CLI tests skip when the CLI is not
installed, unless CRITIQUE_BATCH_REQUIRE_CLAUDE_CLI is set."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import support
from critique_batch import unattended
from critique_batch.errors import InputError
from critique_batch.workspace import Workspace

KOREAN_CURRENT = 64  # the bundled plan's korean current


def small_target_plan(ws: Path, new: int) -> None:
    """A workspace plan whose korean target is `new` records away."""
    plan = json.loads((support.ROOT / "checkpoints" / "expansion_plan.json").read_text(encoding="utf-8"))
    plan["cultures"]["korean"]["target"] = KOREAN_CURRENT + new
    plan["cultures"]["korean"]["milestones"] = [{"name": "M1", "images": new // 2}, {"name": "M2", "images": new}]
    (ws / "checkpoints").mkdir(exist_ok=True)
    (ws / "checkpoints" / "expansion_plan.json").write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")


def log_entries(ws: Path) -> list[dict]:
    return unattended.read_log(ws / "checkpoints" / unattended.LOG_NAME)


# --- the stop rules and the log, as functions ------------------------------------------------------
def row(culture="korean", **kw) -> dict:
    r = {"culture": culture, "configured": True, "target": 100, "reached": 80, "gap": 20, "pending": 10, "in_flight": 0,
         "parked": 0, "priority": 1}
    r.update(kw)
    return r


def test_goal_reached_by_target_milestone_or_no_work():
    goal = unattended.Goal("korean")
    assert unattended.goal_reached(goal, {"korean": row()}, None) is None
    assert "target reached (100/100)" in unattended.goal_reached(goal, {"korean": row(reached=100, gap=0)}, None)
    assert "no work left (3 parked" in unattended.goal_reached(goal, {"korean": row(pending=0, parked=3)}, None)
    assert unattended.goal_reached(goal, {"korean": row(pending=0, in_flight=1)}, None) is None  # in flight is work left
    m1 = unattended.Goal("korean", "M1")
    detail = {"milestones": [{"name": "M1", "images": 10, "done": 10, "reached": True}]}
    assert "milestone M1 reached (10/10" in unattended.goal_reached(m1, {"korean": row()}, detail)
    detail["milestones"][0].update(done=9, reached=False)
    assert unattended.goal_reached(m1, {"korean": row(reached=100, gap=0)}, detail) is None  # the milestone, not the target
    anyone = unattended.Goal(None)
    assert unattended.goal_reached(anyone, {"korean": row(), "mural": row("mural", configured=False, priority=None)}, None) is None
    assert unattended.goal_reached(anyone, {"korean": row(gap=0, reached=100, priority=None)}, None) == "every target reached"
    assert "no work left" in unattended.goal_reached(anyone, {"korean": row(priority=None)}, None)


def test_no_progress_is_two_rounds_in_a_row_without_a_record():
    assert not unattended.no_progress([0])
    assert not unattended.no_progress([0, 5])
    assert not unattended.no_progress([5, 0])
    assert unattended.no_progress([5, 0, 0])


def test_log_line_and_reading_the_log(tmp_path):
    entry = {"time": "2026-01-01T00:00:00Z", "round": 2, "session": "s", "culture": "korean", "accepted": 9, "returned": 1,
             "skipped": 0, "parked": 0, "failed": 0, "merged": 9, "taken_over": 1, "completed": 19, "claude_exit": 0,
             "cost_usd": 1.5, "seconds": 61.2, "error": None, "stop": "korean: target reached (94/94)"}
    assert unattended.log_line(entry) == ("round 2 korean: 9 accepted, 1 returned, 0 parked, 0 failed, 9 merged, 1 batch taken over; "
                                          "19 completed (61 s, claude exit 0, $1.50)\nstop: korean: target reached (94/94)")
    log = tmp_path / "log.jsonl"
    unattended.append_log(log, entry)
    unattended.append_log(log, dict(entry, round=3))
    assert [e["round"] for e in unattended.read_log(log)] == [2, 3]
    with log.open("a") as f:
        f.write('{"round": "x"}\n')
    with pytest.raises(InputError) as exc:
        unattended.read_log(log)
    assert str(exc.value).startswith(f"{log}: line 3: ")


def test_permissions_are_narrow_and_never_skip_checks():
    settings = unattended.permission_settings()["permissions"]
    assert settings["defaultMode"] == "dontAsk"
    allow = settings["allow"]
    assert 'Bash(python3 "*/scripts/run_next_batch.py" *)' in allow and "Edit(checkpoints/*_output.json)" in allow
    assert not [a for a in allow if a in ("Bash", "Edit", "Write", "Read") or a.startswith("Bash(*")]
    cmd = unattended.claude_command("claude", "go", "sid")
    assert "--dangerously-skip-permissions" not in cmd and json.loads(cmd[cmd.index("--settings") + 1]) == {"permissions": settings}
    shown = support.run("run_unattended.py", "--show-permissions", check=True).stdout
    assert json.loads(shown) == {"permissions": settings}


def test_images_outside_the_workspace_may_be_read(tmp_path):
    """A published dataset's images often live outside the project folder (absolute filepaths, or
    ../images/...): the round's subagents must be allowed to read them, and nothing wider."""
    ws_root = tmp_path / "project"
    (ws_root / "checkpoints").mkdir(parents=True)
    data = tmp_path / "data" / "vulca" / "images"
    images = [{"filepath": str(data / "korean" / "a" / "1.jpg")}, {"filepath": str(data / "korean" / "b" / "2.jpg")},
              {"filepath": "../shared/pics/3.jpg"}, {"filepath": "inside/4.jpg"}, {"filepath": "https://example.org/5.jpg"}]
    images = [{**img, "artist": "A", "title": "T"} for img in images]
    (ws_root / "checkpoints" / "korean_expansion_candidates.json").write_text(json.dumps({"culture": "korean", "images": images}))
    ws = Workspace(ws_root)
    folders = unattended.image_folders(ws, ["korean", "indian"])  # indian: no candidates file
    assert folders == sorted([data / "korean" / "a", data / "korean" / "b", tmp_path / "shared" / "pics"])
    allow = unattended.permission_settings(folders)["permissions"]["allow"]
    assert f"Read(/{data / 'korean' / 'a'}/**)" in allow and f"Read(//{tmp_path.relative_to('/')}/shared/pics/**)" in allow
    assert [a for a in allow if a.startswith("Read(//")] == [f"Read(/{f}/**)" for f in folders]
    # many folders are merged into their parents, the deepest first
    many = [{"filepath": str(data / "western" / f"artist{i}" / "1.jpg"), "artist": "A", "title": "T"} for i in range(20)]
    (ws_root / "checkpoints" / "western_expansion_candidates.json").write_text(json.dumps({"culture": "western", "images": many}))
    assert unattended.image_folders(ws, ["western"]) == [data / "western"]
    assert unattended.image_folders(ws, ["korean", "western"]) == sorted([data / "korean", data / "western", tmp_path / "shared" / "pics"])
    folders = unattended.image_folders(ws, ["korean", "western"])
    shown = json.loads(support.run("run_unattended.py", "--show-permissions", ws=ws_root, check=True).stdout)
    assert [a for a in shown["permissions"]["allow"] if a.startswith("Read(//")] == [f"Read(/{f}/**)" for f in folders]


# --- the runner with a fake claude -----------------------------------------------------------------
@pytest.fixture
def fake_bin(tmp_path) -> Path:
    """A folder with a `claude` that is tests/fake_claude.py."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    claude = bin_dir / "claude"
    claude.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).parent / 'fake_claude.py'} \"$@\"\n")
    claude.chmod(0o755)
    return bin_dir


def runner(ws: Path, fake_bin: Path, *args: str, mode: str = "good", record: Path | None = None, **popen):
    env = dict(os.environ, PATH=f"{fake_bin}{os.pathsep}{os.environ['PATH']}", FAKE_CLAUDE_MODE=mode)
    env.pop("CRITIQUE_BATCH_DEBUG", None)
    if record:
        env["FAKE_CLAUDE_RECORD"] = str(record)
    env.update(popen.pop("env", {}))
    cmd = [sys.executable, str(support.SCRIPTS / "run_unattended.py"), *args, "--workspace", str(ws)]
    if popen.pop("background", False):
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def test_rounds_reach_a_small_target_and_stop(ws, fake_bin, tmp_path):
    small_target_plan(ws, 30)
    support.write_candidates(ws, "korean", 35)
    calls = tmp_path / "calls"
    calls.mkdir()
    r = runner(ws, fake_bin, "korean", "--batches", "1", "--rounds", "5", record=calls)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("round 1 korean: 10 accepted, 0 returned, 0 parked, 0 failed, 10 merged; 10 completed (")
    assert lines[-1] == "stop: korean: target reached (94/94)"
    entries = log_entries(ws)
    assert [(e["round"], e["accepted"], e["completed"], e["merged"]) for e in entries] == [(1, 10, 10, 10), (2, 10, 20, 10), (3, 10, 30, 10)]
    assert [e["stop"] for e in entries] == [None, None, "korean: target reached (94/94)"]
    assert len({e["session"] for e in entries}) == 3 and all(e["cost_usd"] == 0.01 and e["claude_exit"] == 0 for e in entries)
    # each round: one fresh session in the workspace, with the permission settings and the round's own session id
    argvs = [json.loads(p.read_text()) for p in sorted(calls.iterdir())]
    assert [a["argv"][a["argv"].index("--session-id") + 1] for a in argvs] == [e["session"] for e in entries]
    assert all(Path(a["cwd"]) == ws and a["argv"][1].startswith("continue the Korean expansion, 1 batch\n") for a in argvs)
    assert support.run("batch_status.py", "--rebuild", "--check", ws=ws).returncode == 0
    # a target already reached starts no round
    r = runner(ws, fake_bin, "korean")
    assert r.returncode == 0 and r.stdout == "nothing to do: korean: target reached (94/94)\n" and len(log_entries(ws)) == 3
    r = runner(ws, fake_bin, "korean", "--json")
    assert json.loads(r.stdout) == {"rounds": [], "stop": "nothing to do: korean: target reached (94/94)", "exit": 0}


def test_until_a_milestone_and_the_priority_order(ws, fake_bin):
    small_target_plan(ws, 60)
    support.write_candidates(ws, "korean", 65)
    r = runner(ws, fake_bin, "korean", "--batches", "3", "--until", "next-milestone", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["exit"] == 0 and out["stop"] == "korean: milestone M1 reached (30/30 new images)" and len(out["rounds"]) == 1
    r = runner(ws, fake_bin, "--batches", "2", "--rounds", "1")
    assert r.returncode == 0 and "round 1 priority: 20 accepted" in r.stdout and r.stdout.endswith("stop: 1 round done\n")
    r = runner(ws, fake_bin, "--until", "M1")
    assert r.returncode == 2 and "--until: a milestone belongs to one culture" in r.stderr
    r = runner(ws, fake_bin, "korean", "--until", "M9")
    assert r.returncode == 2 and "has no milestone 'M9' (it has: M1, M2)" in r.stderr


def test_two_rounds_without_progress_stop_the_run(ws, fake_bin):
    support.write_candidates(ws, "korean", 25)
    r = runner(ws, fake_bin, "korean", "--batches", "2", mode="invalid")
    assert r.returncode == 1, r.stdout + r.stderr
    entries = log_entries(ws)
    assert [(e["accepted"], e["returned"], e["failed"]) for e in entries] == [(0, 20, 2), (0, 20, 2)]
    assert entries[-1]["stop"].startswith("no progress in 2 rounds") and "batch_status.py --culture korean --verbose" in r.stdout
    # a claude that fails (an API error) makes no progress either; its error is logged
    r = runner(ws, fake_bin, "korean", mode="fail")
    assert r.returncode == 1
    assert log_entries(ws)[-1]["error"] == "claude exited 1: API Error: 401 invalid x-api-key"


def test_missing_claude_and_a_second_runner_have_their_own_exit_codes(ws, fake_bin, tmp_path):
    from filelock import FileLock

    support.write_candidates(ws, "korean", 5)
    env = {"PATH": "/usr/bin:/bin"}
    r = runner(ws, tmp_path, "korean", env=env)
    assert r.returncode == 4 and r.stderr.startswith("run_unattended.py: error: claude (Claude Code) is not on PATH") and not r.stdout
    r = runner(ws, tmp_path, "korean", "--claude", str(tmp_path / "nowhere"))
    assert r.returncode == 4 and "nowhere: not an executable file" in r.stderr
    with FileLock(str(ws / "checkpoints" / ".locks" / unattended.LOCK_NAME)):
        r = runner(ws, fake_bin, "korean")
    assert r.returncode == 3 and "another run_unattended.py is running in this workspace" in r.stderr
    assert len(r.stderr.splitlines()) == 1 and not log_entries(ws)


def runner_in_a_hanging_round(ws: Path, fake_bin: Path, ready: Path) -> subprocess.Popen:
    """A korean runner started in the background, returned once its round's claude is running (the
    fake claude writes its session id to `ready`, then hangs)."""
    proc = runner(ws, fake_bin, "korean", "--batches", "2", mode="hang", background=True, env={"FAKE_CLAUDE_READY": str(ready)})
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    return proc


def test_sigterm_mid_round_collects_logs_and_the_next_run_takes_over(ws, fake_bin, tmp_path):
    support.write_candidates(ws, "korean", 25)
    ready = tmp_path / "ready"
    proc = runner_in_a_hanging_round(ws, fake_bin, ready)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, out + err
    [entry] = log_entries(ws)
    # the round's collection took the batch that was written; the other is dead, claimed by the round's session
    assert (entry["accepted"], entry["completed"], entry["stop"]) == (10, 10, "stopped by SIGTERM")
    assert "SIGTERM: stopping this round's claude" in err
    assert support.run("batch_status.py", "--rebuild", "--check", ws=ws).returncode == 0
    kr = support.run_json("batch_status.py", "korean", ws=ws)["cultures"][0]
    assert [(b["batch_id"], b["session"]) for b in kr["in_flight_batches"]] == [(2, ready.read_text())]
    # the next run has the round take it over at once (same batch, the new round's session)
    calls = tmp_path / "calls"
    calls.mkdir()
    r = runner(ws, fake_bin, "korean", "--batches", "2", "--rounds", "1", record=calls)
    assert r.returncode == 0, r.stdout + r.stderr
    [entry] = log_entries(ws)[1:]
    assert (entry["taken_over"], entry["accepted"], entry["completed"]) == (1, 15, 25), entry
    [call] = [json.loads(p.read_text()) for p in calls.iterdir()]
    prompt = call["argv"][1]
    assert "earlier round of this run, which has ended (its subagents are gone): korean 002." in prompt
    assert "`--take-over --yes`" in prompt
    assert "1 batch taken over" in r.stdout


def test_a_spent_time_budget_stops_the_round_and_the_run(ws, fake_bin, tmp_path):
    support.write_candidates(ws, "korean", 25)
    r = runner(ws, fake_bin, "korean", "--batches", "2", "--budget-minutes", "0.1", mode="hang",
               env={"FAKE_CLAUDE_READY": str(tmp_path / "ready")})
    assert r.returncode == 0, r.stdout + r.stderr
    [entry] = log_entries(ws)
    assert (entry["stop"], entry["error"]) == ("time budget spent (0.1 min)", "stopped: the round's time is up"), entry
    assert support.run("batch_status.py", "--rebuild", "--check", ws=ws).returncode == 0


def test_a_second_ctrl_c_skips_the_collection_and_leaves_a_consistent_workspace(ws, fake_bin, tmp_path):
    support.write_candidates(ws, "korean", 25)
    ready = tmp_path / "ready"
    proc = runner_in_a_hanging_round(ws, fake_bin, ready)
    proc.send_signal(signal.SIGINT)
    # the second once the first is handled (two signals sent at once are one for the process);
    # it comes while the round's claude stops or the collection runs: what has not started is skipped
    assert "SIGINT: stopping this round's claude" in proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    [entry] = log_entries(ws)
    assert entry["stop"] == "stopped by SIGINT" and entry["error"].endswith("sync_to_lancedb.py skipped (stopped twice)"), entry
    assert support.run("batch_status.py", "--rebuild", "--check", ws=ws).returncode == 0


def test_a_refused_write_stops_the_run_with_its_own_exit_code(ws, fake_bin):
    """The round's collection exits 74 (the system refused a write): the run stops after that round
    with 74, not after two more rounds as 'no progress' (1)."""
    support.write_candidates(ws, "korean", 25)
    r = runner(ws, fake_bin, "korean", "--batches", "1", "--rounds", "5", mode="disk_full")
    assert r.returncode == 74, r.stdout + r.stderr
    [entry] = log_entries(ws)
    assert "run_next_batch.py --count 0 exited 74: " in entry["error"] and "cannot write" in entry["error"]
    assert entry["stop"].startswith("the system refused a write (run_next_batch.py --count 0 exited 74")
    (ws / "checkpoints" / ".tmp").unlink()  # space again: the next run collects what the round wrote
    r = runner(ws, fake_bin, "korean", "--batches", "1", "--rounds", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert support.progress(ws, "korean")["completed"] == 20
