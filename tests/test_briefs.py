"""Briefs stay within 600 bytes and work as written wherever the orchestrator's scripts are installed,
down to a plugin cache below a long home folder. The installs themselves, by the real CLIs, are in
test_claude_code.py; here the layouts are copied, so this runs everywhere and fast."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import support

ROOT = support.ROOT
CACHE = ".claude/plugins/cache/critique-batch/critique-batch/0.1.0"


def plugin_cache(home: Path) -> Path:
    """The plugin as Claude Code keeps it: the repository's skills/ and .claude-plugin/ in its cache."""
    root = home / CACHE
    ignore = shutil.ignore_patterns("__pycache__", ".valid", ".locks")
    shutil.copytree(ROOT / "skills", root / "skills", ignore=ignore)
    shutil.copytree(ROOT / ".claude-plugin", root / ".claude-plugin")
    return root / "skills" / "batch-orchestrator"


def claim(skill: Path, project: Path, home: Path, *extra: str) -> list[dict]:
    env = dict(os.environ, HOME=str(home))
    proc = subprocess.run([sys.executable, str(skill / "scripts" / "run_next_batch.py"), "--culture", "korean", "--count", "2",
                           "--json", *extra], cwd=project, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)["batches"]


def run_check(brief: str, cwd: Path, home: Path) -> subprocess.CompletedProcess:
    """The check command exactly as written, by a shell (as the Bash tool runs it)."""
    command = brief.split("Check: ")[1].split(" ;")[0]
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, env=dict(os.environ, HOME=str(home)))


@pytest.mark.parametrize("home_name", ["u", "firstname.lastname", "a-much-longer-home-folder-name/of-someone/nested/deeply/x"])
def test_plugin_briefs_fit_below_any_home(tmp_path, home_name):
    home = tmp_path / "home" / home_name
    skill = plugin_cache(home)
    project = tmp_path / "project"
    support.write_candidates(project, "korean", 25)
    for b in claim(skill, project, home):
        assert len(b["brief"].encode()) <= 600, (len(b["brief"].encode()), b["brief"])
        if "Follow " not in b["brief"]:  # too long for the file: the plugin's own generator skill, by name
            assert "Use the critique-batch:korean-batch-generator skill" in b["brief"]
            assert (home / CACHE / "skills" / "korean-batch-generator" / "SKILL.md").is_file()
        proc = run_check(b["brief"], project, home)
        assert proc.returncode == 1 and "FAIL output file not written yet" in proc.stdout, (b["brief"], proc.stdout, proc.stderr)


# where the skills CLI installs for each agent: Claude Code's own folder, and the one Codex CLI reads
# (`npx skills add ... -a codex`, and -g below the home folder)
AGENT_DIRS = [".claude/skills", ".agents/skills"]


@pytest.mark.parametrize("agent_dir", AGENT_DIRS)
def test_project_install_brief_uses_relative_paths(tmp_path, agent_dir):
    project = tmp_path / "project"
    skill = project / agent_dir / "batch-orchestrator"
    shutil.copytree(ROOT / "skills" / "batch-orchestrator", skill, ignore=shutil.ignore_patterns("__pycache__"))
    support.write_candidates(project, "korean", 25)
    for b in claim(skill, project, tmp_path / "home"):
        assert len(b["brief"].encode()) <= 600, (len(b["brief"].encode()), b["brief"])
        assert b["brief"].startswith(f"{agent_dir}/batch-orchestrator/references/korean-batch-generator.md".join(("Follow ", " for")))
        assert f"Check: python3 {agent_dir}/batch-orchestrator/scripts/validate_batch.py {b['output']} ;" in b["brief"]
        assert run_check(b["brief"], project, tmp_path / "home").returncode == 1


@pytest.mark.parametrize("agent_dir", AGENT_DIRS)
@pytest.mark.parametrize("home_name", ["u", "a-much-longer-home-folder-name/of-someone/nested/deeply/x"])
def test_global_install_briefs_fit_below_any_home(tmp_path, agent_dir, home_name):
    """Installed for all projects (-g): the brief names the skill's files by their absolute path, or
    from ~ where that is too long, whatever the home."""
    home = tmp_path / "home" / home_name
    skill = home / agent_dir / "batch-orchestrator"
    shutil.copytree(ROOT / "skills" / "batch-orchestrator", skill, ignore=shutil.ignore_patterns("__pycache__"))
    project = tmp_path / "project"
    support.write_candidates(project, "korean", 25)
    for b in claim(skill, project, home):
        assert len(b["brief"].encode()) <= 600, (len(b["brief"].encode()), b["brief"])
        follow = b["brief"].split("Follow ", 1)[1].split(" for ", 1)[0]
        reference = skill / "references" / "korean-batch-generator.md"
        assert follow in (str(reference), f"~/{agent_dir}/batch-orchestrator/references/korean-batch-generator.md"), b["brief"]
        assert Path(follow.replace("~", str(home), 1)).is_file()
        proc = run_check(b["brief"], project, home)
        assert proc.returncode == 1 and "FAIL output file not written yet" in proc.stdout, (b["brief"], proc.stdout, proc.stderr)


def test_workspace_elsewhere(tmp_path):
    """Run from another folder with --workspace (a skill installed for all projects): the batch files
    are absolute, so that they work from where the subagent starts (in a Claude Code subagent a `cd`
    does not carry over to the next command, so "cd there first" would not do)."""
    short = Path(tempfile.mkdtemp(prefix="cb", dir="/tmp"))  # pytest's folders are longer than real ones
    try:
        home = short / "home"
        skill = home / ".claude" / "skills" / "batch-orchestrator"
        shutil.copytree(ROOT / "skills" / "batch-orchestrator", skill, ignore=shutil.ignore_patterns("__pycache__"))
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        for project in (short / "ws", short / "datasets" / "vulca-bench"):  # 17 and 35 characters
            support.write_candidates(project, "korean", 25)
            for b in claim(skill, elsewhere, home, "--workspace", str(project)):
                assert len(b["brief"].encode()) <= 600, (len(b["brief"].encode()), b["brief"])
                assert f"images in {project}/checkpoints/korean_batch_" in b["brief"]
                proc = run_check(b["brief"], elsewhere, home)
                assert proc.returncode == 1 and "FAIL output file not written yet" in proc.stdout, (b["brief"], proc.stdout, proc.stderr)
    finally:
        shutil.rmtree(short, ignore_errors=True)


def test_brief_takes_a_note(tmp_path, monkeypatch):
    """A caller's short clause goes in front and the whole still fits."""
    from critique_batch.agent import instructions
    from critique_batch.files.workspace import Workspace

    support.write_candidates(tmp_path, "korean", 5)
    monkeypatch.chdir(tmp_path)
    ws = Workspace(tmp_path)
    text = instructions.brief(ws, ws.culture("korean"), 3, 5, note="Offered again: keep what is already written. ")
    assert text.startswith("Offered again: keep what is already written. ") and len(text.encode()) <= 600
