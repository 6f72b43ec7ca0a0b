"""The real Codex CLI (the pinned native binary, see tools/install-codex.sh) with the skills installed
as users install them (`npx skills add <clone> -a codex`: into the project's .agents/skills, or with
-g into ~/.agents/skills), end to end and offline: `codex exec "continue the Korean expansion, 2
batches"` against a scripted model (tests/openai_standin.py, a stand-in for the OpenAI Responses API
on 127.0.0.1, the model provider of $CODEX_HOME/config.toml).

The scripted model does what a model following the skill does with what Codex sends it: Codex lists
the skills (name, description, and the SKILL.md's path below a root it names); the model reads the
orchestrator's SKILL.md with a shell command, runs the commands that text gives, with the skill's
folder put in for the unfilled CLAUDE_SKILL_DIR as the text says, claims, starts one subagent per
brief with spawn_agent, then wait_agent until every one has finished. Each subagent (its requests
carry its own thread-id) reads its instructions and input as its brief says, writes its records with
a shell command and runs the check command from its brief. Then the orchestrator collects and syncs.
The workspace is checked afterwards.

Codex 0.169.0 offers different tools by model (see DIALECTS): a model it does not know gets plain
function tools (exec_command; spawn_agent and wait_agent in multi_agent_v1); its catalogue's models,
the default gpt-6.1-sol among them, get code mode (a JavaScript `exec` tool whose tools.exec_command
runs a command) and the `collaboration` namespace (spawn_agent with a task name and fork_turns,
wait_agent without targets, final answers as agent messages). Both are run, the project installs in
Codex's own sandbox (workspace-write, no network), as an interactive Codex runs commands.

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
# Codex speaks one of two dialects, by model: "fallback" (a model it does not know: plain function
# tools, exec_command and the multi_agent_v1 namespace) and "catalogue" (its bundled models, such
# as the default gpt-6.1-sol: code mode, a JavaScript `exec` tool whose `tools.exec_command` runs a
# shell command, and the `collaboration` namespace: spawn_agent with a task name, wait_agent without
# targets, a subagent's final answer coming back as an agent message).
DIALECTS = {"fallback": "stand-in", "catalogue": "gpt-6.1-sol"}  # -> the model named in config.toml


def shell_output(text: str) -> str:
    """A shell command's output, after the header Codex puts before it (exec_command: chunk id, wall
    time, exit code, token count; code mode's exec: script status and wall time)."""
    return text.split("\nOutput:\n", 1)[1] if "\nOutput:\n" in text else text


def skill_path(body: dict, name: str) -> Path:
    """A skill's SKILL.md as Codex lists it: `(file: r1/NAME/SKILL.md)` below a root `r1` = `/abs/path`."""
    listing = next(t for item in body["input"] if item.get("role") == "developer" for t in texts(item)
                   if t.startswith("<skills_instructions>"))
    roots = dict(re.findall(r"^- `(r\d+)` = `([^`]+)`$", listing, re.M))
    m = re.search(r"^- " + re.escape(name) + r": .*\(file: (r\d+)/(\S+)\)$", listing, re.M)
    assert m, f"Codex does not list the {name} skill:\n{listing}"
    return Path(roots[m.group(1)]) / m.group(2)


def said_to(body: dict) -> list[str]:
    """What the user, or for a subagent its parent, said to this thread."""
    return [t for item in body["input"] if (item.get("type") == "message" and item.get("role") == "user")
            or (item.get("type") == "agent_message" and "Message Type: NEW_TASK" in "".join(texts(item))) for t in texts(item)]


def final_answers(body: dict) -> dict[str, str]:
    """catalogue: task name -> the final answer its subagent sent back."""
    out = {}
    for item in body["input"]:
        if item.get("type") == "agent_message":
            text = "".join(texts(item))
            if text.startswith("Message Type: FINAL_ANSWER"):
                out[item["author"]] = text.split("Payload:\n", 1)[1]
    return out


def notices(body: dict) -> set[str]:
    """fallback: the agents a subagent notice (which Codex adds to the conversation) says have finished."""
    done = set()
    for text in said_to(body):
        m = re.match(r"<subagent_notification>\s*(\{.*\})\s*</subagent_notification>", text, re.S)
        if m and "completed" in (json.loads(m.group(1)).get("status") or {}):
            done.add(json.loads(m.group(1))["agent_path"])
    return done


class Dialect:
    """The calls a model makes in one dialect, and how it reads their results."""

    def __init__(self, name: str):
        self.name = name
        self.catalogue = name == "catalogue"

    def shell(self, cmd: str) -> dict:
        if self.catalogue:  # a command that outlives exec_command's wait is polled until it ends
            return {"type": "custom", "name": "exec", "input": (
                f"let r = await tools.exec_command({{cmd: {json.dumps(cmd)}, yield_time_ms: {SHELL_WAIT_MS}}});\n"
                "let out = r.output;\n"
                f"while (r.exit_code === undefined && r.session_id !== undefined) {{ r = await tools.write_stdin("
                f"{{session_id: r.session_id, chars: '', yield_time_ms: {SHELL_WAIT_MS}}}); out += r.output; }}\n"
                "text(out);")}
        return {"type": "call", "name": "exec_command", "arguments": {"cmd": cmd, "yield_time_ms": SHELL_WAIT_MS}}

    def spawn(self, tag: str, brief: str) -> dict:
        if self.catalogue:  # fork_turns none: the brief alone, not the orchestrator's history
            args = {"task_name": tag.replace(" ", "_"), "message": brief, "fork_turns": "none"}
            return {"type": "call", "name": "spawn_agent", "namespace": "collaboration", "arguments": args}
        return {"type": "call", "name": "spawn_agent", "namespace": "multi_agent_v1", "arguments": {"message": brief}}

    def wait(self, running: list[str]) -> dict:
        if self.catalogue:
            return {"type": "call", "name": "wait_agent", "namespace": "collaboration", "arguments": {"timeout_ms": 600000}}
        return {"type": "call", "name": "wait_agent", "namespace": "multi_agent_v1", "arguments": {"targets": running, "timeout_ms": 600000}}

    def agent_id(self, spawn_result: str) -> str:
        result = json.loads(spawn_result)
        return result["task_name"] if self.catalogue else result["agent_id"]

    def finished(self, body: dict, steps: list[tuple[dict, str]]) -> set[str]:
        if self.catalogue:
            return set(final_answers(body))
        done = notices(body)
        for call, result in steps:
            if call["name"] == "wait_agent":
                done |= {a for a, s in (json.loads(result).get("status") or {}).items() if "completed" in s}
        return done

    def can_view_images(self, body: dict) -> bool:
        """Whether this thread was given a way to look at an image file."""
        if self.catalogue:
            return "declare const tools: { view_image(args: {" in json.dumps(body)
        return "view_image" in {t.get("name") for t in body.get("tools", [])}

    def poll(self, convo: "Conversation") -> dict | None:
        """fallback: the write_stdin call for a command still running after the last call, if any."""
        if convo.calls and convo.calls[-1]["name"] in ("exec_command", "write_stdin"):
            m = re.search(r"Process running with session ID (\d+)", convo.results[-1])
            if m:
                return {"type": "call", "name": "write_stdin",
                        "arguments": {"session_id": int(m.group(1)), "chars": "", "yield_time_ms": SHELL_WAIT_MS}}
        return None


class Conversation:
    """One thread's calls so far, each with its whole result (write_stdin polls folded into their command)."""

    def __init__(self, body: dict):
        self.calls = calls(body)
        results = outputs(body)
        self.results = [results.get(c["call_id"], "") for c in self.calls]

    def steps(self) -> list[tuple[dict, str]]:
        out: list[tuple[dict, str]] = []
        for call, result in zip(self.calls, self.results):
            if call["name"] == "write_stdin" and out:
                out[-1] = (out[-1][0], out[-1][1] + shell_output(result))
            else:
                out.append((call, shell_output(result) if call["name"] in ("exec_command", "exec") else result))
        return out

    def shells(self) -> list[str]:
        return [result for call, result in self.steps() if call["name"] in ("exec_command", "exec")]


# --- the scripted model ------------------------------------------------------------------------------
class ScriptedModel:
    """Plays the model for the orchestrator and its subagents, from what Codex sends."""

    def __init__(self, dialect: str):
        self.dialect = Dialect(dialect)
        self.skill_md: Path | None = None  # the orchestrator's SKILL.md, as Codex lists it
        self.skill_text = ""  # its text, as the model read it
        self.commands: list[str] = []  # every shell command the orchestrator ran
        self.briefs: dict[str, str] = {}  # "korean 001" -> brief, as printed by the claim
        self.subagent_prompts: list[str] = []
        self.subagent_threads: set[str] = set()
        self.subagents_see_images: list[bool] = []
        self.waits = 0
        self.checks: list[tuple[str, str]] = []  # (check command, its last line) per subagent
        self.finished = False

    def __call__(self, req: Request) -> list[dict]:
        said = said_to(req.body)
        if PROMPT in said:
            assert req.thread == req.session, "the orchestrator runs in the session's own thread"
            return self.orchestrator(req.body)
        brief = next((t.split("Payload:\n", 1)[-1] for t in said if "Check: " in t), None)
        if brief:
            assert req.thread != req.session, "a subagent's requests carry a thread-id of its own"
            return self.subagent(req, brief)
        return [{"type": "text", "text": "ok"}]

    # the orchestrator: read SKILL.md, then the commands it gives, subagents, collect, sync
    def orchestrator(self, body: dict) -> list[dict]:
        d, convo = self.dialect, Conversation(body)
        if d.poll(convo):
            return [d.poll(convo)]
        steps, shells = convo.steps(), convo.shells()
        if not steps:
            if self.finished:  # a notice after the last answer: nothing left to do
                return [{"type": "text", "text": "Nothing more to do."}]
            self.skill_md = skill_path(body, "batch-orchestrator")
            return [d.shell(f"cat {self.skill_md}")]
        if len(shells) == 1:
            self.skill_text = shells[0]
            assert "## The loop" in self.skill_text, "the SKILL.md text did not come back whole"
            assert FOLDER_RULE in " ".join(self.skill_text.split()), "SKILL.md does not say which folder to put in"
            return [self.run(command(self.skill_text, "batch_status.py", ""))]
        if len(shells) == 2:  # the claim, with the count the user asked for
            claim = command(self.skill_text, "run_next_batch.py", " --culture korean --count 4")
            return [self.run(claim.replace("--count 4", "--count 2"))]
        spawns = [result for call, result in steps if call["name"] == "spawn_agent"]
        if not spawns:
            self.briefs = parse_claim(shells[2])
            assert "spawn_agent` for each brief" in self.skill_text and "then `wait_agent` on all of them" in self.skill_text
            return [d.spawn(tag, brief) for tag, brief in self.briefs.items()]  # all in one response
        agents = [d.agent_id(result) for result in spawns]
        running = [a for a in agents if a not in d.finished(body, steps)]
        if running:
            self.waits += 1
            return [d.wait(running)]
        tail = [("run_next_batch.py", " --count 0"), ("sync_to_lancedb.py", " --force"), ("batch_status.py", "")]
        if len(shells) - 3 < len(tail):
            return [self.run(command(self.skill_text, *tail[len(shells) - 3]))]
        self.finished = True
        return [{"type": "text", "text": "Korean: 2 batches done and merged."}]

    def run(self, cmd: str) -> dict:
        """A command of the skill text, with the folder put in as its text says: the folder of the SKILL.md read."""
        cmd = cmd.replace("${CLAUDE_SKILL_DIR}", str(self.skill_md.parent))
        self.commands.append(cmd)
        return self.dialect.shell(cmd)

    # a subagent: read instructions and input, write the records, run the check from the brief
    def subagent(self, req: Request, brief: str) -> list[dict]:
        body, d = req.body, self.dialect
        convo = Conversation(body)
        if d.poll(convo):
            return [d.poll(convo)]
        shells = convo.shells()
        check = brief.split("Check: ")[1].split(" ;")[0]
        inp = re.search(r"images in (\S+):", brief).group(1)
        out = check.split()[-1]
        if not shells:
            self.subagent_prompts.append(brief)
            self.subagent_threads.add(req.thread)
            self.subagents_see_images.append(d.can_view_images(body))
            follow = re.search(r"Follow (\S+) for ", brief)  # after a note such as "Handed out before: ..."
            instructions = follow.group(1) if follow else skill_path(body, re.search(r"Use the (\S+) skill", brief).group(1))
            return [d.shell(f"cat {instructions}"), d.shell(f"cat {inp}")]
        if len(shells) == 2:
            assert "## Dimension catalogue: 26 KR dimensions" in shells[0]
            batch = json.loads(shells[1])
            records = [support.good_record("korean", item["filepath"]) for item in batch["images"]]
            text = json.dumps(records, ensure_ascii=False, indent=1)
            return [d.shell(f"cat > {out} <<'RECORDS_EOF'\n{text}\nRECORDS_EOF")]
        if len(shells) == 3:
            return [d.shell(check)]
        reply = shells[3].strip().splitlines()[-1]
        self.checks.append((check, reply))
        return [{"type": "text", "text": reply}]


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


def codex_home(home: Path, base_url: str, model: str) -> Path:
    """$CODEX_HOME with the stand-in as the model provider; plugins and analytics off (they reach the internet)."""
    folder = home / ".codex"
    folder.mkdir(parents=True, exist_ok=True)
    (home / "tmp").mkdir(exist_ok=True)
    # tool_output_token_limit: the fallback settings keep only 10 kB of a command's output (head and
    # tail); the catalogue's models keep 10000 tokens, which a whole SKILL.md fits in.
    # allow_login_shell = false: a login shell (Codex's default) reads /etc/profile, which puts the
    # system's folders first on PATH, so an activated venv's python3 is not the one found
    (folder / "config.toml").write_text(f'''model = "{model}"
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


def codex_env(home: Path, base_url: str, model: str) -> dict:
    """A clean environment (nothing of the real home leaks in); the venv's bin first on PATH, as for a
    user with an activated venv: SKILL.md runs `python3`."""
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "CODEX_HOME": str(codex_home(home, base_url, model)),
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
@pytest.mark.parametrize("scope, dialect", [("project", "fallback"), ("global", "fallback"), ("project", "catalogue")])
def test_codex_runs_the_loop_offline(codex, clone, tmp_path, scope, dialect):
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
        model = ScriptedModel(dialect)
        with StandIn(model) as standin:
            env = codex_env(home, standin.url, DIALECTS[dialect])
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
        [session] = {r.session for r in standin.requests}
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"codex exec ({scope} install, {dialect} model, {'sandboxed' if sandboxed else 'no sandbox'}): {took:.1f} s, "
          f"{len(standin.requests)} requests")

    # Codex's own account of the run: the turn completed (and in the fallback dialect, it reports
    # the two subagents spawned)
    assert any(e.get("type") == "turn.completed" for e in events)
    if dialect == "fallback":
        items = [e["item"] for e in events if e.get("type") == "item.completed"]
        spawned = [i for i in items if i.get("type") == "collab_tool_call" and i.get("tool") == "spawn_agent"]
        assert [i["status"] for i in spawned] == ["completed", "completed"], spawned

    # what Codex ran: the installed skill's own scripts, in the folder of the SKILL.md it listed
    assert model.skill_md == skill_dir / "SKILL.md"
    assert model.commands and all(f'python3 "{skill_dir}/scripts/' in c for c in model.commands), model.commands
    # one subagent per batch, each given its brief exactly as printed, each in a thread of its own
    assert sorted(model.briefs) == ["korean 001", "korean 002"]
    assert sorted(model.subagent_prompts) == sorted(model.briefs.values())
    assert len(model.subagent_threads) == 2 and model.waits >= 1
    for brief in model.briefs.values():
        assert len(brief.encode()) <= 600, (len(brief.encode()), brief)
    # a subagent can look at its images: Codex gives it view_image (in code mode, as one of exec's tools)
    assert model.subagents_see_images == [True, True], model.subagents_see_images
    assert sorted(reply for _, reply in model.checks) == [
        f"korean {n}: OK 10 valid, 0 invalid, 0 skipped, 0 missing of 10 images" for n in ("001", "002")]

    # the claim recorded Codex's session (CODEX_SESSION_ID, which Codex sets for its commands): a
    # later session's take-over knows these batches for another session's
    for n in ("001", "002"):
        claim = json.loads((project / "checkpoints" / f"korean_batch_{n}_input.json").read_text())
        assert claim["session"] == session, (claim.get("session"), session)

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
    import selectors
    import threading

    from critique_batch.base.loop_wakeup import keep_wakeable

    idle = threading.Event()  # set once the loop sleeps with nothing to do (a select without timeout)

    class WatchedSelector(selectors.DefaultSelector):
        def select(self, timeout=None):
            if timeout is None:
                idle.set()
            return super().select(timeout)

    loop = asyncio.SelectorEventLoop(WatchedSelector())
    csock = loop._csock
    loop._csock = RefusingSocket(csock.family, csock.type, fileno=csock.detach())
    threading.Thread(target=loop.run_forever, daemon=True).start()
    try:
        assert idle.wait(10)
        # unwoken, the sleeping loop never runs the call (this is how lancedb.connect hung)
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

    from critique_batch.base.loop_wakeup import keep_wakeable

    loop = asyncio.new_event_loop()
    try:
        assert keep_wakeable(loop) is False and "_write_to_self" not in vars(loop)
    finally:
        loop.close()
