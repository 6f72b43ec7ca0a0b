"""The real Codex CLI (the pinned native binary, see tools/install-codex.sh) with the skills installed
as users install them (`npx skills add <clone> -a codex`: into the project's .agents/skills, or with
-g into ~/.agents/skills), end to end and offline: `codex exec "continue the Korean expansion, 2
batches"` against a scripted model (tests/openai_standin.py, a stand-in for the OpenAI Responses API
on 127.0.0.1, the model provider of $CODEX_HOME/config.toml).

The scripted model does what a model following the skill does with what Codex sends it: Codex lists
the skills (name, description, and the SKILL.md's path below a root it names); the model reads the
orchestrator's SKILL.md with exec_command, runs the commands that text gives, with the skill's folder
put in for the unfilled CLAUDE_SKILL_DIR as the text says, claims, starts one subagent per brief with
spawn_agent (namespace multi_agent_v1), then wait_agent until every one has finished. Each subagent
(its requests carry its own thread-id) reads its instructions and input as its brief says, writes its
records with a shell command and runs the check command from its brief. Then the orchestrator collects
and syncs. The workspace is checked afterwards.

The model name is not in Codex's bundled catalogue, so Codex uses its fallback model settings: plain
function tools (exec_command, spawn_agent/wait_agent in multi_agent_v1). (With a catalogue model such
as the default gpt-6.1-sol, Codex 0.169.0 offers instead a JavaScript `exec` tool and the
`collaboration` namespace: spawn_agent with task_name and fork_turns, wait_agent without targets.)

Everything runs offline: plugins and analytics are turned off in config.toml (else Codex reaches
github.com, chatgpt.com and ab.chatgpt.com at start), and the stand-in is Codex's HTTPS proxy, so any
attempt to reach another host shows as a CONNECT there; the test asserts there is none. Skipped when
the CLI is not installed, unless CRITIQUE_BATCH_REQUIRE_CODEX_CLI is set (CI sets it): then it fails."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import support
from openai_standin import Request, StandIn, calls, outputs, texts
from test_claude_code import command, parse_claim
from test_skills import find_skills_cli, local_clone

ROOT = support.ROOT
CODEX_VERSION = "0.169.0"  # as pinned in tools/install-codex.sh
PROMPT = "continue the Korean expansion, 2 batches"
MODEL = "stand-in"  # not in Codex's catalogue: the fallback settings, with the multi_agent_v1 tools
# what SKILL.md says of the folder where an agent does not fill it in (the scripted model acts on it)
FOLDER_RULE = ("An agent that shows them with the `CLAUDE_SKILL_DIR` variable unfilled (Codex CLI does) must put in its "
               "place the absolute path of the folder that holds this SKILL.md")
SHELL_WAIT_MS = 30000  # exec_command's longest wait before it hands back a session to poll


def find_codex() -> Path | str:
    """The pinned codex binary, or why it is not available."""
    dirs = [os.environ.get("CRITIQUE_BATCH_CODEX_DIR"), str(Path.home() / ".cache" / "critique-batch" / "codex")]
    candidates = [Path(d) / CODEX_VERSION / "bin" / "codex" for d in dirs if d]
    for path in candidates:
        if path.is_file():
            out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60).stdout
            if out.split()[-1:] == [CODEX_VERSION]:
                return path
    return f"Codex CLI {CODEX_VERSION} not found (bash tools/install-codex.sh installs it)"


@pytest.fixture(scope="module")
def codex() -> Path:
    found = find_codex()
    support.require_real_component(found if isinstance(found, str) else None, "CRITIQUE_BATCH_REQUIRE_CODEX_CLI")
    return found


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    return local_clone(tmp_path_factory.mktemp("repo"))


def test_the_pin_is_the_same_in_the_installer():
    script = (ROOT / "tools" / "install-codex.sh").read_text()
    assert f'CODEX_VERSION="{CODEX_VERSION}"' in script
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash tools/install-codex.sh" in ci and "CRITIQUE_BATCH_REQUIRE_CODEX_CLI=1" in ci


# --- what Codex sends, read as a model reads it ------------------------------------------------------
def shell_output(text: str) -> str:
    """exec_command's result: a header (chunk id, wall time, exit code, token count), then the output."""
    return text.split("\nOutput:\n", 1)[1] if "\nOutput:\n" in text else text


def skill_path(body: dict, name: str) -> Path:
    """A skill's SKILL.md as Codex lists it: `(file: r1/NAME/SKILL.md)` below a root `r1` = `/abs/path`."""
    listing = next(t for item in body["input"] if item.get("role") == "developer" for t in texts(item)
                   if t.startswith("<skills_instructions>"))
    roots = dict(re.findall(r"^- `(r\d+)` = `([^`]+)`$", listing, re.M))
    m = re.search(r"^- " + re.escape(name) + r": .*\(file: (r\d+)/(\S+)\)$", listing, re.M)
    assert m, f"Codex does not list the {name} skill:\n{listing}"
    return Path(roots[m.group(1)]) / m.group(2)


def user_texts(body: dict) -> list[str]:
    return [t for item in body["input"] if item.get("type") == "message" and item.get("role") == "user" for t in texts(item)]


def shell(cmd: str) -> dict:
    return {"type": "call", "name": "exec_command", "arguments": {"cmd": cmd, "yield_time_ms": SHELL_WAIT_MS}}


def collab(name: str, **arguments) -> dict:
    return {"type": "call", "name": name, "namespace": "multi_agent_v1", "arguments": arguments}


class Conversation:
    """One thread's calls so far, with a shell command's whole output (a command that outlived
    exec_command's wait is polled with write_stdin: its output comes in pieces)."""

    def __init__(self, body: dict):
        self.calls = calls(body)
        results = outputs(body)
        self.results = [results.get(c["call_id"], "") for c in self.calls]

    def running_session(self) -> str | None:
        """The session of a command still running after the last call, if any."""
        if self.calls and self.calls[-1]["name"] in ("exec_command", "write_stdin"):
            m = re.search(r"Process running with session ID (\d+)", self.results[-1])
            return m.group(1) if m else None
        return None

    def steps(self) -> list[tuple[dict, str]]:
        """(call, its whole result) per call, write_stdin polls folded into their command."""
        out: list[tuple[dict, str]] = []
        for call, result in zip(self.calls, self.results):
            if call["name"] == "write_stdin" and out:
                out[-1] = (out[-1][0], out[-1][1] + shell_output(result))
            else:
                out.append((call, shell_output(result) if call["name"] == "exec_command" else result))
        return out


def poll(session: str) -> dict:
    return {"type": "call", "name": "write_stdin", "arguments": {"session_id": int(session), "chars": "", "yield_time_ms": SHELL_WAIT_MS}}


# --- the scripted model ------------------------------------------------------------------------------
class ScriptedModel:
    """Plays the model for the orchestrator and its subagents, from what Codex sends."""

    def __init__(self):
        self.skill_md: Path | None = None  # the orchestrator's SKILL.md, as Codex lists it
        self.skill_text = ""  # its text, as the model read it
        self.commands: list[str] = []  # every shell command the orchestrator ran
        self.briefs: dict[str, str] = {}  # "korean 001" -> brief, as printed by the claim
        self.spawned: list[dict] = []  # the spawn_agent arguments
        self.subagent_prompts: list[str] = []
        self.subagent_threads: set[str] = set()
        self.subagent_tools: list[set[str]] = []
        self.waits = 0
        self.checks: list[tuple[str, str]] = []  # (check command, its last line) per subagent
        self.finished = False

    def __call__(self, req: Request) -> list[dict]:
        said = user_texts(req.body)
        if PROMPT in said:
            assert req.thread == req.session, "the orchestrator runs in the session's own thread"
            return self.orchestrator(req.body)
        brief = next((t for t in said if "Check: " in t), None)
        if brief:
            assert req.thread != req.session, "a subagent's requests carry a thread-id of its own"
            return self.subagent(req, brief)
        return [{"type": "text", "text": "ok"}]

    # the orchestrator: read SKILL.md, then the commands it gives, subagents, collect, sync
    def orchestrator(self, body: dict) -> list[dict]:
        convo = Conversation(body)
        if convo.running_session():
            return [poll(convo.running_session())]
        steps = convo.steps()
        if not steps:
            if self.finished:  # a notice after the last answer: nothing left to do
                return [{"type": "text", "text": "Nothing more to do."}]
            self.skill_md = skill_path(body, "batch-orchestrator")
            return [shell(f"cat {self.skill_md}")]
        shells = [result for call, result in steps if call["name"] == "exec_command"]
        if len(shells) == 1:
            self.skill_text = shells[0]
            assert "## The loop" in self.skill_text, "the SKILL.md text did not come back whole"
            assert FOLDER_RULE in " ".join(self.skill_text.split()), "SKILL.md does not say which folder to put in"
            return [self.run(command(self.skill_text, "batch_status.py", ""))]
        if len(shells) == 2:  # the claim, with the count the user asked for
            claim = command(self.skill_text, "run_next_batch.py", " --culture korean --count 4")
            return [self.run(claim.replace("--count 4", "--count 2"))]
        spawns = [(call, result) for call, result in steps if call["name"] == "spawn_agent"]
        if not spawns:
            self.briefs = parse_claim(shells[2])
            assert "spawn_agent` for each brief" in self.skill_text and "then `wait_agent` on all of them" in self.skill_text
            self.spawned = [{"message": brief} for brief in self.briefs.values()]
            return [collab("spawn_agent", **args) for args in self.spawned]  # all in one response
        agents = [json.loads(result)["agent_id"] for _, result in spawns]
        done = finished_agents(body, steps)
        if set(agents) - done:
            self.waits += 1
            return [collab("wait_agent", targets=[a for a in agents if a not in done], timeout_ms=600000)]
        after = len(shells) - 3
        tail = [("run_next_batch.py", " --count 0"), ("sync_to_lancedb.py", " --force"), ("batch_status.py", "")]
        if after < len(tail):
            return [self.run(command(self.skill_text, *tail[after]))]
        self.finished = True
        return [{"type": "text", "text": "Korean: 2 batches done and merged."}]

    def run(self, cmd: str) -> dict:
        """A command of the skill text, with the folder put in as its text says: the folder of the SKILL.md read."""
        cmd = cmd.replace("${CLAUDE_SKILL_DIR}", str(self.skill_md.parent))
        self.commands.append(cmd)
        return shell(cmd)

    # a subagent: read instructions and input, write the records, run the check from the brief
    def subagent(self, req: Request, brief: str) -> list[dict]:
        body = req.body
        convo = Conversation(body)
        if convo.running_session():
            return [poll(convo.running_session())]
        steps = convo.steps()
        check = brief.split("Check: ")[1].split(" ;")[0]
        inp = re.search(r"images in (\S+):", brief).group(1)
        out = check.split()[-1]
        if not steps:
            self.subagent_prompts.append(brief)
            self.subagent_threads.add(req.thread)
            self.subagent_tools.append({t.get("name") for t in body.get("tools", [])})
            follow = re.search(r"Follow (\S+) for ", brief)  # after a note such as "Handed out before: ..."
            instructions = follow.group(1) if follow else skill_path(body, re.search(r"Use the (\S+) skill", brief).group(1))
            return [shell(f"cat {instructions}"), shell(f"cat {inp}")]
        if len(steps) == 2:
            assert "## Dimension catalogue: 26 KR dimensions" in steps[0][1]
            batch = json.loads(steps[1][1])
            records = [support.good_record("korean", item["filepath"]) for item in batch["images"]]
            text = json.dumps(records, ensure_ascii=False, indent=1)
            return [shell(f"cat > {out} <<'RECORDS_EOF'\n{text}\nRECORDS_EOF")]
        if len(steps) == 3:
            return [shell(check)]
        reply = steps[3][1].strip().splitlines()[-1]
        self.checks.append((check, reply))
        return [{"type": "text", "text": reply}]


def finished_agents(body: dict, steps: list[tuple[dict, str]]) -> set[str]:
    """Agents reported finished: by a wait_agent result, or by a subagent notice Codex adds to the conversation."""
    done = set()
    for call, result in steps:
        if call["name"] == "wait_agent":
            status = json.loads(result).get("status") or {}
            done |= {a for a, s in status.items() if "completed" in s}
    for text in user_texts(body):
        m = re.match(r"<subagent_notification>\s*(\{.*\})\s*</subagent_notification>", text, re.S)
        if m:
            notice = json.loads(m.group(1))
            if "completed" in (notice.get("status") or {}):
                done.add(notice["agent_path"])
    return done


# --- installs and the run ------------------------------------------------------------------------------
def install_skills(clone: Path, project: Path, home: Path, *, global_: bool) -> Path:
    """Every skill of the repository, as `npx skills add <clone> -a codex [-g]` installs them."""
    found = find_skills_cli()
    support.require_real_component(found if isinstance(found, str) else None, "CRITIQUE_BATCH_REQUIRE_SKILLS_CLI")
    cli, env = found
    env.update(HOME=str(home), npm_config_cache=str(Path.home() / ".npm"))
    args = [*cli, "add", str(clone), "-a", "codex", "-y", "--json", *(["-g"] if global_ else [])]
    proc = subprocess.run(args, cwd=project, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installed = (home if global_ else project) / ".agents" / "skills"
    for name in ("batch-orchestrator", "korean-batch-generator"):
        assert (installed / name / "SKILL.md").is_file(), f"{installed / name} not installed"
    return installed / "batch-orchestrator"


def codex_home(home: Path, base_url: str) -> Path:
    """$CODEX_HOME with the stand-in as the model provider; plugins and analytics off (they reach the internet)."""
    folder = home / ".codex"
    folder.mkdir(parents=True, exist_ok=True)
    (home / "tmp").mkdir(exist_ok=True)
    # tool_output_token_limit: the fallback settings keep only 10 kB of a command's output (head and
    # tail); the catalogue's models keep 10000 tokens, which a whole SKILL.md fits in.
    # allow_login_shell = false: a login shell (Codex's default) reads /etc/profile, which puts the
    # system's folders first on PATH, so an activated venv's python3 is not the one found
    (folder / "config.toml").write_text(f'''model = "{MODEL}"
model_provider = "mock"
tool_output_token_limit = 10000
allow_login_shell = false

[model_providers.mock]
name = "stand-in"
base_url = "{base_url}/v1"
wire_api = "responses"
env_key = "MOCK_API_KEY"

[analytics]
enabled = false

[features]
plugins = false
''')
    return folder


def codex_env(home: Path, base_url: str) -> dict:
    """A clean environment (nothing of the real home leaks in); the venv's bin first on PATH, as for a
    user with an activated venv: SKILL.md runs `python3`."""
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "CODEX_HOME": str(codex_home(home, base_url)),
        "MOCK_API_KEY": "sk-standin",
        "LANG": "C.UTF-8",
        # a temporary folder of its own: Codex creates its sandbox helper only in a CODEX_HOME that is
        # not below the temporary folder (the short home is in /tmp)
        "TMPDIR": str(home / "tmp"),
        # as the proxy, the stand-in also sees any attempt to reach another host
        "HTTPS_PROXY": base_url, "HTTP_PROXY": base_url, "NO_PROXY": "127.0.0.1,localhost",
        "NO_COLOR": "1",
    }


def sandbox_runs(codex: Path) -> bool:
    """Whether Codex's Linux sandbox (its own bubblewrap, in a user namespace) starts here."""
    home = Path(tempfile.mkdtemp(prefix="cbsb", dir=Path.home()))
    try:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "CODEX_HOME": str(home), "TMPDIR": "/tmp"}
        proc = subprocess.run([str(codex), "sandbox", "-c", 'sandbox_mode="workspace-write"', "--", "true"],
                              capture_output=True, env=env, stdin=subprocess.DEVNULL, timeout=60)
        return proc.returncode == 0
    finally:
        shutil.rmtree(home, ignore_errors=True)


# project: in Codex's own sandbox (workspace-write, no network), as Codex runs commands by default;
# global: with the sandbox off (--dangerously-bypass-approvals-and-sandbox)
@pytest.mark.parametrize("scope", ["project", "global"])
def test_codex_runs_the_loop_offline(codex, clone, tmp_path, scope):
    sandboxed = scope == "project"
    if sandboxed:
        support.require_real_component(None if sandbox_runs(codex) else "Codex CLI's sandbox does not start here",
                                       "CRITIQUE_BATCH_REQUIRE_SANDBOX")
    home = Path(tempfile.mkdtemp(prefix="cb", dir="/tmp"))  # as short as a real home: its path goes into briefs
    project = tmp_path / "project"
    project.mkdir()
    try:
        skill_dir = install_skills(clone, project, home, global_=scope == "global")
        support.write_candidates(project, "korean", 25)
        model = ScriptedModel()
        with StandIn(model) as standin:
            env = codex_env(home, standin.url)
            started = time.monotonic()
            mode = ["-s", "workspace-write"] if sandboxed else ["--dangerously-bypass-approvals-and-sandbox"]
            proc = subprocess.run([str(codex), "exec", "--json", "--skip-git-repo-check", *mode, PROMPT],
                                  cwd=project, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=180)
            took = time.monotonic() - started
        log = tmp_path / "requests.json"  # what the CLI sent, for whoever reads a failure
        log.write_text(json.dumps([{"headers": r.headers, "body": r.body} for r in standin.requests], ensure_ascii=False, indent=1))
        assert not standin.errors, f"requests in {log}\n" + "\n".join(standin.errors)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        assert not standin.other, standin.other  # nothing but the Responses API was asked for
        # where the commands ran, as Codex reports it with every request
        sandboxes = {json.loads(r.headers["x-codex-turn-metadata"])["sandbox"] for r in standin.requests}
        assert sandboxes == ({"seccomp"} if sandboxed else {"none"}), sandboxes
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"codex exec ({scope} install, {'sandboxed' if sandboxed else 'no sandbox'}): {took:.1f} s, {len(standin.requests)} requests")

    # Codex's own account of the run: two subagents spawned, and the turn completed
    items = [e["item"] for e in events if e.get("type") == "item.completed"]
    spawned = [i for i in items if i.get("type") == "collab_tool_call" and i.get("tool") == "spawn_agent"]
    assert [i["status"] for i in spawned] == ["completed", "completed"], spawned
    assert any(e.get("type") == "turn.completed" for e in events)

    # what Codex ran: the installed skill's own scripts, in the folder of the SKILL.md it listed
    assert model.skill_md == skill_dir / "SKILL.md"
    assert model.commands and all(f'python3 "{skill_dir}/scripts/' in c for c in model.commands), model.commands
    # one subagent per batch, each given its brief exactly as printed, each in a thread of its own
    assert sorted(model.briefs) == ["korean 001", "korean 002"]
    assert sorted(model.subagent_prompts) == sorted(model.briefs.values())
    assert len(model.subagent_threads) == 2 and model.waits >= 1
    for brief in model.briefs.values():
        assert len(brief.encode()) <= 600, (len(brief.encode()), brief)
    # a subagent can look at its images: Codex gives it view_image
    assert all("view_image" in tools and "exec_command" in tools for tools in model.subagent_tools), model.subagent_tools
    assert sorted(reply for _, reply in model.checks) == [
        f"korean {n}: OK 10 valid, 0 invalid, 0 skipped, 0 missing of 10 images" for n in ("001", "002")]

    # the workspace afterwards
    kr = support.run_json("batch_status.py", "--culture", "korean", ws=project)["cultures"][0]
    assert (kr["completed"], kr["unmerged"], kr["pending"]) == (20, 0, 5), kr
    assert len(support.accepted_filepaths(project, "korean")) == 20
    rebuilt = support.run("batch_status.py", "--rebuild", "--check", ws=project)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    import lancedb

    assert lancedb.connect(str(project / "lancedb")).open_table("critiques").count_rows() == 20


# --- lancedb in Codex's sandbox --------------------------------------------------------------------------
class RefusingSocket(socket.socket):
    """A socket whose send() is refused, as Codex CLI's sandbox refuses it (write() still works)."""

    def send(self, *args, **kwargs):
        raise PermissionError(1, "Operation not permitted")


def test_an_event_loop_whose_self_pipe_refuses_send_is_woken_with_write():
    """What makes lancedb work in Codex's sandbox: its background loop, woken by another thread."""
    import asyncio
    import threading

    from critique_batch.loop_wakeup import keep_wakeable

    loop = asyncio.new_event_loop()
    csock = loop._csock
    loop._csock = RefusingSocket(csock.family, csock.type, fileno=csock.detach())
    threading.Thread(target=loop.run_forever, daemon=True).start()
    try:
        # unwoken, the loop sleeps on: the call is never run (this is how lancedb.connect hung)
        stuck = asyncio.run_coroutine_threadsafe(asyncio.sleep(0, "ran"), loop)
        with pytest.raises(concurrent.futures.TimeoutError):
            stuck.result(timeout=0.5)
        assert keep_wakeable(loop) is True
        assert asyncio.run_coroutine_threadsafe(asyncio.sleep(0, "ran"), loop).result(timeout=10) == "ran"
        assert stuck.result(timeout=10) == "ran"  # the first call too, at the first wake-up
    finally:
        loop.call_soon_threadsafe(loop.stop)


def test_an_event_loop_that_can_send_is_left_as_it_is():
    import asyncio

    from critique_batch.loop_wakeup import keep_wakeable

    loop = asyncio.new_event_loop()
    try:
        assert keep_wakeable(loop) is False and "_write_to_self" not in vars(loop)
    finally:
        loop.close()
