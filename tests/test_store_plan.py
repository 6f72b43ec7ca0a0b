"""The plan's `database` section: where sync_to_lancedb.py merges and how it maintains the table,
with --db and the environment taking precedence."""

from __future__ import annotations

import json

import store_support as ss
from critique_batch.store import database
from critique_batch.files.workspace import Workspace


def with_database(root, database: dict):
    path = root / "checkpoints" / "expansion_plan.json"
    plan = json.loads(path.read_text())
    plan["database"] = database
    path.write_text(json.dumps(plan))


def test_plan_database_uri_and_settings(tmp_path, monkeypatch):
    root = ss.make_ws(tmp_path / "ws", {"korean": 10})
    with_database(root, {"uri": "db/critiques", "storage_options": {"timeout": "30s"}, "optimize_every": 2, "keep_sync_tags": 7})
    monkeypatch.delenv("CRITIQUE_BATCH_DB", raising=False)
    monkeypatch.delenv("CRITIQUE_BATCH_OPTIMIZE_EVERY", raising=False)
    t = database.resolve_target(Workspace(root))
    assert t.local == (root / "db" / "critiques").resolve()  # relative to the workspace
    assert t.storage_options == {"timeout": "30s"} and t.optimize_every == 2 and t.keep_sync_tags == 7
    monkeypatch.setenv("CRITIQUE_BATCH_OPTIMIZE_EVERY", "5")
    monkeypatch.setenv("CRITIQUE_BATCH_STORAGE_OPTIONS", json.dumps({"allow_http": True}))
    t = database.resolve_target(Workspace(root))
    assert t.optimize_every == 5 and t.storage_options == {"timeout": "30s", "allow_http": "true"}
    assert database.resolve_target(Workspace(root), "s3://bucket/x").uri == "s3://bucket/x"


def test_sync_goes_where_the_plan_says(tmp_path):
    root = ss.make_ws(tmp_path / "ws", {"korean": 10})
    with_database(root, {"uri": "elsewhere/db"})
    ss.produce(root, "korean", 2)
    proc = ss.run("sync_to_lancedb.py", "--force", "--json", ws=root)
    assert proc.returncode == 0, proc.stderr
    assert (root / "elsewhere" / "db").is_dir() and not (root / "lancedb").exists()
    assert json.loads(proc.stdout)["rows"] == 10


def test_bad_database_section_is_named(tmp_path):
    root = ss.make_ws(tmp_path / "ws", {"korean": 10})
    with_database(root, {"uri": "db", "optimise_every": 3})
    proc = ss.run("sync_to_lancedb.py", ws=root)
    assert proc.returncode == 2 and "expansion_plan.json" in proc.stderr and "database" in proc.stderr and "optimise_every" in proc.stderr
