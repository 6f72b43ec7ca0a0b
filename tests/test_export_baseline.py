"""The published dataset round-trips: set as the baseline, merged into the table as it is, exported
byte for byte; new records follow its highest pair_id; regenerated ones keep their line's shape."""

from __future__ import annotations

import json

import pytest

import store_support as sup

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def published_line(culture: str, i: int, pair: int, **over) -> str:
    prefix = sup.PREFIX[culture]
    rec = {
        "pair_id": f"PAIR_{pair:05d}", "ulid": f"01KDGMP4SRSDF2VJ3YK8ZQX{i:03d}", "culture": culture,
        "image_path": f"/mnt/i/VULCA 2.0/data/optimized_images/{culture}/work {i}.jpg",
        "artist": f"{culture.title()} Master {i}", "title": f"Published work {i}",
        "critique_zh": "此幅作品以水墨写就山水，留白营造空灵意境。" * 3,
        "critique_en": " ".join(["The scroll balances ink and empty silk with quiet authority."] * 3),
        "covered_dimensions": json.dumps([f"{prefix}_L1_D1", f"{prefix}_L2_D2"]),
        "quality_score": 85.0 + i, "art_form": "painting", "art_style": "literati", "art_genre": "landscape", "medium": "ink on silk",
    }
    rec.update(over)
    for k in [k for k, v in over.items() if v is ...]:
        del rec[k]
    return json.dumps(rec, ensure_ascii=False)


def write_published(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_a_published_dataset_round_trips_through_the_table(tmp_path):
    root = sup.make_ws(tmp_path / "ws", {"korean": 0, "chinese": 0})
    kr = [
        published_line("korean", 1, 7767),
        published_line("korean", 2, 7768, art_style=..., art_genre=..., medium=...),  # a line without the last three
        published_line("korean", 3, 10409, artist="", title="", quality_score=0.0, covered_dimensions=["KR_L1_D1"]),
        published_line("korean", 4, 10410, quality_score=90),  # an int score: kept as published
    ]
    dup = published_line("korean", 1, 13000)  # the same image again: the first line is the record
    cn = [published_line("chinese", 5, 200), published_line("chinese", 6, 201, art_form="")]
    write_published(tmp_path / "korean.jsonl", kr + [dup])
    write_published(tmp_path / "chinese.jsonl", cn)
    sup.run_json("set_baseline.py", tmp_path / "korean.jsonl", tmp_path / "chinese.jsonl", ws=root)
    out = sup.run_json("sync_to_lancedb.py", "--baseline", ws=root)
    assert (out["records"], out["inserted"], out["already"]) == (6, 6, 0)
    assert sup.run_json("sync_to_lancedb.py", "--baseline", ws=root)["inserted"] == 0  # a second run changes nothing

    # the published records are in the table: an export for appending would repeat their pair_ids
    refused = sup.run("export_critiques.py", "--culture", "korean", "--output", tmp_path / "kr_out.jsonl", ws=root)
    assert refused.returncode == 2 and "--new" in refused.stderr and "--whole-dataset" in refused.stderr
    assert "PAIR_07767" in refused.stderr and not (tmp_path / "kr_out.jsonl").exists()
    sup.run_json("export_critiques.py", "--culture", "korean", "--whole-dataset", "--output", tmp_path / "kr_out.jsonl", ws=root)
    assert (tmp_path / "kr_out.jsonl").read_bytes() == "".join(line + "\n" for line in kr).encode("utf-8")
    sup.run_json("export_critiques.py", "--whole-dataset", "--output", tmp_path / "all.jsonl", ws=root)
    assert (tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines() == kr + cn

    # new Korean images: their pair_ids follow the baseline's highest; the published lines stay as they were
    sup.write_candidates(root, "korean", 5)
    sup.produce(root, "korean", 1)
    merged = sup.run_json("sync_to_lancedb.py", "--force", ws=root)
    assert merged["inserted"] == 5 and merged["pair_ids_given"] == 5
    new = sup.run_json("export_critiques.py", "--culture", "korean", "--new", "--output", tmp_path / "new.jsonl", ws=root)
    lines = [json.loads(x) for x in (tmp_path / "new.jsonl").read_text(encoding="utf-8").splitlines()]
    assert new["records"] == 5 and [r["pair_id"] for r in lines] == [f"PAIR_{n}" for n in range(13001, 13006)]
    # the published Korean lines' shape: their keys in order, dimensions as a JSON string, "" for what a record lacks
    assert all(list(r) == list(json.loads(kr[0])) and isinstance(r["covered_dimensions"], str) for r in lines)
    assert all(isinstance(r["quality_score"], float) and isinstance(r["art_style"], str) for r in lines)
    sup.run_json("export_critiques.py", "--culture", "korean", "--whole-dataset", "--output", tmp_path / "kr_all.jsonl", ws=root)
    assert (tmp_path / "kr_all.jsonl").read_text(encoding="utf-8").splitlines()[:4] == kr
