# GENERATED from scripts/critique_batch/unattended.py by tools/generate.py; edit the source, not this copy
"""Unattended runs (run_unattended.py): rounds of headless Claude Code in a workspace, each round one
fresh `claude -p` session that continues the expansion for a few batches with the batch-orchestrator
skill, until a stop rule says enough.

The runner itself never writes a batch file: it reads the status in-process and runs collection
and sync as the workspace's scripts, in their own process group, so a Ctrl-C or SIGTERM reaches only
the runner: on one it stops the claude child gracefully, then still collects, syncs, logs the round
and exits; it never interrupts a script mid-write. Its own dead claims (an earlier round's batches
without output) are taken over by the next round's session, which the prompt asks to. One runner
per workspace: a lock held for the whole run.
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
from dataclasses import dataclass, field
from pathlib import Path

from . import filelocks
from .cli import one_line, plural
from .clock import iso, now
from .errors import BatchError, InputError, WorkFailed
from .instructions import SCRIPTS_DIR
from .jsonfiles import decode_text, raise_schema_errors, schema_errors
from .published import jsonl_lines, parse_jsonl_object
from .workspace import Workspace, batch_tag

EXIT_NO_PROGRESS = 1  # WorkFailed: two rounds without a record accepted
EXIT_BUSY = 3  # another runner holds this workspace
EXIT_NO_CLAUDE = 4  # the claude binary is missing or does not run
# beyond cli.EXIT_CODES (0 done, 1 work could not complete, 2 bad command or input)
MORE_EXIT_CODES = ("More exit codes: 3 another run_unattended.py holds this workspace; 4 the claude binary is missing\n"
                   "or does not run; 130 / 143 stopped by Ctrl-C / SIGTERM (after the round's collection).")

LOG_NAME = "unattended_log.jsonl"
LOCK_NAME = "unattended.lock"
STOP_GRACE_S = 30  # a claude child asked to stop gets this long before it is killed
NO_PROGRESS_ROUNDS = 2

# What a round's Claude Code may do, and nothing else (permission mode dontAsk: whatever these rules
# do not allow is denied, never asked). The skill's scripts, as SKILL.md and the briefs give them:
ALLOWED_SCRIPTS = ("batch_status.py", "run_next_batch.py", "validate_batch.py", "sync_to_lancedb.py",
                   "generator_instructions.py", "quality_report.py", "search_critiques.py")
PYTHONS = ("python3", "python")


class ClaudeNotFound(BatchError):
    exit_code = EXIT_NO_CLAUDE


class RunnerBusy(BatchError):
    exit_code = EXIT_BUSY


MAX_READ_FOLDERS = 8  # image folders outside the workspace are merged into their parents beyond this


def image_folders(ws: Workspace, cultures: list[str]) -> list[Path]:
    """The folders outside the workspace that hold the cultures' candidate images (absolute
    filepaths, or relative ones that climb out with ..), so a round's subagents may read them: the
    outermost folders that hold images, and while there are more than MAX_READ_FOLDERS, the deepest
    of them replaced by their parents."""
    from .candidates import load_candidates

    root = str(ws.root)  # resolved: absolute and normal
    found: set[Path] = set()
    for culture in cultures:
        if ws.candidates_path(culture).exists():
            for img in load_candidates(ws, culture).images:
                path = ws.image_file(img["filepath"])  # None: a URL, nothing to read locally
                if path is not None:
                    folder = os.path.dirname(os.path.normpath(path.absolute()))
                    if folder != root and not folder.startswith(root + os.sep):
                        found.add(Path(folder))
    folders = _outermost(found)
    while len(folders) > MAX_READ_FOLDERS:
        deepest = max(len(f.parts) for f in folders)
        folders = _outermost({f.parent if len(f.parts) == deepest else f for f in folders})
    return folders


def _outermost(folders: set[Path]) -> list[Path]:
    """The folders not inside another of them, sorted."""
    return sorted(f for f in folders if not any(o != f and o in f.parents for o in folders))


def permission_settings(read_folders: list[Path] = ()) -> dict:
    """The Claude Code settings a round runs with (`claude --settings JSON`). Patterns as Claude Code
    2.1.332 matches them: `Bash(CMD *)` matches the command and anything after it (the `*` also spans
    spaces and quotes, so these rules keep an honest model within the loop; they are no sandbox);
    `Edit(...)` covers Write too, with paths relative to the workspace; `~/` is the home folder;
    `//` starts an absolute path (read_folders: the image folders outside the workspace)."""
    bash = []
    for script in ALLOWED_SCRIPTS:
        for py in PYTHONS:
            # quoted (SKILL.md's commands) and unquoted (the briefs' check), with and without arguments
            for path in (f'"*/scripts/{script}"', f"*/scripts/{script}"):
                bash += [f"Bash({py} {path})", f"Bash({py} {path} *)"]
    return {
        "permissions": {
            "defaultMode": "dontAsk",
            "allow": [
                "Skill",  # the orchestrator skill, and the generator skills a plugin install's briefs name
                "Agent", "Task",  # the subagents (Task is the Agent tool's older name)
                *bash,
                "Read(./**)",  # images, batch inputs, instructions in the workspace
                "Read(~/.claude/skills/**)", "Read(~/.claude/plugins/**)",  # instructions of a global or plugin install
                *(f"Read(/{folder.as_posix()}/**)" for folder in read_folders),  # images outside the workspace
                "Edit(checkpoints/*_output.json)",  # the subagents' output files, nothing else
            ],
            "deny": [f"Bash({py} -c *)" for py in PYTHONS],
        }
    }


def find_claude(given: str | None) -> str:
    """The claude binary: --claude PATH, else `claude` on PATH; checked by running `claude --version`."""
    path = given or shutil.which("claude")
    if not path:
        raise ClaudeNotFound("claude (Claude Code) is not on PATH: install it (npm install -g @anthropic-ai/claude-code) "
                             "or give its path with --claude PATH")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ClaudeNotFound(f"--claude: {path}: not an executable file")
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClaudeNotFound(f"{path} --version failed: {exc}") from None
    if proc.returncode != 0:
        raise ClaudeNotFound(f"{path} --version exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[:200]}")
    return path


def claude_command(claude: str, prompt: str, session: str, *, model: str | None = None,
                   round_usd: float | None = None, read_folders: list[Path] = ()) -> list[str]:
    cmd = [claude, "-p", prompt, "--session-id", session, "--output-format", "json",
           "--settings", json.dumps(permission_settings(read_folders))]
    if model:
        cmd += ["--model", model]
    if round_usd is not None:
        cmd += ["--max-budget-usd", f"{round_usd:g}"]
    return cmd


def round_prompt(culture: str | None, batches: int, round_no: int, dead: list[tuple[str, int]], confirm: bool) -> str:
    """What a round's session is asked: the user's words a person would type, then the unattended
    rules, and, when earlier rounds of this run left claims behind, the take-over with the answer the
    skill would ask a person for (--yes: no other session works here)."""
    what = f"continue the {culture.capitalize()} expansion" if culture else "continue the expansion in the priority order"
    lines = [
        f"{what}, {plural(batches, 'batch')}",
        "",
        f"This is round {round_no} of an unattended run (run_unattended.py): nobody reads this conversation or answers "
        "questions. Use the batch-orchestrator skill: its session start, its loop for at most "
        f"{plural(batches, 'batch')} in all, then its session end (collect, sync_to_lancedb.py --force, status). "
        "Run only the skill's scripts. Stop when claiming says nothing is claimable.",
    ]
    if dead:
        named = ", ".join(f"{c} {batch_tag(bid)}" for c, bid in dead)
        lines += ["", f"In flight from an earlier round of this run, which has ended (its subagents are gone): {named}. "
                      "Take them over at the session start with the skill's run_next_batch.py --take-over command, "
                      + ("with `--take-over --yes`: no other session works in this workspace. " if confirm else
                         "without --yes: another session has recent claims here. ")
                      + "Start their subagents like those of new batches and count them in the batches above."]
    return "\n".join(lines)


# --- the stop rules ----------------------------------------------------------------------------------
@dataclass
class Goal:
    culture: str | None  # None: the priority order
    milestone: str | None = None  # the milestone to reach (resolved at the start from --until); None: the target


def goal_reached(goal: Goal, rows: dict[str, dict], detail: dict | None) -> str | None:
    """Why the goal is reached, or None. rows: the status rows by culture; detail: the culture's detail."""
    if goal.culture is None:
        mine = [r for r in rows.values() if r["configured"] and r["target"]]
        if mine and all(r["gap"] == 0 for r in mine):
            return "every target reached"
        if not any(r["priority"] for r in rows.values()):
            return "no work left (nothing pending or in flight)"
        return None
    r = rows[goal.culture]
    if goal.milestone is not None:
        m = next((m for m in (detail or {}).get("milestones", []) if m["name"] == goal.milestone), None)
        if m is not None and m["reached"]:
            return f"{goal.culture}: milestone {goal.milestone} reached ({m['done']}/{m['images']} new images)"
    elif r["gap"] == 0:
        return f"{goal.culture}: target reached ({r['reached']}/{r['target']})"
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
        raise_schema_errors([(f"line {n}: {where}", what) for where, what in schema_errors(entry, "unattended_log")], path)
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
        text += f"\n  {plural(entry['denied'], 'tool call')} denied by the permission rules (run_unattended.py --show-permissions)"
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
            os.write(2, f"run_unattended.py: {signal.Signals(signum).name}: stopping this round's claude, then collecting "
                        "and logging the round (again to skip the collection)\n".encode())

    @property
    def requested(self) -> bool:
        return self.count > 0

    @property
    def hard(self) -> bool:
        return self.count > 1


# --- the runner ------------------------------------------------------------------------------------
@dataclass
class Options:
    workspace: Path
    culture: str | None = None
    batches: int = 4
    rounds: int = 10
    budget_s: float | None = None
    round_s: float = 3600.0
    until: str = "target"
    claude: str | None = None
    log: Path | None = None
    model: str | None = None
    round_usd: float | None = None


@dataclass
class Runner:
    opts: Options
    say: object = print  # where readable lines go (None: nowhere, for --json)
    entries: list[dict] = field(default_factory=list)
    reason: str | None = None  # why the run stopped (or had nothing to do)

    def __post_init__(self):
        self.ws = Workspace(self.opts.workspace)
        self.log = self.opts.log or self.ws.checkpoints / LOG_NAME
        self.sessions: set[str] = set()  # every round session of this run and of earlier runs (the log)

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
        from . import status

        return {r["culture"]: status.public(r) for r in status.overview(self.ws)}

    def detail(self, culture: str) -> dict:
        """One culture's status detail (batch_status.py CULTURE --json): milestones, batches in flight."""
        from . import status

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
            locks.mkdir(parents=True, exist_ok=True)
            release = filelocks.acquire(locks / LOCK_NAME, 0)  # the lock the workspace's scripts use (no wait)
        except filelocks.LockTimeout:
            raise RunnerBusy(f"another run_unattended.py is running in this workspace ({self.ws.display(locks / LOCK_NAME)} is "
                             "held); wait for it to stop, or stop it (Ctrl-C or SIGTERM stops it after its round's collection)") from None
        except OSError as exc:
            raise WorkFailed(f"cannot create the runner's lock in {locks}: {exc.strerror or exc}") from None
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
            elif (reached := goal_reached(goal, rows, self._detail(goal))):
                why = reached
            elif no_progress(accepted_per_round):
                code, why = EXIT_NO_PROGRESS, f"no progress in {NO_PROGRESS_ROUNDS} rounds (no record accepted); see batch_status.py" + (
                    f" --culture {o.culture} --verbose" if o.culture else "")
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
                raise InputError(f"the plan gives {o.culture} no target, so it is not expanded; set cultures.{o.culture}.target "
                                 "in checkpoints/expansion_plan.json", where="culture")
            if o.until == "next-milestone":
                d = self._detail(goal)
                nxt = d["next_milestone"]
                if nxt is None:
                    raise InputError(f"{o.culture} has reached every milestone", where="--until")
                goal.milestone = nxt["name"]
            elif o.until != "target":
                names = [name for name, _ in cfg.milestones]
                if o.until not in names:
                    raise InputError(f"{o.culture} has no milestone {o.until!r} (it has: {', '.join(names)})", where="--until")
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
        claude_exit, result, error = self.run_claude(claude_command(claude, prompt, session, model=o.model, round_usd=o.round_usd,
                                                                        read_folders=image_folders(self.ws, self.cultures())),
                                                     stop, limit)
        problems = [error] if error else []
        # the session end, whatever the round did: collect, merge, so that the next round (or a person) starts clean
        for name, args in (("run_next_batch.py", ("--count", "0")), ("sync_to_lancedb.py", ("--force",))):
            if stop.hard:
                problems.append(f"{name} skipped (stopped twice)")
                continue
            if name == "sync_to_lancedb.py" and not any(r["unmerged"] for r in self.rows().values()):
                continue  # nothing waits (the round's session merged): spare the database's start-up
            code, err = self.script(name, *args)
            if code != 0:
                problems.append(f"{name} {' '.join(args)} exited {code}: {err.splitlines()[-1] if err else ''}")
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
        from .batches import read_batch

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
        flying = {c: {b["batch_id"]: b["session"] for b in self.detail(c).get("in_flight_batches", [])} for c in {c for c, _ in dead}}
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
            error = f"claude exited {code}" + (f": {detail.strip().splitlines()[-1][:200]}" if detail and detail.strip() else "")
        return code, result, error


def run(opts: Options, say=print) -> tuple[int, list[dict], str | None]:
    """Run rounds until a stop rule; returns the exit code, the rounds' log entries and why it stopped."""
    runner = Runner(opts, say)
    code = runner.run()
    return code, runner.entries, runner.reason
