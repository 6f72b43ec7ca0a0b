"""Unattended runs (run_unattended.py, critique_batch.agent.unattended).

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
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import support
from critique_batch.agent import round_guard
from critique_batch.agent import unattended
from critique_batch.base.errors import InputError
from critique_batch.files.workspace import Workspace

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
    assert unattended.goal_reached(anyone, {"korean": row(gap=0, reached=100, priority=None, pending=0)}, None) == "every target reached"
    # images left past the target: the command that raises it
    assert unattended.goal_reached(anyone, {"korean": row(gap=0, reached=100, priority=None, pending=4)}, None) == (
        "every target reached (korean has 4 images pending: set_target.py korean +4 raises its target)")
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


@pytest.fixture
def home(tmp_path_factory, monkeypatch) -> Path:
    """A home folder of the test's own, outside the workspace (Claude Code's folder below it), for this
    process and the scripts."""
    h = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    return h


BASH_RULE = re.compile(r'^Bash\((python3|python) ("[^"*]+"|[^"* ]+)( \*)?\)$')


def test_permissions_name_each_script_of_the_installed_skill_and_never_skip_checks(ws, home):
    link = install_skill_link(ws)
    allowed = unattended.permissions(Workspace(ws), ["korean"])
    assert allowed.skills == [link]
    settings = allowed.settings()
    perms = settings["permissions"]
    assert perms["defaultMode"] == "dontAsk" and "deny" not in perms
    bash = [a for a in perms["allow"] if a.startswith("Bash")]
    real = support.ROOT / "skills" / "batch-orchestrator" / "scripts"
    words = {w for script in allowed.scripts for w in unattended.script_words(Workspace(ws), script)}
    for rule in bash:  # the interpreter, then one allowed script by its path: no wildcard before it
        m = BASH_RULE.match(rule)
        assert m and m[2] in words, rule
        assert m[2].strip('"').rsplit("/", 1)[-1] in unattended.ROUND_SCRIPTS, rule
    assert {p.name for p in allowed.scripts} == set(unattended.ROUND_SCRIPTS)
    assert {p.parent for p in allowed.scripts} == {link / "scripts", real}  # the link as found, and where it points
    assert f'Bash(python3 "{real}/run_next_batch.py" *)' in bash and f"Bash(python3 {link}/scripts/validate_batch.py *)" in bash
    assert "Bash(python3 .claude/skills/batch-orchestrator/scripts/validate_batch.py *)" in bash  # a brief's relative check
    assert not [a for a in perms["allow"] if "sync_to_lancedb" in a or "quality_report" in a or a in ("Bash", "Edit", "Write", "Read")]
    assert "Edit(checkpoints/*_batch_*_output.json)" in perms["allow"] and f"Read(/{real.parent}/**)" in perms["allow"]
    assert not [a for a in perms["allow"] if a.startswith("Read(~") or "/.claude/plugins" in a]
    [hook] = settings["hooks"]["PreToolUse"]
    assert hook["matcher"] == "Bash|Write|Edit|MultiEdit|NotebookEdit"
    [command] = hook["hooks"]
    assert command["onFailure"] == "block" and str(unattended.GUARD) in command["command"]
    cmd = unattended.claude_command("claude", "go", "sid", settings)
    assert "--dangerously-skip-permissions" not in cmd and json.loads(cmd[cmd.index("--settings") + 1]) == settings
    shown = support.run("run_unattended.py", "--show-permissions", "--json", ws=ws, check=True).stdout
    assert json.loads(shown) == settings
    # Claude Code's Bash sandbox where it runs; never a fallback to running without it
    assert settings.get("sandbox") == (unattended.SANDBOX if unattended.sandbox_available() else None)
    assert unattended.SANDBOX["failIfUnavailable"] and not unattended.SANDBOX["allowUnsandboxedCommands"]
    assert not unattended.SANDBOX["autoAllowBashIfSandboxed"]  # sandboxed or not, a command needs a rule and the hook
    assert "sandbox" not in unattended.permissions(Workspace(ws), ["korean"], sandbox=False).settings()
    off = json.loads(support.run("run_unattended.py", "--show-permissions", "--json", "--no-sandbox", ws=ws, check=True).stdout)
    assert off == {k: v for k, v in settings.items() if k != "sandbox"}
    text = support.run("run_unattended.py", "--show-permissions", ws=ws, check=True).stdout
    assert f"    {real}/validate_batch.py\n" in text and "Read: no image folder outside the workspace" in text


def test_without_the_skill_installed_a_run_does_not_start(ws, home):
    r = support.run("run_unattended.py", "korean", "--show-permissions", ws=ws)
    assert r.returncode == 2 and "skill: the batch-orchestrator skill is not installed for Claude Code here" in r.stderr, r.stderr


def test_plugin_installs_are_found_for_their_project(ws, home):
    """installed_plugins.json names where Claude Code put a plugin; one installed for another project is not this round's."""
    plugin = home / "cache" / "critique-batch" / "0.1.0"
    other = home / "cache" / "other" / "1.0"
    for p in (plugin, other):
        (p / "skills" / "batch-orchestrator" / "scripts").mkdir(parents=True)
        (p / "skills" / "batch-orchestrator" / "SKILL.md").write_text("---\nname: batch-orchestrator\n---\n")
        (p / "skills" / "batch-orchestrator" / "scripts" / "batch_status.py").write_text("")
        (p / "skills" / "korean-batch-generator" / "scripts").mkdir(parents=True)
        (p / "skills" / "korean-batch-generator" / "SKILL.md").write_text("---\nname: korean-batch-generator\n---\n")
        (p / "skills" / "korean-batch-generator" / "scripts" / "validate_batch.py").write_text("")
        (p / "skills" / "korean-batch-generator" / "scripts" / "sync_to_lancedb.py").write_text("")
    (home / ".claude" / "plugins").mkdir(parents=True)
    (home / ".claude" / "plugins" / "installed_plugins.json").write_text(json.dumps({"version": 2, "plugins": {
        "critique-batch@m": [{"scope": "user", "installPath": str(plugin)}],
        "other@m": [{"scope": "project", "projectPath": str(home / "elsewhere"), "installPath": str(other)}]}}))
    allowed = unattended.permissions(Workspace(ws), ["korean"])
    assert allowed.skills == [plugin / "skills" / "batch-orchestrator", plugin / "skills" / "korean-batch-generator"]
    # a global skills install, and a project install in a folder above the workspace, count too; other skills do not
    nested = ws / "above" / "project"
    (nested / "checkpoints").mkdir(parents=True)
    for base in (home, ws / "above"):
        for name in ("batch-orchestrator", "lancedb-merger"):
            (base / ".claude" / "skills" / name / "scripts").mkdir(parents=True)
            (base / ".claude" / "skills" / name / "SKILL.md").write_text("")
            (base / ".claude" / "skills" / name / "scripts" / "batch_status.py").write_text("")
    found = unattended.permissions(Workspace(nested), ["korean"]).skills
    assert found[:2] == [ws / "above" / ".claude" / "skills" / "batch-orchestrator", home / ".claude" / "skills" / "batch-orchestrator"]
    assert found[2:] == allowed.skills
    assert allowed.scripts == [plugin / "skills" / "batch-orchestrator" / "scripts" / "batch_status.py",
                               plugin / "skills" / "korean-batch-generator" / "scripts" / "validate_batch.py"]
    # written from ~/ too, as short briefs write a plugin's scripts
    rule = "Bash(python3 ~/cache/critique-batch/0.1.0/skills/korean-batch-generator/scripts/validate_batch.py *)"
    assert rule in allowed.settings()["permissions"]["allow"]


def write_candidate_paths(ws: Path, culture: str, paths: list) -> None:
    images = [{"filepath": str(p), "artist": "A", "title": "T"} for p in paths]
    (ws / "checkpoints" / f"{culture}_expansion_candidates.json").write_text(json.dumps({"culture": culture, "images": images}))


def touch(*paths: Path) -> None:
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")


def test_images_outside_the_workspace_may_be_read(tmp_path, home):
    """A published dataset's images often live outside the project folder (absolute filepaths, or
    ../images/...): the round's subagents may read the folders that hold them, and nothing wider."""
    ws_root = tmp_path / "project"
    (ws_root / "checkpoints").mkdir(parents=True)
    install_skill_link(ws_root)
    data = tmp_path / "data" / "vulca" / "images"
    existing = [data / "korean" / "a" / "1.jpg", data / "korean" / "b" / "2.JPEG", tmp_path / "shared" / "pics" / "3.png"]
    touch(*existing, ws_root / "inside" / "4.jpg")
    write_candidate_paths(ws_root, "korean", [*existing[:2], "../shared/pics/3.png", "inside/4.jpg", "https://example.org/5.jpg",
                                              data / "korean" / "c" / "missing.jpg"])
    ws = Workspace(ws_root)
    folders = unattended.image_folders(ws, ["korean", "indian"])  # indian: no candidates file
    assert folders.readable == sorted([data / "korean" / "a", data / "korean" / "b", tmp_path / "shared" / "pics"])
    assert folders.refused == []
    allow = unattended.permissions(ws, ["korean"]).settings()["permissions"]["allow"]
    assert [a for a in allow if a.startswith("Read(//") and "skills" not in a] == [f"Read(/{f}/**)" for f in folders.readable]
    # folders each hold images: never merged into a parent
    many = [data / "western" / f"artist{i}" / "1.jpg" for i in range(20)]
    touch(*many)
    write_candidate_paths(ws_root, "western", many)
    assert unattended.image_folders(ws, ["western"]).readable == [p.parent for p in sorted(many)]
    text = support.run("run_unattended.py", "--show-permissions", ws=ws_root, env={"HOME": str(home)}, check=True).stdout
    assert "Read, images outside the workspace:\n" in text and f"    {data / 'western' / 'artist7'}\n" in text


def test_candidate_paths_never_widen_what_a_round_may_read(tmp_path, home):
    """Issue 20: a candidate /root/.ssh/id_rsa gave Read(//root/.ssh/**), and nine candidates in nine
    top-level folders Read(///**). Only folders with existing image files count; credential, home and
    system folders never; too many folders stop the run (exit 2) instead of widening."""
    ws_root = tmp_path / "project"
    (ws_root / "checkpoints").mkdir(parents=True)
    install_skill_link(ws_root)
    ws = Workspace(ws_root)
    ssh = home / ".ssh"
    touch(ssh / "id_rsa", ssh / "id_rsa.jpg", home / ".config" / "x.png", home / "top.jpg", home / "Pictures" / "ok.jpg",
          home / "notes.txt")
    write_candidate_paths(ws_root, "korean", ["/root/.ssh/id_rsa", ssh / "id_rsa", ssh / "id_rsa.jpg", home / ".config" / "x.png",
                                              home / "top.jpg", home / "Pictures" / "ok.jpg", home / "notes.txt",
                                              "/etc/passwd", "/etc/ssl/missing.jpg", *(f"/top{i}/x.jpg" for i in range(9))])
    folders = unattended.image_folders(ws, ["korean"])
    assert folders.readable == [home / "Pictures"]  # missing files, non-images: no rule at all
    assert [(f, why) for f, why, _ in folders.refused] == [
        (home, "a home folder"), (home / ".config", "a folder of credentials or settings"), (ssh, "a folder of credentials or settings")]
    allow = unattended.permissions(ws, ["korean"]).settings()["permissions"]["allow"]
    assert not [a for a in allow if a.startswith("Read(//") and ("ssh" in a or a == "Read(///**)" or a == f"Read(/{home}/**)")]
    text = support.run("run_unattended.py", "--show-permissions", ws=ws_root, env={"HOME": str(home)}, check=True).stdout
    assert f"never readable: {ssh} (a folder of credentials or settings): 1 candidate image there stay unread" in text
    # nine top-level folders, each with an image: nine rules, never the whole disk
    nine = [tmp_path / f"top{i}" / "x.jpg" for i in range(9)]
    touch(*nine)
    write_candidate_paths(ws_root, "korean", nine)
    assert unattended.image_folders(ws, ["korean"]).readable == [p.parent for p in nine]
    # more folders than a round may read: refused, with how to fix it
    many = [tmp_path / "many" / f"f{i:03d}" / "x.jpg" for i in range(unattended.MAX_READ_FOLDERS + 1)]
    touch(*many)
    write_candidate_paths(ws_root, "korean", many)
    with pytest.raises(InputError, match="move the images under fewer folders, or into the workspace"):
        unattended.image_folders(ws, ["korean"])
    r = support.run("run_unattended.py", "korean", "--show-permissions", ws=ws_root, env={"HOME": str(home)})
    assert r.returncode == 2 and f"in {unattended.MAX_READ_FOLDERS + 1} folders" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr


@pytest.mark.parametrize("folder, why", [
    ("/", "the whole disk"), ("/root", "a home folder"), ("/home/u", "a home folder"), ("/root/.ssh", "a folder of credentials or settings"),
    ("/home/u/.aws/x", "a folder of credentials or settings"), ("/home/u/.cache/img", "a hidden folder in a home folder"),
    ("/mnt/backup/.ssh", "a folder of credentials or settings"), ("/etc", "a system folder"), ("/etc/ssl/certs", "a system folder"),
    ("/proc/1", "a system folder"), ("/sys/x", "a system folder"), ("/dev/shm", "a system folder"), ("/boot", "a system folder"),
    ("/var/www/img", "a system folder"), ("/usr/share/backgrounds", "a system folder"), ("/lib64", "a system folder"),
    ("/private/etc/ssl", "a system folder"), ("/private/tmp/images", None),
    ("/home/u/Pictures", None), ("/mnt/data/images", None), ("/srv/vulca/korean", None)])
def test_folders_a_round_may_never_read(folder, why, monkeypatch):
    monkeypatch.setenv("TMPDIR", "/tmp")
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    assert unattended.unreadable(Path(folder), {Path("/root"), Path("/home/u")}) == why


def test_the_temporary_folder_is_no_system_folder(tmp_path, monkeypatch):
    """Below /var on macOS (/private/var/folders/...): images there stay readable, its hidden folders do not."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", "/var/tmp")
    assert unattended.unreadable(Path("/var/tmp/images"), set()) is None
    assert unattended.unreadable(Path("/var/tmp/x/.ssh"), set()) == "a folder of credentials or settings"
    assert unattended.unreadable(Path("/var/lib/images"), set()) == "a system folder"


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


def install_skill_link(ws: Path) -> Path:
    """The orchestrator skill in the project's .claude/skills, linked as the skills CLI may install it."""
    link = ws / ".claude" / "skills" / unattended.ORCHESTRATOR
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(support.ROOT / "skills" / unattended.ORCHESTRATOR)
    return link


def runner(ws: Path, fake_bin: Path, *args: str, mode: str = "good", record: Path | None = None, **popen):
    env = dict(os.environ, PATH=f"{fake_bin}{os.pathsep}{os.environ['PATH']}", FAKE_CLAUDE_MODE=mode)
    env.pop("CRITIQUE_BATCH_DEBUG", None)
    if record:
        env["FAKE_CLAUDE_RECORD"] = str(record)
    env.update(popen.pop("env", {}))
    install_skill_link(ws)
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
    assert lines[-1] == "stop: korean: target reached (94/94); 5 images still pending: set_target.py korean +5 raises the target"
    entries = log_entries(ws)
    assert [(e["round"], e["accepted"], e["completed"], e["merged"]) for e in entries] == [(1, 10, 10, 10), (2, 10, 20, 10), (3, 10, 30, 10)]
    assert [e["stop"] for e in entries] == [None, None, lines[-1].removeprefix("stop: ")]
    assert len({e["session"] for e in entries}) == 3 and all(e["cost_usd"] == 0.01 and e["claude_exit"] == 0 for e in entries)
    # each round: one fresh session in the workspace, with the permission settings and the round's own session id
    argvs = [json.loads(p.read_text()) for p in sorted(calls.iterdir())]
    assert [a["argv"][a["argv"].index("--session-id") + 1] for a in argvs] == [e["session"] for e in entries]
    assert all(Path(a["cwd"]) == ws and a["argv"][1].startswith("continue the Korean expansion, 1 batch\n") for a in argvs)
    assert support.run("batch_status.py", "--rebuild", "--check", ws=ws).returncode == 0
    # a target already reached starts no round
    r = runner(ws, fake_bin, "korean")
    reached = "nothing to do: korean: target reached (94/94); 5 images still pending: set_target.py korean +5 raises the target"
    assert r.returncode == 0 and r.stdout == reached + "\n" and len(log_entries(ws)) == 3
    r = runner(ws, fake_bin, "korean", "--json")
    assert json.loads(r.stdout) == {"rounds": [], "stop": reached, "exit": 0}


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


# --- the rounds' PreToolUse hook (round_guard.py), run as Claude Code runs it -------------------------
@pytest.fixture
def guarded(ws, home):
    """A workspace with the skill linked in, batch korean 001 in flight (input, no result), and the
    hook's command line from the round's settings."""
    link = install_skill_link(ws)
    support.write_candidates(ws, "korean", 12)
    support.run("run_next_batch.py", "--culture", "korean", "--count", "1", ws=ws, check=True)
    settings = unattended.permissions(Workspace(ws), ["korean"]).settings()
    command = settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    return ws, link / "scripts", shlex.split(command)


def hook(argv: list[str], call, *, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    stdin = call if isinstance(call, str) else json.dumps({"hook_event_name": "PreToolUse", "cwd": str(cwd), **call})
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, env={"HOME": str(home), "PATH": os.environ["PATH"]},
                          timeout=30)


def bash(command: str) -> dict:
    return {"tool_name": "Bash", "tool_input": {"command": command}}


# {S}: the skill's scripts folder as found (a link here), {R}: as resolved, {W}: the workspace
ALLOWED_COMMANDS = [
    'python3 "{S}/batch_status.py"', "python3 {S}/batch_status.py --culture korean", "python {R}/run_next_batch.py --count 0",
    'python3 "{R}/run_next_batch.py" --session "0b7e1c4e-2c9f-4f0e-9a55-3d2a7f4c1e10" --culture korean --count 4',
    "python3 .claude/skills/batch-orchestrator/scripts/validate_batch.py checkpoints/korean_batch_001_output.json",
    "python3 {R}/validate_batch.py korean 1", "python3 {S}/generator_instructions.py korean --batch 1",
    "python3 {S}/search_critiques.py 'ink & wash; $HOME' --culture korean", "python3 {S}/batch_status.py --workspace {W}",
    "python3 {S}/batch_status.py --workspace=.", "python3 {S}/batch_status.py ''",
]
DENIED_COMMANDS = [
    ("python3 /elsewhere/scripts/run_next_batch.py", "not one of the skill's scripts"),
    ("python3 -I -c 'import os' {S}/batch_status.py", "no interpreter options"),
    ("python3  -c 'import os'", "no interpreter options"),
    ("python3 -m pip --version", "no interpreter options"),
    ("python3 -m zipfile -c /tmp/x.zip checkpoints", "no interpreter options"),
    ("python3 - {S}/batch_status.py <<'EOF'\nimport os\nEOF", "control character"),
    ("python3 checkpoints/korean_batch_001_output.json {S}/batch_status.py", "not one of the skill's scripts"),
    ("python3 {S}/sync_to_lancedb.py --force", "not one of the skill's scripts"),
    ("python3 {S}/quality_report.py", "not one of the skill's scripts"),
    ("python3 {S}/add_candidates.py korean /etc", "not one of the skill's scripts"),
    ("python3 {S}/batch_status.py; id", "shell syntax (';')"), ("python3 {S}/batch_status.py && id", "shell syntax ('&')"),
    ("python3 {S}/batch_status.py | sh", "shell syntax ('|')"), ("python3 {S}/batch_status.py > x", "shell syntax ('>')"),
    ("python3 {S}/batch_status.py < x", "shell syntax ('<')"), ("python3 {S}/batch_status.py $(id)", "shell syntax ('$')"),
    ("python3 {S}/batch_status.py `id`", "shell syntax ('`')"), ('python3 {S}/batch_status.py "$(id)"', "'$' inside double quotes"),
    ("python3 {S}/batch_status.py\nid", "control character"), ("python3 {S}/batch_status.py\tx", "control character"),
    ("python3 {S}/batch_status.py *", "shell syntax ('*')"), ("python3 {S}/batch_status.py {a,b}", "shell syntax ('{')"),
    ("python3 {S}/batch_status.py # c", "shell syntax ('#')"), ("python3 {S}/batch_status.py \\; id", "shell syntax ('\\\\')"),
    ("python3 {S}/batch_status.py & id", "shell syntax ('&')"), ("(python3 {S}/batch_status.py)", "shell syntax ('(')"),
    ("python3 {S}/batch_status.py 'unclosed", "unclosed quote"),
    ("X=1 python3 {S}/batch_status.py", "only `python3 SCRIPT ...`"), ("env python3 {S}/batch_status.py", "only `python3 SCRIPT ...`"),
    ("cat /etc/passwd", "only `python3 SCRIPT ...`"), ("ls", "only `python3 SCRIPT ...`"), ("python3", "only `python3 SCRIPT ...`"),
    ("/usr/bin/python3 {S}/batch_status.py", "only `python3 SCRIPT ...`"),
    ("python3 {S}/../scripts/batch_status.py", "a path with .."),
    ("python3 {S}/batch_status.py --workspace /tmp", "only this round's workspace"),
    ("python3 {S}/batch_status.py --workspace=/tmp", "only this round's workspace"),
    ("python3 {S}/validate_batch.py /etc/passwd", "a path outside the workspace"),
    ("python3 {S}/validate_batch.py ~/x.json", "a path outside the workspace"),
    ("python3 {S}/validate_batch.py ~root/x", "shell syntax ('~')"), ("python3 {S}/validate_batch.py '~/x'", "a ~ the shell would not"),
    ("python3 {S}/validate_batch.py a=~/x", "shell syntax ('~')"),
    ("python3 {S}/search_critiques.py ink --db /tmp/db", "--db is not allowed"),
    ("python3 {S}/search_critiques.py ink --db=s3://b/x", "--db is not allowed"),
    ("python3 {S}/search_critiques.py ink --d mydb", "--d is not allowed"),  # argparse reads an abbreviation as --db
    ("python3 {S}/batch_status.py --works /tmp", "only this round's workspace"),
    ("python3 {S}/batch_status.py --wor=sub", "only this round's workspace"),
    ("python3 {S}/validate_batch.py s3://bucket/x", "no URLs"),
    ("python3 {S}/batch_status.py \u2028", "control character"),
]


def fill(text: str, ws: Path, scripts: Path) -> str:
    return text.replace("{S}", str(scripts)).replace("{R}", str(scripts.resolve())).replace("{W}", str(ws))


def test_the_guard_allows_the_skills_commands_and_denies_the_rest(guarded, home):
    ws, scripts, argv = guarded
    for command in ALLOWED_COMMANDS:
        r = hook(argv, bash(fill(command, ws, scripts)), cwd=ws, home=home)
        assert (r.returncode, r.stderr) == (0, ""), (command, r.stderr)
    for command, why in DENIED_COMMANDS:
        r = hook(argv, bash(fill(command, ws, scripts)), cwd=ws, home=home)
        assert r.returncode == 2 and "Denied by the unattended round's rules" in r.stderr and why in r.stderr, (command, r.stderr)
    # from a folder other than the workspace, nothing runs
    r = hook(argv, bash(fill('python3 "{S}/batch_status.py"', ws, scripts)), cwd=ws / "checkpoints", home=home)
    assert r.returncode == 2 and "work only in the workspace" in r.stderr


def test_the_guard_allows_writes_only_to_outputs_of_batches_in_flight(guarded, home, tmp_path):
    ws, _, argv = guarded
    cp = ws / "checkpoints"

    def write(path, tool="Write") -> subprocess.CompletedProcess:
        return hook(argv, {"tool_name": tool, "tool_input": {"file_path": str(path), "content": "[]"}}, cwd=ws, home=home)

    assert write(cp / "korean_batch_001_output.json").returncode == 0
    assert write(cp / "korean_batch_001_output.json", "Edit").returncode == 0
    assert write("checkpoints/korean_batch_001_output.json", "MultiEdit").returncode == 0  # relative: from the workspace
    outside = tmp_path / "outside.json"
    for path, why in [(cp / "korean_batch_002_output.json", "no batch korean 002 was claimed"),
                      (cp / "evil_output.json", "only checkpoints/<culture>_batch_<NNN>_output.json"),
                      (cp / "korean_batch_001_input.json", "only checkpoints/"), (cp / "korean_expansion_progress.json", "only checkpoints/"),
                      (ws / ".claude" / "settings.json", "only checkpoints/"), (outside, "only checkpoints/"),
                      (f"{cp}/../checkpoints/korean_batch_001_output.json", "a path with .."),
                      (ws / "korean_batch_001_output.json", "only checkpoints/")]:
        r = write(path)
        assert r.returncode == 2 and why in r.stderr, (path, r.stderr)
    r = hook(argv, {"tool_name": "NotebookEdit", "tool_input": {"notebook_path": str(cp / "x.ipynb")}}, cwd=ws, home=home)
    assert r.returncode == 2 and "NotebookEdit: not allowed" in r.stderr
    # a link or a hard link in place of the output file; a batch already collected
    out = cp / "korean_batch_001_output.json"
    out.symlink_to(outside)
    assert "not a plain file" in write(out).stderr
    out.unlink()
    outside.write_text("[]")
    os.link(outside, out)
    assert "not a plain file" in write(out).stderr
    out.unlink()
    (cp / "korean_batch_001_result.json").write_text("{}")
    assert "already collected" in write(out).stderr


def test_the_guard_fails_closed(guarded, home):
    ws, scripts, argv = guarded
    allowed = bash(f'python3 "{scripts}/batch_status.py"')
    for stdin in ("", "not json", "[]", json.dumps({"cwd": str(ws)}), json.dumps({"cwd": {"x": 1}, **allowed}),
                  json.dumps({"cwd": str(ws), "tool_name": "Bash", "tool_input": {"command": ["python3"]}})):
        r = hook(argv, stdin, cwd=ws, home=home)
        assert r.returncode == 2 and r.stderr.startswith("Denied"), (stdin, r.stderr)
    for bad_argv in (argv[:3], argv + ["--nonsense"], argv[:-2] + [str(ws / "nowhere")]):
        r = hook(bad_argv, allowed, cwd=ws, home=home)
        assert r.returncode == 2, (bad_argv, r.stderr)


SHELL_SPECIAL = ";&|<>$`()*?[]{}!#\\\n\t\"'~"


@given(words=st.lists(st.text(alphabet=sorted(round_guard.PLAIN), min_size=1, max_size=8), max_size=4),
       special=st.sampled_from(SHELL_SPECIAL), at=st.integers(min_value=0))
def test_a_shell_character_outside_quotes_is_always_denied(tmp_path_factory, words, special, at):
    """Any command with a character a shell treats specially, outside quotes, is denied (a lone quote
    opens one that is never closed; ~ counts only at a word's start, followed by /)."""
    policy = guard_policy(tmp_path_factory)
    script = str(policy_script(policy))
    command = " ".join(["python3", script, *words])
    at = len("python3 ") + len(script) + (at % (len(command) - len("python3 ") - len(script) + 1))
    attempt = command[:at] + special + command[at:]
    if special == "~" and (attempt[at + 1:at + 2] == "/" and attempt[at - 1:at] == " "):
        return  # ~/ at a word's start: the home folder, a path checked as any other
    with pytest.raises(round_guard.Denied):
        policy.check({"cwd": policy.root, "tool_name": "Bash", "tool_input": {"command": attempt}})


@given(args=st.lists(st.one_of(st.text(alphabet=sorted(round_guard.PLAIN - {"/", "~"}), min_size=1, max_size=10),
                               st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12)), max_size=5))
def test_quoted_arguments_without_paths_are_allowed_and_read_as_written(tmp_path_factory, args):
    """Any argument the skill's scripts get, quoted as shlex quotes it, reaches the script as it is."""
    policy = guard_policy(tmp_path_factory)
    script = str(policy_script(policy))
    if any("/" in a or a.startswith("~") or control(a) or any(round_guard.option_named(a.partition("=")[0], o) for o in ("--db", "--workspace"))
           for a in args):
        return  # paths, and the options held to this workspace, are checked by the table above
    command = shlex.join(["python3", script, *args])
    policy.check({"cwd": policy.root, "tool_name": "Bash", "tool_input": {"command": command}})
    assert round_guard.shell_words(command) == ["python3", script, *args]


def control(text: str) -> bool:
    return round_guard.control_character(text) is not None


def guard_policy(factory) -> "round_guard.Policy":
    """One workspace and skill for every example of a property."""
    global _POLICY
    if _POLICY is None:
        root = factory.mktemp("guarded")
        (root / "skill" / "scripts").mkdir(parents=True)
        (root / "skill" / "scripts" / "batch_status.py").write_text("")
        _POLICY = round_guard.Policy(str(root), [str(root / "skill")])
    return _POLICY


def policy_script(policy) -> Path:
    return Path(policy.root) / "skill" / "scripts" / "batch_status.py"


_POLICY = None


def test_the_guard_reads_a_script_written_from_home_as_its_path(tmp_path, monkeypatch):
    """Short briefs write a plugin's scripts from ~/ (the shell expands it): the same file as its
    absolute path, and nothing else below the home folder."""
    home, root = tmp_path / "home", tmp_path / "ws"
    skill = home / ".claude" / "plugins" / "cache" / "p" / "skills" / "batch-orchestrator"
    (skill / "scripts").mkdir(parents=True)
    (skill / "scripts" / "validate_batch.py").write_text("")
    (home / "other" / "scripts").mkdir(parents=True)
    (home / "other" / "scripts" / "validate_batch.py").write_text("")
    root.mkdir()
    monkeypatch.setenv("HOME", str(home))
    policy = round_guard.Policy(str(root), [str(skill)])

    def check(command: str) -> None:
        policy.check({"cwd": str(root), "tool_name": "Bash", "tool_input": {"command": command}})

    check("python3 ~/.claude/plugins/cache/p/skills/batch-orchestrator/scripts/validate_batch.py checkpoints/korean_batch_001_output.json")
    check(f"python3 {skill}/scripts/validate_batch.py korean 1")
    for command in ("python3 ~/other/scripts/validate_batch.py",
                    "python3 '~/.claude/plugins/cache/p/skills/batch-orchestrator/scripts/validate_batch.py'",
                    f"python3 {skill}/scripts/run_next_batch.py"):  # quoted: no ~ expansion; a script the skill lacks
        with pytest.raises(round_guard.Denied):
            check(command)


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
