"""The real Gemini CLI (the pinned npm package, see tools/install-gemini.sh) with the orchestrator
skill installed as users install it, end to end and offline, as tests/test_claude_code.py does for
Claude Code:

- installs: the skills CLI's `-a gemini-cli` (./.agents/skills, and ~/.agents/skills with -g) and
  Gemini CLI's own `gemini skills install ... --scope workspace` (./.gemini/skills);
- `gemini -p "continue the Korean expansion, 2 batches" -o stream-json --yolo` against a scripted
  model (tests/gemini_standin.py, a stand-in for the Gemini API on 127.0.0.1). The scripted model does
  what a model following the skill does: it loads the skill with `activate_skill`, runs only the
  commands of the SKILL.md text Gemini CLI sends back (with the skill's folder, which Gemini CLI does
  not fill in, taken from that answer as SKILL.md says), starts one `generalist` subagent per batch
  with `invoke_agent` and the brief as printed, both in one turn, and each subagent reads its
  instructions, its input and an image, writes its records with write_file, runs the check command
  of its brief and ends with complete_task. Then the orchestrator collects and syncs.

Gemini CLI 0.61.0 hands a subagent the image read_file reads only where it sends the image inside
the function response (`experimental.dynamicModelConfiguration`, or a model named gemini-3-*);
otherwise it drops it (test_a_subagent_sees_images_only_with_dynamic_model_configuration), so the
end-to-end run sets that, as the README tells users to.

Everything runs offline: telemetry, usage statistics and updates are turned off, and the stand-in
is also the CLI's HTTPS proxy, so any attempt to reach another host would show as a CONNECT there;
the tests assert there is none. Skipped when the CLI is not installed, unless
CRITIQUE_BATCH_REQUIRE_GEMINI_CLI is set (CI sets it): then it fails."""

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
from gemini_standin import StandIn, call, calls, model_turns, response_text, responses, texts
from test_skills import find_skills_cli, local_clone

ROOT = support.ROOT
GEMINI_VERSION = "0.61.0"  # as pinned in tools/install-gemini.sh
PROMPT = "continue the Korean expansion, 2 batches"
SKILL = "batch-orchestrator"
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")  # enough of a JPEG for read_file


def find_gemini() -> Path | str:
    """The pinned gemini wrapper, or why it is not available. The version is read from the package
    (`gemini --version` takes seconds; the tests run it anyway)."""
    dirs = [os.environ.get("CRITIQUE_BATCH_GEMINI_DIR"), str(Path.home() / ".cache" / "critique-batch" / "gemini")]
    for folder in [Path(d) / GEMINI_VERSION for d in dirs if d]:
        package = folder / "package" / "package.json"
        if (folder / "bin" / "gemini").is_file() and package.is_file():
            meta = json.loads(package.read_text())
            if (meta.get("name"), meta.get("version")) == ("@google/gemini-cli", GEMINI_VERSION):
                return folder / "bin" / "gemini"
    return f"Gemini CLI {GEMINI_VERSION} not found (bash tools/install-gemini.sh installs it)"


@pytest.fixture(scope="module")
def gemini() -> Path:
    found = find_gemini()
    support.require_real_component(found if isinstance(found, str) else None, "CRITIQUE_BATCH_REQUIRE_GEMINI_CLI")
    return found


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """One clone of the working tree for all tests here (the installs only read it)."""
    return local_clone(tmp_path_factory.mktemp("repo"))


def test_the_pin_is_the_same_in_the_installer():
    script = (ROOT / "tools" / "install-gemini.sh").read_text()
    assert f'GEMINI_VERSION="{GEMINI_VERSION}"' in script
    assert "bash tools/install-gemini.sh" in (ROOT / ".ci" / "run").read_text()


def gemini_home(*, images_for_subagents: bool = True) -> Path:
    """A fresh home folder as short as a real one, with the settings an offline run needs: API-key
    auth (else "Invalid auth method selected"), no telemetry, usage statistics or update checks;
    and the README's settings for the subagents."""
    home = Path(tempfile.mkdtemp(prefix="cb", dir="/tmp"))
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
    }
    if images_for_subagents:  # and the room the README gives a subagent (20 turns by default)
        settings["experimental"] = {"dynamicModelConfiguration": True}
        settings["agents"] = {"overrides": {"generalist": {"runConfig": {"maxTurns": 50}}}}
    (home / ".gemini").mkdir()
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings))
    return home


def gemini_env(home: Path, base_url: str = "http://127.0.0.1:9") -> dict:
    """A clean environment: nothing of the real home leaks in. The venv's bin comes first on PATH, as
    for a user with an activated venv: SKILL.md runs `python3`."""
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        "GOOGLE_GEMINI_BASE_URL": base_url,
        "GEMINI_API_KEY": "dummy",
        "GEMINI_CLI_TRUST_WORKSPACE": "true",  # else exit 55 in a folder not trusted yet
        # as the proxy, the stand-in also sees any attempt to reach another host
        "HTTPS_PROXY": base_url, "HTTP_PROXY": base_url, "NO_PROXY": "127.0.0.1,localhost",
        "NO_COLOR": "1",
    }


# --- installs --------------------------------------------------------------------------------------
def install_with_skills_cli(clone: Path, project: Path, home: Path, *, global_: bool) -> Path:
    found = find_skills_cli()
    support.require_real_component(found if isinstance(found, str) else None, "CRITIQUE_BATCH_REQUIRE_SKILLS_CLI")
    cli, env = found
    env.update(HOME=str(home), npm_config_cache=str(Path.home() / ".npm"))
    args = [*cli, "add", str(clone), "--skill", SKILL, "-a", "gemini-cli", "-y", "--json"] + (["-g"] if global_ else [])
    proc = subprocess.run(args, cwd=project, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installed = (home if global_ else project) / ".agents" / "skills" / SKILL
    assert (installed / "SKILL.md").is_file(), proc.stdout
    return installed


def install_with_gemini(gemini: Path, clone: Path, project: Path, home: Path) -> Path:
    """Gemini CLI's own installer, given the repository and the skill's folder in it (--path), as
    for a GitHub URL (a local path takes --path too; a file:// URL is not taken for git)."""
    proc = subprocess.run([str(gemini), "skills", "install", str(clone), "--path", f"skills/{SKILL}",
                           "--scope", "workspace", "--consent"],
                          cwd=project, capture_output=True, text=True, env=gemini_env(home), timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installed = project / ".gemini" / "skills" / SKILL
    assert (installed / "SKILL.md").is_file(), proc.stdout + proc.stderr
    return installed


# --- the scripted model ----------------------------------------------------------------------------
class ScriptedModel:
    """Plays the model for the orchestrator and its subagents, from what Gemini CLI sends."""

    def __init__(self, *, subagents: bool = True):
        self.subagents = subagents  # False: stop after the skill's status command (a load check)
        self.skill_text = ""  # the activate_skill answer, as Gemini CLI sent it
        self.skill_dir = ""  # the folder SKILL.md's commands need, as that answer shows it
        self.commands: list[str] = []  # every shell command run by the orchestrator
        self.outputs: list[str] = []  # and what each printed
        self.briefs: dict[str, str] = {}  # "korean 001" -> brief, as printed by the claim
        self.invocations: list[dict] = []  # the invoke_agent calls
        self.subagent_prompts: list[str] = []
        self.subagent_images: list[int] = []  # inline images a subagent got back from read_file
        self.checks: list[tuple[str, str]] = []  # (check command, its last line) per subagent
        self.results: list[str] = []  # what invoke_agent returned to the orchestrator

    def __call__(self, body: dict) -> list[dict]:
        first = texts(body)[:2]
        if any(PROMPT in t for t in first):
            return self.orchestrator(body)
        if first and "Check: " in first[0]:
            return self.subagent(body, first[0])
        return [{"text": "ok"}]

    # the orchestrator: activate_skill, then the commands SKILL.md gives, subagents, collect, sync
    def orchestrator(self, body: dict) -> list[dict]:
        turn = model_turns(body)
        answers = responses(body)
        if turn == 0:
            listing = body["systemInstruction"]["parts"][0]["text"]
            assert f"<name>{SKILL}</name>" in listing, f"{SKILL} is not in the skills Gemini CLI lists"
            return [call("activate_skill", name=SKILL)]
        if turn == 1:
            self.skill_text = response_text(answers[-1])
            assert self.skill_text.startswith(f'<activated_skill name="{SKILL}">'), self.skill_text[:300]
            # SKILL.md says where Gemini CLI shows the folder it does not fill in
            flat = " ".join(self.skill_text.split())
            assert "Gemini CLI leaves `CLAUDE_SKILL_DIR` unfilled: there, this skill's folder is the first line under " \
                   "`<available_resources>` in what `activate_skill` returned" in flat
            self.skill_dir = skill_folder(self.skill_text)
            return [self.shell(command(self.skill_text, "batch_status.py", ""))]
        last = shell_output(response_text(answers[-1]))
        if self.commands:
            self.outputs.append(last)
        if not self.subagents:
            return [{"text": last.splitlines()[0]}]
        if turn == 2:  # the loop's claim, with the count the user asked for; bash leaves the session
            # variable, which Gemini CLI does not set, empty
            claim = command(self.skill_text, "run_next_batch.py", ' --session "${CLAUDE_SESSION_ID}" --culture korean --count 4')
            return [self.shell(claim.replace("--count 4", "--count 2"))]
        if turn == 3:
            self.briefs = parse_claim(last)
            self.invocations = [{"agent_name": "generalist", "prompt": brief} for brief in self.briefs.values()]
            return [call("invoke_agent", **args) for args in self.invocations]  # all in one turn
        if turn == 4:
            self.results = [response_text(r) for r in answers if r["name"] == "invoke_agent"]
        steps = [("run_next_batch.py", " --count 0"), ("sync_to_lancedb.py", " --force"), ("batch_status.py", "")]
        if turn - 4 < len(steps):
            return [self.shell(command(self.skill_text, *steps[turn - 4]))]
        return [{"text": "Korean: 2 batches done and merged."}]

    def shell(self, cmd: str) -> dict:
        # the folder Gemini CLI does not fill in, put in as SKILL.md says
        cmd = cmd.replace("${CLAUDE_SKILL_DIR}", self.skill_dir)
        self.commands.append(cmd)
        return call("run_shell_command", command=cmd, description="Run a batch-orchestrator script")

    # a subagent: read instructions, input and an image, write the records, run the check, complete
    def subagent(self, body: dict, brief: str) -> list[dict]:
        turn = model_turns(body)
        system = body["systemInstruction"]["parts"][0]["text"]
        cwd = Path(re.search(r"Workspace Directories:\*\*\n\s+- (\S+)", system).group(1))
        check = brief.split("Check: ")[1].split(" ;")[0]
        inp = re.search(r"images in (\S+):", brief).group(1)
        out = check.split()[-1]
        follow = re.search(r"Follow (\S+) for ", brief)
        assert follow, f"the brief names no instructions file: {brief}"
        if turn == 0:
            self.subagent_prompts.append(brief)
            assert {"read_file", "write_file", "run_shell_command", "complete_task"} <= {
                f["name"] for t in body["tools"] for f in t.get("functionDeclarations", [])}
            return [call("read_file", file_path=str(cwd / follow.group(1))), call("read_file", file_path=str(cwd / inp))]
        if turn == 1:
            instructions, batch_text = (response_text(r) for r in responses(body)[-2:])
            assert "## Dimension catalogue: 26 KR dimensions" in instructions, instructions[:500]
            first_image = json.loads(batch_text)["images"][0]["filepath"]
            return [call("read_file", file_path=str(cwd / first_image))]
        if turn == 2:
            # the image: inside the function response, where a subagent keeps it; the subagents run
            # at the same time, so what each needs is read from its own conversation
            image = responses(body)[-1]
            self.subagent_images.append(sum(1 for p in image.get("parts", []) if "inlineData" in p))
            batch = json.loads(response_text(responses(body)[-2]))
            records = [support.good_record("korean", item["filepath"]) for item in batch["images"]]
            return [call("write_file", file_path=str(cwd / out), content=json.dumps(records, ensure_ascii=False, indent=1))]
        if turn == 3:
            return [call("run_shell_command", command=check)]
        reply = shell_output(response_text(responses(body)[-1])).strip().splitlines()[-1]
        self.checks.append((check, reply))
        return [call("complete_task", result={"response": reply})]


def skill_folder(answer: str) -> str:
    """The skill's folder: the first line of <available_resources> in activate_skill's answer."""
    m = re.search(r"<available_resources>\s*(?:Showing up to .*\n\s*)?(/\S+?)/?\n", answer)
    assert m, f"activate_skill's answer shows no folder: {answer[-800:]}"
    return m.group(1)


def command(text: str, script: str, args: str) -> str:
    """A command exactly as the skill text gives it (in a table or in the steps)."""
    m = re.search(r'`(python3 "[^"`]*/scripts/' + re.escape(script) + '"' + re.escape(args) + ")`", text)
    assert m, f"the skill gives no `python3 \".../scripts/{script}\"{args}` command"
    return m.group(1)


def shell_output(text: str) -> str:
    """The command's output in run_shell_command's answer (wrapped as untrusted, with a header)."""
    m = re.search(r"Output: (.*?)(?:\nExit Code: \d+)?(?:\nProcess Group PGID: \d+)?\n?(?:</untrusted_context>|$)", text, re.S)
    return m.group(1) if m else text


def parse_claim(output: str) -> dict[str, str]:
    """'--- korean 001' lines, each followed by its brief."""
    briefs = dict(re.findall(r"^--- (\w+ \d{3})\n(.+)$", output, re.M))
    assert briefs, output
    return briefs


def run_gemini(gemini: Path, project: Path, home: Path, model: ScriptedModel) -> tuple[StandIn, list[dict]]:
    with StandIn(model) as standin:
        proc = subprocess.run([str(gemini), "-p", PROMPT, "-o", "stream-json", "--yolo"], cwd=project,
                              capture_output=True, text=True, env=gemini_env(home, standin.url), timeout=120)
    assert not standin.errors, "\n".join(standin.errors)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert events[-1]["type"] == "result" and events[-1]["status"] == "success", events[-1]
    assert not standin.other, standin.other  # nothing but the Gemini API was asked for
    return standin, events


# --- end to end ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["project", "global"])
def test_gemini_cli_runs_the_loop_offline(gemini, clone, tmp_path, mode):
    """Installed by the skills CLI into ./.agents/skills, or with -g into ~/.agents/skills: there,
    outside the workspace, the subagents read their instructions too (activating the skill lets
    Gemini CLI's file tools into its folder)."""
    home = gemini_home()
    project = tmp_path / "project"
    project.mkdir()
    try:
        skill_dir = install_with_skills_cli(clone, project, home, global_=mode == "global")
        images = support.write_candidates(project, "korean", 25)
        for img in images:  # something read_file shows as an image
            (project / img["filepath"]).write_bytes(JPEG)
        model = ScriptedModel()
        standin, events = run_gemini(gemini, project, home, model)
    finally:
        shutil.rmtree(home, ignore_errors=True)

    # the skill's folder as Gemini CLI showed it, and only the installed skill's own scripts run
    assert model.skill_dir == str(skill_dir)
    assert model.commands and all(c.startswith(f'python3 "{skill_dir}/scripts/') for c in model.commands), model.commands
    # one generalist subagent per batch, both started in one turn, each given its brief as printed
    assert sorted(model.briefs) == ["korean 001", "korean 002"]
    [agents_turn] = [[p["functionCall"]["name"] for p in c["parts"] if "functionCall" in p]
                     for c in standin.requests[-1]["contents"] if c["role"] == "model"
                     and any(p.get("functionCall", {}).get("name") == "invoke_agent" for p in c["parts"])]
    assert agents_turn == ["invoke_agent", "invoke_agent"]
    assert sorted(model.subagent_prompts) == sorted(model.briefs.values())
    # and they ran at the same time: each started before the other ended
    turns = {brief: [i for i, body in enumerate(standin.requests) if texts(body)[:1] == [brief]] for brief in model.briefs.values()}
    assert max(t[0] for t in turns.values()) < min(t[-1] for t in turns.values()), turns
    for brief in model.briefs.values():
        assert len(brief.encode()) <= 600, (len(brief.encode()), brief)
    assert model.subagent_images == [1, 1]  # each subagent saw the image it read
    expected = [f"korean {n}: OK 10 valid, 0 invalid, 0 skipped, 0 missing of 10 images" for n in ("001", "002")]
    assert sorted(reply for _, reply in model.checks) == expected
    assert all("Termination Reason: GOAL" in r for r in model.results) and len(model.results) == 2, model.results
    assert sum(1 for e in events if e["type"] == "tool_use" and e["tool_name"] == "invoke_agent") == 2

    # the workspace afterwards
    kr = support.run_json("batch_status.py", "--culture", "korean", ws=project)["cultures"][0]
    assert (kr["completed"], kr["unmerged"], kr["pending"]) == (20, 0, 5), kr
    assert len(support.accepted_filepaths(project, "korean")) == 20
    rebuilt = support.run("batch_status.py", "--rebuild", "--check", ws=project)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    import lancedb

    assert lancedb.connect(str(project / "lancedb")).open_table("critiques").count_rows() == 20


def test_gemini_skills_install_installs_a_skill_that_loads(gemini, clone, tmp_path):
    """Gemini CLI's own install (./.gemini/skills, inside the workspace like ./.agents/skills, so the
    loop above holds for it too): Gemini CLI lists the skill, activate_skill loads it with its
    folder, and the status command SKILL.md gives runs from that folder."""
    home = gemini_home()
    project = tmp_path / "project"
    project.mkdir()
    try:
        skill_dir = install_with_gemini(gemini, clone, project, home)
        support.write_candidates(project, "korean", 25)
        model = ScriptedModel(subagents=False)
        run_gemini(gemini, project, home, model)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert model.skill_dir == str(skill_dir)
    assert model.commands == [f'python3 "{skill_dir}/scripts/batch_status.py"']
    assert "korean" in model.outputs[0], model.outputs


def test_a_subagent_sees_images_only_with_dynamic_model_configuration(gemini, tmp_path):
    """Measured for the README: with Gemini CLI 0.61.0's defaults (model auto, gemini-3.8-flash) a
    generalist subagent's read_file of a JPEG returns the words "Binary content provided" and no
    image (its executor keeps only the function response, and the image comes beside it); with
    experimental.dynamicModelConfiguration the image is inside the response and reaches it."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "painting.jpg").write_bytes(JPEG)
    seen = {}

    def play(body: dict) -> list[dict]:
        first = texts(body)[0]
        if first.startswith("look at"):
            if model_turns(body) == 0:
                return [call("read_file", file_path=str(project / "painting.jpg"))]
            answer = responses(body)[-1]
            seen[setting] = (sum(1 for p in answer.get("parts", []) if "inlineData" in p), response_text(answer))
            return [call("complete_task", result={"response": "seen"})]
        if not calls(body):
            return [call("invoke_agent", agent_name="generalist", prompt="look at painting.jpg")]
        return [{"text": "done"}]

    for setting in (False, True):
        home = gemini_home(images_for_subagents=setting)
        try:
            with StandIn(play) as standin:
                proc = subprocess.run([str(gemini), "-p", "describe painting.jpg", "-o", "stream-json", "--yolo"], cwd=project,
                                      capture_output=True, text=True, env=gemini_env(home, standin.url), timeout=120)
            assert proc.returncode == 0 and not standin.errors, proc.stdout + proc.stderr + "\n".join(standin.errors)
            assert not standin.other, standin.other
            assert set(standin.models) == {"gemini-3.8-flash"}, standin.models  # what "auto" chose, both times
        finally:
            shutil.rmtree(home, ignore_errors=True)
    assert seen[False] == (0, "Binary content provided (1 item(s)).")
    assert seen[True][0] == 1
