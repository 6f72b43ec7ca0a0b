# GENERATED from scripts/critique_batch/agent/round_guard.py by tools/generate.py; edit the source, not this copy
"""The PreToolUse hook of an unattended round (run_unattended.py). Claude Code runs it before every
Bash, Write, Edit, MultiEdit and NotebookEdit call of the round's session and of its subagents,
with the call as JSON on stdin, and it denies (exit 2, the reason on stderr, which Claude Code shows
the model) everything but:

- Bash: exactly `python3|python SCRIPT ARG...`, SCRIPT one of ROUND_SCRIPTS in the scripts/ folder of
  a skill given with --skill (by its absolute path, or relative to the workspace or written from ~/
  when it names that same path), nothing between the interpreter and the script, each word plain
  or quoted (no shell operator, redirection, expansion, substitution, glob, comment or control
  character outside single quotes), every argument that names a path inside the workspace, no
  --db, no other --workspace (nor an abbreviation, which argparse accepts); run from the workspace.
- Write and Edit (MultiEdit): only checkpoints/<culture>_batch_<NNN>_output.json of a batch in flight
  in this workspace (its input file is there, its result file is not), never through a symlink or a
  hard link, never with `..`.

The permission rules of the round's settings must allow a call too: the hook only denies. It is
fail-closed: a crash, a timeout or unreadable input is a deny (exit 2 here; the settings add
onFailure "block" for what happens before Python runs). Run by path:
  python3 -I .../critique_batch/agent/round_guard.py --workspace DIR --skill DIR [--skill DIR ...]
It imports nothing of the package but its control characters (text.py) and the batch file names,
so that it costs little per call."""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys

if __name__ == "__main__":  # run by path (python -I): the folder that holds the package is two above
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from critique_batch.base.text import control_character  # noqa: E402 - the package is on the path only now

PYTHONS = ("python3", "python")
# The skill scripts a round's session and its subagents run (status, claim and collect, check, a
# culture's instructions, exemplar search), and nothing else: no sync (the runner merges after each
# round), no quality report, no script that adds or re-queues candidates.
ROUND_SCRIPTS = ("batch_status.py", "run_next_batch.py", "validate_batch.py", "generator_instructions.py",
                 "search_critiques.py")
WRITE_TOOLS = ("Write", "Edit", "MultiEdit")
# a word's characters outside quotes that no shell gives a meaning to
PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=,@%+")
DOUBLE_QUOTED_SPECIAL = frozenset('$`\\!')  # expanded or escaped inside "..."
FORBIDDEN_OPTIONS = ("--db",)  # a database other than the workspace's (the runner merges; search reads its own)


class Denied(Exception):
    """Why a tool call is denied."""


def shell_words(command: str) -> list[str]:
    """The words of a command made only of plain and quoted words separated by spaces, as a POSIX
    shell reads them; anything else (an operator, a redirection, $, a backquote, a glob, a brace, a
    comment, a backslash, a tab or newline outside single quotes) is Denied. A word starting with an
    unquoted ~/ keeps its ~ (the shell's home folder: expand_home); any other word starting with ~
    (quoted, or ~user) is Denied, so that a ~ always means what the shell makes of it."""
    c = control_character(command)
    if c is not None:
        raise Denied(f"a control character ({c!r}) in the command")
    words: list[str] = []
    word: list[str] | None = None
    homes = 0  # words starting with an unquoted ~/
    i, n = 0, len(command)
    while i < n:
        c = command[i]
        if c == " ":
            if word is not None:
                words.append("".join(word))
                word = None
            i += 1
        elif c == "'":
            end = command.find("'", i + 1)
            if end < 0:
                raise Denied("an unclosed quote")
            word = (word or []) + [command[i + 1:end]]
            i = end + 1
        elif c == '"':
            end = command.find('"', i + 1)
            if end < 0:
                raise Denied("an unclosed quote")
            inner = command[i + 1:end]
            special = next((ch for ch in inner if ch in DOUBLE_QUOTED_SPECIAL), None)
            if special is not None:
                raise Denied(f"{special!r} inside double quotes")
            word = (word or []) + [inner]
            i = end + 1
        elif c == "~" and word is None and command[i + 1:i + 2] == "/":
            word = ["~"]
            homes += 1
            i += 1
        elif c in PLAIN:
            word = (word or []) + [c]
            i += 1
        else:
            raise Denied(f"shell syntax ({c!r}) outside quotes: only plain words are allowed")
    if word is not None:
        words.append("".join(word))
    if sum(w.startswith("~") for w in words) != homes:
        raise Denied("a ~ the shell would not expand to the home folder")
    try:  # the same words as Python's POSIX shell lexer, or it is not what it seems
        same = shlex.split(command, posix=True) == words
    except ValueError:
        same = False
    if not same:
        raise Denied("the command does not read the same way twice")
    return words


def expand_home(word: str) -> str:
    if word.startswith("~/"):
        home = os.environ.get("HOME")
        if not home or not os.path.isabs(home):
            raise Denied("~/ with no home folder")
        return os.path.join(home, word[2:])
    return word


def absolute(word: str, cwd: str) -> str:
    """A path word as the absolute path it names from cwd; `..` and empty parts are Denied."""
    path = expand_home(word)
    if "\x00" in path or any(part == ".." for part in path.split("/")):
        raise Denied(f"{word}: a path with ..")
    return os.path.normpath(os.path.join(cwd, path))


def option_named(word: str, option: str) -> bool:
    """Whether argparse may read `word` as `option` (it accepts any unambiguous prefix of a long option)."""
    return len(word) > 2 and word.startswith("--") and option.startswith(word)


def inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class Policy:
    def __init__(self, workspace: str, skills: list[str]):
        self.root = os.path.realpath(workspace)
        scripts = [os.path.join(skill, "scripts", name) for skill in skills for name in ROUND_SCRIPTS]
        self.scripts = {os.path.normpath(s) for s in scripts if os.path.isfile(s)}
        self.real_scripts = {os.path.realpath(s) for s in self.scripts}

    # --- Bash ------------------------------------------------------------------------------------
    def check_command(self, command: object, cwd: str) -> None:
        if not isinstance(command, str):
            raise Denied("no command")
        words = shell_words(command)
        if len(words) < 2 or words[0] not in PYTHONS:
            raise Denied("only `python3 SCRIPT ...` with one of the skill's scripts may run")
        if words[1].startswith("-"):
            raise Denied(f"{words[1]}: no interpreter options: the script comes right after {words[0]}")
        script = absolute(words[1], cwd)
        if script not in self.scripts or os.path.realpath(script) not in self.real_scripts:
            names = ", ".join(sorted({os.path.basename(s) for s in self.scripts}))
            raise Denied(f"{words[1]}: not one of the skill's scripts this round may run ({names}, by the skill's path)")
        args = words[2:]
        for i, arg in enumerate(args):
            name, eq, value = arg.partition("=")
            if any(option_named(name, o) for o in FORBIDDEN_OPTIONS):
                raise Denied(f"{name} is not allowed in an unattended round")
            if option_named(name, "--workspace"):
                target = value if eq else (args[i + 1] if i + 1 < len(args) else "")
                if os.path.realpath(absolute(target, cwd)) != self.root:
                    raise Denied("--workspace: only this round's workspace")
            self.check_path_arg(arg, cwd)

    def check_path_arg(self, arg: str, cwd: str) -> None:
        """An argument that names a path (it has a / or starts with ~) must stay in the workspace."""
        value = arg.partition("=")[2] if arg.startswith("--") else arg
        if "/" not in value and not value.startswith("~"):
            return
        if "://" in value:
            raise Denied(f"{arg}: no URLs")
        if not inside(os.path.realpath(absolute(value, cwd)), self.root):
            raise Denied(f"{arg}: a path outside the workspace")

    # --- Write and Edit -------------------------------------------------------------------------
    def check_write(self, file_path: object, cwd: str) -> None:
        if not isinstance(file_path, str) or not file_path:
            raise Denied("no file path")
        from critique_batch.files.workspace import BATCH_FILE  # here: a failed import is a deny too

        path = absolute(file_path, cwd)
        checkpoints = os.path.join(self.root, "checkpoints")
        folder, name = os.path.split(path)
        m = BATCH_FILE.match(name)
        if folder != checkpoints or not m or m["kind"] != "output":
            raise Denied(f"{file_path}: only checkpoints/<culture>_batch_<NNN>_output.json may be written")
        if os.path.realpath(folder) != checkpoints:
            raise Denied(f"{file_path}: checkpoints/ is a link")
        stem = name[: -len("output.json")]
        try:
            is_input = stat.S_ISREG(os.lstat(os.path.join(folder, stem + "input.json")).st_mode)
        except OSError:
            is_input = False
        if not is_input:
            raise Denied(f"{file_path}: no batch {m['culture']} {m['num']} was claimed in this workspace")
        if os.path.lexists(os.path.join(folder, stem + "result.json")):
            raise Denied(f"{file_path}: batch {m['culture']} {m['num']} was already collected")
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            raise Denied(f"{file_path}: not a plain file (a link?)")

    def check(self, call: dict) -> None:
        """Denied unless the hook input `call` is a tool call this round may make."""
        if not isinstance(call, dict) or not isinstance(call.get("tool_input"), dict):
            raise Denied("unreadable hook input")
        cwd = call.get("cwd")
        if not isinstance(cwd, str) or os.path.realpath(cwd) != self.root:
            raise Denied(f"work only in the workspace {self.root} (the current folder is {cwd})")
        tool, args = call.get("tool_name"), call["tool_input"]
        if tool == "Bash":
            self.check_command(args.get("command"), self.root)
        elif tool in WRITE_TOOLS:
            self.check_write(args.get("file_path"), self.root)
        else:
            raise Denied(f"{tool}: not allowed in an unattended round")


def main(argv: list[str]) -> int:
    try:
        workspace, skills = None, []
        it = iter(argv)
        for a in it:
            if a == "--workspace":
                workspace = next(it)
            elif a == "--skill":
                skills.append(next(it))
            else:
                raise Denied(f"round_guard.py: unknown argument {a!r}")
        if not workspace or not skills:
            raise Denied("round_guard.py: needs --workspace DIR and at least one --skill DIR")
        Policy(workspace, skills).check(json.loads(sys.stdin.buffer.read()))
        return 0
    except Denied as exc:
        reason = f"Denied by the unattended round's rules: {exc}"
    except BaseException as exc:  # fail-closed: whatever went wrong, the call does not run
        reason = f"Denied: the unattended round's guard failed ({type(exc).__name__}: {exc})"
    try:
        sys.stderr.write(reason.encode("ascii", "backslashreplace").decode("ascii") + "\n")
        sys.stderr.flush()
    except BaseException:
        pass
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
