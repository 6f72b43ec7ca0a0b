"""The real Claude Code CLI (the pinned native binary, see tools/install-claude.sh) with this
repository installed as users install it:

- the plugin: `claude plugin marketplace add <clone>` + `claude plugin install` into a fresh HOME load
  it with no errors and with its seven skills;
- end to end, offline: `claude -p "continue the Korean expansion, 2 batches"` against a scripted model
  (tests/anthropic_standin.py, a stand-in for the Anthropic Messages API on 127.0.0.1). The scripted
  model does what a model following the skill does: it loads the orchestrator skill with the Skill
  tool, runs the commands of the SKILL.md text Claude Code sends back (with ${CLAUDE_SKILL_DIR} filled
  in by Claude Code), starts one subagent per batch with the Agent tool and the brief as printed, and
  each subagent reads its instructions and input, writes its records with the Write tool and runs the
  check command from its brief with the Bash tool. Then the orchestrator collects and syncs. The
  workspace is checked afterwards. Run for the plugin (installed from git into the plugin cache, as
  from GitHub) and for the skills CLI installs (copy and linked).

Everything runs offline: the CLI talks only to the stand-in (non-essential traffic, telemetry, the
auto-updater and error reporting are turned off). The stand-in is also the CLI's HTTPS proxy, so any
attempt to reach another host would show as a CONNECT there; the tests assert there is none. Skipped when the CLI is not installed, unless
CRITIQUE_BATCH_REQUIRE_CLAUDE_CLI is set (CI sets it): then it fails."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import support
from anthropic_standin import StandIn, texts, tool_results, tool_uses
from test_skills import find_skills_cli, local_clone

ROOT = support.ROOT
CLAUDE_VERSION = "2.1.332"  # as pinned in tools/install-claude.sh
PLUGIN = "critique-batch"
PROMPT = "continue the Korean expansion, 2 batches"
SKILLS = sorted(p.parent.name for p in (ROOT / "skills").glob("*/SKILL.md"))


def find_claude() -> Path | str:
    """The pinned claude binary, or why it is not available."""
    dirs = [os.environ.get("CRITIQUE_BATCH_CLAUDE_DIR"), str(Path.home() / ".cache" / "critique-batch" / "claude")]
    candidates = [Path(d) / CLAUDE_VERSION / "bin" / "claude" for d in dirs if d]
    if shutil.which("claude"):
        candidates.append(Path(shutil.which("claude")))
    for path in candidates:
        if path.is_file():
            out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60).stdout
            if out.split()[:1] == [CLAUDE_VERSION]:
                return path
    return f"Claude Code {CLAUDE_VERSION} not found (bash tools/install-claude.sh installs it)"


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """One clone of the working tree for all tests here (the installs only read it)."""
    return local_clone(tmp_path_factory.mktemp("repo"))


@pytest.fixture(scope="module")
def claude() -> Path:
    found = find_claude()
    support.require_real_component(found if isinstance(found, str) else None, "CRITIQUE_BATCH_REQUIRE_CLAUDE_CLI")
    return found


def test_the_pin_is_the_same_in_the_installer():
    script = (ROOT / "tools" / "install-claude.sh").read_text()
    assert f'CLAUDE_VERSION="{CLAUDE_VERSION}"' in script
    assert "bash tools/install-claude.sh" in (ROOT / ".ci" / "run").read_text()


def claude_env(home: Path, base_url: str = "http://127.0.0.1:9") -> dict:
    """A clean environment: nothing of an outer Claude Code session or the real home leaks in. The
    venv's bin comes first on PATH, as for a user with an activated venv: SKILL.md runs `python3`."""
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        "ANTHROPIC_BASE_URL": base_url,
        # as the proxy, the stand-in also sees any attempt to reach another host
        "HTTPS_PROXY": base_url, "HTTP_PROXY": base_url, "NO_PROXY": "127.0.0.1,localhost",
        "ANTHROPIC_API_KEY": "sk-ant-standin",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_BUG_COMMAND": "1",
        "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
        "NO_COLOR": "1",
    }


def run_claude(claude: Path, *args: str, env: dict, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(claude), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    assert proc.returncode == 0, f"claude {' '.join(args)}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def short_home() -> Path:
    """A home folder as short as a real one (/tmp/cbXXXXXXXX): the plugin cache path below it goes
    into every brief, and pytest's tmp_path is much longer than /home/<user>."""
    return Path(tempfile.mkdtemp(prefix="cb", dir="/tmp"))


# --- the plugin loads ----------------------------------------------------------------------------
def test_plugin_installs_and_loads_with_its_skills(claude, clone, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = claude_env(home)
    run_claude(claude, "plugin", "validate", str(clone), env=env)
    run_claude(claude, "plugin", "marketplace", "add", str(clone), env=env)
    run_claude(claude, "plugin", "install", f"{PLUGIN}@{PLUGIN}", env=env)
    listed = json.loads(run_claude(claude, "plugin", "list", "--json", env=env).stdout)
    [entry] = [p for p in listed if p["id"] == f"{PLUGIN}@{PLUGIN}"]
    assert entry["enabled"] is True and not entry.get("errors"), entry  # was: "conflicting manifests"
    assert entry["version"] == json.loads((ROOT / ".claude-plugin" / "plugin.json").read_text())["version"]
    details = run_claude(claude, "plugin", "details", f"{PLUGIN}@{PLUGIN}", env=env).stdout
    m = re.search(r"Skills \((\d+)\)\s+(.*)", details)
    assert m and int(m.group(1)) == len(SKILLS), details
    assert sorted(s.strip() for s in m.group(2).split(",")) == SKILLS


# --- the scripted model ----------------------------------------------------------------------------
class ScriptedModel:
    """Plays the model for the orchestrator and its subagents, from what Claude Code sends."""

    def __init__(self, skill: str, *, background: bool = False):
        self.skill = skill  # the name the Skill tool knows the orchestrator by
        self.background = background  # start the subagents without run_in_background: false
        self.waited = 0  # turns ended to wait for completion notices
        self.notices = 0
        self.skill_text = ""  # SKILL.md as Claude Code presented it
        self.commands: list[str] = []  # every Bash command run by the orchestrator
        self.briefs: dict[str, str] = {}  # "korean 001" -> brief, as printed by the claim
        self.subagent_prompts: list[str] = []
        self.agent_calls: list[dict] = []
        self.checks: list[tuple[str, str]] = []  # (check command, its last line) per subagent
        self.make_record = support.good_record  # what a subagent writes for an image: (culture, filepath) -> record

    def __call__(self, body: dict) -> list[dict]:
        # the prompt is the first message's last text (Claude Code puts reminders before it)
        first = texts(body["messages"][0]["content"])[-1]
        if PROMPT in first:
            return self.orchestrator(body)
        if "Check: " in first:
            return self.subagent(body, first)
        return [{"type": "text", "text": "ok"}]  # anything else Claude Code asks (titles, summaries)

    # the orchestrator: Skill, then the commands SKILL.md gives, subagents, collect, sync
    def orchestrator(self, body: dict) -> list[dict]:
        turn = sum(1 for m in body["messages"] if m["role"] == "assistant")
        results = tool_results(body)
        last = [results.get(u["id"], "") for u in tool_uses(body)][-1:] or [""]
        if turn == 0:
            listing = json.dumps(body, ensure_ascii=False)
            assert f"- {self.skill}:" in listing, f"{self.skill} is not in the skills Claude Code lists"
            return [tool("Skill", skill=self.skill)]
        if turn == 1:
            self.skill_text = skill_text(body)
            assert "${CLAUDE_SKILL_DIR}" not in self.skill_text, "Claude Code did not fill in ${CLAUDE_SKILL_DIR}"
            return [self.bash(command(self.skill_text, "batch_status.py", ""))]
        if turn == 2:  # the claim, with the count the user asked for
            claim = command(self.skill_text, "run_next_batch.py", " --culture korean --count 4")
            return [self.bash(claim.replace("--count 4", "--count 2"))]
        if turn == 3:
            self.briefs = parse_claim(last[0])
            background = {} if self.background else {"run_in_background": False}
            calls = [tool("Agent", description=f"{tag} batch", prompt=brief, subagent_type="general-purpose", **background)
                     for tag, brief in self.briefs.items()]
            self.agent_calls = [c["input"] for c in calls]
            return calls  # all in one message
        # after the Agent calls: in the background, wait for a completion notice from every subagent
        after = body["messages"][agents_turn(body) + 1:]
        notices = sum(t.count("<task-notification>") for m in after if m["role"] == "user" for t in texts(m["content"]))
        self.notices = notices
        if self.background and notices < len(self.briefs):
            self.waited += 1
            return [{"type": "text", "text": "Waiting for every subagent's completion notice before collecting."}]
        bash_after = sum(1 for m in after if m["role"] == "assistant" for b in m["content"] if b.get("type") == "tool_use")
        steps = [("run_next_batch.py", " --count 0"), ("sync_to_lancedb.py", " --force"), ("batch_status.py", "")]
        if self.background:  # this run is about waiting: it stops after collecting (the sync is the same as above)
            steps = steps[:1]
        if bash_after < len(steps):
            return [self.bash(command(self.skill_text, *steps[bash_after]))]
        return [{"type": "text", "text": "Korean: 2 batches done and merged."}]

    def bash(self, cmd: str) -> dict:
        self.commands.append(cmd)
        return tool("Bash", command=cmd, description="Run a batch-orchestrator script")

    # a subagent: read instructions and input, write the records, run the check from the brief
    def subagent(self, body: dict, brief: str) -> list[dict]:
        turn = sum(1 for m in body["messages"] if m["role"] == "assistant")
        everything = "\n".join(texts(body["system"]) + [t for m in body["messages"] for t in texts(m["content"])])
        cwd = Path(re.search(r"Primary working directory: (\S+)", everything).group(1))
        check = brief.split("Check: ")[1].split(" ;")[0]
        inp = re.search(r"images in (\S+):", brief).group(1)
        out = check.split()[-1]
        if turn == 0:
            self.subagent_prompts.append(brief)
            assert {"Read", "Write", "Bash"} <= {t["name"] for t in body["tools"]}
            calls = [tool("Read", file_path=str(cwd / inp))]
            follow = re.search(r"Follow (\S+) for ", brief)  # after a note such as "Handed out before: ..."
            if follow:
                calls.insert(0, tool("Read", file_path=str(cwd / follow.group(1))))
            else:
                calls.insert(0, tool("Skill", skill=re.search(r"Use the (\S+) skill", brief).group(1)))
            return calls
        if turn == 1:
            # results come back in the order the tools finished: find each by its call
            results, calls = tool_results(body), tool_uses(body)
            [read_input] = [results[c["id"]] for c in calls if c["name"] == "Read" and c["input"]["file_path"] == str(cwd / inp)]
            # the instructions: the file read, or the skill's text Claude Code added after the Skill call
            assert "## Dimension catalogue: 26 KR dimensions" in "\n".join(
                texts(m["content"])[-1] if m["role"] == "user" else "" for m in body["messages"]) + "\n".join(results.values())
            batch = json.loads(strip_line_numbers(read_input))
            records = [self.make_record("korean", item["filepath"]) for item in batch["images"]]
            return [tool("Write", file_path=str(cwd / out), content=json.dumps(records, ensure_ascii=False, indent=1))]
        if turn == 2:
            return [tool("Bash", command=check, description="Check the batch output")]
        reply = list(tool_results(body).values())[-1].strip().splitlines()[-1]
        self.checks.append((check, reply))
        return [{"type": "text", "text": reply}]


def tool(name: str, **inputs) -> dict:
    return {"type": "tool_use", "name": name, "input": inputs}


def agents_turn(body: dict) -> int:
    """The index of the message with the Agent calls."""
    return next(i for i, m in enumerate(body["messages"]) if m["role"] == "assistant" and isinstance(m["content"], list)
                and any(b.get("type") == "tool_use" and b["name"] == "Agent" for b in m["content"]))


def skill_text(body: dict) -> str:
    """The skill's content, as Claude Code put it into the conversation after the Skill call."""
    for m in body["messages"]:
        if m["role"] == "user" and isinstance(m["content"], list):
            for b in m["content"]:
                if b.get("type") == "text" and b["text"].startswith("Base directory for this skill:"):
                    return b["text"]
    raise AssertionError("no skill content after the Skill call")


def command(text: str, script: str, args: str) -> str:
    """A command exactly as the skill text gives it (in a table or in the steps)."""
    m = re.search(r'`(python3 "[^"`]*/scripts/' + re.escape(script) + '"' + re.escape(args) + ")`", text)
    assert m, f"the skill gives no `python3 \".../scripts/{script}\"{args}` command"
    return m.group(1)


def parse_claim(output: str) -> dict[str, str]:
    """'--- korean 001' lines, each followed by its brief."""
    briefs = dict(re.findall(r"^--- (\w+ \d{3})\n(.+)$", output, re.M))
    assert briefs, output
    return briefs


def strip_line_numbers(text: str) -> str:
    """The Read tool shows a file with a line number and a tab before each line."""
    return "\n".join(re.sub(r"^\s*\d+\t", "", line) for line in text.splitlines()
                     if not line.startswith("<system-reminder>"))


# --- installs --------------------------------------------------------------------------------------
def install_plugin_from_git(claude: Path, clone: Path, home: Path) -> Path:
    """As from GitHub: Claude Code clones the plugin into its cache (~/.claude/plugins/cache/...).
    A marketplace of the same name whose entry points at the clone by git URL does that offline."""
    market = home / "marketplace"
    (market / ".claude-plugin").mkdir(parents=True)
    entry = {"name": PLUGIN, "source": {"source": "url", "url": clone.as_uri()}}
    (market / ".claude-plugin" / "marketplace.json").write_text(json.dumps(
        {"name": PLUGIN, "owner": {"name": "test"}, "plugins": [entry]}))
    env = claude_env(home)
    run_claude(claude, "plugin", "marketplace", "add", str(market), env=env)
    run_claude(claude, "plugin", "install", f"{PLUGIN}@{PLUGIN}", env=env)
    [entry] = [p for p in json.loads(run_claude(claude, "plugin", "list", "--json", env=env).stdout) if p["id"] == f"{PLUGIN}@{PLUGIN}"]
    assert entry["enabled"] and not entry.get("errors"), entry
    return Path(entry["installPath"]) / "skills" / "batch-orchestrator"


def install_skill(clone: Path, project: Path, home: Path, *, copy: bool, global_: bool = False) -> Path:
    found = find_skills_cli()
    support.require_real_component(found if isinstance(found, str) else None, "CRITIQUE_BATCH_REQUIRE_SKILLS_CLI")
    cli, env = found
    env.update(HOME=str(home), npm_config_cache=str(Path.home() / ".npm"))
    # linked is what the CLI does for more than one agent: the skill in .agents/skills/, linked from .claude/skills/
    agents = ["claude-code"] if copy else ["claude-code", "codex"]
    args = [*cli, "add", str(clone), "--skill", "batch-orchestrator", "-a", *agents, "-y", "--json"]
    args += ["--copy"] if copy else []
    args += ["-g"] if global_ else []
    proc = subprocess.run(args, cwd=project, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    base = home if global_ else project
    installed = base / ".claude" / "skills" / "batch-orchestrator"
    assert (installed / "SKILL.md").is_file()
    assert installed.is_symlink() != copy, f"{installed}: expected {'a copy' if copy else 'a link'}"
    return installed


# --- end to end ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["plugin", "skills-copy", "skills-linked", "plugin-background"])
def test_claude_code_runs_the_loop_offline(claude, clone, tmp_path, mode):
    """plugin-background: the orchestrator leaves run_in_background out, so Claude Code starts the
    subagents in the background (its default); the model then waits, as SKILL.md says, until a
    completion notice has come for every subagent before it collects."""
    home = short_home()
    project = tmp_path / "project"
    project.mkdir()
    try:
        if mode.startswith("plugin"):
            skill_dir = install_plugin_from_git(claude, clone, home)
            skill_name = f"{PLUGIN}:batch-orchestrator"
        else:
            skill_dir = install_skill(clone, project, home, copy=mode == "skills-copy")
            skill_name = "batch-orchestrator"
        support.write_candidates(project, "korean", 25)
        model = ScriptedModel(skill_name, background=mode.endswith("background"))
        with StandIn(model) as standin:
            env = claude_env(home, standin.url)
            proc = subprocess.run([str(claude), "-p", PROMPT, "--output-format", "json",
                                   "--allowedTools", "Skill,Bash,Read,Write,Agent"],
                                  cwd=project, capture_output=True, text=True, env=env, timeout=120)
        log = tmp_path / "requests.json"  # what the CLI sent, for whoever reads a failure
        log.write_text(json.dumps(standin.requests, ensure_ascii=False, indent=1))
        assert not standin.errors, f"requests in {log}\n" + "\n".join(standin.errors)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        result = json.loads(proc.stdout)
        assert result["is_error"] is False and result["permission_denials"] == [], result
        stats = result["subagent_stats"]
        assert stats["spawned"] == 2 and stats["completed"] == 2, stats
        assert stats["started_in_background"] == (2 if model.background else 0), stats
        assert not standin.other, standin.other  # nothing but the Messages API was asked for
    finally:
        shutil.rmtree(home, ignore_errors=True)

    # what Claude Code ran: the installed skill's own scripts, with its folder filled in
    real_dir = str(skill_dir.resolve())
    assert model.commands and all(f'python3 "{real_dir}/scripts/' in c or f'python3 "{skill_dir}/scripts/' in c
                                  for c in model.commands), model.commands
    # one subagent per batch, each given its brief exactly as printed
    assert sorted(model.briefs) == ["korean 001", "korean 002"]
    assert sorted(model.subagent_prompts) == sorted(model.briefs.values())
    if model.background:  # Claude Code's default; the model waited for both completion notices
        assert all("run_in_background" not in c for c in model.agent_calls)
        assert model.waited >= 1 and model.notices == 2
    else:
        assert all(c["run_in_background"] is False for c in model.agent_calls) and model.waited == 0
    for brief in model.briefs.values():
        assert len(brief.encode()) <= 600, (len(brief.encode()), brief)
    assert sorted(reply for _, reply in model.checks) == [
        f"korean {n}: OK 10 valid, 0 invalid, 0 skipped, 0 missing of 10 images" for n in ("001", "002")]

    # the workspace afterwards
    kr = support.run_json("batch_status.py", "--culture", "korean", ws=project)["cultures"][0]
    assert (kr["completed"], kr["unmerged"], kr["pending"]) == (20, 20 if model.background else 0, 5), kr
    assert len(support.accepted_filepaths(project, "korean")) == 20
    rebuilt = support.run("batch_status.py", "--rebuild", "--check", ws=project)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    if not model.background:
        import lancedb

        assert lancedb.connect(str(project / "lancedb")).open_table("critiques").count_rows() == 20


# --- briefs in every install mode --------------------------------------------------------------------
# the plugin and project installs are measured by the end-to-end test above
INSTALLS = ["skills-copy-global", "skills-linked-global"]


@pytest.mark.parametrize("mode", INSTALLS)
def test_briefs_fit_and_resolve_in_every_install_mode(request, clone, tmp_path, mode):
    """Claimed from the installed orchestrator in the project (as Claude Code runs it), every brief is
    at most 600 bytes, every path in it exists seen from the project, and its check runs as written."""
    home = short_home()
    project = tmp_path / "project"
    project.mkdir()
    try:
        if mode == "plugin":
            skill_dir = install_plugin_from_git(request.getfixturevalue("claude"), clone, home)
        else:
            skill_dir = install_skill(clone, project, home, copy="copy" in mode, global_=mode.endswith("global"))
        support.write_candidates(project, "korean", 25)
        env = claude_env(home)
        proc = subprocess.run(["python3", str(skill_dir / "scripts" / "run_next_batch.py"), "--culture", "korean", "--count", "2", "--json"],
                              cwd=project, capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        batches = json.loads(proc.stdout)["batches"]
        assert len(batches) == 2
        for b in batches:
            brief = b["brief"]
            print(f"{mode}: {len(brief.encode())} bytes: {brief}")
            assert len(brief.encode()) <= 600, (len(brief.encode()), brief)
            check = brief.split("Check: ")[1].split(" ;")[0].split()
            follow = re.match(r"Follow (\S+) for ", brief)
            paths = [re.search(r"images in (\S+):", brief).group(1), check[1]] + ([follow.group(1)] if follow else [])
            for path in paths:
                assert (project / path).is_file(), f"{path} (from the brief) does not exist seen from the project"
            if not follow:  # the plugin's generator skill, by the name Claude Code lists it under
                assert re.search(r"Use the critique-batch:korean-batch-generator skill", brief), brief
            run = subprocess.run(check, cwd=project, capture_output=True, text=True, env=env, timeout=120)
            assert run.returncode == 1 and "FAIL output file not written yet" in run.stdout, run.stdout + run.stderr
    finally:
        shutil.rmtree(home, ignore_errors=True)
