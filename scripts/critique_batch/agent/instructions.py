"""Generator instructions: what a subagent needs to write one culture's critiques (its perspective,
every dimension with its names, the language and length rules, the record format with an example,
the check-and-fix loop), rendered from one template and the plan.

tools/generate.py renders them into the generator skills and batch-orchestrator's references/ for
the bundled plan; `generator_instructions.py` renders them at run time from a workspace's own plan,
so a culture added by configuration (or a bundled culture whose rules a workspace changed) still
gets exact instructions.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import sys
from pathlib import Path

from ..base.words import plural
from ..base.errors import InputError
from ..files.plan import Culture, Plan
from ..base.text import control_character, one_line
from ..files.workspace import Workspace

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
GENERATOR_TEMPLATE = TEMPLATES / "generator.md"
EXAMPLES = TEMPLATES / "examples"
LAYERS = ("L1", "L2", "L3", "L4", "L5")
MODES = ("skill", "reference", "runtime")
SCRIPTS_DIR = Path(__file__).resolve().parents[2]


class TemplateError(InputError):
    """The template or an example record is unusable."""


def title_of(culture: str) -> str:
    return culture.replace("_", " ").title()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _strip_marker(text: str) -> str:
    """A generated copy starts with a GENERATED comment line; the template proper follows it."""
    if text.startswith("<!-- GENERATED"):
        return text.split("\n", 1)[1].lstrip("\n")
    return text


def template() -> str:
    try:
        return _strip_marker(GENERATOR_TEMPLATE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError("the generator template is missing", file=GENERATOR_TEMPLATE) from None


def render(text: str, values: dict[str, str | None]) -> str:
    """Replace {{name}}; a line holding a placeholder whose value is None is dropped; unknown names fail."""
    out = []
    for line in text.splitlines(keepends=True):
        names = re.findall(r"\{\{(\w+)\}\}", line)
        unknown = [n for n in names if n not in values]
        if unknown:
            raise TemplateError(f"unknown placeholder {{{{{unknown[0]}}}}}", file=GENERATOR_TEMPLATE)
        if any(values[n] is None for n in names):
            continue
        out.append(re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], line))
    return "".join(out)


def catalogue(plan: Plan, cfg: Culture) -> str:
    blocks = []
    for layer in LAYERS:
        dims = [d for d in cfg.dimensions if d.layer == layer]
        if not dims:
            continue
        names = plan.layers.get(layer, {})
        head = f"### {layer} {names.get('zh', '')} · {names.get('en', '')}".rstrip(" ·")
        rows = [head, "", "| ID | 中文 | English | What it covers |", "|---|---|---|---|"]
        rows += [f"| `{d.id}` | {_cell(d.zh)} | {_cell(d.en)} | {_cell(d.covers)} |" for d in dims]
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks)


def perspective(plan: Plan, cfg: Culture) -> str:
    p = cfg.perspective or {}
    if p.get("zh") and p.get("en"):
        return f"{p['zh']}\n\n{p['en']}"
    # a culture without a written perspective: state it layer by layer from its catalogue
    lines = [f"Read each work through the {title_of(cfg.name)} tradition, layer by layer:", ""]
    for layer in LAYERS:
        dims = [d for d in cfg.dimensions if d.layer == layer]
        if dims:
            names = plan.layers.get(layer, {})
            lines.append(f"- {layer} {names.get('en', '')}: " + "; ".join(d.en for d in dims) + ".")
    return "\n".join(lines)


def example_path(culture: str) -> Path:
    return EXAMPLES / f"{culture}.json"


def example_record(plan: Plan, cfg: Culture, *, required: bool) -> dict | None:
    """The culture's sample critique record, checked against the plan's rules. None when there is
    none (or it fails this plan's rules) and not `required`; a TemplateError when `required`."""
    path = example_path(cfg.name)
    if not path.is_file():
        if required:
            raise TemplateError(
                f"culture {cfg.name!r} has no example record: write one critique record of a real {cfg.name} "
                "work that passes validate_batch.py", file=path)
        return None
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TemplateError(f"not valid JSON: {exc.msg}", file=path, where=f"line {exc.lineno}") from None
    rec.pop("$comment", None)  # the marker of a generated copy
    from ..checks.validation import check_output_bytes  # here, not at the top: a claim imports this module for bundled_matches

    check = check_output_bytes(json.dumps([rec]).encode(), path, cfg, plan, [rec.get("filepath")])
    if not check.passed:
        if required:
            problems = "; ".join(p for r in check.records for p in r.problems) or check.error or "missing"
            raise TemplateError(f"the example does not pass validation: {problems}", file=path)
        return None
    return rec


def example_json(rec: dict) -> str:
    """The record as indented JSON, with short lists (the dimension IDs) kept on one line."""
    lines = ["{"]
    items = list(rec.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    return "\n".join(lines + ["}"])


def schematic_example(cfg: Culture) -> str:
    q = cfg.quality
    by_layer = [d.id for layer in LAYERS for d in cfg.dimensions if d.layer == layer]
    return example_json({
        "filepath": "<the image's filepath, exactly as in the input file>",
        "critique_zh": f"<your Chinese critique of this image: at least {q.min_zh_chars} characters, L1 to L5>",
        "critique_en": f"<your English critique of this image: at least {q.min_en_words} words, L1 to L5>",
        "covered_dimensions": by_layer[: max(q.min_dimensions, 1)],
        "quality_score": 85,
    })


def values(plan: Plan, cfg: Culture, mode: str, *, scripts: str = "SCRIPTS", check: str | None = None) -> dict[str, str | None]:
    """The template's placeholders. mode: "skill" (a generator skill), "reference" (a file in
    batch-orchestrator's references/), "runtime" (printed by generator_instructions.py; `scripts`
    is then the scripts folder and `check` the check command)."""
    q = cfg.quality
    rec = example_record(plan, cfg, required=mode != "runtime")
    others = [c for c in plan.cultures.values() if c.name != cfg.name and c.dimensions]
    workspace_note = ("Run every command from the workspace folder (the folder you were started in, which holds "
                      "`checkpoints/`).")
    if mode == "skill":
        scripts_note = ("The scripts named below ship inside this skill. Claude Code 2.1.69 and later fill in this "
                        "skill's folder wherever the commands below name it. An agent that shows them with the "
                        "`CLAUDE_SKILL_DIR` variable unfilled (Codex CLI does) must put in its place the absolute "
                        "path of the folder that holds this SKILL.md: the path you read this file from, without "
                        "`/SKILL.md`, never a folder you guess. Where there is no `python3` command (Windows), use "
                        "`python`. " + workspace_note)
        check_text = ("Run the Check command from your brief exactly as written. Without a brief, run (NNN is the "
                      "batch number):\n\n```bash\n"
                      f'python3 "${{CLAUDE_SKILL_DIR}}/scripts/validate_batch.py" checkpoints/{cfg.name}_batch_NNN_output.json\n'
                      "```\n\nIt only reads the file.")
        search = 'python3 "${CLAUDE_SKILL_DIR}/scripts/search_critiques.py"'
    elif mode == "reference":
        scripts_note = (f"These are the instructions of the `{cfg.generator}` skill, shipped inside the "
                        "batch-orchestrator skill so that a subagent can follow them when that skill is not "
                        "installed. The scripts named below are in the `scripts/` folder beside this file's "
                        "`references/` folder: the folder of the `validate_batch.py` in your brief's Check "
                        "command. Below, SCRIPTS stands for that folder; write its path out in full. " + workspace_note)
        check_text = ("Run the Check command from your brief exactly as written: `python3 SCRIPTS/validate_batch.py` "
                      "followed by the output file. It only reads the file.")
        search = "python3 SCRIPTS/search_critiques.py"
    elif mode == "runtime":
        scripts_note = (f"These instructions were printed from this workspace's expansion plan, for the "
                        f"`{cfg.name}` culture. " + workspace_note)
        check_text = ("Run the Check command from your brief exactly as written"
                      + (f":\n\n```bash\n{check}\n```\n\n" if check else ". ") + "It only reads the file.")
        search = f"python3 {scripts}/search_critiques.py"
    else:
        raise ValueError(mode)
    return {
        "title": f"{title_of(cfg.name)} batch generator ({cfg.prefix})",
        "culture": cfg.name,
        "Culture": title_of(cfg.name),
        "prefix": cfg.prefix,
        "scripts_note": scripts_note,
        "check": check_text,
        "search": search,
        "min_zh": str(q.min_zh_chars),
        "min_en": str(q.min_en_words),
        "min_dims": str(q.min_dimensions),
        # the check table's examples: counts short of each rule, as the check reports a failure
        "short_zh": str(max(q.min_zh_chars * 9 // 10, 0)),
        "short_en": str(max(q.min_en_words * 8 // 10, 0)),
        "short_dims": str(max(q.min_dimensions - 3, 0)),
        "n_dims": str(len(cfg.dimensions)),
        "cjk_pct": f"{q.min_zh_cjk_ratio:.0%}",
        "score_rule": f" Records scored below {q.min_quality_score:g} are rejected." if q.min_quality_score > 0 else "",
        "other_dim": others[0].dimensions[0].id if others else None,
        "other_culture": others[0].name if others else None,
        "perspective": perspective(plan, cfg),
        "catalogue": catalogue(plan, cfg),
        "example_intro": (f"A complete record that passes the check (for an input that lists `{rec['filepath']}`):" if rec else
                          "The shape of a record (replace each <...> with your own text; there is no sample "
                          f"critique for {cfg.name} yet, and the dimension IDs shown are only the first ones of "
                          "the catalogue: list those you really discuss):"),
        "example": example_json(rec) if rec else schematic_example(cfg),
    }


def render_instructions(plan: Plan, cfg: Culture, mode: str, **kwargs) -> str:
    return render(template(), values(plan, cfg, mode, **kwargs))


def bundled_matches(ws_plan: Plan, default_plan: Plan, culture: str) -> bool:
    """Do the instructions generated from the bundled plan hold for this workspace's culture?
    Never for a culture without a generator skill: nothing was generated for it."""
    if not ws_plan.cultures[culture].generator:
        return False
    if ws_plan is default_plan:
        return True
    theirs = default_plan.cultures.get(culture)
    if theirs is None or ws_plan.layers != default_plan.layers:
        return False
    # only settings that change what a generator writes: batch_size, max_parallel, leases, targets,
    # milestones or the sync threshold leave the instructions as they are
    ours = ws_plan.cultures[culture]
    return all(getattr(theirs, f) == getattr(ours, f) for f in WRITER_FIELDS)


WRITER_FIELDS = ("name", "prefix", "generator", "quality", "dimensions", "perspective")


BRIEF_MAX_BYTES = 600


def brief(ws: Workspace, cfg: Culture, batch_id: int, n: int, *, handed_out_before: bool = False, note: str = "") -> str:
    """The exact instruction for one subagent, at most 600 bytes. `note` is an optional short clause
    put in front; `handed_out_before` (a resumed claim: its lease expired, the earlier worker may
    still write the same output file, and the last write is what collection reads) adds one.

    Every path in it works from the folder the subagent starts in (the current directory, which is
    the workspace when Claude Code runs there): relative when inside it, absolute otherwise. (No
    "cd there first": in a Claude Code subagent a `cd` does not carry over to the next command.) When
    these scripts run from an installed batch-orchestrator skill, the generator's instructions ship
    beside them as references/{generator}.md (the generator skill itself may not be installed), so
    the brief points the subagent at that file. Long install paths (a plugin's cache folder below a
    long home folder) are handled by shorter forms, in this order: the plugin's own generator skill
    by name instead of the file; then the skill's folder written from ~. A workspace outside the
    current directory makes the batch files absolute: with a path of more than about 50 characters
    the brief can exceed 600 bytes (the shortest form is returned)."""
    if handed_out_before:
        note = "Handed out before: write a fresh file. " + note
    check_brief_paths(ws)
    by_skill = bool(plugin_name()) and (SKILLS_DIR / cfg.generator / "SKILL.md").is_file()
    texts = []
    # the forms in order, each once (without a plugin's skill the first two are the same); the
    # first that fits is the brief, and the rest are not built
    for show_tool, skill in dict.fromkeys([(ws.display, False), (ws.display, by_skill), (_from_home, by_skill)]):
        text = _brief(ws, cfg, batch_id, n, show_tool, note, skill)
        if len(text.encode()) <= BRIEF_MAX_BYTES:
            return text
        texts.append(text)
    return min(texts, key=lambda t: len(t.encode()))


def check_brief_paths(ws: Workspace) -> None:
    """A brief is one line that the agent hands on as it is: a folder whose path holds a newline
    (or another control character) would split it. Checked before a claim writes anything."""
    for path in (ws.root, SCRIPTS_DIR, Path.cwd()):
        if control_character(str(path)) is not None:
            raise InputError(f"the folder {one_line(path)} has a control character in its path, which would break the "
                             "subagent's one-line brief; rename or move it")


def _from_home(path: Path) -> str:
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def _shell_word(text: str) -> str:
    """One shell word; a leading ~/ stays unquoted so that the shell expands it."""
    return "~/" + shlex.quote(text[2:]) if text.startswith("~/") else shlex.quote(text)


# an installed skill keeps its scripts in <skill>/scripts; a plugin keeps its skills in <plugin>/skills
SKILLS_DIR = SCRIPTS_DIR.parent.parent


@functools.lru_cache(maxsize=1)
def plugin_name() -> str | None:
    """The Claude Code plugin these scripts are installed in (its .claude-plugin/plugin.json), if any."""
    manifest = SKILLS_DIR.parent / ".claude-plugin" / "plugin.json"
    if SCRIPTS_DIR.name != "scripts" or SKILLS_DIR.name != "skills" or not manifest.is_file():
        return None
    try:
        name = json.loads(manifest.read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name else None


@functools.lru_cache(maxsize=1)
def python_command() -> str:
    """How the subagent should call the Python that runs these scripts: `python3` or `python` when
    that name finds this same interpreter on PATH (many systems have no `python`), else its path."""
    here = Path(sys.executable)
    for name in ("python3", "python"):
        found = _which(name)
        # the same folder and file: a venv's python3 is a link to the base interpreter, but not the same python
        if found and Path(found).parent == here.parent and os.path.samefile(found, here):
            return name
    return str(here)


def _which(name: str) -> str | None:
    """The program `name` on PATH, as shutil.which finds it (importing shutil would cost every claim
    about 3 ms)."""
    for folder in os.get_exec_path():
        path = os.path.join(folder, name)
        if os.access(path, os.F_OK | os.X_OK) and not os.path.isdir(path):
            return path
    return None


def _brief(ws: Workspace, cfg: Culture, batch_id: int, n: int, show_tool, note: str, by_skill: bool) -> str:
    inp = ws.display(ws.batch_path(cfg.name, batch_id, "input"))
    python = python_command()
    check = check_command(ws, cfg.name, batch_id, python, show_tool)
    how = _instructions(ws, cfg, batch_id, show_tool, python, by_skill)
    return (
        f"{note}{how} for the {plural(n, 'image')} in {inp}: look at each image (never critique one unseen), write all "
        'records as one JSON array to the checked file ({"filepath": ..., "skipped": "<reason>"} for an image '
        f"you cannot open). Check: {check} ; fix what it reports, at most 3 rounds. Reply with its last line only."
    )


def check_command(ws: Workspace, culture: str, batch_id: int, python: str, show_tool) -> str:
    """The command that checks a batch's output file, as the subagent types it (brief and
    generator_instructions.py alike)."""
    out = ws.display(ws.batch_path(culture, batch_id, "output"))
    return " ".join(_shell_word(w) for w in (python, show_tool(SCRIPTS_DIR / "validate_batch.py"), out))


def _instructions(ws: Workspace, cfg: Culture, batch_id: int, show_tool, python: str, by_skill: bool) -> str:
    """Where the subagent finds its instructions. Files generated from the bundled plan (this
    folder's references/ when it is an installed batch-orchestrator; the generator skill itself in
    a clone or a plugin) fit only if the workspace's plan did not change the culture; otherwise the
    subagent runs generator_instructions.py, which renders them from the workspace's plan."""
    if bundled_matches(ws.plan, ws.default_plan, cfg.name):
        reference = SCRIPTS_DIR.parent / "references" / f"{cfg.generator}.md"
        if by_skill:
            return f"Use the {plugin_name()}:{cfg.generator} skill"
        if reference.is_file():
            return f"Follow {show_tool(reference)}"
        return f"Use the {cfg.generator} skill"
    command = [python, show_tool(SCRIPTS_DIR / "generator_instructions.py"), cfg.name, "--batch", str(batch_id)]
    if ws.root != Path.cwd().resolve():
        command += ["--workspace", str(ws.root)]
    return f"Run {' '.join(_shell_word(w) for w in command)} and follow what it prints"
