"""run_unattended.py with the real, pinned Claude Code CLI (headless `claude -p`, one fresh session a
round) against the scripted Messages API stand-in (tests/anthropic_standin.py), offline, as in
test_claude_code.py: the batch-orchestrator skill installed in the project as the skills CLI
copies it, the runner's permission settings (no --dangerously-skip-permissions), and a scripted
model that plays every round's orchestrator and its subagents from each request alone.

- three rounds reach a small target and stop;
- rounds whose subagents write invalid output are counted, and the runner stops after two rounds
  without progress (with the plugin install: its permissions hold there too);
- SIGTERM mid-round (one subagent done, one still working) stops the round's claude, the round is
  collected and logged, `batch_status.py --rebuild --check` confirms the workspace, and the next
  run's round takes the dead batch over at once (same batch, `--take-over --yes` as the runner
  asks) and finishes it.

Skipped when the CLI is not installed, unless CRITIQUE_BATCH_REQUIRE_CLAUDE_CLI is set."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import support
from anthropic_standin import StandIn, texts, tool_results, tool_uses
from critique_batch import unattended
from test_claude_code import (PLUGIN, ScriptedModel, claude, claude_env, clone, command, install_plugin_from_git,  # noqa: F401 - fixtures
                              short_home, skill_text, tool)
from test_unattended import log_entries, small_target_plan

UNATTENDED = "unattended run (run_unattended.py)"


class RoundModel(ScriptedModel):
    """Every round's orchestrator: the skill, status, a claim for what the round asks (less the
    batches handed over in the prompt), one subagent per batch, then the session end (collect,
    sync --force, status); when the prompt asks for a take-over, the claim is the session start's
    `--take-over` command with `--yes`. Subagents as in test_claude_code.py; `invalid` makes them write records
    that fail validation; `hold` makes batch 002's subagent wait before it writes."""

    def __init__(self, skill: str = "batch-orchestrator", *, invalid: bool = False, hold: threading.Event | None = None):
        super().__init__(skill)
        if invalid:
            self.make_record = lambda culture, filepath: support.bad_record(culture, filepath, "short_zh")
        self.hold = hold
        self.holding = threading.Event()  # batch 002's subagent is waiting for `hold`
        self.prompts: list[str] = []  # each round's prompt
        self.round_commands: list[list[str]] = []

    def __call__(self, body: dict) -> list[dict]:
        first = texts(body["messages"][0]["content"])[-1]
        if UNATTENDED in first:
            return self.round(body, first)
        if "Check: " in first:
            if self.hold is not None and "korean_batch_002_input.json" in first and len(tool_uses(body)) == 2:
                self.holding.set()  # about to write: the test stops the run here
                self.hold.wait(120)
            return self.subagent(body, first)
        return [{"type": "text", "text": "ok"}]

    def round(self, body: dict, prompt: str) -> list[dict]:
        turn = sum(1 for m in body["messages"] if m["role"] == "assistant")
        if turn == 0:
            self.prompts.append(prompt)
            self.round_commands.append([])
            return [tool("Skill", skill=self.skill)]
        text = skill_text(body)
        if turn == 1:
            return [self.run(command(text, "batch_status.py", ""))]
        if turn == 2:  # the loop's claim as SKILL.md gives it, with this session's id filled in; or the take-over the prompt asks for
            wanted = int(re.match(r"continue the Korean expansion, (\d+) batch", prompt).group(1))
            which = "--culture korean --take-over --count 4" if "`--take-over --yes`" in prompt else "--culture korean --count 4"
            claim = re.search(r'`(python3 "[^"`]*/scripts/run_next_batch.py" --session "[0-9a-f-]{36}" ' + which + ")`", text)
            assert claim, f"no claim with a filled-in session id ({which}) in the skill text"
            more = " --yes" if "--take-over" in which else ""
            return [self.run(claim.group(1).replace("--count 4", f"--count {wanted}") + more)]
        if turn == 3:
            last = [tool_results(body)[u["id"]] for u in tool_uses(body)][-1]
            briefs = dict(re.findall(r"^--- (\w+ \d{3})(?: \(.*\))?\n(.+)$", last, re.M))
            self.briefs.update(briefs)
            calls = [tool("Agent", description=f"{tag} batch", prompt=brief, subagent_type="general-purpose", run_in_background=False)
                     for tag, brief in briefs.items()]
            if calls:
                return calls
        steps = [("run_next_batch.py", " --count 0"), ("sync_to_lancedb.py", " --force"), ("batch_status.py", "")]
        done = len(self.round_commands[-1]) - 2  # the status and the claim came first
        if done < len(steps):
            return [self.run(command(text, *steps[done]))]
        return [{"type": "text", "text": "Round done."}]

    def run(self, cmd: str) -> dict:
        self.round_commands[-1].append(cmd)
        return self.bash(cmd)


def project_with_skill(tmp_path: Path) -> Path:
    """A project with the orchestrator skill in .claude/skills/, as `npx skills add --copy` puts it."""
    project = tmp_path / "project"
    (project / ".claude" / "skills").mkdir(parents=True)
    shutil.copytree(support.ROOT / "skills" / "batch-orchestrator", project / ".claude" / "skills" / "batch-orchestrator")
    return project


def start_runner(claude_bin: Path, project: Path, home: Path, standin: StandIn, *args: str) -> subprocess.Popen:
    cmd = [sys.executable, str(support.SCRIPTS / "run_unattended.py"), "korean", *args, "--claude", str(claude_bin),
           "--round-minutes", "2"]
    return subprocess.Popen(cmd, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=claude_env(home, standin.url))


def finish(proc: subprocess.Popen, standin: StandIn) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=300)
    assert not standin.errors, "\n".join(standin.errors)
    assert not standin.other, standin.other  # nothing but the Messages API was asked for
    return proc.returncode, out, err


@pytest.fixture
def home():
    h = short_home()
    yield h
    shutil.rmtree(h, ignore_errors=True)


def test_three_rounds_reach_a_small_target_and_stop(claude, tmp_path, home):
    project = project_with_skill(tmp_path)
    small_target_plan(project, 30)
    support.write_candidates(project, "korean", 35)
    model = RoundModel()
    with StandIn(model) as standin:
        code, out, err = finish(start_runner(claude, project, home, standin, "--batches", "1", "--rounds", "5"), standin)
    assert code == 0, out + err
    entries = log_entries(project)
    assert [(e["accepted"], e["returned"], e["completed"], e["denied"], e["claude_exit"]) for e in entries] == [
        (10, 0, 10, 0, 0), (10, 0, 20, 0, 0), (10, 0, 30, 0, 0)], entries
    reached = "korean: target reached (94/94); 5 images still pending: set_target.py korean +5 raises the target"
    assert entries[-1]["stop"] == reached and out.endswith(f"stop: {reached}\n")
    # each round a fresh session: its own id, filled into the skill's commands by Claude Code
    assert len(model.prompts) == 3 and all(p.startswith("continue the Korean expansion, 1 batch\n") for p in model.prompts)
    for entry, cmds in zip(entries, model.round_commands):
        assert f'--session "{entry["session"]}"' in cmds[1]
    # the round's session end merged (the skill's sync --force), all 30 records
    assert sum(e["merged"] for e in entries) == 30
    import lancedb

    assert lancedb.connect(str(project / "lancedb")).open_table("critiques").count_rows() == 30
    assert support.run("batch_status.py", "--rebuild", "--check", ws=project).returncode == 0


def test_invalid_output_twice_stops_the_run(claude, clone, tmp_path, home):
    """With the plugin install (its generator skills by name, its files in the plugin cache): the
    permission settings hold there too."""
    project = tmp_path / "project"
    project.mkdir()
    install_plugin_from_git(claude, clone, home)
    support.write_candidates(project, "korean", 25)
    model = RoundModel(f"{PLUGIN}:batch-orchestrator", invalid=True)
    with StandIn(model) as standin:
        code, out, err = finish(start_runner(claude, project, home, standin, "--batches", "2"), standin)
    assert code == 1, out + err
    entries = log_entries(project)
    assert [(e["accepted"], e["returned"], e["failed"], e["completed"], e["denied"]) for e in entries] == [
        (0, 20, 2, 0, 0), (0, 20, 2, 0, 0)], entries
    assert entries[-1]["stop"].startswith("no progress in 2 rounds")
    # each subagent's check said so (round 2 retried the same 20 images in batches 003 and 004)
    assert sorted(reply for _, reply in model.checks) == [
        f"korean {n:03d}: FAIL 0 valid, 10 invalid, 0 skipped, 0 missing of 10 images" for n in (1, 2, 3, 4)]
    assert support.run("batch_status.py", "--rebuild", "--check", ws=project).returncode == 0


def test_sigterm_mid_round_then_the_next_run_takes_over(claude, tmp_path, home):
    project = project_with_skill(tmp_path)
    support.write_candidates(project, "korean", 25)
    hold = threading.Event()
    model = RoundModel(hold=hold)
    with StandIn(model) as standin:
        proc = start_runner(claude, project, home, standin, "--batches", "2")
        try:
            deadline = time.monotonic() + 120
            # batch 001 written and checked, batch 002's subagent still at work
            while not (model.holding.is_set() and len(model.checks) == 1):
                assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
                time.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            code, out, err = finish(proc, standin)
        finally:
            hold.set()
    assert code == 128 + signal.SIGTERM, out + err
    [entry] = log_entries(project)
    assert (entry["accepted"], entry["completed"], entry["stop"]) == (10, 10, "stopped by SIGTERM"), entry
    assert support.run("batch_status.py", "--rebuild", "--check", ws=project).returncode == 0
    kr = support.run_json("batch_status.py", "korean", ws=project)["cultures"][0]
    assert [(b["batch_id"], b["session"]) for b in kr["in_flight_batches"]] == [(2, entry["session"])]

    model = RoundModel()
    with StandIn(model) as standin:
        code, out, err = finish(start_runner(claude, project, home, standin, "--batches", "2", "--rounds", "1"), standin)
    assert code == 0, out + err
    entry = log_entries(project)[-1]
    assert (entry["taken_over"], entry["accepted"], entry["completed"], entry["denied"]) == (1, 15, 25, 0), entry
    assert "korean 002" in model.prompts[0] and sorted(model.briefs) == ["korean 002", "korean 003"]
    assert "--culture korean --take-over --count 2 --yes" in model.round_commands[0][1]
    assert support.run("batch_status.py", "--rebuild", "--check", ws=project).returncode == 0
