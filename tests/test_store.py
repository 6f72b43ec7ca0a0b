"""The LanceDB merger (critique_batch.store.sync, versions, search, export and the sync/search/export scripts).

Core tests run twice: against a local folder and against S3 (moto's server on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import pytest

import store_support as sup
from critique_batch.store import database, export, search, sync, sync_state
from critique_batch.state.session import run_session
from critique_batch.store import versions as table_versions
from critique_batch.base.errors import InputError, WorkFailed
from critique_batch.files.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path, monkeypatch):
    """(db uri or None for the default folder, env for subprocesses)."""
    if request.param == "local":
        return None, {}
    server = request.getfixturevalue("s3")
    for k, v in server.env.items():
        monkeypatch.setenv(k, v)
    bucket = "b" + hashlib.sha1(str(tmp_path).encode()).hexdigest()[:20]
    return server.bucket(bucket), server.env


def uri_of(root: Path, db: str | None) -> str:
    return db or str(root / "lancedb")


def rows_by_fp(root: Path, db: str | None, env: dict) -> dict[str, dict]:
    rows = sup.table_rows(uri_of(root, db), env or None)
    fps = [r["filepath"] for r in rows]
    assert len(fps) == len(set(fps)), "a filepath is in the table twice"
    return {r["filepath"]: r for r in rows}


def merged_agrees(root: Path, culture: str, by_fp: dict[str, dict]) -> None:
    """merged_batches == the batches with records whose rows are in the table."""
    p = sup.progress(root, culture)
    in_table = {r["batch_id"] for r in by_fp.values() if r["culture"] == culture}
    with_records = sup.batch_ids_with_records(root, culture)
    assert set(p["merged_batches"]) & with_records == in_table & with_records


def test_import_does_not_pull_lancedb():
    code = "import sys; sys.path.insert(0, 'scripts'); " \
           "import critique_batch, critique_batch.store.database, critique_batch.store.sync, critique_batch.store.versions, " \
           "critique_batch.store.search, critique_batch.store.export, critique_batch.report.status; " \
           "assert 'lancedb' not in sys.modules and 'pyarrow' not in sys.modules, sorted(m for m in sys.modules if 'arrow' in m)"
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", code], cwd=sup.ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_sync_twice_same_rows(tmp_path, backend):
    db, env = backend
    root = sup.make_ws(tmp_path / "ws", {"korean": 40, "chinese": 30})
    sup.produce(root, "korean", 6)
    sup.produce(root, "chinese", 4, skip_every=4)
    ws = Workspace(root)
    first = sync.sync(ws, force=True, db=db).as_json()
    expected = {**sup.accepted(root, "korean"), **sup.accepted(root, "chinese")}
    assert first["merged"] and first["inserted"] == len(expected) == 30 + 16 and first["updated"] == 0
    assert first["tag"].startswith("sync-") and first["tag"].endswith(f"-v{first['version']}")
    rows = rows_by_fp(root, db, env)
    assert set(rows) == set(expected)
    for fp, rec in expected.items():
        row = rows[fp]
        for k in ("culture", "artist", "title", "critique_zh", "critique_en", "covered_dimensions", "quality_score", "batch_id"):
            assert row[k] == rec[k], k
        assert row["art_form"] == rec.get("art_form") and row["medium"] == rec.get("medium")
        extra = json.loads(row["extra"])
        assert extra["generator_model"] == "test-double"
        assert extra.get("dynasty") == rec.get("dynasty")
        assert row["accepted_at"].isoformat().replace("+00:00", "Z") == rec["accepted_at"]
    for c in ("korean", "chinese"):
        merged_agrees(root, c, rows)
        assert sup.progress(root, c)["merged_batches"] == sup.progress(root, c)["completed_batches"]

    again = sync.sync(ws, force=True, db=db).as_json()
    assert not again["merged"] and again["records"] == 0 and again["reconciled"] == []
    assert again["table_version"] == first["table_version"]
    assert rows_by_fp(root, db, env) == rows

    # merged_batches lost (kept state): the re-merge is a no-op on the rows
    for c in ("korean", "chinese"):
        run_session(ws, c, lambda s: s.set_merged([]))
    third = sync.sync(ws, force=True, db=db).as_json()
    assert not third["merged"] and third["inserted"] == 0 and third["updated"] == 0 and third["unchanged"] == 46
    # nothing written: no new version, no tag (a merge_insert that changes nothing would still commit one)
    assert third["table_version"] == first["table_version"] and third["tag"] is None
    assert rows_by_fp(root, db, env) == rows  # merged_at too: nothing was rewritten

    # lost again, and the state file with it: re-derived from the table, nothing to merge
    for c in ("korean", "chinese"):
        run_session(ws, c, lambda s: s.set_merged([]))
    (root / "checkpoints" / sync_state.STATE_FILE).unlink()
    fourth = sync.sync(ws, db=db, force=True).as_json()
    assert not fourth["merged"] and {r["culture"] for r in fourth["reconciled"]} == {"korean", "chinese"}
    for c in ("korean", "chinese"):
        assert sup.progress(root, c)["merged_batches"] == sup.progress(root, c)["completed_batches"]
    assert rows_by_fp(root, db, env) == rows


def test_threshold_rule(tmp_path):
    root = sup.make_ws(tmp_path / "ws", {"korean": 40, "chinese": 10}, threshold=12)
    ws = Workspace(root)
    sup.produce(root, "korean", 2)  # 10 waiting < 12, work left
    out = sync.sync(ws).as_json()
    assert not out["merged"] and not (root / "lancedb").exists()
    assert [c["due"] for c in out["cultures"]] == [False]
    sup.produce(root, "korean", 1)  # 15 >= 12
    sup.produce(root, "chinese", 2)  # 10 < 12, but every image is done: due as well
    dry = sync.sync(ws, dry_run=True).as_json()
    assert dry["would_merge"] == ["korean", "chinese"] and dry["records"] == 25
    out = sync.sync(ws).as_json()
    assert out["inserted"] == 25
    sup.produce(root, "korean", 1)  # 5 waiting, work left: not due; --culture --force merges it
    assert not sync.sync(ws).as_json()["merged"]
    out = sync.sync(ws, culture="korean", force=True).as_json()
    assert out["inserted"] == 5 and [c["culture"] for c in out["cultures"]] == ["korean"]


def test_regenerated_critique_replaces_row(tmp_path, backend, monkeypatch):
    """A second expansion run (another workspace, same images) re-critiques them: rows replaced, never duplicated."""
    db, env = backend
    db = db or str(tmp_path / "shared_db")
    first = sup.make_ws(tmp_path / "first", {"korean": 20})
    sup.produce(first, "korean", 4, version=0)
    assert sync.sync(Workspace(first), force=True, db=db).as_json()["inserted"] == 20
    second = sup.make_ws(tmp_path / "second", {"korean": 20})
    monkeypatch.setenv("CRITIQUE_BATCH_NOW", "2031-01-01T00:00:00Z")  # later than the first run, whatever the speed
    sup.produce(second, "korean", 2, version=1)
    out = sync.sync(Workspace(second), force=True, db=db).as_json()
    monkeypatch.delenv("CRITIQUE_BATCH_NOW")
    assert out["inserted"] == 0 and out["updated"] == 10 and out["reconciled"] == []
    rows = rows_by_fp(tmp_path, db, env)
    assert len(rows) == 20
    new = sup.accepted(second, "korean")
    for fp, row in rows.items():
        want = new.get(fp) or sup.accepted(first, "korean")[fp]
        assert row["critique_zh"] == want["critique_zh"] and row["critique_en"] == want["critique_en"]
    assert sum(1 for r in rows.values() if r["critique_zh"].endswith("第1稿")) == 10
    # the first workspace re-merging its (older) batches never rolls the new critiques back
    for_first = Workspace(first)
    run_session(for_first, "korean", lambda s: s.set_merged([]))
    (first / "checkpoints" / sync_state.STATE_FILE).unlink()
    out = sync.sync(for_first, force=True, db=db).as_json()
    assert out["updated"] == 0 and out["inserted"] == 0
    assert rows_by_fp(tmp_path, db, env) == rows


def test_optional_field_added_to_existing_table(tmp_path):
    """A table made before a column existed (and with a column of its own) keeps working."""
    import lancedb
    import pyarrow as pa

    root = sup.make_ws(tmp_path / "ws", {"korean": 20})
    old_fields = [f for f in database.arrow_schema() if f.name not in ("medium", "extra", "art_genre")]
    old_schema = pa.schema(old_fields + [pa.field("reviewer_note", pa.string())])
    conn = lancedb.connect(str(root / "lancedb"))
    old_row = {f.name: None for f in old_schema}
    old_row.update(filepath="images/legacy/old.jpg", culture="korean", critique_zh="旧的评论", critique_en="an old critique",
                   covered_dimensions=["KR_L1_D1"], quality_score=80.0, batch_id=999, reviewer_note="checked by hand")
    conn.create_table("critiques", data=pa.Table.from_pylist([old_row], schema=old_schema))
    sup.produce(root, "korean", 2)
    out = sync.sync(Workspace(root), force=True).as_json()
    assert sorted(out["columns_added"]) == ["art_genre", "extra", "medium"]
    assert out["inserted"] == 10
    rows = rows_by_fp(root, None, {})
    assert rows["images/legacy/old.jpg"]["reviewer_note"] == "checked by hand"
    assert rows["images/legacy/old.jpg"]["medium"] is None
    new = [r for fp, r in rows.items() if fp != "images/legacy/old.jpg"]
    assert all(r["reviewer_note"] is None for r in new)
    assert {r["medium"] for r in new} == {"ink on silk", None}
    assert search.search(Workspace(root), "旧的评论")["results"][0]["filepath"] == "images/legacy/old.jpg"
    # a column of the wrong type is refused with a message, not a traceback
    conn.drop_table("critiques")
    bad = pa.schema([pa.field("filepath", pa.string(), nullable=False), pa.field("quality_score", pa.string())])
    conn.create_table("critiques", data=pa.Table.from_pylist([{"filepath": "x", "quality_score": "high"}], schema=bad))
    run_session(Workspace(root), "korean", lambda s: s.set_merged([]))
    with pytest.raises(WorkFailed, match="quality_score"):
        sync.sync(Workspace(root), force=True)


def test_rollback_then_resync(tmp_path, backend):
    db, env = backend
    root = sup.make_ws(tmp_path / "ws", {"korean": 40})
    ws = Workspace(root)
    first_batches = sup.produce(root, "korean", 3)
    first = sync.sync(ws, force=True, db=db).as_json()
    later_batches = sup.produce(root, "korean", 3)
    second = sync.sync(ws, force=True, db=db).as_json()
    assert len(rows_by_fp(root, db, env)) == 30
    tags = table_versions.list_tags(ws, db=db)["tags"]
    assert [t["tag"] for t in tags] == [first["tag"], second["tag"]] and [t["rows"] for t in tags] == [15, 30]

    out = table_versions.rollback(ws, first["tag"], db=db)
    assert out["restored"] == first["version"] and out["rows"] == 15 and out["tag"].startswith("rollback-")
    assert out["reconciled"] == [{"culture": "korean", "now_unmerged": later_batches, "now_merged": []}]
    rows = rows_by_fp(root, db, env)
    assert {r["batch_id"] for r in rows.values()} == set(first_batches)
    assert sup.progress(root, "korean")["merged_batches"] == first_batches
    merged_agrees(root, "korean", rows)
    assert sync.sync(ws, dry_run=True, force=True, db=db).as_json()["records"] == 15

    again = sync.sync(ws, force=True, db=db).as_json()
    assert again["inserted"] == 15 and again["reconciled"] == []
    rows = rows_by_fp(root, db, env)
    assert set(rows) == set(sup.accepted(root, "korean"))
    merged_agrees(root, "korean", rows)
    # by version number too; a bad target is an InputError naming --rollback
    out = table_versions.rollback(ws, str(first["version"]), db=db)
    assert out["rows"] == 15
    with pytest.raises(InputError, match="--rollback"):
        table_versions.rollback(ws, "sync-19990101T000000Z-v1", db=db)


def test_chinese_and_english_full_text_search(tmp_path, backend, monkeypatch):
    db, env = backend
    root = sup.make_ws(tmp_path / "ws", {"korean": 30, "chinese": 30})
    sup.produce(root, "korean", 6)
    sup.produce(root, "chinese", 6)
    ws = Workspace(root)
    sync.sync(ws, force=True, db=db)
    recs = {**sup.accepted(root, "korean"), **sup.accepted(root, "chinese")}
    for query, needle in (("唐代仕女", "唐代仕女"), ("江南烟雨", "江南烟雨"), ("留白", "留白")):
        out = search.search(ws, query, limit=50, db=db)
        assert out["column"] == "critique_zh" and out["lang"] == "zh"
        want = {fp for fp, r in recs.items() if needle in r["critique_zh"]}
        got = [r["filepath"] for r in out["results"]]
        assert want and set(got[: len(want)]) == want, query  # every critique with the phrase ranks first
    assert search.search(ws, "电脑", db=db)["results"] == []
    out = search.search(ws, "唐代仕女", culture="chinese", limit=50, db=db)
    assert out["results"] and {r["culture"] for r in out["results"]} == {"chinese"}
    out = search.search(ws, "bamboo", limit=100, min_quality=80, db=db)
    want = {fp for fp, r in recs.items() if "bamboo" in r["critique_en"].split() and r["quality_score"] >= 80}
    assert out["column"] == "critique_en" and {r["filepath"] for r in out["results"]} == want
    # rows merged after the index was built are found too (before any optimize)
    write = sup.make_ws(tmp_path / "other", {"korean": 30})
    monkeypatch.setenv("CRITIQUE_BATCH_NOW", "2031-01-01T00:00:00Z")
    sup.produce(write, "korean", 1, version=7)
    assert sync.sync(Workspace(write), force=True, db=uri_of(root, db)).as_json()["updated"] == 5
    assert search.search(ws, "第7稿", limit=10, db=db)["results"][0]["critique_zh"].endswith("第7稿")


def test_export_shape(tmp_path, backend):
    db, env = backend
    root = sup.make_ws(tmp_path / "ws", {"korean": 20, "chinese": 20})
    sup.produce(root, "korean", 2)
    sup.produce(root, "chinese", 3)
    ws = Workspace(root)
    sync.sync(ws, force=True, db=db)
    out = export.export(ws, db=db)
    lines = (root / "exports" / "critiques.jsonl").read_text(encoding="utf-8").splitlines()
    assert out["records"] == len(lines) == 25
    recs = [json.loads(line) for line in lines]
    for r in recs:  # the published keys in their order; the last four only when the record has them
        keys = [k for k in export.EXPORT_FIELDS if k not in ("art_form", "art_style", "art_genre", "medium") or r.get(k) is not None]
        assert list(r) == keys
    assert {len(r) for r in recs} == {10, 12}  # half the images have art_form and medium
    assert sorted(r["pair_id"] for r in recs) == [f"PAIR_{i:05d}" for i in range(1, 26)]
    assert [r["pair_id"] for r in recs] == sorted(r["pair_id"] for r in recs)
    assert len({r["ulid"] for r in recs}) == 25 and all(len(r["ulid"]) == 26 for r in recs)
    accepted = {**sup.accepted(root, "korean"), **sup.accepted(root, "chinese")}
    for r in recs:
        src = accepted[r["image_path"]]
        fields = ("culture", "artist", "critique_zh", "covered_dimensions")
        assert [r[k] for k in fields] == [src[k] for k in fields]
        assert r.get("medium") == src.get("medium") and isinstance(r["quality_score"], float)
    by_pair = {r["image_path"]: (r["pair_id"], r["ulid"]) for r in recs}
    dest = tmp_path / "kr.jsonl"
    out = export.export(ws, culture="korean", output=str(dest), db=db, dims_as_text=True)
    kr = [json.loads(line) for line in dest.read_text(encoding="utf-8").splitlines()]
    assert out["records"] == len(kr) == 10 and {r["culture"] for r in kr} == {"korean"}
    assert all((r["pair_id"], r["ulid"]) == by_pair[r["image_path"]] for r in kr)  # filtering renumbers nothing
    assert all(json.loads(r["covered_dimensions"]) == accepted[r["image_path"]]["covered_dimensions"] for r in kr)


def test_crash_between_commit_and_record_heals(tmp_path, backend):
    db, env = backend
    root = sup.make_ws(tmp_path / "ws", {"korean": 20, "chinese": 20})
    ws = Workspace(root)
    for i, stage in enumerate(("committed", "tagged", "marked korean")):
        sup.produce(root, "korean", 1)
        sup.produce(root, "chinese", 1)

        def crash(at, stage=stage):
            if at == stage:
                raise KeyboardInterrupt(stage)

        with pytest.raises(KeyboardInterrupt):
            sync.sync(ws, force=True, db=db, hook=crash)
        rows = rows_by_fp(root, db, env)
        assert len(rows) == 10 * (i + 1)  # committed, not recorded (chinese at least)
        assert sup.batch_ids_with_records(root, "chinese") - set(sup.progress(root, "chinese")["merged_batches"])
        out = sync.sync(ws, db=db, force=True).as_json()  # nothing new to merge: only the healing
        assert not out["merged"] and out["reconciled"]
        rows = rows_by_fp(root, db, env)
        for c in ("korean", "chinese"):
            merged_agrees(root, c, rows)
            assert set(sup.progress(root, c)["merged_batches"]) == sup.batch_ids_with_records(root, c)
        assert set(rows) == set(sup.accepted(root, "korean")) | set(sup.accepted(root, "chinese"))


def test_optimize_keeps_tagged_versions(tmp_path, monkeypatch):
    from datetime import timedelta

    monkeypatch.setattr(database, "OPTIMIZE_EVERY", 3)
    monkeypatch.setattr(database, "KEEP_SYNC_TAGS", 4)
    monkeypatch.setattr(table_versions, "PRUNE_MIN_AGE", timedelta(milliseconds=1))
    monkeypatch.setattr(table_versions, "PRUNE_MARGIN", timedelta(milliseconds=150))
    root = sup.make_ws(tmp_path / "ws", {"korean": 60})
    ws = Workspace(root)
    outs = []
    for _ in range(6):
        sup.produce(root, "korean", 1)
        outs.append(sync.sync(ws, force=True).as_json())
        time.sleep(0.3)  # versions further apart than PRUNE_MARGIN
    assert [o["optimized"] for o in outs] == [False, False, True, False, False, True]
    import lancedb

    table = lancedb.connect(str(root / "lancedb")).open_table("critiques")
    tags = table.tags.list()
    kept = [o["tag"] for o in outs[-4:]]
    assert set(kept) <= set(tags) and outs[0]["tag"] not in tags and outs[1]["tag"] not in tags
    versions = {v["version"] for v in table.list_versions()}
    assert outs[0]["version"] not in versions and outs[1]["version"] not in versions  # pruned: no tag kept them
    assert {tags[t]["version"] for t in kept} <= versions
    assert tags[table_versions.OPTIMIZED_TAG]["version"] == table.version
    for i, o in enumerate(outs[-4:], start=3):
        table.checkout(o["tag"])
        assert table.count_rows() == 5 * i
    table.checkout_latest()
    assert all(ix.num_unindexed_rows == 0 for ix in table.list_indices())
    assert table_versions.rollback(ws, outs[2]["tag"])["rows"] == 15


def test_dry_run_changes_nothing(tmp_path):
    def tree(root: Path) -> dict[str, str]:
        return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}

    root = sup.make_ws(tmp_path / "ws", {"korean": 30})
    sup.produce(root, "korean", 2)
    before = tree(root)
    out = sup.run_json("sync_to_lancedb.py", "--dry-run", "--force", ws=root)
    assert out["dry_run"] and out["records"] == 10 and out["would_merge"] == ["korean"]
    assert tree(root) == before and not (root / "lancedb").exists()
    sync.sync(Workspace(root), force=True)
    sup.produce(root, "korean", 1)
    before = tree(root)
    proc = sup.run("sync_to_lancedb.py", "--dry-run", "--force", ws=root)
    # issue 12: wording
    assert proc.returncode == 0 and "would merge 5 records (korean 5)" in proc.stdout and "recording 1 batch as merged" in proc.stdout
    assert tree(root) == before


def test_scripts_end_to_end(tmp_path):
    """The scripts as a user runs them: short output, --json, exit codes, no traceback."""
    root = sup.make_ws(tmp_path / "ws", {"korean": 30, "chinese": 30})
    sup.produce(root, "korean", 2)
    sup.produce(root, "chinese", 2)
    proc = sup.run("search_critiques.py", "留白", ws=root)
    assert proc.returncode == 1 and "run sync_to_lancedb.py" in proc.stderr and "Traceback" not in proc.stderr
    proc = sup.run("sync_to_lancedb.py", ws=root)
    assert proc.returncode == 0 and "nothing to merge" in proc.stdout and "korean 10 waiting (sync at 100)" in proc.stdout
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from critique_batch.store import sync; "
            "from critique_batch.files.workspace import Workspace; "
            "out = sync.sync(Workspace(sys.argv[2])).as_json(); assert not out['merged'] and 'lancedb' not in sys.modules, out")
    import subprocess
    import sys

    check = subprocess.run([sys.executable, "-c", code, str(sup.SCRIPTS), str(root)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr  # "not due yet" does not pay for importing lancedb
    proc = sup.run("sync_to_lancedb.py", "--force", ws=root)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("merged 20 records (korean 10, chinese 10): 20 inserted")  # issue 12: wording
    assert lines[0].endswith("; 4 batches recorded as merged")
    assert ", tag sync-" in lines[1] and "20 rows" in lines[1]
    out = sup.run_json("search_critiques.py", "唐代仕女", "--culture", "korean", "--limit", "3", ws=root)
    assert 0 < len(out["results"]) <= 3 and all("唐代仕女" in r["critique_zh"] for r in out["results"][:1])
    proc = sup.run("search_critiques.py", "literati", "--limit", "2", ws=root)
    assert proc.returncode == 0 and proc.stdout.startswith("1. [") and len(proc.stdout.splitlines()) == 6
    proc = sup.run("export_critiques.py", "--output", "-", "--culture", "chinese", ws=root)
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 10 and "wrote 10 records" in proc.stderr
    listed = sup.run_json("sync_to_lancedb.py", "--list", ws=root)
    tag = listed["tags"][0]["tag"]
    out = sup.run_json("sync_to_lancedb.py", "--rollback", tag, ws=root)
    assert out["restored_tag"] == tag
    for args, code, text in (
        (("sync_to_lancedb.py", "--rollback", "sync-nope"), 2, "no tag 'sync-nope'"),
        (("sync_to_lancedb.py", "--rollback", "3", "--force"), 2, "cannot be combined"),
        (("sync_to_lancedb.py", "--culture", "martian"), 2, "not in the plan"),
        (("sync_to_lancedb.py", "--db", str(root / "checkpoints" / "korean_expansion_progress.json")), 2, "expected a database folder"),
        (("search_critiques.py", "  "), 2, "non-empty query"),
        (("export_critiques.py", "--output", "-", "--json"), 2, "pick one"),
    ):
        proc = sup.run(*args, ws=root)
        assert proc.returncode == code and text in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)
        proc = sup.run(*args, "--json", ws=root)
        assert proc.returncode == code and json.loads(proc.stdout)["ok"] is False


def test_bad_storage_options_env(tmp_path, monkeypatch):
    root = sup.make_ws(tmp_path / "ws", {"korean": 10})
    monkeypatch.setenv("CRITIQUE_BATCH_STORAGE_OPTIONS", "{not json")
    with pytest.raises(InputError, match="CRITIQUE_BATCH_STORAGE_OPTIONS"):
        sync.sync(Workspace(root), force=True)
    monkeypatch.setenv("CRITIQUE_BATCH_STORAGE_OPTIONS", json.dumps({"allow_http": True}))
    monkeypatch.setenv("CRITIQUE_BATCH_DB", str(tmp_path / "elsewhere"))
    sup.produce(root, "korean", 1)
    assert sync.sync(Workspace(root), force=True).as_json()["inserted"] == 5
    assert (tmp_path / "elsewhere" / "critiques.lance").is_dir() and not (root / "lancedb").exists()


def test_progress_bar_only_on_a_terminal(tmp_path):
    import os
    import pty
    import subprocess
    import sys

    root = sup.make_ws(tmp_path / "ws", {"korean": 50})
    sup.produce(root, "korean", 8)
    env = dict(os.environ, CRITIQUE_BATCH_PROGRESS_MIN_RECORDS="30")
    cmd = [sys.executable, str(sup.SCRIPTS / "sync_to_lancedb.py"), "--force", "--workspace", str(root)]
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=slave, env=env, timeout=120)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    tty = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0 and b"merged 40 records" in proc.stdout
    assert "reading batches [" in tty and "8/8" in tty and "merging 40 records" in tty
    sup.produce(root, "korean", 2)
    proc = sup.run("sync_to_lancedb.py", "--force", ws=root, env={"CRITIQUE_BATCH_PROGRESS_MIN_RECORDS": "1"})
    assert proc.returncode == 0 and proc.stderr == ""  # not a terminal: the summary only
    assert proc.stdout.startswith("merged 10 records")


def test_export_of_a_tagged_version(tmp_path):
    root = sup.make_ws(tmp_path / "ws", {"korean": 20})
    ws = Workspace(root)
    sup.produce(root, "korean", 1)
    first = sync.sync(ws, force=True).as_json()
    sup.produce(root, "korean", 2)
    sync.sync(ws, force=True)
    out = export.export(ws, version=first["tag"], output=str(tmp_path / "old.jsonl"))
    assert out["records"] == 5 and len((tmp_path / "old.jsonl").read_text(encoding="utf-8").splitlines()) == 5
    assert export.export(ws, output=str(tmp_path / "new.jsonl"))["records"] == 15
    with pytest.raises(InputError, match="--version"):
        export.export(ws, version="999")


def test_sync_progress_bar_fills_a_cell_once_reached(monkeypatch):
    """The progress bar on a terminal, as before the store split: 1 of 4 batches is 7 of 30 cells."""
    import io

    err = io.StringIO()
    err.isatty = lambda: True
    monkeypatch.setattr(sys, "stderr", err)
    bar = sync.ProgressBar(4, 10**9, "reading batches")
    bar.step()
    assert err.getvalue() == "\rreading batches [" + "#" * 7 + "-" * 23 + "] 1/4"
