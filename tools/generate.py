#!/usr/bin/env python3
"""Regenerate every generated file from its single source, or check that none has drifted.

  python tools/generate.py           write the generated files (and remove generated files that lost their source)
  python tools/generate.py --check   change nothing; exit 1 and list the files that differ from what would be generated

Sources -> generated files:
  schemas/*.schema.json              -> scripts/critique_batch/schemas/   (so scripts/ works when copied alone)
  checkpoints/expansion_plan.json    -> scripts/critique_batch/data/expansion_plan.json (the default plan)
  scripts/critique_batch/templates/generator.md    -> skills/{generator}/SKILL.md, one generator skill per
    + checkpoints/expansion_plan.json                 culture of the plan, and skills/batch-orchestrator/
    + scripts/critique_batch/templates/examples/{culture}.json   references/{generator}.md (the same instructions,
                                                      for subagents when only batch-orchestrator is installed);
                                                      rendered by critique_batch.agent.instructions
  scripts/ (with the package above)  -> skills/*/scripts/   each skill's own copy: `npx skills add` copies only a
                                        skill's folder, and symlinks are not followed. A skill carries its
                                        scripts and only the critique_batch modules they import (followed
                                        through every import, lazy ones too) with those modules' data folders;
                                        of schemas/, only the schemas the modules name (schemas_needed)
  LICENSE                            -> skills/*/LICENSE   (the skills CLI copies only a skill's folder)
  pyproject.toml (version)           -> .claude-plugin/plugin.json, .claude-plugin/marketplace.json
  scripts/*.py (their --help)        -> docs/scripts-help.md   (the reference; docs/scripts.md explains it by hand)

Every generated text file is marked: a "$comment" in JSON, a "# GENERATED" line in Python, an HTML comment
in Markdown (after the frontmatter in a SKILL.md). The plugin manifests carry no marker: Claude Code rejects
unknown keys in plugin.json, and the LICENSE copies none (the licence text stays as it is). Edit the sources,
never the copies. Hand-written skills (batch-orchestrator, lancedb-merger) keep their SKILL.md as a source; only their
scripts/ (and references/) are generated.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
PKG = SCRIPTS / "critique_batch"
SKILLS = ROOT / "skills"
TEMPLATE_REL = "scripts/critique_batch/templates/generator.md"
EXAMPLES_REL = "scripts/critique_batch/templates/examples"
PLAN = ROOT / "checkpoints" / "expansion_plan.json"
SCRIPTS_HELP = ROOT / "docs" / "scripts-help.md"

MARK = "GENERATED"  # every marker starts with this word
ORCHESTRATOR = "batch-orchestrator"
# the top-level scripts each skill carries, with the modules of critique_batch they import; None = all of them
SKILL_SCRIPTS: dict[str, tuple[str, ...] | None] = {
    ORCHESTRATOR: None,
    "lancedb-merger": ("batch_status.py", "sync_to_lancedb.py", "search_critiques.py", "export_critiques.py"),
}
GENERATOR_SCRIPTS = ("validate_batch.py", "search_critiques.py")
IGNORED_DIRS = {"__pycache__", ".valid", ".locks", ".tmp"}

LICENSE = "MIT"
PLUGIN = "critique-batch"
PLUGIN_DESCRIPTION = (
    "Run large bilingual (Chinese and English) art-critique expansions with Claude Code: plan and hand out "
    "batches to subagents, validate what comes back, keep resumable progress on disk, and merge accepted "
    "critiques into LanceDB."
)
AUTHOR = {"name": "The critique-batch-orchestrator authors"}  # the copyright holder named in LICENSE
# Where this project is published: the one address to change when it moves (README.md says so too)
REPOSITORY = "https://github.com/OWNER/critique-batch-orchestrator"
KEYWORDS = ["art-critique", "batch", "subagents", "lancedb", "dataset", "bilingual", "vulca-bench"]
GENERATOR_COMPATIBILITY = (
    "Claude Code 2.1.69 or newer (it fills in ${CLAUDE_SKILL_DIR}), Codex CLI 0.169.0 (measured: its subagents have "
    "view_image), or another agent that can view images. "
    "Python 3.10 or newer with jsonschema and filelock for validate_batch.py; pyarrow and lancedb only for the "
    "optional exemplar search (pip install jsonschema filelock pyarrow lancedb)."
)


class SourceError(Exception):
    """A source file is missing or unusable: generation cannot go on."""


# --- markers --------------------------------------------------------------------------------------
def marked_json(source: Path) -> bytes:
    doc = json.loads(source.read_text(encoding="utf-8"))
    rel = source.relative_to(ROOT).as_posix()
    out = {"$comment": f"GENERATED from {rel} by tools/generate.py; edit the source, not this copy"}
    out.update({k: v for k, v in doc.items() if k != "$comment"})
    return (json.dumps(out, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def marked_python(source: Path) -> bytes:
    text = source.read_text(encoding="utf-8")
    rel = source.relative_to(ROOT).as_posix()
    marker = f"# GENERATED from {rel} by tools/generate.py; edit the source, not this copy\n"
    if text.startswith("#!"):
        first, _, rest = text.partition("\n")
        return (first + "\n" + marker + rest).encode("utf-8")
    return (marker + text).encode("utf-8")


def md_marker(*sources: str) -> str:
    return f"<!-- GENERATED from {' + '.join(sources)} by tools/generate.py; edit those, not this file -->"


def is_generated(path: Path) -> bool:
    try:
        head = path.read_bytes()[:4000].decode("utf-8", "replace")
    except OSError:
        return False
    return f'"$comment": "{MARK} from' in head or f"# {MARK} from" in head or f"<!-- {MARK} from" in head


# --- phase 1: the package's own copies --------------------------------------------------------------
def package_outputs() -> dict[Path, bytes]:
    files: dict[Path, bytes] = {}
    for schema in sorted((ROOT / "schemas").glob("*.schema.json")):
        files[PKG / "schemas" / schema.name] = marked_json(schema)
    files[PKG / "data" / "expansion_plan.json"] = marked_json(PLAN)
    return files


# --- phase 2: skills ----------------------------------------------------------------------------------
def walk(folder: Path):
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not IGNORED_DIRS.intersection(path.relative_to(folder).parts) and path.suffix != ".pyc":
            yield path


def _module_files(base: Path, dotted: str, names: list[str]) -> set[Path]:
    """The package files `from <base>.<dotted> import <names>` loads: the module or sub-package the
    dotted path names (with each sub-package's __init__.py on the way), and the names that are
    modules of a sub-package."""
    out: set[Path] = set()
    path = base
    for part in [p for p in dotted.split(".") if p]:
        if (path / "__init__.py").is_file():
            out.add(path / "__init__.py")
        path = path / part
    if path.with_suffix(".py").is_file():
        out.add(path.with_suffix(".py"))
    elif path.is_dir():
        out.add(path / "__init__.py")
        out.update(path / f"{n}.py" for n in names if (path / f"{n}.py").is_file())
    else:
        raise SourceError(f"an import names critique_batch module {dotted!r} under {base.relative_to(ROOT)}, which does not exist")
    return out


def _imported_modules(source: Path) -> set[Path]:
    """The critique_batch files a file imports, at the top or inside a function (a lazy import runs
    too, so it counts): `from critique_batch.x import y`, `from critique_batch.x import module`,
    `import critique_batch.x.y`, and inside the package `from .x import y`, `from ..x import y`."""
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    files: set[Path] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith(PKG.name + "."):
                    files |= _module_files(PKG, a.name[len(PKG.name) + 1:], [])
        elif isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names]
            if node.level and PKG in source.parents:
                base = source.parent
                for _ in range(node.level - 1):
                    base = base.parent
                files |= _module_files(base, node.module or "", names)
            elif node.module == PKG.name or (node.module or "").startswith(PKG.name + "."):
                files |= _module_files(PKG, node.module[len(PKG.name):].lstrip("."), names)
    return files


# a module's data folder at the package's top: Path(__file__).resolve().parents[1] / "schemas"
RESOURCE_DIR = re.compile(r'Path\(__file__\)\.resolve\(\)\.parents\[1\]\s*/\s*"([^"]+)"')


def package_closure(tops: list[Path]) -> tuple[list[Path], list[str]]:
    """The package files the given scripts need (followed through every import, from __init__.py on)
    and the data folders those modules read at the package's top."""
    needed = {PKG / "__init__.py"}
    todo = [*tops, PKG / "__init__.py"]
    while todo:
        for path in _imported_modules(todo.pop()):
            if path not in needed:
                needed.add(path)
                todo.append(path)
    modules = sorted(needed)
    folders = sorted({d for m in modules for d in RESOURCE_DIR.findall(m.read_text(encoding="utf-8"))})
    return modules, folders


# --- the schemas a skill's modules name ------------------------------------------------------------
JSONFILES = PKG / "base" / "jsonfiles.py"
SCHEMA_FOLDER = "schemas"  # the data folder of schemas: a skill ships only those its modules name


def schema_functions() -> dict[str, int]:
    """The functions of base/jsonfiles.py that take a schema's name, with its position: every
    parameter named `schema` (the module's convention, so that this finds a new one too)."""
    tree = ast.parse(JSONFILES.read_text(encoding="utf-8"), filename=str(JSONFILES))
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names = [a.arg for a in [*node.args.posonlyargs, *node.args.args]]
            if "schema" in names:
                out[node.name] = names.index("schema")
    return out


def _literal_strings(node: ast.expr, where: str) -> list[ast.Constant]:
    """The literals naming the schemas an expression can take: a string, None, or a choice among
    literals ({"input": "batch_input", ...}[kind], a if c else b). Anything else cannot be told."""
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str)):
        return [] if node.value is None else [node]
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict):
        return [c for v in node.value.values for c in _literal_strings(v, where)]
    if isinstance(node, ast.IfExp):
        return _literal_strings(node.body, where) + _literal_strings(node.orelse, where)
    if isinstance(node, ast.BoolOp):
        return [c for v in node.values for c in _literal_strings(v, where)]
    raise SourceError(f"{where}: cannot tell which schema `{ast.unparse(node)}` names; pass the schema's name as a "
                      "string (or pick it from literal strings) so that tools/generate.py can ship its file")


def schema_names(module: Path, functions: dict[str, int]) -> dict[str, str]:
    """The schema names a module passes to base/jsonfiles.py (read_json(path, "candidates"),
    write_json(path, doc, "progress"), schema_errors(rec, "critique_record"), ...), found in its
    source: a literal argument, or a variable assigned from literals in the same function. Inside
    jsonfiles.py, a function passing its own `schema` parameter on is followed from its callers.
    Returns each name with where it is written (file:line)."""
    rel = module.relative_to(ROOT).as_posix()
    tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
    own = module == JSONFILES
    by_name = {name: name for name in functions} if own else {}  # name called -> jsonfiles function
    the_module: set[str] = set()  # names bound to jsonfiles itself (jsonfiles.read_json(...))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "jsonfiles":
            by_name.update({a.asname or a.name: a.name for a in node.names if a.name in functions})
        elif isinstance(node, ast.ImportFrom):
            the_module.update(a.asname or a.name for a in node.names if a.name == "jsonfiles")
        elif isinstance(node, ast.Import):
            the_module.update(a.asname for a in node.names if a.name.endswith(".jsonfiles") and a.asname)
            if any(a.name.endswith(".jsonfiles") and not a.asname for a in node.names):
                raise SourceError(f"{rel}:{node.lineno}: import jsonfiles with `from ... import`, so that tools/generate.py "
                                  "can find the schema names passed to it")
    found: dict[str, str] = {}

    def callee(call: ast.Call) -> str | None:
        f = call.func
        if isinstance(f, ast.Name):
            return by_name.get(f.id)
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in the_module and f.attr in functions:
            return f.attr
        return None

    def visit(node: ast.AST, scope: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Call) and (name := callee(child)) is not None:
                for literal in _argument_names(child, functions[name], scope, own, f"{rel}:{child.lineno}"):
                    found.setdefault(literal.value, f"{rel}:{literal.lineno}")
            visit(child, child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else scope)

    visit(tree, tree)
    return found


def _argument_names(call: ast.Call, position: int, scope: ast.AST, own: bool, where: str) -> list[ast.Constant]:
    """The literals naming the schemas one call's `schema` argument can take."""
    given = [k.value for k in call.keywords if k.arg == "schema"]
    if not given and len(call.args) > position and not any(isinstance(a, ast.Starred) for a in call.args[:position + 1]):
        given = [call.args[position]]
    if not given:
        raise SourceError(f"{where}: cannot tell which schema `{ast.unparse(call)}` names")
    arg = given[0]
    if not isinstance(arg, ast.Name):
        return _literal_strings(arg, where)
    if own and arg.id == "schema" and isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return []  # jsonfiles.py passing its caller's schema on: the caller names it
    values = [n.value for n in ast.walk(scope) if isinstance(n, ast.Assign)
              and any(isinstance(t, ast.Name) and t.id == arg.id for t in n.targets)]
    if not values:
        raise SourceError(f"{where}: cannot tell which schema `{arg.id}` names; pass the schema's name as a string "
                          "(or assign it from literal strings in the same function) so that tools/generate.py can ship its file")
    return [c for v in values for c in _literal_strings(v, where)]


def schema_refs(name: str) -> set[str]:
    """The other schemas one schema's `$ref`s name (candidates.schema.json#/$defs/image)."""
    refs: set[str] = set()

    def walk_doc(doc) -> None:
        if isinstance(doc, dict):
            ref = doc.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                refs.add(ref.split("#", 1)[0].rsplit("/", 1)[-1].removesuffix(".schema.json"))
            for v in doc.values():
                walk_doc(v)
        elif isinstance(doc, list):
            for v in doc:
                walk_doc(v)

    walk_doc(json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")))
    return refs


def schemas_needed(modules: list[Path]) -> list[str]:
    """The schemas the modules name, with those their `$ref`s reach. A name with no file in schemas/ is
    a SourceError: the copy would fail at run time, so generation fails now."""
    functions = schema_functions()
    named = {(name, where) for m in modules for name, where in schema_names(m, functions).items()}
    needed: set[str] = set()
    todo = sorted(named)
    while todo:
        name, by = todo.pop()
        if name in needed:
            continue
        if not (ROOT / "schemas" / f"{name}.schema.json").is_file():
            raise SourceError(f"{by} names schema {name!r}, but there is no schemas/{name}.schema.json")
        needed.add(name)
        todo += [(ref, f"schemas/{name}.schema.json ($ref)") for ref in sorted(schema_refs(name))]
    return sorted(needed)


def scripts_copy(skill_dir: Path, names: tuple[str, ...] | None, package: dict[Path, bytes]) -> dict[Path, bytes]:
    """A skill's scripts/: the chosen top-level scripts and the part of critique_batch they import."""
    files: dict[Path, bytes] = {}
    tops = sorted(p.name for p in SCRIPTS.glob("*.py")) if names is None else list(names)
    for name in tops:
        src = SCRIPTS / name
        if not src.is_file():
            raise SourceError(f"{skill_dir.name} needs scripts/{name}, which does not exist")
        files[skill_dir / "scripts" / name] = marked_python(src)
    modules, folders = package_closure([SCRIPTS / name for name in tops])
    sources = {p: None for p in modules}
    for folder in folders:
        if folder == SCHEMA_FOLDER:
            sources.update({PKG / folder / f"{name}.schema.json": None for name in schemas_needed(modules)})
            continue
        sources.update({p: None for p in walk(PKG / folder)})
        # generated package files count even before they are written
        sources.update({p: None for p in package if (PKG / folder) in p.parents})
    for src in sorted(sources):
        dest = skill_dir / "scripts" / src.relative_to(SCRIPTS)
        if src in package:
            files[dest] = package[src]
        elif src.suffix == ".py":
            files[dest] = marked_python(src)
        elif src.suffix == ".json":
            files[dest] = marked_json(src)
        elif src.suffix == ".md":
            files[dest] = (md_marker(src.relative_to(ROOT).as_posix()) + "\n" + src.read_text(encoding="utf-8")).encode("utf-8")
        else:
            files[dest] = src.read_bytes()
    return files


def load_plan():
    sys.path.insert(0, str(SCRIPTS))
    from critique_batch.base.errors import BatchError
    from critique_batch.files.plan import load_plan as load

    try:
        return load(PLAN)
    except BatchError as exc:
        raise SourceError(str(exc)) from None


def title_of(culture: str) -> str:
    from critique_batch.agent.instructions import title_of as title

    return title(culture)


def render_generator(plan, cfg, mode: str) -> str:
    """The generator instructions (critique_batch.agent.instructions) for one culture of the bundled plan."""
    from critique_batch.base.errors import BatchError
    from critique_batch.agent.instructions import render_instructions

    try:
        return render_instructions(plan, cfg, mode)
    except BatchError as exc:
        raise SourceError(str(exc).replace(str(ROOT) + "/", "")) from None


def generator_description(plan, cfg) -> str:
    layers = ", ".join(plan.layers[layer]["en"].lower() for layer in ("L1", "L2", "L3", "L4", "L5") if layer in plan.layers)
    return (
        f"Writes the bilingual (Chinese and English) critiques for one batch of the {cfg.name} art-critique "
        f"expansion: reads a checkpoints/{cfg.name}_batch_NNN_input.json file, looks at each image, writes "
        f"{cfg.name}_batch_NNN_output.json records covering the {len(cfg.dimensions)} {cfg.prefix}_L1-L5 critique "
        f"dimensions ({layers}), and runs validate_batch.py until they pass. Use when a batch brief says to use "
        f"{cfg.generator}, or when asked to write, fix or re-check {title_of(cfg.name)} critiques of a batch. "
        "Batches come from the batch-orchestrator skill."
    )


def yaml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def generator_sources(cfg) -> list[str]:
    return [TEMPLATE_REL, "checkpoints/expansion_plan.json", f"{EXAMPLES_REL}/{cfg.name}.json"]


def generator_skill(plan, cfg) -> bytes:
    sources = generator_sources(cfg)
    front = "\n".join([
        "---",
        f"name: {cfg.generator}",
        f"description: {yaml_str(generator_description(plan, cfg))}",
        f"license: {LICENSE}",
        f"compatibility: {yaml_str(GENERATOR_COMPATIBILITY)}",
        "metadata:",
        f"  culture: {yaml_str(cfg.name)}",
        f"  dimension-prefix: {yaml_str(cfg.prefix)}",
        f"  generated-by: {yaml_str('tools/generate.py')}",
        "---",
    ])
    body = render_generator(plan, cfg, "skill")
    return (front + "\n" + md_marker(*sources) + "\n\n" + body).encode("utf-8")


def generator_reference(plan, cfg) -> bytes:
    sources = generator_sources(cfg)
    body = render_generator(plan, cfg, "reference")
    return (md_marker(*sources) + "\n\n" + body).encode("utf-8")


def skill_outputs(package: dict[Path, bytes]) -> dict[Path, bytes]:
    plan = load_plan()
    files: dict[Path, bytes] = {}
    for name, scripts in SKILL_SCRIPTS.items():
        if not (SKILLS / name / "SKILL.md").is_file():
            raise SourceError(f"missing skills/{name}/SKILL.md (a hand-written source)")
        files.update(scripts_copy(SKILLS / name, scripts, package))
        files[SKILLS / name / "LICENSE"] = license_text()
    for cfg in plan.cultures.values():
        if not cfg.generator:  # no generator skill: its subagents run generator_instructions.py
            continue
        if cfg.generator in SKILL_SCRIPTS:
            raise SourceError(f"culture {cfg.name!r}: generator {cfg.generator!r} is the name of a hand-written skill")
        folder = SKILLS / cfg.generator
        files[folder / "SKILL.md"] = generator_skill(plan, cfg)
        files.update(scripts_copy(folder, GENERATOR_SCRIPTS, package))
        files[folder / "LICENSE"] = license_text()
        files[SKILLS / ORCHESTRATOR / "references" / f"{cfg.generator}.md"] = generator_reference(plan, cfg)
    files.update(plugin_manifests())
    files.update(scripts_help())
    return files


def license_text() -> bytes:
    if not (ROOT / "LICENSE").is_file():
        raise SourceError("missing LICENSE (copied into every skill folder)")
    return (ROOT / "LICENSE").read_bytes()


def plugin_manifests() -> dict[Path, bytes]:
    m = re.search(r'^version\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    version = m.group(1) if m else "0.0.0"
    plugin = {
        "name": PLUGIN,
        "version": version,
        "description": PLUGIN_DESCRIPTION,
        "author": AUTHOR,
        "repository": REPOSITORY,
        "license": LICENSE,
        "keywords": KEYWORDS,
    }
    # plugin.json is the plugin's manifest and Claude Code finds its skills in the default skills/
    # folder. The marketplace entry must not list components as well: with plugin.json present,
    # `skills` plus `strict: false` there makes Claude Code 2.1.332 refuse the plugin ("conflicting
    # manifests"), although `claude plugin validate` passes.
    marketplace = {
        "name": PLUGIN,
        "owner": AUTHOR,
        "metadata": {"description": PLUGIN_DESCRIPTION, "version": version},
        "plugins": [{
            "name": PLUGIN,
            "description": PLUGIN_DESCRIPTION,
            "version": version,
            "author": AUTHOR,
            "repository": REPOSITORY,
            "license": LICENSE,
            "keywords": KEYWORDS,
            "category": "productivity",
            "source": "./",
        }],
    }
    dump = lambda doc: (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")  # noqa: E731
    return {ROOT / ".claude-plugin" / "plugin.json": dump(plugin), ROOT / ".claude-plugin" / "marketplace.json": dump(marketplace)}


# argparse lays out --help a little differently from one Python version to the next: the page says
# which one made it, and only that version checks it for drift
HELP_PYTHON_LINE = "Made with Python {} (other versions lay out `--help` a little differently)."


def _help_made_by_another_python(path: Path) -> bool:
    import re

    if not path.exists():
        return False
    pattern = re.escape(HELP_PYTHON_LINE).replace(re.escape("{}"), r"([0-9]+\.[0-9]+)")
    m = re.search(pattern, path.read_text(encoding="utf-8"))
    return m is not None and m.group(1) != f"{sys.version_info[0]}.{sys.version_info[1]}"


def scripts_help() -> dict[Path, bytes]:
    """Every script's --help, as a user sees it: the reference can then never disagree with the scripts."""
    # a fixed width and no colour, so the text is the same in any terminal (and under pytest)
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "PYTHON_COLORS": "0"}
    env.pop("CRITIQUE_BATCH_DEBUG", None)
    parts = [md_marker("scripts/*.py --help"), "", "# The scripts' `--help`", "",
             "What each script prints for `--help`. [scripts.md](scripts.md) explains them with examples.", "",
             HELP_PYTHON_LINE.format(f"{sys.version_info[0]}.{sys.version_info[1]}"), ""]
    for script in sorted(SCRIPTS.glob("*.py")):
        command = [sys.executable, str(script), "--help"]
        proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
        if proc.returncode != 0:
            raise SourceError(f"scripts/{script.name} --help exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
        parts += [f"## {script.name}", "", "```", proc.stdout.rstrip(), "```", ""]
    return {SCRIPTS_HELP: "\n".join(parts).encode("utf-8")}


# --- drift ----------------------------------------------------------------------------------------------
def stale_files(files: dict[Path, bytes]) -> list[Path]:
    stale = {p for p, data in files.items() if not p.exists() or p.read_bytes() != data}
    if SCRIPTS_HELP in stale and _help_made_by_another_python(SCRIPTS_HELP):
        stale.discard(SCRIPTS_HELP)
    # a generated file whose source is gone
    for folder in (PKG / "schemas", PKG / "data", SKILLS / ORCHESTRATOR / "references"):
        if folder.is_dir():
            stale |= {p for p in walk(folder) if p not in files and is_generated(p)}
    if SKILLS.is_dir():
        for skill in SKILLS.iterdir():
            if (skill / "SKILL.md").is_file() and skill / "SKILL.md" not in files and is_generated(skill / "SKILL.md"):
                stale.add(skill / "SKILL.md")
            # every skill's LICENSE is a copy: one left in a folder that lost its skill goes too
            if (skill / "LICENSE").is_file() and skill / "LICENSE" not in files:
                stale.add(skill / "LICENSE")
            # a skill's scripts/ is generated whole: anything else in it would ship to users unchecked
            if (skill / "scripts").is_dir():
                stale |= {p for p in walk(skill / "scripts") if p not in files}
    return sorted(stale)


def prune_empty(path: Path) -> None:
    for folder in [path.parent, *path.parent.parents]:
        if folder in (ROOT, SKILLS) or not folder.is_dir():
            break
        rest = [p for p in folder.iterdir() if p.name not in IGNORED_DIRS]
        if rest:
            break
        for p in folder.iterdir():  # only ignorable leftovers (caches) remain
            if p.is_dir():
                for sub in sorted(p.rglob("*"), reverse=True):
                    sub.rmdir() if sub.is_dir() else sub.unlink()
                p.rmdir()
        folder.rmdir()


def apply(files: dict[Path, bytes], stale: list[Path]) -> None:
    for p in stale:
        if p in files:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(files[p])
            print(f"wrote {p.relative_to(ROOT)}")
        else:
            p.unlink()
            prune_empty(p)
            print(f"removed {p.relative_to(ROOT)}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a generated file differs")
    args = ap.parse_args()
    try:
        package = package_outputs()
        if not args.check:  # the plan is read through the package, so its copies come first
            apply(package, [p for p in stale_files(package) if p in package or p.parent in (PKG / "schemas", PKG / "data")])
        files = dict(package)
        files.update(skill_outputs(package))
    except SourceError as exc:
        print(f"generate.py: error: {exc}", file=sys.stderr)
        return 2
    stale = stale_files(files)
    if args.check:
        for p in stale:
            print(f"drifted: {p.relative_to(ROOT)}")
        if stale:
            print("run: python tools/generate.py")
        return 1 if stale else 0
    apply(files, stale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
