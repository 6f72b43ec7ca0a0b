"""Every case of the bad-input corpus (tests/data/bad/, see its README): the right exit code, a
message naming the file, the record and the field, no traceback, and no file of the workspace
changed by the rejected input."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

import support
from critique_batch.state.session import run_session
from critique_batch.files.workspace import Workspace

CORPUS = Path(__file__).resolve().parent / "data" / "bad"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.json").is_file())
T0 = "2026-11-01T10:00:00Z"


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".locks" not in p.parts and ".valid" not in p.parts
    }


def set_up(ws: Path, case_dir: Path, meta: dict, monkeypatch) -> None:
    assert meta["setup"] == "claimed"
    support.write_candidates(ws, "korean", 40)
    monkeypatch.setenv("CRITIQUE_BATCH_NOW", T0)
    run_session(Workspace(ws), "korean", lambda s: s.claim(1, 10))
    files = case_dir / "files"
    if files.is_dir():
        shutil.copytree(files, ws, dirs_exist_ok=True)
    for link, target in meta.get("links", {}).items():  # a path replaced by a symbolic link
        path = ws / link
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target.replace("{ws}", str(ws)))
    if "patch" in meta:
        path = ws / meta["patch"]["file"]
        doc = json.loads(path.read_text(encoding="utf-8"))
        doc.update(meta["patch"]["set"])
        path.write_text(json.dumps(doc), encoding="utf-8")
    if "patch_text" in meta:  # what json.dumps cannot write: a key twice, NaN
        path = ws / meta["patch_text"]["file"]
        old, new = meta["patch_text"]["replace"]
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_corpus_is_large_enough():
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", CASES)
def test_bad_input(name, ws, monkeypatch):
    case_dir = CORPUS / name
    meta = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
    set_up(ws, case_dir, meta, monkeypatch)
    script, *args = [a.replace("{ws}", str(ws)) for a in meta["command"]]
    before = tree_hashes(ws)
    workspace = None if "--workspace" in args else ws
    proc = support.run(script, *args, ws=workspace, env={"CRITIQUE_BATCH_NOW": T0})
    output = proc.stdout + proc.stderr
    assert proc.returncode == meta["exit"], output
    assert "Traceback" not in output
    for text in meta["mentions"]:
        assert text in output, f"{text!r} not in:\n{output}"
    assert tree_hashes(ws) == before, "a rejected input changed the workspace"
    for path in meta.get("absent", []):  # nothing created where a link pointed
        assert not Path(path.replace("{ws}", str(ws))).exists(), path
    # the same with --json: one JSON object on stdout
    proc = support.run(script, *args, "--json", ws=workspace, env={"CRITIQUE_BATCH_NOW": T0})
    assert proc.returncode == meta["exit"]
    doc = json.loads(proc.stdout)
    assert doc.get("ok") is False or doc.get("error") or doc.get("problems")
    assert tree_hashes(ws) == before
