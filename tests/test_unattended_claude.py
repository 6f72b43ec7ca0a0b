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
  asks) and finishes it;
- a round's permissions hold (issue 20): with the settings `--show-permissions --json` prints, every
  escape found by a security review and the allowed calls, in one session; a hook that fails blocks
  its call; what Claude Code's Bash sandbox adds where it runs.

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
from critique_batch.agent import unattended
from test_claude_code import (PLUGIN, ScriptedModel, claude, claude_env, clone, command, install_plugin_from_git,  # noqa: F401 - fixtures
                              short_home, skill_text, tool)
from test_unattended import log_entries, small_target_plan

UNATTENDED = "unattended run (run_unattended.py)"


class RoundModel(ScriptedModel):
    """Every round's orchestrator: the skill, status, a claim for what the round asks (less the
    batches handed over in the prompt), one subagent per batch, then the session end as the round's
    prompt asks (collect, status: the runner merges); when the prompt asks for a take-over, the claim is the session start's
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
        steps = [("run_next_batch.py", " --count 0"), ("batch_status.py", "")]  # no merge: the runner merges
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
    # the runner merged after each round, all 30 records
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


# --- the round's permissions hold: escapes tried with the real CLI ------------------------------------
class Attempts:
    """A model that, in one session, claims a batch (turn 0), writes that batch's output file with
    Python in it (turn 1), then tries every call of `calls` at once (turn 2), and ends; one
    subagent tries an escape of its own. The tool results are kept by call id."""

    SUBAGENT = "ESCAPE FROM A SUBAGENT"

    def __init__(self, claim: str, output: Path, code: str, calls: list[dict], subagent_call: dict, before_attempts):
        self.claim, self.output, self.code = claim, output, code
        self.calls, self.subagent_call, self.before_attempts = calls, subagent_call, before_attempts
        self.results: dict[str, str] = {}  # tool input (JSON) -> the result text
        self.subagent_result: str | None = None

    def __call__(self, body: dict) -> list[dict]:
        first = texts(body["messages"][0]["content"])[-1]
        turn = sum(1 for m in body["messages"] if m["role"] == "assistant")
        if first.startswith(self.SUBAGENT):
            if turn == 0:
                return [self.subagent_call]
            self.subagent_result = list(tool_results(body).values())[-1]
            return [{"type": "text", "text": "done"}]
        if "the escape test" not in first:
            return [{"type": "text", "text": "ok"}]
        if turn == 0:
            return [tool("Bash", command=self.claim)]
        if turn == 1:
            return [tool("Write", file_path=str(self.output), content=self.code)]
        if turn == 2:
            self.before_attempts()
            return [*self.calls, tool("Agent", description="escape", prompt=self.SUBAGENT, subagent_type="general-purpose",
                                      run_in_background=False)]
        results = tool_results(body)
        for use in tool_uses(body):
            self.results[json.dumps(use["input"], sort_keys=True)] = results.get(use["id"], "")
        return [{"type": "text", "text": "done"}]

    def result(self, call: dict) -> str:
        return self.results[json.dumps(call["input"], sort_keys=True)]


def png() -> bytes:
    """A 1x1 PNG."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00\x00")) + chunk(b"IEND", b""))


DENIED = ("Denied by the unattended round's rules", "has been denied")


def test_a_round_runs_only_the_skills_scripts_and_writes_only_its_outputs(claude, tmp_path, home):
    """Every escape of issue 20 and those denied before, with the settings `--show-permissions --json`
    prints, in one session (most calls in one message): each denied call gets a denial as its result
    and leaves no trace; the allowed calls run; a subagent is held to the same rules."""
    project = project_with_skill(tmp_path)
    support.write_candidates(project, "korean", 15)
    outside, images, secret = tmp_path / "outside", tmp_path / "images", tmp_path / "secrets"
    for folder in (outside, images, secret, outside / "scripts"):
        folder.mkdir()
    (images / "a.png").write_bytes(png())  # a candidate image outside the workspace: readable
    (secret / "id_rsa").write_text("PRIVATE")
    candidates = project / "checkpoints" / "korean_expansion_candidates.json"
    doc = json.loads(candidates.read_text())
    doc["images"] += [{"filepath": str(images / "a.png"), "artist": "A", "title": "T"},
                      {"filepath": str(secret / "id_rsa.jpg"), "artist": "A", "title": "T"}]  # missing: no rule
    candidates.write_text(json.dumps(doc))
    shown = subprocess.run([sys.executable, str(support.SCRIPTS / "run_unattended.py"), "--show-permissions", "--json"],
                           cwd=project, capture_output=True, text=True, env=claude_env(home), check=True).stdout
    allow = json.loads(shown)["permissions"]["allow"]
    assert f"Read(/{images}/**)" in allow and not [r for r in allow if str(secret) in r or r.startswith("Read(///")]

    scripts = project / ".claude" / "skills" / "batch-orchestrator" / "scripts"
    marker = outside / "ran"

    def mark(n: int) -> str:  # Python that leaves a trace
        return f"open({str(marker) + str(n)!r}, 'w')"

    (outside / "scripts" / "run_next_batch.py").write_text(mark(0))  # an impostor of the same name
    out1, out2 = (project / "checkpoints" / f"korean_batch_00{n}_output.json" for n in (1, 2))
    target = outside / "target.json"
    inp = project / "checkpoints" / "korean_batch_001_input.json"

    def before_attempts():  # batch 002's output: a link out of the workspace
        out2.symlink_to(target)

    denied = [
        f"python3 {outside}/scripts/run_next_batch.py",
        f'python3 -I -c "{mark(1)}" {scripts}/batch_status.py',
        f'python3  -c "{mark(2)}"',
        f"python3 {out1} {scripts}/batch_status.py",  # Python written into an output file
        "python3 checkpoints/korean_batch_001_output.json",
        f"python3 - {scripts}/batch_status.py <<'EOF'\n{mark(3)}\nEOF",
        f"python3 -m zipfile -c {outside}/x.zip {project}/checkpoints",
        "python3 -m pip --version",
        f"python3 {scripts}/sync_to_lancedb.py --db {outside}/db",
        f"python3 {scripts}/sync_to_lancedb.py --rollback",
        f"python3 {scripts}/sync_to_lancedb.py --optimize",
        f"python3 {scripts}/quality_report.py",
        f'python3 {scripts}/batch_status.py ; python3 -c "{mark(4)}"',
        f'python3 {scripts}/batch_status.py && python3 -c "{mark(5)}"',
        f'python3 {scripts}/batch_status.py | python3 -c "{mark(6)}"',
        f"python3 {scripts}/batch_status.py > {marker}7",
        f'python3 {scripts}/batch_status.py --culture $(python3 -c "{mark(8)}")',
        f'python3 {scripts}/batch_status.py --culture `python3 -c "{mark(9)}"`',
        f'python3 {scripts}/batch_status.py\npython3 -c "{mark(10)}"',
        f"PYTHONSTARTUP={outside}/x python3 {scripts}/batch_status.py",
        f"python3 {scripts}/batch_status.py --workspace {outside}",
        f"python3 {scripts}/run_next_batch.py --count 0 --workspace={outside}",
        f"python3 {scripts}/validate_batch.py {secret}/id_rsa",
        f'python3 {scripts}/batch_status.py "$HOME"',
        f"python3 {scripts}/../scripts/batch_status.py",
        f"python3 '{scripts}/batch_status.py'",  # a spelling no skill text gives: the rules do not match it
        f"cat {secret}/id_rsa",
        f"ls {outside}",
    ]
    allowed = {  # the skill's and the briefs' spellings
        f'python3 "{scripts}/batch_status.py"': "korean",
        f"python3 {scripts.relative_to(project)}/validate_batch.py checkpoints/korean_batch_001_output.json": "korean 001: FAIL",
        f'python3 "{scripts}/generator_instructions.py" korean': "# Korean batch generator",
        f"python3 {scripts}/batch_status.py --culture korean": "korean",
    }
    bad_writes = [outside / "w.json", project / "checkpoints" / "evil_output.json",
                  project / "checkpoints" / "korean_batch_009_output.json",  # never claimed
                  project / "checkpoints" / ".." / ".." / "outside" / "korean_batch_001_output.json", out2, inp,
                  project / ".claude" / "settings.json"]
    bash = {c: tool("Bash", command=c) for c in [*denied, *allowed]}
    writes = [tool("Write", file_path=str(p), content=mark(11)) for p in bad_writes]
    reads = [tool("Read", file_path=str(images / "a.png")), tool("Read", file_path=str(secret / "id_rsa"))]
    model = Attempts(f"python3 {scripts}/run_next_batch.py --culture korean --count 2", out1, mark(12),
                     [*bash.values(), *writes, *reads], tool("Bash", command=f'python3 -c "{mark(13)}"'), before_attempts)
    prompt = "the escape test: " + unattended.round_prompt("korean", 2, 1, [], True)
    with StandIn(model) as standin:
        t0 = time.monotonic()
        proc = subprocess.run([str(claude), "-p", prompt, "--output-format", "json", "--settings", shown], cwd=project,
                              capture_output=True, text=True, env=claude_env(home, standin.url), timeout=300)
        took = time.monotonic() - t0
    assert not standin.errors, "\n".join(standin.errors)
    assert not standin.other, standin.other
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(f"{len(model.calls) + 4} tool calls in {took:.1f} s")
    # the hook's denials count where the runner reads them (the log's `denied`)
    denials = json.loads(proc.stdout)["permission_denials"]
    assert len(denials) >= len(denied) + len(bad_writes) + 1, len(denials)
    not_denied = [c for c in [*denied, *(str(w["input"]["file_path"]) for w in writes)]
                  if not any(d in model.result(bash[c] if c in bash else next(w for w in writes if w["input"]["file_path"] == c))
                             for d in DENIED)]
    assert not not_denied, not_denied
    assert all(d in model.subagent_result for d in DENIED[:1]), model.subagent_result
    for cmd, expected in allowed.items():
        assert expected in model.result(bash[cmd]) and not any(d in model.result(bash[cmd]) for d in DENIED), (cmd, model.result(bash[cmd]))
    assert "denied" not in model.result(reads[0]) and any(d in model.result(reads[1]) for d in DENIED)
    # no trace of any of them
    assert sorted(p.name for p in outside.iterdir()) == ["scripts"], list(outside.iterdir())
    assert not (project / "checkpoints" / "evil_output.json").exists() and not (project / ".claude" / "settings.json").exists()
    assert not (project / "checkpoints" / "korean_batch_009_output.json").exists()
    assert mark(11) not in inp.read_text()
    assert out1.read_text() == mark(12)  # the one write allowed: the claimed batch's output
    assert took < 60


def test_a_hook_that_fails_blocks_the_call(claude, tmp_path, home):
    """onFailure "block": a guard that cannot run (here: exits 1, which Claude Code otherwise takes for
    a non-blocking error and runs the call) stops the call instead of letting it through."""
    project = project_with_skill(tmp_path)
    settings = {"permissions": {"defaultMode": "dontAsk", "allow": ["Bash(python3 *)"]},
                "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "exit 1", "onFailure": "block"}]}]}}
    marker = tmp_path / "ran"
    call = tool("Bash", command=f"python3 -c \"open('{marker}', 'w')\"")

    def model(body: dict) -> list[dict]:
        if "the failing hook test" not in texts(body["messages"][0]["content"])[-1]:
            return [{"type": "text", "text": "ok"}]
        return [call] if len(tool_uses(body)) == 0 else [{"type": "text", "text": "done"}]

    with StandIn(model) as standin:
        proc = subprocess.run([str(claude), "-p", "the failing hook test", "--output-format", "json", "--settings", json.dumps(settings)],
                              cwd=project, capture_output=True, text=True, env=claude_env(home, standin.url), timeout=120)
        last = standin.requests[-1]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not marker.exists(), list(tool_results(last).values())


def test_the_sandbox_keeps_even_allowed_commands_in_the_workspace(claude, tmp_path, home):
    """What Claude Code's Bash sandbox (the rounds' `sandbox` settings) adds where it runs: a command
    the rules allow (here any python3, no hook) writes only in the workspace and reaches no network."""
    support.require_real_component(None if unattended.sandbox_available() else
                                   "Claude Code's sandbox does not run here (Linux needs bubblewrap and socat)",
                                   "CRITIQUE_BATCH_REQUIRE_SANDBOX")
    project = project_with_skill(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    settings = {"permissions": {"defaultMode": "dontAsk", "allow": ["Bash(python3 *)"]}, "sandbox": unattended.SANDBOX}
    cmds = [f"python3 -c \"open('{outside}/x', 'w'); print('wrote outside')\"",
            f"python3 -c \"open('{project}/inside', 'w'); print('wrote inside')\""]
    calls = []
    results = {}

    def model(body: dict) -> list[dict]:
        if "the sandbox test" not in texts(body["messages"][0]["content"])[-1]:
            return [{"type": "text", "text": "ok"}]
        if not tool_uses(body):
            return calls
        got = tool_results(body)
        results.update({u["input"]["command"]: got.get(u["id"], "") for u in tool_uses(body)})
        return [{"type": "text", "text": "done"}]

    with StandIn(model) as standin:
        port = standin.server.server_address[1]  # listening: without the sandbox this connects
        cmds.append(f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3); print('connected')\"")
        calls += [tool("Bash", command=c) for c in cmds]
        proc = subprocess.run([str(claude), "-p", "the sandbox test", "--output-format", "json", "--settings", json.dumps(settings)],
                              cwd=project, capture_output=True, text=True, env=claude_env(home, standin.url), timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Read-only file system" in results[cmds[0]] and not (outside / "x").exists(), results[cmds[0]]
    assert "wrote inside" in results[cmds[1]] and (project / "inside").exists()
    assert "connected" not in results[cmds[2]] and "Error" in results[cmds[2]], results[cmds[2]]
