"""Several workspaces merging into one database (a shared folder or S3): each workspace's batches
are its own (workspace id), at most one row per filepath whatever the number of writers (Lance's
primary-key conflict check, then a duplicates check after every merge), and the housekeeping
around it (rollback keeps search working, the version printed is the one readers see)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import store_support as sup
from support import touch_images
from critique_batch.store import database, export, search, sync, sync_state, versions
from critique_batch.files.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def long_mode(config) -> bool:
    return bool(os.environ.get("CRITIQUE_BATCH_LONG")) or config.getoption("--long", default=False)


@pytest.fixture(params=["local", "s3"])
def shared_db(request, tmp_path, monkeypatch):
    """(a database URI outside both workspaces, env for subprocesses)."""
    if request.param == "local":
        return str(tmp_path / "shared-db"), {}
    server = request.getfixturevalue("s3")
    for k, v in server.env.items():
        monkeypatch.setenv(k, v)
    return server.bucket("s" + hashlib.sha1(str(tmp_path).encode()).hexdigest()[:20]), server.env


def images_from(root: Path, culture: str, first: int, n: int) -> None:
    """Candidates images first..first+n-1 (two workspaces may share some filepaths)."""
    doc = {"culture": culture, "images": [sup.image(culture, i) for i in range(first, first + n)]}
    (root / "checkpoints" / f"{culture}_expansion_candidates.json").write_text(json.dumps(doc), encoding="utf-8")
    touch_images(root, doc["images"])  # a claim parks an image without a file


def unmerged(root: Path, env: dict | None = None) -> int:
    rows = sup.run_json("batch_status.py", ws=root, env=env)["cultures"]
    return sum(r["unmerged"] for r in rows)


def newest_wanted(*roots: Path, culture: str = "korean") -> dict[str, tuple]:
    """filepath -> (accepted_at, batch_id, workspace_id) of the newest accepted record over all workspaces."""
    want: dict[str, tuple] = {}
    for root in roots:
        wid = json.loads((root / "checkpoints" / sync_state.WORKSPACE_ID_FILE).read_text())["workspace_id"]
        for fp, rec in sup.accepted(root, culture).items():
            key = (rec["accepted_at"], rec["batch_id"], wid)
            want[fp] = max(want.get(fp, key), key)
    return want


def rows_of(db: str, env: dict) -> list[dict]:
    return sup.table_rows(db, env or None)


def test_same_batch_same_second_in_two_workspaces(tmp_path, shared_db, monkeypatch):
    """A and B each collect batches 1-2 in the same second: syncing A then B puts B's records in the
    table too, and B's status shows them waiting until B's own sync."""
    db, env = shared_db
    monkeypatch.setenv("CRITIQUE_BATCH_NOW", "2026-11-20T10:00:00Z")
    a = sup.make_ws(tmp_path / "a", {"korean": 10})
    b = sup.make_ws(tmp_path / "b", {"korean": 10})
    images_from(b, "korean", 100, 10)  # other images
    c = sup.make_ws(tmp_path / "c", {"korean": 10})  # the same images as A
    for root, version in ((a, 0), (b, 0), (c, 1)):
        assert sup.produce(root, "korean", 2, version=version) == [1, 2]
    assert sup.progress(a, "korean")["completed_batches"] == sup.progress(b, "korean")["completed_batches"]
    monkeypatch.delenv("CRITIQUE_BATCH_NOW")

    out_a = sync.sync(Workspace(a), force=True, db=db).as_json()
    assert out_a["inserted"] == 10 and out_a["workspace_id"]
    assert unmerged(b, env) == 10  # A's sync says nothing about B's batches
    out_b = sync.sync(Workspace(b), force=True, db=db).as_json()
    assert out_b["inserted"] == 10 and out_b["workspace_id"] != out_a["workspace_id"]
    assert unmerged(b, env) == 0
    rows = rows_of(db, env)
    assert len(rows) == len({r["filepath"] for r in rows}) == 20
    assert {r["filepath"] for r in rows if r["workspace_id"] == out_b["workspace_id"]} == set(sup.accepted(b, "korean"))

    # C critiqued A's very images in the same second, in batches with the same numbers: one row per
    # filepath, the tie broken by workspace id; neither workspace re-merges afterwards
    out_c = sync.sync(Workspace(c), force=True, db=db).as_json()
    if out_c["workspace_id"] > out_a["workspace_id"]:  # C's critiques win the tie: they replace A's
        assert out_c["updated"] == 10 and out_c["inserted"] == 0
    else:  # A's rows are as new as C's records: found in the table, nothing to write
        assert not out_c["merged"] and out_c["reconciled"][0]["now_merged"] == [1, 2]
    for root in (a, b, c):
        again = sync.sync(Workspace(root), force=True, db=db).as_json()
        assert again["records"] == 0 and not again["merged"], again["reconciled"]
        assert unmerged(root, env) == 0
    rows = rows_of(db, env)
    assert len(rows) == len({r["filepath"] for r in rows}) == 20
    want = newest_wanted(a, b, c)
    assert {r["filepath"]: (r["accepted_at"].isoformat().replace("+00:00", "Z"), r["batch_id"], r["workspace_id"]) for r in rows} == want


def test_workspace_id_file(tmp_path):
    root = sup.make_ws(tmp_path / "ws", {"korean": 10})
    sup.produce(root, "korean", 1)
    out = sup.run_json("sync_to_lancedb.py", "--force", ws=root)
    path = root / "checkpoints" / sync_state.WORKSPACE_ID_FILE
    assert json.loads(path.read_text())["workspace_id"] == out["workspace_id"]
    assert {r["workspace_id"] for r in rows_of(str(root / "lancedb"), {})} == {out["workspace_id"]}
    # a broken id file is an input error naming it, never silently replaced (that would disown the rows)
    path.write_text('{"workspace_id": "not hex"}', encoding="utf-8")
    proc = sup.run("sync_to_lancedb.py", "--force", ws=root)
    assert proc.returncode == 2 and "workspace_id.json" in proc.stderr and "Traceback" not in proc.stderr


def test_lance_primary_key_retries_a_racing_insert(tmp_path):
    """The engine's own protection, as this package uses it: two writers that both saw filepaths
    missing insert them; the second commit conflicts and is retried as an update (no duplicate).
    Our merge runs without the scalar index, whose path skips the check (measured: duplicates)."""
    import lancedb

    target = database.Target(str(tmp_path / "db"), "db", tmp_path / "db", None)
    table = lancedb.connect(target.uri).create_table(database.TABLE, schema=database.table_schema())
    assert database.has_primary_key(table)
    root = sup.make_ws(tmp_path / "ws", {"korean": 10})
    sup.produce(root, "korean", 2)
    from datetime import datetime, timezone

    rows = [{**sync.record_row(r, datetime.now(timezone.utc)), "workspace_id": "a" * 32, "sync_id": "s"}
            for r in sup.accepted(root, "korean").values()]
    sync.merge_rows(table, database.rows_table(rows[:2]), target)
    database.ensure_indices(table, target)  # the btree index on filepath exists, as in a real table
    first = lancedb.connect(target.uri).open_table(database.TABLE)
    second = lancedb.connect(target.uri).open_table(database.TABLE)  # both see 2 rows
    r1 = sync.merge_rows(first, database.rows_table(rows), target)
    r2 = sync.merge_rows(second, database.rows_table(rows), target)
    assert (r1.num_inserted_rows, r2.num_inserted_rows) == (8, 0) and r2.num_attempts >= 2
    fps = lancedb.connect(target.uri).open_table(database.TABLE).to_arrow()["filepath"].to_pylist()
    assert len(fps) == len(set(fps)) == 10


def test_duplicates_removed_newest_kept(tmp_path):
    """A table from before the primary key, holding duplicates (two writers at once): the next sync
    declares the key, keeps the newest row of each filepath and says how many rows it removed."""
    import lancedb
    import pyarrow as pa
    from datetime import datetime, timedelta, timezone

    root = sup.make_ws(tmp_path / "ws", {"korean": 10})
    sup.produce(root, "korean", 1)
    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    base = {f.name: None for f in database.arrow_schema()}

    def row(fp, at, batch, ws=None, sid=None, zh="旧"):
        return {**base, "filepath": fp, "culture": "korean", "critique_zh": zh, "critique_en": "old words here",
                "covered_dimensions": ["KR_L1_D1"], "accepted_at": at, "batch_id": batch, "workspace_id": ws, "sync_id": sid}

    rows = [
        row("x/1.jpg", t0, 1, zh="older"), row("x/1.jpg", t0 + timedelta(seconds=1), 1, zh="newest"),
        row("x/2.jpg", t0, 1, "a" * 32, zh="lower id"), row("x/2.jpg", t0, 1, "b" * 32, zh="higher id"),
        row("x/2.jpg", t0, 1, None, zh="no id"),
        row("x/3.jpg", t0, 2, "c" * 32, "s1", zh="identical 1"), row("x/3.jpg", t0, 2, "c" * 32, "s2", zh="identical 2"),
        row("x/4.jpg", t0, 3, zh="alone"), row("it's.jpg", t0, 1, zh="q old"), row("it's.jpg", t0, 2, zh="q new"),
    ]
    legacy = lancedb.connect(str(root / "lancedb")).create_table("critiques", data=pa.Table.from_pylist(rows, schema=database.arrow_schema()))
    assert not database.has_primary_key(legacy)
    proc = sup.run("sync_to_lancedb.py", "--force", ws=root)
    assert proc.returncode == 0, proc.stderr
    assert "removed 5 duplicate rows" in proc.stdout  # issue 12: plural
    table = lancedb.connect(str(root / "lancedb")).open_table("critiques")
    assert database.has_primary_key(table)
    kept = {r["filepath"]: r["critique_zh"] for r in table.to_arrow().to_pylist() if not r["filepath"].startswith("images/")}
    assert kept == {"x/1.jpg": "newest", "x/2.jpg": "higher id", "x/3.jpg": "identical 2", "x/4.jpg": "alone", "it's.jpg": "q new"}
    assert table.count_rows() == 5 + 5
    out = sup.run_json("sync_to_lancedb.py", "--force", ws=root)
    assert out["duplicates_removed"] == 0 and not out["primary_key_added"]


def test_table_from_before_the_id_columns_is_repaired(tmp_path):
    """A table of an older version (no workspace_id/sync_id, no primary key) where two workspaces
    left two rows for one filepath: the first sync adds the columns and the key, keeps the newest."""
    import lancedb
    import pyarrow as pa
    from datetime import datetime, timedelta, timezone

    root = sup.make_ws(tmp_path / "ws", {"korean": 10})
    sup.produce(root, "korean", 1)
    old = pa.schema([f for f in database.arrow_schema() if f.name not in ("workspace_id", "sync_id")])
    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    base = {f.name: None for f in old}
    rows = [{**base, "filepath": "old/1.jpg", "culture": "korean", "critique_zh": zh, "accepted_at": t0 + timedelta(seconds=s), "batch_id": 1}
            for zh, s in (("older", 0), ("newer", 5))]
    lancedb.connect(str(root / "lancedb")).create_table("critiques", data=pa.Table.from_pylist(rows, schema=old))
    out = sync.sync(Workspace(root), force=True).as_json()
    assert sorted(out["columns_added"]) == ["sync_id", "workspace_id"] and out["primary_key_added"]
    assert out["duplicates_removed"] == 1 and out["inserted"] == 5
    kept = [r["critique_zh"] for r in rows_of(str(root / "lancedb"), {}) if r["filepath"] == "old/1.jpg"]
    assert kept == ["newer"]


def test_rollback_keeps_search_and_versions_agree(tmp_path):
    root = sup.make_ws(tmp_path / "ws", {"korean": 30})
    ws = Workspace(root)
    sup.produce(root, "korean", 2)
    first = sync.sync(ws, force=True).as_json()
    sup.produce(root, "korean", 2)
    second = sync.sync(ws, force=True).as_json()
    # the version a sync prints is the one --list and export show (and its tag names it)
    assert versions.list_tags(ws)["version"] == second["version"] == second["table_version"]
    assert second["tag"].endswith(f"-v{second['version']}")
    assert export.export(ws, output=str(tmp_path / "all.jsonl"))["version"] == second["version"]
    # rollback to the first merge's own commit (before any index), then to a tag: search works at once
    for to in ("2", first["tag"]):  # version 2: the first merge (1: the empty table)
        out = versions.rollback(ws, to)
        assert out["rows"] == 10 and bool(out["indices_created"]) == (to == "2")
        assert versions.list_tags(ws)["version"] == out["version"]
        hits = search.search(ws, "山水画")["results"]
        assert hits and all(h["batch_id"] in (1, 2) for h in hits)
        assert search.search(ws, "brushwork")["results"]
    text = sup.run("sync_to_lancedb.py", "--rollback", "2", ws=root)
    assert text.returncode == 0 and "indices rebuilt" in text.stdout, text.stderr


# --- several writers at once ---------------------------------------------------------------------

def start_sync(root: Path, db: str, env: dict) -> subprocess.Popen:
    cmd = [sys.executable, str(sup.SCRIPTS / "sync_to_lancedb.py"), "--workspace", str(root), "--json", "--force", "--db", db]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})


def check_one_row_per_filepath(db: str, env: dict, *roots: Path) -> int:
    rows = rows_of(db, env)
    fps = [r["filepath"] for r in rows]
    want = newest_wanted(*roots)
    assert len(fps) == len(set(fps)) == len(want), f"{len(fps)} rows, {len(set(fps))} filepaths, {len(want)} expected"
    got = {r["filepath"]: (r["accepted_at"].isoformat().replace("+00:00", "Z"), r["batch_id"], r["workspace_id"]) for r in rows}
    assert got == want
    return len(fps)


def test_two_workspaces_several_syncs_each_at_once(tmp_path, shared_db, request):
    """Workspaces A and B share 20 of their filepaths; each round both collect new batches, then
    three syncs of each run at once. Every round: rows == distinct filepaths == expected."""
    db, env = shared_db
    rounds, per_ws = (6, 4) if long_mode(request.config) else (2 if db.startswith("/") else 1, 2)
    a = sup.make_ws(tmp_path / "a", {"korean": 10})
    b = sup.make_ws(tmp_path / "b", {"korean": 10})
    images_from(a, "korean", 0, 5 * 4 * rounds)
    images_from(b, "korean", 20, 5 * 4 * rounds)  # images 20.. are in both
    t0 = time.monotonic()
    stats = {"attempts": 0, "removed": 0}
    for _ in range(rounds):
        sup.produce(a, "korean", 4)
        sup.produce(b, "korean", 4, version=1)
        procs = [start_sync(root, db, env) for _ in range(per_ws) for root in (a, b)]
        for p in procs:
            stdout, stderr = p.communicate(timeout=240)
            assert p.returncode == 0 and "Traceback" not in stderr, stderr
            out = json.loads(stdout)
            stats["attempts"] = max(stats["attempts"], out["merge_attempts"])
            stats["removed"] += out["duplicates_removed"]
        n = check_one_row_per_filepath(db, env, a, b)
        assert unmerged(a, env) == unmerged(b, env) == 0
    print(f"\n{request.node.name}: {rounds} rounds x {2 * per_ws} syncs at once, {n} rows == filepaths, "
          f"most merge attempts {stats['attempts']}, {stats['removed']} duplicate rows removed, {time.monotonic() - t0:.1f} s")
