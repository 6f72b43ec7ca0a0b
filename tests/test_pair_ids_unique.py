"""Issue 20, sections 5 and 7b: a pair_id once given is never given to another image (a baseline
that reuses one is refused, naming both records; every merge checks the table), the baseline and
sync locks exclude each other, and an interrupted --baseline says what it left and heals on rerun."""

from __future__ import annotations

import json

import pytest

import store_support as sup
from test_export_baseline import published_line, write_published

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def synced_three(root):
    """A workspace whose table numbered three generated records PAIR_00001-3 (no baseline yet)."""
    sup.make_ws(root, {"korean": 0}, batch_size=3)
    sup.write_candidates(root, "korean", 3)
    sup.produce(root, "korean", 1)
    assert sup.run_json("sync_to_lancedb.py", "--force", ws=root)["pair_ids_given"] == 3
    rows = sup.table_rows(str(root / "lancedb"))
    return {r["pair_id"]: r["filepath"] for r in rows}


def exported_pair_ids(root, tmp_path, *args) -> list[str]:
    out = tmp_path / "export.jsonl"
    sup.run_json("export_critiques.py", "--output", out, *args, ws=root)
    return [json.loads(line)["pair_id"] for line in out.read_text(encoding="utf-8").splitlines()]


def test_baseline_reusing_a_given_pair_id_is_refused(tmp_path):
    root = tmp_path / "ws"
    given = synced_three(root)
    write_published(tmp_path / "pub.jsonl", [published_line("korean", 1, 9), published_line("korean", 2, 2)])
    proc = sup.run("set_baseline.py", tmp_path / "pub.jsonl", ws=root)
    assert proc.returncode == 2, proc.stderr
    # both records named: the published line and the table's row
    assert "pub.jsonl: line 2.pair_id: PAIR_00002 of '/mnt/i/VULCA 2.0/data/optimized_images/korean/work 2.jpg'" in proc.stderr
    assert f"already the pair_id of {given['PAIR_00002']!r} in the critiques table" in proc.stderr
    assert "never given to another image" in proc.stderr and "Traceback" not in proc.stderr
    assert not (root / "checkpoints" / "baseline.json").exists()  # nothing changed
    assert sup.run("set_baseline.py", tmp_path / "pub.jsonl", "--dry-run", ws=root).returncode == 2
    assert exported_pair_ids(root, tmp_path) == ["PAIR_00001", "PAIR_00002", "PAIR_00003"]


def test_baseline_merge_into_a_shared_table_that_gave_the_pair_id_is_refused(tmp_path):
    """Another workspace numbered records in a shared database: set_baseline.py saw no table of its
    own, `--baseline --db SHARED` checks again before inserting anything."""
    shared = tmp_path / "a" / "lancedb"
    given = synced_three(tmp_path / "a")
    b = sup.make_ws(tmp_path / "b", {"korean": 0})
    write_published(tmp_path / "pub.jsonl", [published_line("korean", 7, 3)])
    sup.run_json("set_baseline.py", tmp_path / "pub.jsonl", ws=b)
    proc = sup.run("sync_to_lancedb.py", "--baseline", "--db", shared, ws=b)
    assert proc.returncode == 2, proc.stderr
    assert "pub.jsonl: line 1.pair_id: PAIR_00003" in proc.stderr and repr(given["PAIR_00003"]) in proc.stderr
    assert len(sup.table_rows(str(shared))) == 3


def test_baseline_set_before_the_first_sync_numbers_new_records_after_it(tmp_path):
    root = sup.make_ws(tmp_path / "ws", {"korean": 0}, batch_size=3)
    write_published(tmp_path / "pub.jsonl", [published_line("korean", 1, 2)])
    sup.run_json("set_baseline.py", tmp_path / "pub.jsonl", ws=root)
    sup.run_json("sync_to_lancedb.py", "--baseline", ws=root)
    sup.write_candidates(root, "korean", 3)
    sup.produce(root, "korean", 1)
    sup.run_json("sync_to_lancedb.py", "--force", ws=root)
    ids = exported_pair_ids(root, tmp_path, "--whole-dataset")  # published and new: every id once
    assert sorted(ids) == ["PAIR_00002", "PAIR_00003", "PAIR_00004", "PAIR_00005"] and len(set(ids)) == len(ids)


def test_sync_fails_loudly_when_the_table_gives_a_pair_id_twice(tmp_path):
    """A table an older version left with one pair_id on two images: the next merge completes, then
    exits 1 naming the rows (which one keeps the number is the dataset owner's call)."""
    import lancedb

    root = tmp_path / "ws"
    given = synced_three(root)
    table = lancedb.connect(str(root / "lancedb")).open_table("critiques")
    table.update(where=f"filepath = '{given['PAIR_00003']}'", values={"pair_id": "PAIR_00002"})
    sup.write_candidates(root, "korean", 6)
    sup.produce(root, "korean", 1)
    proc = sup.run("sync_to_lancedb.py", "--force", ws=root)
    assert proc.returncode == 1, proc.stderr
    assert "gives 1 pair_id(s) to more than one image (PAIR_00002: " in proc.stderr
    assert repr(given["PAIR_00002"]) in proc.stderr and repr(given["PAIR_00003"]) in proc.stderr
    assert "The merge itself is complete" in proc.stderr and "Traceback" not in proc.stderr
    assert sup.progress(root, "korean")["merged_batches"] == [1, 2]
    assert len(sup.table_rows(str(root / "lancedb"))) == 6
    # nor does an export write the number twice
    out = tmp_path / "export.jsonl"
    proc = sup.run("export_critiques.py", "--output", out, ws=root)
    assert proc.returncode == 1 and "gives 1 pair_id(s) to more than one image (PAIR_00002: " in proc.stderr, proc.stderr
    assert "nothing exported" in proc.stderr and not out.exists()


def test_set_baseline_waits_for_a_running_sync(tmp_path):
    """The baseline and the sync exclude each other: set_baseline.py takes the sync lock."""
    import sys

    sys.path.insert(0, str(sup.SCRIPTS))
    from critique_batch.store.sync_state import sync_lock
    from critique_batch.files.workspace import Workspace

    root = sup.make_ws(tmp_path / "ws", {"korean": 0})
    write_published(tmp_path / "pub.jsonl", [published_line("korean", 1, 2)])
    with sync_lock(Workspace(root)):
        proc = sup.run("set_baseline.py", tmp_path / "pub.jsonl", ws=root, env={"CRITIQUE_BATCH_SYNC_LOCK_TIMEOUT": "1"})
    assert proc.returncode == 1 and "another sync has held the database lock" in proc.stderr, proc.stderr
    assert not (root / "checkpoints" / "baseline.json").exists()
    sup.run_json("set_baseline.py", tmp_path / "pub.jsonl", ws=root)


def test_record_keeping_a_published_pair_id_the_table_gave_away_is_refused(tmp_path):
    """An image re-critiqued keeps its published pair_id; when the table gives that number to
    another image the merge is refused before anything is written."""
    import sys

    sys.path.insert(0, str(sup.SCRIPTS))
    from critique_batch.store import pair_ids
    from critique_batch.store.database import resolve_target
    from critique_batch.base.errors import InputError
    from critique_batch.files.workspace import Workspace

    root = sup.make_ws(tmp_path / "ws", {"korean": 0})
    ws = Workspace(root)
    rows = [{"filepath": "images/korean/again.jpg", "pair_id": "PAIR_00002", "culture": "korean", "batch_id": 4}]
    with pytest.raises(InputError) as err:
        pair_ids._refuse_taken(ws, rows, {"images/korean/other.jpg": ("PAIR_00002", None)}, resolve_target(ws))
    assert "korean_batch_004_result.json" in str(err.value) and "'images/korean/other.jpg'" in str(err.value)
    pair_ids._refuse_taken(ws, rows, {"images/korean/again.jpg": ("PAIR_00002", None)}, resolve_target(ws))  # its own: fine


# --- interrupted (section 7b) ------------------------------------------------------------------------

def fts_columns(uri) -> set[str]:
    import lancedb

    table = lancedb.connect(str(uri)).open_table("critiques")
    return {c for ix in table.list_indices() if str(ix.index_type).upper() == "FTS" for c in ix.columns}


def test_ctrl_c_during_baseline_says_what_it_left_and_a_rerun_heals(tmp_path):
    root = sup.make_ws(tmp_path / "ws", {"korean": 0})
    write_published(tmp_path / "pub.jsonl", [published_line("korean", i, 100 + i) for i in range(1, 4)])
    sup.run_json("set_baseline.py", tmp_path / "pub.jsonl", ws=root)
    # SIGINT (a Ctrl-C) right after the published rows are committed, before the indices
    proc = sup.run("sync_to_lancedb.py", "--baseline", ws=root, env={"CRITIQUE_BATCH_FAULT": "baseline.committed:INT"})
    assert proc.returncode == 130, proc.stderr
    assert "interrupted: the published records are in" in proc.stderr and "run sync_to_lancedb.py --baseline again" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "critique_zh" not in fts_columns(root / "lancedb")
    again = sup.run_json("sync_to_lancedb.py", "--baseline", ws=root)
    assert again["inserted"] == 0 and any(c.startswith("critique_zh") for c in again["indices_created"])
    assert {"critique_zh", "critique_en"} <= fts_columns(root / "lancedb")
    assert sup.run_json("search_critiques.py", "留白", ws=root)["results"]


def test_ctrl_c_after_a_sync_commit_is_named_and_healed(tmp_path):
    root = sup.make_ws(tmp_path / "ws", {"korean": 0}, batch_size=3)
    sup.write_candidates(root, "korean", 3)
    sup.produce(root, "korean", 1)
    proc = sup.run("sync_to_lancedb.py", "--force", ws=root, env={"CRITIQUE_BATCH_FAULT": "sync.committed:INT"})
    assert proc.returncode == 130 and "interrupted: the merge into" in proc.stderr and "is committed" in proc.stderr, proc.stderr
    assert not fts_columns(root / "lancedb")
    again = sup.run_json("sync_to_lancedb.py", "--force", ws=root)
    assert again["indices_created"] and sup.progress(root, "korean")["merged_batches"] == [1]
    assert {"critique_zh", "critique_en"} <= fts_columns(root / "lancedb")


def test_ctrl_c_before_a_sync_commit_left_nothing(tmp_path):
    root = sup.make_ws(tmp_path / "ws", {"korean": 0}, batch_size=3)
    sup.write_candidates(root, "korean", 3)
    sup.produce(root, "korean", 1)
    proc = sup.run("sync_to_lancedb.py", "--force", ws=root, env={"CRITIQUE_BATCH_FAULT": "sync.locked:INT"})
    assert proc.returncode == 130 and "interrupted: nothing half-written" in proc.stderr, proc.stderr
    assert sup.run_json("sync_to_lancedb.py", "--force", ws=root)["inserted"] == 3


def test_baseline_killed_before_its_indices_is_completed_by_the_rerun(tmp_path):
    root = sup.make_ws(tmp_path / "ws", {"korean": 0})
    write_published(tmp_path / "pub.jsonl", [published_line("korean", i, 100 + i) for i in range(1, 4)])
    sup.run_json("set_baseline.py", tmp_path / "pub.jsonl", ws=root)
    proc = sup.run("sync_to_lancedb.py", "--baseline", ws=root, env={"CRITIQUE_BATCH_FAULT": "baseline.committed"})
    assert proc.returncode == -9
    assert len(sup.table_rows(str(root / "lancedb"))) == 3 and not fts_columns(root / "lancedb")
    again = sup.run_json("sync_to_lancedb.py", "--baseline", ws=root)
    assert (again["inserted"], again["already"], again["rows"]) == (0, 3, 3)
    assert {"critique_zh", "critique_en"} <= fts_columns(root / "lancedb")


def test_keyboard_interrupt_at_a_sync_stage_names_the_committed_merge(tmp_path, monkeypatch):
    """In process, through sync()'s hook: a KeyboardInterrupt after the commit leaves the note
    cli.main prints; the next sync marks the batches merged and creates the indices."""
    import sys

    sys.path.insert(0, str(sup.SCRIPTS))
    from critique_batch.base import errors
    from critique_batch.store.sync import sync
    from critique_batch.files.workspace import Workspace

    root = sup.make_ws(tmp_path / "ws", {"korean": 0}, batch_size=3)
    sup.write_candidates(root, "korean", 3)
    sup.produce(root, "korean", 1)

    def hook(stage):
        if stage == "committed":
            raise KeyboardInterrupt

    monkeypatch.setattr(errors, "_left", [errors.NOTHING_HALF_WRITTEN])
    with pytest.raises(KeyboardInterrupt):
        sync(Workspace(root), force=True, hook=hook)
    assert errors.interrupted_state().startswith("the merge into ") and "is committed (table version" in errors.interrupted_state()
    assert sup.progress(root, "korean")["merged_batches"] == []
    report = sync(Workspace(root), force=True)
    assert report.reconciled and report.indices_created and errors.interrupted_state() == errors.NOTHING_HALF_WRITTEN
    assert sup.progress(root, "korean")["merged_batches"] == [1]
