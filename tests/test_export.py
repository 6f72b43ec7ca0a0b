"""The published record shape: pair_ids and ULIDs given once at the merge and kept, exports that
keep a published line's keys and values, and an atomic export file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

import store_support as sup
from support import touch_images
from critique_batch.store import database, export, pair_ids, sync
from critique_batch.files import published
from critique_batch.base.jsonfiles import atomic_write
from critique_batch.files.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
T0 = datetime(2030, 1, 1, tzinfo=timezone.utc)


def export_lines(ws: Workspace, **kw) -> list[dict]:
    dest = ws.root / "exports" / "out.jsonl"
    export.export(ws, output=str(dest), **kw)
    return [json.loads(line) for line in dest.read_text(encoding="utf-8").splitlines()]


def test_pair_ids_do_not_move_when_another_culture_is_merged_later(tmp_path, monkeypatch):
    root = sup.make_ws(tmp_path / "ws", {"korean": 10, "chinese": 10})
    ws = Workspace(root)
    monkeypatch.setenv("CRITIQUE_BATCH_NOW", "2030-01-01T00:00:00Z")
    sup.produce(root, "chinese", 2)  # accepted first ...
    monkeypatch.setenv("CRITIQUE_BATCH_NOW", "2030-01-02T00:00:00Z")
    sup.produce(root, "korean", 2)
    sync.sync(ws, culture="korean", force=True)  # ... but merged second
    first = {r["image_path"]: (r["pair_id"], r["ulid"]) for r in export_lines(ws)}
    assert sorted(p for p, _ in first.values()) == [f"PAIR_{i:05d}" for i in range(1, 11)]
    sync.sync(ws, culture="chinese", force=True)
    second = {r["image_path"]: (r["pair_id"], r["ulid"]) for r in export_lines(ws)}
    assert {fp: second[fp] for fp in first} == first
    assert sorted(p for fp, (p, _) in second.items() if fp not in first) == [f"PAIR_{i:05d}" for i in range(11, 21)]
    # a re-generated critique of an exported image keeps its identifiers
    monkeypatch.setenv("CRITIQUE_BATCH_NOW", "2030-01-03T00:00:00Z")
    other = sup.make_ws(tmp_path / "other", {"korean": 10})
    sup.produce(other, "korean", 2, version=7)
    out = sync.sync(Workspace(other), force=True, db=str(root / "lancedb")).as_json()
    assert out["updated"] == 10 and out["pair_ids_given"] == 0
    assert {r["image_path"]: (r["pair_id"], r["ulid"]) for r in export_lines(ws)} == second


def published_candidate(i: int, **over) -> dict:
    """A candidate as add_candidates.py keeps one from a published line (generator fields dropped)."""
    keys = ["pair_id", "ulid", "culture", "image_path", "artist", "title", "critique_zh", "critique_en",
            "covered_dimensions", "quality_score", "art_form"]
    img = {"filepath": f"images/korean/published_{i}.jpg", "pair_id": f"PAIR_{9000 + i:05d}",
           "ulid": f"01KDGMP4SRSDF2VJ3YK8ZQX{i:03d}", "culture": "korean",
           "image_path": f"/mnt/i/VULCA 2.0/images/korean/published_{i}.jpg", "artist": "", "title": f"Published {i}",
           "art_form": "", "published_keys": keys, "published_dims_as_text": True}
    img.update(over)
    return img


def test_a_regenerated_published_image_keeps_its_lines_keys_values_and_ids(tmp_path):
    root = sup.make_ws(tmp_path / "ws", {"korean": 0})
    cands = [published_candidate(i) for i in range(3)] + [sup.image("korean", 7)]
    (root / "checkpoints" / "korean_expansion_candidates.json").write_text(
        json.dumps({"culture": "korean", "images": cands}, ensure_ascii=False), encoding="utf-8")
    touch_images(root, cands)  # a claim parks an image without a file
    ws = Workspace(root)
    sup.produce(root, "korean", 1, size=4)
    sync.sync(ws, force=True)
    recs = {r["image_path"]: r for r in export_lines(ws)}
    accepted = sup.accepted(root, "korean")
    for i in range(3):
        c = cands[i]
        r = recs[c["image_path"]]
        assert list(r) == c["published_keys"]  # the published line's keys, in its order, no more
        assert (r["pair_id"], r["ulid"], r["artist"], r["art_form"]) == (c["pair_id"], c["ulid"], "", "")
        new = accepted[c["filepath"]]
        assert (r["critique_zh"], r["covered_dimensions"]) == (new["critique_zh"], new["covered_dimensions"])  # an array
    new = recs["images/korean/painting_00007.jpg"]
    assert new["pair_id"] == "PAIR_09003"  # after the highest pair_id the table holds


def test_a_table_from_before_pair_ids_gets_them_in_accepted_order(tmp_path, monkeypatch):
    root = sup.make_ws(tmp_path / "ws", {"korean": 10})
    ws = Workspace(root)
    sup.produce(root, "korean", 1)
    monkeypatch.setattr(database, "arrow_schema", lambda real=database.arrow_schema: _without(real(), ("pair_id", "ulid", "origin")))
    monkeypatch.setattr(pair_ids, "give_ids", lambda *a: [])
    sync.sync(ws, force=True)
    monkeypatch.undo()
    with pytest.raises(export.WorkFailed, match="without a pair_id"):
        export.export(ws)
    monkeypatch.setenv("CRITIQUE_BATCH_NOW", (T0 + timedelta(days=3650)).isoformat())
    sup.produce(root, "korean", 1)
    out = sync.sync(ws, force=True).as_json()
    assert "pair_id" in out["columns_added"] and out["pair_ids_given"] == 5
    by_batch = {}
    for r in export_lines(ws):
        by_batch.setdefault(sup.accepted(root, "korean")[r["image_path"]]["batch_id"], []).append(r["pair_id"])
    assert sorted(by_batch[1]) == [f"PAIR_{i:05d}" for i in range(1, 6)]
    assert sorted(by_batch[2]) == [f"PAIR_{i:05d}" for i in range(6, 11)]


def _without(schema, names):
    import pyarrow as pa

    return pa.schema([f for f in schema if f.name not in names])


@given(
    existing=st.dictionaries(st.text("abc", min_size=1, max_size=3), st.integers(1, 50), max_size=6),
    incoming=st.lists(st.tuples(st.text("abcd", min_size=1, max_size=3), st.one_of(st.none(), st.integers(51, 60))), max_size=8,
                      unique_by=lambda t: t[0]),
    floor=st.integers(0, 70),
)
def test_assign_ids_keeps_old_numbers_and_gives_unique_new_ones(existing, incoming, floor):
    table = {fp: (published.format_pair_id(n), f"U{fp}") for fp, n in existing.items()}
    rows = [{"filepath": fp, "pair_id": published.format_pair_id(n) if n else None, "ulid": None} for fp, n in incoming]
    given = len(published.assign_ids(rows, table, floor))
    for r in rows:
        if r["filepath"] in table:
            assert (r["pair_id"], r["ulid"]) == table[r["filepath"]]
        assert published.pair_id_number(r["pair_id"]) and r["ulid"]
    fresh = [r for (fp, n), r in zip(incoming, rows) if fp not in table and n is None]
    assert given == len(fresh)
    top = max([floor] + list(existing.values()) + [n for fp, n in incoming if n and fp not in table])
    assert sorted(published.pair_id_number(r["pair_id"]) for r in fresh) == list(range(top + 1, top + 1 + len(fresh)))


def test_export_script_new_records_only_and_no_pair_start(tmp_path):
    root = sup.make_ws(tmp_path / "ws", {"korean": 10})
    sup.produce(root, "korean", 1)
    sup.run_json("sync_to_lancedb.py", "--force", ws=root)
    out = sup.run_json("export_critiques.py", "--new", "--culture", "korean", "--output", tmp_path / "kr.jsonl", ws=root)
    assert out["records"] == 5 and out["new_only"] and out["first_pair_id"] == "PAIR_00001"
    proc = sup.run("export_critiques.py", "--pair-start", "7411", ws=root)
    assert proc.returncode == 2 and "unrecognized arguments: --pair-start" in proc.stderr


KILL_WRITER = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
from critique_batch.base.jsonfiles import atomic_write
def lines():
    for i in range(1000):
        if i == 500:
            os.kill(os.getpid(), signal.SIGKILL)
        yield b"x" * 100 + b"\\n"
atomic_write(sys.argv[2], lines())
"""


def test_a_killed_export_leaves_the_old_file_and_no_temporary_file(tmp_path):
    dest = tmp_path / "out" / "critiques.jsonl"
    assert atomic_write(dest, (f"{i}\n".encode() for i in range(3))) == 3
    proc = subprocess.run([sys.executable, "-c", KILL_WRITER, str(sup.SCRIPTS), str(dest)])
    assert proc.returncode == -signal.SIGKILL
    assert os.listdir(dest.parent) == ["critiques.jsonl"] and dest.read_text() == "0\n1\n2\n"
    # a named temporary file of a killed writer (file systems without O_TMPFILE) is removed next time
    (dest.parent / f".critiques.jsonl.{2**22 + 7}.tmp").write_text("partial")
    atomic_write(dest, iter([b"a\n"]))
    assert os.listdir(dest.parent) == ["critiques.jsonl"] and dest.read_text() == "a\n"


def test_export_files_get_the_users_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.jsonl", iter([b"a\n"]))
        os.umask(0o002)
        atomic_write(tmp_path / "b.jsonl", iter([b"b\n"]))
    finally:
        os.umask(old)
    assert (tmp_path / "a.jsonl").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.jsonl").stat().st_mode & 0o777 == 0o664


def test_two_workspaces_giving_the_same_new_pair_id_are_repaired(tmp_path, monkeypatch):
    """Two workspaces merging at the same moment both take the next number: the later merge renumbers its own."""
    a = sup.make_ws(tmp_path / "a", {"korean": 5})
    b = sup.make_ws(tmp_path / "b", {"chinese": 5})
    sup.produce(a, "korean", 1)
    sup.produce(b, "chinese", 1)
    db = str(tmp_path / "shared")
    real = pair_ids.give_ids

    def blind(*args):  # as if both read the table before either had merged
        with monkeypatch.context() as m:
            m.setattr(pair_ids, "existing_ids", lambda table, target: {})
            return real(*args)

    monkeypatch.setattr(pair_ids, "give_ids", blind)
    assert sync.sync(Workspace(a), force=True, db=db).as_json()["pair_ids_repaired"] == 0
    out = sync.sync(Workspace(b), force=True, db=db).as_json()
    assert out["pair_ids_repaired"] == 5
    rows = sup.table_rows(db)
    assert sorted(r["pair_id"] for r in rows) == [f"PAIR_{i:05d}" for i in range(1, 11)]
    assert {r["pair_id"] for r in rows if r["culture"] == "korean"} == {f"PAIR_{i:05d}" for i in range(1, 6)}
