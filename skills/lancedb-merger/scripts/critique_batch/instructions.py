# GENERATED from scripts/critique_batch/instructions.py by tools/generate.py; edit the source, not this copy
"""Generator instructions: what a subagent needs to write one culture's critiques (its perspective,
every dimension with its names, the language and length rules, the record format with an example,
the check-and-fix loop), rendered from one template and the plan.

tools/generate.py renders them into the generator skills and batch-orchestrator's references/ for
the bundled plan; `generator_instructions.py` renders them at run time from a workspace's own plan,
so a culture added by configuration (or a bundled culture whose rules a workspace changed) still
gets exact instructions.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import InputError
from .plan import Culture, Plan

TEMPLATES = Path(__file__).resolve().parent / "templates"
GENERATOR_TEMPLATE = TEMPLATES / "generator.md"
EXAMPLES = TEMPLATES / "examples"
LAYERS = ("L1", "L2", "L3", "L4", "L5")
MODES = ("skill", "reference", "runtime")


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
    from .validation import check_output_bytes  # here, not at the top: a claim imports this module for bundled_matches

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
                        "skill's folder wherever the commands below name it; an agent that leaves the "
                        "`CLAUDE_SKILL_DIR` variable unfilled should put in the folder this SKILL.md is in. Where "
                        "there is no `python3` command (Windows), use `python`. " + workspace_note)
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
