"""Unattended runs (run_unattended.py): rounds of headless Claude Code in a workspace, each round one
fresh `claude -p` session that continues the expansion for a few batches with the batch-orchestrator
skill, until a stop rule says enough.

The runner itself never writes a batch file: it reads the status in-process and runs collection
and sync as the workspace's scripts, in their own process group, so a Ctrl-C or SIGTERM reaches only
the runner: on one it stops the claude child gracefully, then still collects, syncs, logs the round
and exits; it never interrupts a script mid-write. Its own dead claims (an earlier round's batches
without output) are taken over by the next round's session, which the prompt asks to. One runner
per workspace: a lock held for the whole run.

What a round may do (Permissions): run the installed skill's status, claim, check, instructions and
search scripts, write the output files of batches in flight, read the workspace, the skills and the
folders of existing candidate images; permission rules allow that much and a PreToolUse hook
(round_guard.py) denies whatever those rules would let through beyond it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from ..base import filelocks
from ..base.text import one_line
from ..base.words import plural
from ..base.clock import iso, now
from ..base.errors import EXIT_ENVIRONMENT, BatchError, InputError, environment_failure
from .instructions import SCRIPTS_DIR
from ..base.jsonfiles import decode_text, raise_schema_errors, schema_errors
from ..files.plan import target_command
from ..files.published import jsonl_lines, parse_jsonl_object
from .round_guard import PYTHONS, ROUND_SCRIPTS
from ..files.workspace import IMAGE_SUFFIXES, Workspace, batch_tag

EXIT_NO_PROGRESS = 1  # WorkFailed: two rounds without a record accepted
EXIT_BUSY = 3  # another runner holds this workspace
EXIT_NO_CLAUDE = 4  # the claude binary is missing or does not run
# beyond cli.EXIT_CODES (0 done, 1 work could not complete, 2 bad command or input)
MORE_EXIT_CODES = ("More exit codes: 3 another run_unattended.py holds this workspace; 4 the claude binary is missing\n"
                   "or does not run; 74 also when a round's collection or merge was refused by the system (disk\n"
                   "full): the run stops after that round; 130 / 143 stopped by Ctrl-C / SIGTERM (after the round's\n"
                   "collection).")

LOG_NAME = "unattended_log.jsonl"
LOCK_NAME = "unattended.lock"
STOP_GRACE_S = 30  # a claude child asked to stop gets this long before it is killed
NO_PROGRESS_ROUNDS = 2

ORCHESTRATOR = "batch-orchestrator"
GUARD = SCRIPTS_DIR / "critique_batch" / "agent" / "round_guard.py"  # the rounds' PreToolUse hook


class ClaudeNotFound(BatchError):
    exit_code = EXIT_NO_CLAUDE


class RunnerBusy(BatchError):
    exit_code = EXIT_BUSY


# --- what a round may do -------------------------------------------------------------------------
def claude_dir() -> Path:
    """Claude Code's own folder (~/.claude, or $CLAUDE_CONFIG_DIR)."""
    return Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")


def plugin_skill_roots(ws: Workspace) -> list[Path]:
    """The skills/ folders of the Claude Code plugins installed for this workspace (the user's, and
    those installed for this project or a folder above it), from plugins/installed_plugins.json."""
    try:
        doc = json.loads((claude_dir() / "plugins" / "installed_plugins.json").read_text(encoding="utf-8"))
        entries = [e for es in doc["plugins"].values() for e in es]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
    roots = []
    for e in entries:
        if not isinstance(e, dict) or not isinstance(e.get("installPath"), str):
            continue
        project = e.get("projectPath")
        if isinstance(project, str) and not (ws.root == Path(project) or Path(project) in ws.root.parents):
            continue  # installed for another project
        roots.append(Path(e["installPath"]) / "skills")
    return roots


def installed_skills(ws: Workspace) -> list[Path]:
    """The folders of the batch-orchestrator and generator skills Claude Code loads in this workspace:
    the project's .claude/skills (in the workspace or a folder above it), ~/.claude/skills and the
    installed plugins' skills; each as found (a skills CLI install may be a link: the path Claude Code
    fills in for ${CLAUDE_SKILL_DIR} is then either the link or where it points, see allowed_scripts)."""
    roots = [d / ".claude" / "skills" for d in (ws.root, *ws.root.parents)]
    roots += [claude_dir() / "skills", *plugin_skill_roots(ws)]
    found: list[Path] = []
    for root in dict.fromkeys(roots):
        if not root.is_dir():
            continue
        for skill in sorted(root.iterdir()):
            if ((skill.name == ORCHESTRATOR or skill.name.endswith("-batch-generator"))
                    and (skill / "SKILL.md").is_file()):
                found.append(Path(os.path.abspath(skill)))
    return found


def skill_paths(skills: list[Path]) -> list[Path]:
    """Each skill folder as found and resolved: Claude Code may fill in either for ${CLAUDE_SKILL_DIR},
    and the scripts print their own, resolved, path in briefs."""
    return list(dict.fromkeys(d for s in skills for d in (s, s.resolve())))


def allowed_scripts(skills: list[Path]) -> list[Path]:
    """The round's scripts in those skills (ROUND_SCRIPTS, as far as a skill has them), by absolute path."""
    return [d / "scripts" / name for d in skill_paths(skills) for name in ROUND_SCRIPTS
            if (d / "scripts" / name).is_file()]


# A round may read at most this many image folders outside the workspace, one rule each: never more
# by merging folders into their parents (that widens what a session may read beyond the images).
MAX_READ_FOLDERS = 100
# macOS: /etc and /var are links into /private
SYSTEM_FOLDERS = tuple(Path(p) for p in ("/etc", "/proc", "/sys", "/dev", "/boot", "/var", "/usr", "/bin", "/sbin",
                                         "/lib", "/lib32", "/lib64", "/libx32", "/run", "/snap", "/private/etc",
                                         "/private/var", "/System", "/Library"))
# folders that hold credentials and settings wherever they are (and any hidden folder in a home folder)
SECRET_NAMES = frozenset((".ssh", ".aws", ".config", ".gnupg", ".kube", ".docker", ".claude", ".azure", ".gcloud",
                          ".password-store", ".local", ".npm", ".pki", ".git"))


def home_folders() -> set[Path]:
    homes = {Path.home(), Path("/root")}
    for parent in (Path("/home"), Path("/Users")):
        try:
            homes.update(p for p in parent.iterdir())
        except OSError:
            pass
    return homes


def unreadable(folder: Path, homes: set[Path]) -> str | None:
    """Why a round must never read this folder (absolute, normal), or None."""
    import tempfile

    temp = Path(os.path.realpath(tempfile.gettempdir()))  # scratch space, even below /var (macOS: /private/var/folders)
    for path in dict.fromkeys((folder, Path(os.path.realpath(folder)))):
        if path == Path("/"):
            return "the whole disk"
        if path in homes:
            return "a home folder"
        if temp not in path.parents and any(path == s or s in path.parents for s in SYSTEM_FOLDERS):
            return "a system folder"
        if any(part in SECRET_NAMES for part in path.parts):
            return "a folder of credentials or settings"
        for home in homes:
            if home in path.parents and path.relative_to(home).parts[0].startswith("."):
                return "a hidden folder in a home folder"
    return None


class ImageFolders:
    __slots__ = ("readable", "refused")

    def __init__(self, readable: list[Path], refused: list[tuple[Path, str, int]]):
        self.readable = readable  # the outermost folders outside the workspace holding existing candidate images
        self.refused = refused  # (folder, why, images in it) that a round may never read


def image_folders(ws: Workspace, cultures: list[str]) -> ImageFolders:
    """The folders outside the workspace that hold existing candidate images of the cultures (files
    with an image extension, absolute filepaths or relative ones that climb out with ..), so that a
    round's subagents may read them; folders a round must never read (see unreadable) are refused
    and their images stay unreadable. More than MAX_READ_FOLDERS is an InputError saying how to fix."""
    from ..files.candidates import load_candidates

    root = str(ws.root)  # resolved: absolute and normal
    homes = home_folders()
    found: dict[str, bool] = {}  # folder -> holds an existing image (checked until one is found)
    counts: dict[str, int] = {}
    for culture in cultures:
        if not ws.candidates_path(culture).exists():
            continue
        for img in load_candidates(ws, culture).images:
            path = ws.image_file(img["filepath"])  # None: a URL, nothing to read locally
            if path is None or path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            folder, _ = os.path.split(os.path.normpath(path.absolute()))
            if folder == root or folder.startswith(root + os.sep):
                continue
            counts[folder] = counts.get(folder, 0) + 1
            if not found.get(folder):
                found[folder] = os.path.isfile(path)
    readable, refused = set(), []
    for folder in sorted(f for f, ok in found.items() if ok):
        why = unreadable(Path(folder), homes)
        if why:
            refused.append((Path(folder), why, counts[folder]))
        else:
            readable.add(Path(folder))
    folders = _outermost(readable)
    if len(folders) > MAX_READ_FOLDERS:
        raise InputError(f"the candidate images outside the workspace are in {len(folders)} folders "
                         f"(such as {folders[0]}); a round may read at most {MAX_READ_FOLDERS}: move the images under "
                         "fewer folders, or into the workspace, and correct their filepaths (add_candidates.py)",
                         where="candidates")
    return ImageFolders(folders, refused)


def _outermost(folders: set[Path]) -> list[Path]:
    """The folders not inside another of them, sorted."""
    return sorted(f for f in folders if not any(o != f and o in f.parents for o in folders))


def _home_form(path: Path) -> str | None:
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return None


def script_words(ws: Workspace, script: Path) -> list[str]:
    """How a command may name an allowed script: its absolute path, relative to the workspace when
    inside it (briefs print it so), from ~/ when below the home folder (short briefs), each as the
    shell word the skill or a brief writes: unquoted, in double quotes, or as shlex quotes it."""
    import shlex

    forms = [script.as_posix()]
    try:
        forms.append(script.relative_to(ws.root).as_posix())
    except ValueError:
        pass
    words = []
    for form in forms:
        words += [form, f'"{form}"'] if shlex.quote(form) == form else [shlex.quote(form), f'"{form}"']
    home = _home_form(script)
    if home is not None and shlex.quote(home[2:]) == home[2:]:
        words.append(home)
    return list(dict.fromkeys(words))


def guard_command(ws: Workspace, skills: list[Path]) -> str:
    """The hook command: the guard script run by this Python, isolated from the environment."""
    import shlex

    args = [sys.executable, "-I", str(GUARD), "--workspace", str(ws.root)]
    for skill in skill_paths(skills):
        args += ["--skill", str(skill)]
    return shlex.join(args)


def sandbox_available() -> bool:
    """Whether Claude Code's Bash sandbox can run here: macOS has it built in; Linux needs bubblewrap
    and socat."""
    if sys.platform == "darwin":
        return True
    return sys.platform.startswith("linux") and bool(shutil.which("bwrap") and shutil.which("socat"))


# Claude Code's Bash sandbox, where it runs: the skill's scripts write only in the workspace (and the
# session's temporary folder) and reach no network; a round whose sandbox cannot start fails rather
# than run without it; a sandboxed command is still subject to the rules and the hook.
SANDBOX = {"enabled": True, "failIfUnavailable": True, "autoAllowBashIfSandboxed": False,
           "allowUnsandboxedCommands": False, "network": {"allowedDomains": []}}


class Permissions:
    """What one round may do in a workspace, and the Claude Code settings that say it."""

    __slots__ = ("ws", "skills", "scripts", "images", "sandbox")

    def __init__(self, ws: Workspace, skills: list[Path], scripts: list[Path], images: ImageFolders, sandbox: bool):
        self.ws = ws
        self.skills = skills
        self.scripts = scripts
        self.images = images
        self.sandbox = sandbox  # Claude Code's Bash sandbox on

    def skill_folders(self) -> list[Path]:
        """The installed skills' folders outside the workspace, as found and resolved."""
        return [d for d in skill_paths(self.skills) if not (d == self.ws.root or self.ws.root in d.parents)]

    def settings(self) -> dict:
        """The settings a round runs with (`claude --settings JSON`), in permission mode dontAsk:
        whatever the rules do not allow is denied, never asked. Patterns as Claude Code 2.1.332 matches
        them: `Bash(CMD *)` matches the command and anything after it; `Edit(...)` covers Write too,
        relative to the workspace; `//` starts an absolute path. The rules only allow; the hook
        (round_guard.py) denies what they would let through (options before the script, shell syntax,
        writes to batches not in flight), and a hook that fails blocks the call."""
        bash = [f"Bash({py} {word}{rest})" for script in self.scripts for word in script_words(self.ws, script)
                for py in PYTHONS for rest in ("", " *")]
        settings = {
            "permissions": {
                "defaultMode": "dontAsk",
                "allow": [
                    "Skill",  # the orchestrator skill, and the generator skills a plugin install's briefs name
                    "Agent", "Task",  # the subagents (Task is the Agent tool's older name)
                    *bash,
                    "Read(./**)",  # images, batch inputs, instructions in the workspace
                    *(f"Read(/{d.as_posix()}/**)" for d in self.skill_folders()),  # the installed skills' instructions
                    # images outside the workspace
                    *(f"Read(/{folder.as_posix()}/**)" for folder in self.images.readable),
                    # the subagents' output files (the hook: of batches in flight)
                    "Edit(checkpoints/*_batch_*_output.json)",
                ],
            },
            "hooks": {"PreToolUse": [{"matcher": "Bash|Write|Edit|MultiEdit|NotebookEdit",
                                      "hooks": [{"type": "command", "command": guard_command(self.ws, self.skills),
                                                 "timeout": 30, "onFailure": "block"}]}]},
        }
        if self.sandbox:
            settings["sandbox"] = SANDBOX
        return settings

    def summary(self) -> str:
        """What --show-permissions prints: the rules in words."""
        lines = [f"A round's Claude Code in {self.ws.root} (permission mode dontAsk: anything not listed is denied):",
                 "  Bash: python3 or python, then one of these scripts by its path, then plain arguments "
                 "(no interpreter",
                 "  options, no shell syntax, paths only inside the workspace; checked by a PreToolUse hook):"]
        lines += [f"    {s}" for s in self.scripts]
        lines += ["  Write/Edit: checkpoints/<culture>_batch_<NNN>_output.json of a batch in flight in this workspace",
                  "  Skill, Agent/Task: the skills and their subagents",
                  "  Read: the workspace" + (", the installed skills:" if self.skill_folders() else "")]
        lines += [f"    {s}" for s in self.skill_folders()]
        lines += ["  Read, images outside the workspace:" if self.images.readable
                  else "  Read: no image folder outside the workspace"]
        lines += [f"    {f}" for f in self.images.readable]
        for folder, why, n in self.images.refused:
            lines.append(f"  never readable: {folder} ({why}): {plural(n, 'candidate image')} there stay unread")
        lines.append("  Bash sandbox: on (the scripts write only in the workspace and reach no network)" if self.sandbox
                     else "  Bash sandbox: off ("
                     + ("--no-sandbox" if sandbox_available()
                        else "Linux needs bubblewrap and socat: apt-get install bubblewrap socat") + ")")
        return "\n".join(lines)


def permissions(ws: Workspace, cultures: list[str], sandbox: bool = True) -> Permissions:
    """What a round may do here; sandbox: Claude Code's Bash sandbox where it can run (False: never)."""
    skills = installed_skills(ws)
    if not any(s.name == ORCHESTRATOR for s in skills):
        raise InputError(f"the {ORCHESTRATOR} skill is not installed for Claude Code here (looked in .claude/skills of "
                         f"{ws.root} and the folders above it, {claude_dir() / 'skills'} and the installed plugins): "
                         "install it (README: Install), then run again", where="skill")
    return Permissions(ws, skills, allowed_scripts(skills), image_folders(ws, cultures),
                       sandbox and sandbox_available())


def find_claude(given: str | None) -> str:
    """The claude binary: --claude PATH, else `claude` on PATH; checked by running `claude --version`."""
    path = given or shutil.which("claude")
    if not path:
        raise ClaudeNotFound("claude (Claude Code) is not on PATH: install it "
                             "(npm install -g @anthropic-ai/claude-code) or give its path with --claude PATH")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ClaudeNotFound(f"--claude: {path}: not an executable file")
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClaudeNotFound(f"{path} --version failed: {exc}") from None
    if proc.returncode != 0:
        raise ClaudeNotFound(f"{path} --version exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[:200]}")
    return path


def claude_command(claude: str, prompt: str, session: str, settings: dict, *, model: str | None = None,
                   round_usd: float | None = None) -> list[str]:
    cmd = [claude, "-p", prompt, "--session-id", session, "--output-format", "json", "--settings", json.dumps(settings)]
    if model:
        cmd += ["--model", model]
    if round_usd is not None:
        cmd += ["--max-budget-usd", f"{round_usd:g}"]
    return cmd


def round_prompt(culture: str | None, batches: int, round_no: int, dead: list[tuple[str, int]], confirm: bool) -> str:
    """What a round's session is asked: the user's words a person would type, then the unattended
    rules, and, when earlier rounds of this run left claims behind, the take-over with the answer the
    skill would ask a person for (--yes: no other session works here)."""
    what = (f"continue the {culture.capitalize()} expansion" if culture
            else "continue the expansion in the priority order")
    lines = [
        f"{what}, {plural(batches, 'batch')}",
        "",
        f"This is round {round_no} of an unattended run (run_unattended.py): nobody reads this conversation or answers "
        "questions. Use the batch-orchestrator skill: its session start, its loop for at most "
        f"{plural(batches, 'batch')} in all, then its session end (collect, status). Skip every merge "
        "(sync_to_lancedb.py) and the quality report: the runner merges after the round, and this round may run only "
        "the skill's status, claim, check, instructions and search scripts. "
        "Stop when claiming says nothing is claimable.",
    ]
    if dead:
        named = ", ".join(f"{c} {batch_tag(bid)}" for c, bid in dead)
        lines += ["", "In flight from an earlier round of this run, which has ended (its subagents are gone): "
                      f"{named}. "
                      "Take them over at the session start with the skill's run_next_batch.py --take-over command, "
                      + ("with `--take-over --yes`: no other session works in this workspace. " if confirm else
                         "without --yes: another session has recent claims here. ")
                      + "Start their subagents like those of new batches and count them in the batches above."]
    return "\n".join(lines)


# --- the stop rules ----------------------------------------------------------------------------------
class Goal:
    __slots__ = ("culture", "milestone")

    def __init__(self, culture: str | None, milestone: str | None = None):
        self.culture = culture  # None: the priority order
        self.milestone = milestone  # the milestone to reach (resolved at the start from --until); None: the target


def status_rows(ws: Workspace) -> dict[str, dict]:
    """The status rows by culture, as the stop rules read them. With claims shared with other
    workspaces, an image another workspace has done, parked or holds is not pending here: without
    that, a runner whose share is done would go on until two rounds had accepted nothing."""
    from ..files.candidates import load_candidates
    from ..report import status
    from ..store import shared_claims

    rows = status.overview(ws)
    out = {r["culture"]: status.public(r) for r in rows}
    if shared_claims.configured(ws):
        for r in rows:
            if r["configured"] and r["pending"]:
                cfg = ws.culture(r["culture"])
                pending = r.progress.pending_items(load_candidates(ws, cfg.name).images, cfg.max_attempts)
                row = out[r["culture"]]
                row["pending"] -= shared_claims.taken_elsewhere(ws, cfg.name, pending)
                if not row["pending"] and not row["in_flight"]:
                    row["priority"] = None
    return out


def goal_reached(goal: Goal, rows: dict[str, dict], detail: dict | None) -> str | None:
    """Why the goal is reached, or None. rows: the status rows by culture; detail: the culture's detail."""
    if goal.culture is None:
        mine = [r for r in rows.values() if r["configured"] and r["target"]]
        if mine and all(r["gap"] == 0 for r in mine):
            left = [r for r in mine if r["pending"]]
            return "every target reached" + (
                f" ({left[0]['culture']} has {plural(left[0]['pending'], 'image')} pending: "
                f"{target_command(left[0]['culture'], '+' + str(left[0]['pending']))} raises its target)"
                if left else "")
        if not any(r["priority"] for r in rows.values()):
            return "no work left (nothing pending or in flight)"
        return None
    r = rows[goal.culture]
    if goal.milestone is not None:
        m = next((m for m in (detail or {}).get("milestones", []) if m["name"] == goal.milestone), None)
        if m is not None and m["reached"]:
            return f"{goal.culture}: milestone {goal.milestone} reached ({m['done']}/{m['images']} new images)"
    elif r["gap"] == 0:
        left = (f"; {plural(r['pending'], 'image')} still pending: "
                f"{target_command(goal.culture, '+' + str(r['pending']))} raises the target"
                if r["pending"] else "")
        return f"{goal.culture}: target reached ({r['reached']}/{r['target']}){left}"
    if r["pending"] == 0 and r["in_flight"] == 0:
        parked = f" ({r['parked']} parked: see batch_status.py --culture {goal.culture})" if r["parked"] else ""
        return f"{goal.culture}: no work left{parked}"
    return None


def no_progress(accepted_per_round: list[int]) -> bool:
    """Two rounds in a row without a record accepted (the same completed count, or only failures)."""
    last = accepted_per_round[-NO_PROGRESS_ROUNDS:]
    return len(last) == NO_PROGRESS_ROUNDS and not any(last)


# --- the log ---------------------------------------------------------------------------------------
def read_log(path: Path) -> list[dict]:
    """Every line of the run log, each schema-checked (a bad line is an InputError naming it)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    out = []
    for n, line in jsonl_lines(decode_text(data, path)):
        entry = parse_jsonl_object(line, path, f"line {n}")
        raise_schema_errors([(f"line {n}: {where}", what) for where, what in schema_errors(entry, "unattended_log")],
                            path)
        out.append(entry)
    return out


def append_log(path: Path, entry: dict) -> None:
    """One whole line per write (O_APPEND): a crash leaves whole lines."""
    errors = schema_errors(entry, "unattended_log")
    assert not errors, errors  # the runner's own line: a mistake here is a bug
    data = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def log_line(entry: dict) -> str:
    """The readable line run_unattended.py prints per round."""
    cost = f", ${entry['cost_usd']:.2f}" if entry.get("cost_usd") is not None else ""
    taken = f", {plural(entry['taken_over'], 'batch')} taken over" if entry["taken_over"] else ""
    text = (f"round {entry['round']} {entry['culture']}: {entry['accepted']} accepted, {entry['returned']} returned, "
            f"{entry['parked']} parked, {entry['failed']} failed, {entry['merged']} merged{taken}; "
            f"{entry['completed']} completed ({entry['seconds']:.0f} s, claude exit {entry['claude_exit']}{cost})")
    if entry.get("denied"):
        text += (f"\n  {plural(entry['denied'], 'tool call')} denied by the round's permissions "
                 "(run_unattended.py --show-permissions)")
    if entry.get("error"):
        text += f"\n  problem: {one_line(entry['error'])}"  # a session's own words: one line
    if entry["stop"]:
        text += f"\nstop: {entry['stop']}"
    return text


# --- signals ---------------------------------------------------------------------------------------
class Stop:
    """Ctrl-C / SIGTERM: the first asks the round to end (claude is stopped gracefully, the round is
    still collected and logged); a second skips what has not started yet. Never more than that: the
    scripts run in their own process group and always finish what they write."""

    def __init__(self):
        self.signum: int | None = None
        self.count = 0
        self._old: dict[int, object] = {}

    def __enter__(self) -> "Stop":
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def _handle(self, signum, frame) -> None:
        self.signum = self.signum or signum
        self.count += 1
        if self.count == 1:  # os.write: print() is not safe inside a signal handler
            os.write(2, f"run_unattended.py: {signal.Signals(signum).name}: stopping this round's claude, "
                        "then collecting and logging the round (again to skip the collection)\n".encode())

    @property
    def requested(self) -> bool:
        return self.count > 0

    @property
    def hard(self) -> bool:
        return self.count > 1


# --- the runner ------------------------------------------------------------------------------------
class Options:
    __slots__ = ("workspace", "culture", "batches", "rounds", "budget_s", "round_s", "until", "claude", "log", "model",
                 "round_usd", "sandbox")

    def __init__(self, workspace: Path, culture: str | None = None, batches: int = 4, rounds: int = 10,
                 budget_s: float | None = None, round_s: float = 3600.0, until: str = "target",
                 claude: str | None = None, log: Path | None = None, model: str | None = None,
                 round_usd: float | None = None, sandbox: bool = True):
        self.workspace = workspace
        self.culture = culture
        self.batches = batches
        self.rounds = rounds
        self.budget_s = budget_s
        self.round_s = round_s
        self.until = until
        self.claude = claude
        self.log = log
        self.model = model
        self.round_usd = round_usd
        self.sandbox = sandbox  # Claude Code's Bash sandbox where it can run


class Runner:
    __slots__ = ("opts", "say", "entries", "reason", "ws", "log", "sessions", "refused")

    def __init__(self, opts: Options, say: object = print):
        self.opts = opts
        self.say = say  # where readable lines go (None: nowhere, for --json)
        self.entries: list[dict] = []
        self.reason: str | None = None  # why the run stopped (or had nothing to do)
        self.ws = Workspace(self.opts.workspace)
        self.log = self.opts.log or self.ws.checkpoints / LOG_NAME
        self.sessions: set[str] = set()  # every round session of this run and of earlier runs (the log)
        self.refused: str | None = None  # a script of the round's end the system refused (exit 74): the run stops

    # the workspace's scripts, each in its own process group: a signal to the runner never reaches them
    def script(self, name: str, *args: str) -> tuple[int, str]:
        """(exit code, stderr) of one of the workspace's scripts (--json: it prints nothing else)."""
        cmd = [sys.executable, str(SCRIPTS_DIR / name), *args, "--workspace", str(self.ws.root), "--json"]
        # in the workspace, as Claude Code runs them: briefs name files relative to it
        proc = subprocess.run(cmd, capture_output=True, text=True, start_new_session=True, stdin=subprocess.DEVNULL,
                              cwd=self.ws.root)
        return proc.returncode, proc.stderr.strip()

    def rows(self) -> dict[str, dict]:
        """The status rows by culture (in-process: reading only, as batch_status.py --json shows them)."""
        return status_rows(self.ws)

    def detail(self, culture: str) -> dict:
        """One culture's status detail (batch_status.py CULTURE --json): milestones, batches in flight."""
        from ..report import status

        [row] = status.overview(self.ws, culture)
        return status.detail(self.ws, row, self.ws.culture(culture), now())

    def cultures(self) -> list[str]:
        return [self.opts.culture] if self.opts.culture else self.ws.configured_cultures()

    def result_ids(self) -> dict[str, set[int]]:
        """The batches of the run's culture(s) collected so far."""
        return {c: set(self.ws.batch_ids(c, "result")) for c in self.cultures()}

    def run(self) -> int:
        locks = self.ws.checkpoints / ".locks"
        try:
            filelocks.make_folder(locks)
            release = filelocks.acquire(locks / LOCK_NAME, 0)  # the lock the workspace's scripts use (no wait)
        except filelocks.LockTimeout:
            raise RunnerBusy(f"another run_unattended.py is running in this workspace "
                             f"({self.ws.display(locks / LOCK_NAME)} is held); wait for it to stop, or stop it "
                             "(Ctrl-C or SIGTERM stops it after its round's collection)") from None
        except OSError as exc:
            raise environment_failure(f"cannot create the runner's lock in {locks}", exc) from None
        try:
            with Stop() as stop:
                return self._run(stop)
        finally:
            release()

    def _run(self, stop: Stop) -> int:
        o = self.opts
        self.sessions = {e["session"] for e in read_log(self.log)}
        goal = self._goal()
        why = goal_reached(goal, self.rows(), self._detail(goal))
        if why:
            self.reason = f"nothing to do: {why}"
            self._say(self.reason)
            return 0
        permissions(self.ws, self.cultures(), o.sandbox)  # the skill is installed, the image folders fit: or stop here
        claude = find_claude(o.claude)
        started = time.monotonic()
        accepted_per_round: list[int] = []
        for round_no in range(1, o.rounds + 1):
            deadline = started + o.budget_s if o.budget_s is not None else None
            entry, rows = self.round(round_no, claude, stop, deadline)
            accepted_per_round.append(entry["accepted"])
            code, why = 0, None
            if stop.requested:
                code, why = 128 + stop.signum, f"stopped by {signal.Signals(stop.signum).name}"
            elif self.refused:
                code, why = EXIT_ENVIRONMENT, (f"the system refused a write ({self.refused}); "
                                               "fix it (disk space, permissions), then run again")
            elif (reached := goal_reached(goal, rows, self._detail(goal))):
                why = reached
            elif no_progress(accepted_per_round):
                code, why = EXIT_NO_PROGRESS, (f"no progress in {NO_PROGRESS_ROUNDS} rounds (no record accepted); "
                                               "see batch_status.py"
                                               + (f" --culture {o.culture} --verbose" if o.culture else ""))
            elif round_no == o.rounds:
                why = f"{plural(o.rounds, 'round')} done"
            elif deadline is not None and time.monotonic() >= deadline:
                why = f"time budget spent ({o.budget_s / 60:g} min)"
            entry["stop"] = self.reason = why
            append_log(self.log, entry)
            self.entries.append(entry)
            self._say(log_line(entry))
            if why:
                return code
        return 0

    def _say(self, text: str) -> None:
        if self.say:
            self.say(text)

    def _goal(self) -> Goal:
        o = self.opts
        goal = Goal(o.culture)
        if o.culture:
            cfg = self.ws.culture(o.culture)
            if not cfg.expanded:
                raise InputError(f"the plan gives {o.culture} no target, so it is not expanded; "
                                 f"{target_command(o.culture)} sets one", where="culture")
            if o.until == "next-milestone":
                d = self._detail(goal)
                nxt = d["next_milestone"]
                if nxt is None:
                    raise InputError(f"{o.culture} has reached every milestone", where="--until")
                goal.milestone = nxt["name"]
            elif o.until != "target":
                names = [name for name, _ in cfg.milestones]
                if o.until not in names:
                    raise InputError(f"{o.culture} has no milestone {o.until!r} (it has: {', '.join(names)})",
                                     where="--until")
                goal.milestone = o.until
        elif o.until != "target":
            raise InputError("a milestone belongs to one culture: give the culture too", where="--until")
        return goal

    def _detail(self, goal: Goal) -> dict | None:
        return self.detail(goal.culture) if goal.culture else None

    def round(self, round_no: int, claude: str, stop: Stop, deadline: float | None) -> tuple[dict, dict[str, dict]]:
        """One round: its log entry, and the status rows after it."""
        o = self.opts
        session = str(uuid.uuid4())
        t0 = time.monotonic()
        before, results_before = self.rows(), self.result_ids()
        dead, foreign_live = self.dead_claims()
        self.sessions.add(session)
        prompt = round_prompt(o.culture, o.batches, round_no, dead, confirm=not foreign_live)
        limit = t0 + o.round_s if deadline is None else min(t0 + o.round_s, deadline)
        # again each round: candidates may have grown
        settings = permissions(self.ws, self.cultures(), o.sandbox).settings()
        claude_exit, result, error = self.run_claude(claude_command(claude, prompt, session, settings, model=o.model,
                                                                    round_usd=o.round_usd), stop, limit)
        problems = [error] if error else []
        # the session end, whatever the round did: collect, merge (the round may not), so that the next round
        # (or a person) starts clean
        for name, args in (("run_next_batch.py", ("--count", "0")), ("sync_to_lancedb.py", ("--force",))):
            if stop.hard:
                problems.append(f"{name} skipped (stopped twice)")
                continue
            if name == "sync_to_lancedb.py" and not any(r["unmerged"] for r in self.rows().values()):
                continue  # nothing waits: spare the database's start-up
            code, err = self.script(name, *args)
            if code != 0:
                problems.append(f"{name} {' '.join(args)} exited {code}: {err.splitlines()[-1] if err else ''}")
                # a full or read-only disk does not heal by itself: more rounds waste sessions
                if code == EXIT_ENVIRONMENT:
                    self.refused = problems[-1]
        after = self.rows()
        counts = self.round_counts(results_before)

        def total(rows: dict, key: str) -> int:  # over the run's culture(s)
            return sum(rows[c][key] for c in self.cultures() if c in rows)

        def merged(rows: dict) -> int:
            return total(rows, "completed") - total(rows, "unmerged")

        entry = {
            "time": iso(now()),
            "round": round_no,
            "session": session,
            "culture": o.culture or "priority",
            **counts,
            "parked": total(after, "parked") - total(before, "parked"),
            "merged": merged(after) - merged(before),
            "taken_over": self.taken_over(dead, session, results_before) if dead else 0,
            "completed": total(after, "completed"),
            "claude_exit": claude_exit,
            "cost_usd": result.get("total_cost_usd") if result else None,
            "denied": len(result.get("permission_denials") or []) if result else None,
            "seconds": round(time.monotonic() - t0, 1),
            "error": "; ".join(problems) or None,
            "stop": None,
        }
        return entry, after

    def round_counts(self, before: dict[str, set[int]]) -> dict:
        """From the result files the round's collections wrote (the batch files are the truth)."""
        from ..checks.batches import read_batch

        counts = {"accepted": 0, "returned": 0, "skipped": 0, "failed": 0}
        for culture, ids in self.result_ids().items():
            for bid in sorted(ids - before.get(culture, set())):
                result = read_batch(self.ws, culture, bid, "result")
                verdicts = [i["verdict"] for i in result["items"]]
                counts["accepted"] += verdicts.count("accepted")
                counts["returned"] += verdicts.count("rejected") + verdicts.count("missing")
                counts["skipped"] += verdicts.count("skipped")
                counts["failed"] += result["status"] == "failed"
        return counts

    def dead_claims(self) -> tuple[list[tuple[str, int]], bool]:
        """This runner's own dead claims: in flight without output, claimed by an earlier round's session
        (of this run or, from the log, of an earlier one), whose subagents died with it. And whether
        another session holds a live claim here (then the round may not confirm a take-over)."""
        dead, foreign_live = [], False
        for culture in self.cultures():
            for b in self.detail(culture).get("in_flight_batches", []):
                if self.ws.batch_path(culture, b["batch_id"], "output").exists():
                    continue  # finished: collection takes it
                if b["session"] in self.sessions:
                    dead.append((culture, b["batch_id"]))
                elif not b["expired"]:
                    foreign_live = True
        return dead, foreign_live

    def taken_over(self, dead: list[tuple[str, int]], session: str, results_before: dict[str, set[int]]) -> int:
        """How many of the dead claims the round took over: collected in it, or in flight under its session."""
        flying = {c: {b["batch_id"]: b["session"] for b in self.detail(c).get("in_flight_batches", [])}
                  for c in {c for c, _ in dead}}
        now_ids = self.result_ids()
        return sum(1 for c, bid in dead if flying[c].get(bid) == session
                   or bid in now_ids.get(c, set()) - results_before.get(c, set()))

    def run_claude(self, cmd: list[str], stop: Stop, limit: float) -> tuple[int | None, dict | None, str | None]:
        """Run one round's claude in the workspace until it ends, the round's time is up or a signal
        asks it to stop (SIGTERM to claude, SIGKILL after STOP_GRACE_S or on a second signal)."""
        import tempfile

        if stop.requested:
            return None, None, "claude not started: stopped by a signal"
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(cmd, cwd=self.ws.root, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
            except OSError as exc:
                return None, None, f"claude did not start: {exc}"
            asked, why = None, None
            while True:
                try:
                    code = proc.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    pass
                t = time.monotonic()
                if asked is None and (stop.requested or t >= limit):
                    why = "stopped by a signal" if stop.requested else "stopped: the round's time is up"
                    proc.terminate()
                    asked = t
                elif asked is not None and (stop.hard or t - asked >= STOP_GRACE_S):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
        try:
            result = json.loads(stdout)
            result = result if isinstance(result, dict) else None
        except json.JSONDecodeError:
            result = None
        error = why
        if error is None and (code != 0 or not result or result.get("is_error")):
            detail = (result or {}).get("result") or stderr.strip() or stdout.strip()
            error = f"claude exited {code}" + (f": {detail.strip().splitlines()[-1][:200]}"
                                               if detail and detail.strip() else "")
        return code, result, error


def run(opts: Options, say=print) -> tuple[int, list[dict], str | None]:
    """Run rounds until a stop rule; returns the exit code, the rounds' log entries and why it stopped."""
    runner = Runner(opts, say)
    code = runner.run()
    return code, runner.entries, runner.reason
