"""Schema checks: where they run and where they are spared.

The files the package builds itself (progress, batch input and result files, the missing-images
log, requeue) are correct by construction: checked against their schemas here, after a run that
writes every kind, and at every write of every other test (conftest sets
$CRITIQUE_BATCH_CHECK_WRITES), not at run time. At run time a file is checked when it changed
since it was last checked or written: status and claim on an unchanged workspace never import
jsonschema, and a hand edit is checked and reported as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import support
from critique_batch.base import jsonfiles
from critique_batch.state.session import run_session
from critique_batch.base.errors import InputError, WorkFailed
from critique_batch.files.workspace import Workspace

CP = "checkpoints"
NOW = "2026-11-01T10:00:00Z"
SCHEMA_OF = {  # file name ending -> schema, for every file the package writes in checkpoints/
    "_expansion_progress.json": "progress",
    "_input.json": "batch_input",
    "_result.json": "batch_result",
    "_missing_images.json": "missing_images",
    "_requeued.json": "requeue",
    "_removed_candidates.json": "removed_candidates",
    "_expansion_candidates.json": "candidates",
}


def run_traced(script: str, *args, ws: Path) -> tuple[subprocess.CompletedProcess, bool]:
    """Run a script as at run time (no write checks) under -X importtime; returns the process and
    whether it imported jsonschema."""
    env = {k: v for k, v in os.environ.items() if k not in (jsonfiles.CHECK_WRITES_ENV, "CRITIQUE_BATCH_DEBUG")}
    env["CRITIQUE_BATCH_NOW"] = NOW
    cmd = [sys.executable, "-X", "importtime", str(support.SCRIPTS / script), *map(str, args), "--workspace", str(ws)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    imported = any(line.rsplit("|", 1)[-1].strip() == "jsonschema" for line in proc.stderr.splitlines()
                   if line.startswith("import time:"))
    proc.stderr = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith("import time:"))
    return proc, imported


def answer(ws: Path, batch_id: int) -> None:
    fps = support.batch_items(ws, "korean", batch_id)
    support.write_output(ws, "korean", batch_id, [support.good_record("korean", fp) for fp in fps])


def test_every_file_a_run_writes_matches_its_schema(ws, monkeypatch):
    """Claims, collections with invalid and malformed output, images parked for a missing file,
    parked failures re-queued, a candidate removed, a rebuild: then every file in checkpoints/ passes its schema."""
    monkeypatch.delenv(jsonfiles.CHECK_WRITES_ENV)  # as at run time: nothing checked while writing
    images = support.write_candidates(ws, "korean", 60)
    (ws / images[3]["filepath"]).unlink()
    gen = support.ScriptedGenerator(ws, "korean", seed=3, p_invalid=0.5, p_malformed=0.1, p_abandon=0.1)
    env = {"CRITIQUE_BATCH_NOW": NOW}
    for hour in range(10, 20):
        env["CRITIQUE_BATCH_NOW"] = f"2026-11-01T{hour:02d}:00:00Z"
        got = support.run_json("run_next_batch.py", "--culture", "korean", "--count", "3", ws=ws, env=env, expect=None)
        for b in got["batches"]:
            gen.answer(b["batch_id"])
        if not got["batches"]:
            support.run("requeue_parked.py", "korean", ws=ws, env=env)
    support.run("remove_candidates.py", "korean", images[3]["filepath"], ws=ws, env=env, check=True)  # parked: no file
    support.run("batch_status.py", "--rebuild", ws=ws, env=env, check=True)
    written = {}
    for path in sorted((ws / CP).glob("*.json")):
        schema = next((s for end, s in SCHEMA_OF.items() if path.name.endswith(end)), None)
        if schema is not None:
            written[path.name] = jsonfiles.schema_errors(json.loads(path.read_bytes()), schema)
    kinds = {s for name in written for end, s in SCHEMA_OF.items() if name.endswith(end)}
    assert kinds == set(SCHEMA_OF.values()), f"the run did not write every kind of file: {sorted(kinds)}"
    assert {name: errors for name, errors in written.items() if errors} == {}


def test_status_and_claim_on_an_unchanged_workspace_do_not_import_jsonschema(ws):
    korean_ws = ws
    support.write_candidates(ws, "korean", 100)
    proc, imported = run_traced("run_next_batch.py", "--culture", "korean", "--count", "2", ws=korean_ws)
    assert proc.returncode == 0, proc.stderr
    assert imported, "the new candidates file is checked by the first claim"
    for script, *args in [("batch_status.py",), ("batch_status.py", "--culture", "korean"),
                          ("run_next_batch.py", "--count", "1"), ("batch_status.py",)]:
        proc, imported = run_traced(script, *args, ws=korean_ws)
        assert proc.returncode == 0, proc.stderr
        assert not imported, f"{script} {args} imported jsonschema on an unchanged workspace"
    answer(korean_ws, 1)
    proc, imported = run_traced("run_next_batch.py", "--count", "1", ws=korean_ws)
    assert "collected korean 001: 10 accepted" in proc.stdout and imported  # the new output file is checked
    for script, *args in [("batch_status.py",), ("run_next_batch.py", "--count", "1"), ("batch_status.py", "--culture", "korean")]:
        proc, imported = run_traced(script, *args, ws=korean_ws)
        assert proc.returncode == 0, proc.stderr
        assert not imported, f"{script} {args} imported jsonschema on an unchanged workspace"


def unchecked_error(path: Path, schema: str) -> str:
    """The error a full check of the file gives, as every read gave it before checks were remembered."""
    with pytest.raises(InputError) as exc:
        jsonfiles.read_json(path, schema, cache=False)
    return str(exc.value)


def test_a_hand_edited_progress_file_is_checked(korean_ws):
    run_traced("run_next_batch.py", "--culture", "korean", "--count", "2", ws=korean_ws)
    path = korean_ws / CP / "korean_expansion_progress.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**doc, "completed": "3"}), encoding="utf-8")
    want = unchecked_error(path, "progress")
    assert "korean_expansion_progress.json" in want and "completed" in want and "expected integer" in want
    for script, *args in [("batch_status.py",), ("run_next_batch.py", "--count", "1")]:
        proc, imported = run_traced(script, *args, ws=korean_ws)
        assert proc.returncode == 2 and imported
        assert want in proc.stderr and "batch_status.py --rebuild --culture korean" in proc.stderr, proc.stderr
    # a hand edit that keeps the file valid passes its check once, and is remembered
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    assert run_traced("batch_status.py", ws=korean_ws)[1]
    proc, imported = run_traced("batch_status.py", ws=korean_ws)
    assert proc.returncode == 0 and not imported


def test_a_hand_edited_plan_is_checked(korean_ws):
    run_traced("run_next_batch.py", "--culture", "korean", "--count", "1", ws=korean_ws)
    plan_path = korean_ws / CP / "expansion_plan.json"
    plan = json.loads(support.plan().path.read_text(encoding="utf-8"))
    plan["cultures"]["korean"]["batchsize"] = 5
    plan_path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    want = unchecked_error(plan_path, "plan")
    assert "cultures.korean" in want and "batchsize" in want
    for script, *args in [("batch_status.py",), ("run_next_batch.py", "--count", "1")]:
        proc, imported = run_traced(script, *args, ws=korean_ws)
        assert proc.returncode == 2 and imported
        assert want in proc.stderr, proc.stderr
    del plan["cultures"]["korean"]["batchsize"]
    plan["cultures"]["korean"]["batch_size"] = 5
    plan_path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    proc, imported = run_traced("run_next_batch.py", "--count", "1", ws=korean_ws)
    assert proc.returncode == 0 and imported, proc.stderr
    for script, *args in [("batch_status.py",), ("run_next_batch.py", "--count", "1")]:
        proc, imported = run_traced(script, *args, ws=korean_ws)
        assert proc.returncode == 0 and not imported, proc.stderr


@pytest.mark.parametrize("seal", ["kept", "garbage", "deleted"])
def test_a_remembered_check_holds_only_for_the_bytes_it_was_made_for(korean_ws, seal):
    """The remembered check (checkpoints/.valid/NAME) is a digest of the file's bytes and schema:
    kept from before an edit, tampered with, or deleted, it spares no check of the edited file."""
    run_traced("run_next_batch.py", "--culture", "korean", "--count", "2", ws=korean_ws)
    path = korean_ws / CP / "korean_expansion_progress.json"
    marker = korean_ws / CP / ".valid" / path.name
    before = marker.read_bytes()
    doc = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**doc, "cursor": -1}), encoding="utf-8")
    if seal == "kept":
        marker.write_bytes(before)
    elif seal == "garbage":
        marker.write_text("0" * len(before))
    else:
        marker.unlink()
    proc, imported = run_traced("batch_status.py", ws=korean_ws)
    assert proc.returncode == 2 and imported
    assert unchecked_error(path, "progress") in proc.stderr and "cursor" in proc.stderr


def test_writes_are_checked_where_the_input_is_the_users_or_when_asked(tmp_path, monkeypatch):
    bad_progress = {"culture": "korean"}
    monkeypatch.delenv(jsonfiles.CHECK_WRITES_ENV)
    jsonfiles.write_json(tmp_path / "p.json", bad_progress, "progress")  # built by the package: not checked at run time
    with pytest.raises(WorkFailed, match="refusing to write"):
        jsonfiles.write_json(tmp_path / "c.json", {"culture": "korean", "images": [{"filepath": 3}]}, "candidates")
    monkeypatch.setenv(jsonfiles.CHECK_WRITES_ENV, "1")
    with pytest.raises(WorkFailed, match="refusing to write"):
        jsonfiles.write_json(tmp_path / "p.json", bad_progress, "progress")


def test_a_session_in_process_spares_the_check_of_what_it_wrote(korean_ws, monkeypatch):
    monkeypatch.delenv(jsonfiles.CHECK_WRITES_ENV)
    monkeypatch.setenv("CRITIQUE_BATCH_NOW", NOW)
    run_session(Workspace(korean_ws), "korean", lambda s: s.claim(2, None))
    checked = []
    real = jsonfiles.schema_errors
    monkeypatch.setattr(jsonfiles, "schema_errors", lambda obj, schema: (checked.append(schema), real(obj, schema))[1])
    run_session(Workspace(korean_ws), "korean", lambda s: s.claim(1, None))
    assert checked == []
