"""The published VULCA-Bench dataset: importing its lines as they are, the baseline, the bundled
catalogues and rules against published-shape records, one spelling per image, counts that add up.

Fixtures are written here in the published shape (our own texts); nothing reads ../shared."""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import support
from critique_batch.files.baseline import load_baseline
from critique_batch.store.set_baseline import set_baseline
from critique_batch.state.candidate_sources import add_candidates, load_manifest, read_done_list
from critique_batch.base.errors import InputError
from critique_batch.files.published import GENERATOR_FIELDS, jsonl_lines, normalise_filepath
from critique_batch.base.text import control_character
from critique_batch.checks.validation import check_output_bytes
from critique_batch.files.workspace import Workspace

PLAN = support.plan()
KEYS = ["pair_id", "ulid", "culture", "image_path", "artist", "title", "critique_zh", "critique_en",
        "covered_dimensions", "quality_score", "art_form", "art_style", "art_genre", "medium"]
ZH_UNIT = "画面以留白与淡彩营造空灵之境，笔墨疏密有致，"  # 22 non-space characters
EN_UNIT = "the painter balances empty ground against dense brushwork"  # 8 words


def zh_text(chars: int) -> str:
    return (ZH_UNIT * (chars // len(ZH_UNIT) + 1))[:chars]


def en_text(words: int) -> str:
    unit = EN_UNIT.split()
    return " ".join(unit[i % len(unit)] for i in range(words))


def dims(culture: str, n: int) -> list[str]:
    return [d.id for d in PLAN.culture(culture).dimensions][:n]


def published_line(culture: str, n: int, *, pair: int | None = None, path: str | None = None, zh: int = 260, en: int = 120,
                   ndims: int | None = None, dims_as_text: bool = True, short: bool = False, **override) -> dict:
    """One record in the published shape (keys in the published order; `short`: the older lines
    without art_style, art_genre and medium)."""
    ids = dims(culture, ndims if ndims is not None else PLAN.culture(culture).quality.min_dimensions + 2)
    rec = {
        "pair_id": f"PAIR_{pair if pair is not None else 1000 + n:05d}",
        "ulid": f"01KDGMP{n:019d}",
        "culture": culture,
        "image_path": path or f"/mnt/data/VULCA 2.0/optimized_images/{culture}/work_{n:04d}.jpg",
        "artist": f"Painter {n % 3}",
        "title": f"Work {n}",
        "critique_zh": zh_text(zh),
        "critique_en": en_text(en),
        "covered_dimensions": json.dumps(ids) if dims_as_text else ids,
        "quality_score": 88.0,
        "art_form": "painting",
        "art_style": "literati",
        "art_genre": "landscape",
        "medium": "ink on paper",
    }
    if short:
        for key in ("art_style", "art_genre", "medium"):
            del rec[key]
    rec.update(override)
    return rec


def write_jsonl(path: Path, records, *, raw_lines: list[str] | None = None) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in records] + (raw_lines or [])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def candidates(ws: Path, culture: str) -> list[dict]:
    return support.image_list(ws, culture)


# --- 1. import as published -----------------------------------------------------------------------
def test_published_line_becomes_a_candidate_as_published(ws):
    lines = [
        published_line("korean", 1, artist=""),
        published_line("korean", 2, short=True, dims_as_text=False),
        published_line("korean", 3, artist=None, medium=""),
    ]
    src = write_jsonl(ws / "korean.jsonl", lines)
    report = add_candidates(Workspace(ws), "korean", src, done=set(), dry_run=False)
    assert report.added == 3
    images = candidates(ws, "korean")
    for line, img in zip(lines, images):
        assert img["filepath"] == normalise_filepath(line["image_path"])
        assert img["published_keys"] == list(line)
        for key in line:
            if key in GENERATOR_FIELDS:
                assert key not in img
            else:
                assert img[key] == line[key], key  # "" stays "", null stays null, image_path as written
    assert images[0]["artist"] == "" and images[2]["artist"] is None and images[2]["medium"] == ""
    assert images[0]["published_dims_as_text"] is True and "published_dims_as_text" not in images[1]
    assert "art_style" not in images[1]


def test_several_cultures_in_one_file_and_repeated_images(ws):
    lines = [published_line("korean", 1), published_line("indian", 2), published_line("korean", 3),
             published_line("mural", 4), published_line("korean", 5, path=published_line("korean", 1)["image_path"], pair=77)]
    src = write_jsonl(ws / "vulca_bench.jsonl", lines)
    report = add_candidates(Workspace(ws), "korean", src, done=set(), dry_run=False)
    assert report.added == 2 and report.other_cultures == {"indian": 1, "mural": 1}
    assert report.repeated == [{"where": "line 5", "filepath": normalise_filepath(lines[0]["image_path"]), "first": "line 1",
                                "reason": "same image as line 1 (PAIR_00077); kept line 1"}]
    assert [img["pair_id"] for img in candidates(ws, "korean")] == ["PAIR_01001", "PAIR_01003"]


def test_add_candidates_script_reports_published_import(ws):
    lines = [published_line("mural", 1), published_line("mural", 2), published_line("korean", 3),
             published_line("mural", 4, path="./" + published_line("mural", 1)["image_path"].lstrip("/"))]
    lines[3]["image_path"] = lines[0]["image_path"].replace("/", "\\")
    src = write_jsonl(ws / "all.jsonl", lines)
    proc = support.run("add_candidates.py", "mural", src, ws=ws, check=True)
    assert "added 2 of 3 images" in proc.stdout
    assert "1 spellings merged" in proc.stdout
    assert "skipped 1 lines of other cultures (korean 1)" in proc.stdout
    assert "skipped line 4: another spelling of the image of line 1" in proc.stdout
    help_text = support.run("add_candidates.py", "--help").stdout
    assert "image_path" in help_text and "--regenerate" in help_text


BAD_LINES = [
    ("not json", lambda: "{\"pair_id\": \"PAIR_1\", ", "line 2", "not valid JSON"),
    ("no image_path", lambda: {k: v for k, v in published_line("korean", 9).items() if k != "image_path"}, "line 2.image_path", "no image_path"),
    ("null image_path", lambda: published_line("korean", 9, image_path=None), "line 2.image_path", "non-empty string"),
    ("dims text not JSON", lambda: published_line("korean", 9, covered_dimensions="[KR_L1_D1, KR_L1_D2"), "line 2.covered_dimensions", "not JSON"),
    ("dims text not an array", lambda: published_line("korean", 9, covered_dimensions="{\"a\": 1}"), "line 2.covered_dimensions", "JSON array"),
    ("dims array of numbers", lambda: published_line("korean", 9, covered_dimensions=[1, 2]), "line 2.covered_dimensions", "JSON array"),
    ("pair_id malformed", lambda: published_line("korean", 9, pair_id="PAIR-9"), "line 2.pair_id", "PAIR_<digits>"),
    ("pair_id on two images", lambda: published_line("korean", 9, pair=1001), "line 2.pair_id", "PAIR_01001 is also the pair_id"),
]


@pytest.mark.parametrize("name,line,where,expect", BAD_LINES, ids=[b[0] for b in BAD_LINES])
def test_bad_published_lines_exit_2_and_change_nothing(ws, name, line, where, expect):
    good = json.dumps(published_line("korean", 1), ensure_ascii=False)
    bad = line()
    src = ws / "korean.jsonl"
    src.write_text(good + "\n" + (bad if isinstance(bad, str) else json.dumps(bad, ensure_ascii=False)) + "\n", encoding="utf-8")
    before = support.state_hashes(ws)
    proc = support.run("add_candidates.py", "korean", src, ws=ws)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{src}: {where}: " in proc.stderr and expect in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert support.state_hashes(ws) == before
    proc = support.run("set_baseline.py", src, ws=ws)
    assert proc.returncode == 2 and where in proc.stderr and support.state_hashes(ws) == before


def test_record_with_neither_field_names_both(ws):
    src = ws / "m.json"
    src.write_text(json.dumps([{"artist": "x", "title": "y"}]))
    with pytest.raises(InputError) as exc:
        load_manifest(src, "korean")
    assert exc.value.where == "[0].image_path" and "image_path" in exc.value.detail and "filepath" in exc.value.detail


def test_collection_never_lets_candidate_metadata_override_generated_fields(korean_ws):
    """A candidates file written by an older version may hold a published line's critique fields."""
    path = korean_ws / "checkpoints" / "korean_expansion_candidates.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    old = published_line("korean", 1)
    for img in doc["images"]:
        img.update({k: old[k] for k in GENERATOR_FIELDS})  # covered_dimensions as a JSON string, too
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    support.run_json("run_next_batch.py", "--culture", "korean", ws=korean_ws)
    items = support.batch_items(korean_ws, "korean", 1)
    records = [support.good_record("korean", fp) for fp in items]
    support.write_output(korean_ws, "korean", 1, records)
    out = support.run_json("run_next_batch.py", "--culture", "korean", "--count", "1", ws=korean_ws)
    assert out["collected"][0]["accepted"] == len(items)
    result = json.loads((korean_ws / "checkpoints" / "korean_batch_001_result.json").read_text(encoding="utf-8"))
    by_fp = {r["filepath"]: r for r in records}
    for rec in result["records"]:
        for key in GENERATOR_FIELDS:
            assert rec[key] == by_fp[rec["filepath"]][key]


# --- 2. the baseline ---------------------------------------------------------------------------------
def test_set_baseline_counts_unique_images_and_remembers_the_highest_pair_id(ws):
    kr = write_jsonl(ws / "korean.jsonl", [published_line("korean", i, pair=i * 10) for i in range(1, 6)])
    mu_lines = [published_line("mural", i, pair=500 + i) for i in range(1, 4)]
    mu_lines.append(published_line("mural", 9, pair=13919, path=mu_lines[2]["image_path"], artist="清代民间画工"))
    mu = write_jsonl(ws / "mural.jsonl", mu_lines)
    proc = support.run("set_baseline.py", kr, mu, ws=ws, check=True)
    assert "8 published records in 2 cultures" in proc.stdout and "PAIR_13919" in proc.stdout
    assert "skipped mural.jsonl line 4 (PAIR_13919): same image_path as line 3 (PAIR_00503)" in proc.stdout
    b = load_baseline(Workspace(ws))
    assert b.max_pair_id == 13919 and b.count("korean") == 5 and b.count("mural") == 3 and b.count("chinese") == 0
    assert b.sources == [kr.resolve(), mu.resolve()]
    assert b.filepaths("mural") == {normalise_filepath(r["image_path"]) for r in mu_lines}
    recs = list(b.iter_records("mural"))
    assert [r for _, r in recs] == mu_lines[:3]  # first of the repeated image, keys in published order
    assert all(list(r) == KEYS for _, r in recs)
    lines = [text for _, _, text in b.iter_lines("korean")]
    assert lines == kr.read_text(encoding="utf-8").splitlines()
    # status: published + new, the plan's current replaced for these cultures only
    rows = {r["culture"]: r for r in support.run_json("batch_status.py", ws=ws)["cultures"]}
    assert rows["korean"]["current"] == 5 and rows["korean"]["current_from"] == "baseline"
    assert rows["chinese"]["current"] == PLAN.culture("chinese").current and rows["chinese"]["current_from"] == "plan"


def test_baseline_file_moved_or_changed_is_a_clear_error(ws):
    src = write_jsonl(ws / "korean.jsonl", [published_line("korean", 1)])
    set_baseline(Workspace(ws), [src])
    b = load_baseline(Workspace(ws))
    src.write_text(src.read_text(encoding="utf-8").replace("Work 1", "Work 2"), encoding="utf-8")
    with pytest.raises(InputError, match="changed since set_baseline.py"):
        list(b.iter_records())
    src.unlink()
    with pytest.raises(InputError, match="moved or deleted"):
        list(b.iter_records())


def test_published_images_are_done_unless_regenerated_and_never_counted_twice(ws):
    # absolute image paths, as published, of files that exist (a claim parks an image without a file)
    lines = [published_line("korean", i, path=str(ws / "published" / f"work_{i}.jpg")) for i in range(1, 5)]
    support.touch_images(ws, [{"filepath": line["image_path"]} for line in lines]
                         + [{"filepath": f"images/korean/new_{i}.jpg"} for i in range(3)])
    src = write_jsonl(ws / "korean.jsonl", lines)
    support.run("set_baseline.py", src, ws=ws, check=True)
    new_images = ws / "new.csv"
    new_images.write_text("filepath,artist,title\n" + "".join(f"images/korean/new_{i}.jpg,A,T{i}\n" for i in range(3))
                          + lines[0]["image_path"] + ",A,again\n", encoding="utf-8")
    out = support.run_json("add_candidates.py", "korean", new_images, ws=ws)
    assert out["added"] == 3 and out["published"] == 1
    out = support.run_json("add_candidates.py", "korean", src, "--regenerate", ws=ws)
    assert out["added"] == 4
    assert all(img.get("pair_id") for img in candidates(ws, "korean")[3:])
    # critique all 7: 3 new, 4 published again
    for _ in range(2):
        claim = support.run_json("run_next_batch.py", "--culture", "korean", "--count", "1", "--size", "7", ws=ws, expect=None)
        for b in claim["batches"]:
            items = support.batch_items(ws, "korean", b["batch_id"])
            support.write_output(ws, "korean", b["batch_id"], [support.good_record("korean", fp) for fp in items])
    support.run_json("run_next_batch.py", "--count", "0", ws=ws)
    row = support.run_json("batch_status.py", "--culture", "korean", ws=ws)["cultures"][0]
    assert row["completed"] == 7 and row["regenerated"] == 4 and row["new"] == 3
    assert row["current"] == 4 and row["reached"] == 7  # 4 published + 3 new, not 11
    rebuilt = support.run("batch_status.py", "--rebuild", "--check", ws=ws)
    assert rebuilt.returncode == 0, rebuilt.stdout


def test_done_accepts_a_published_jsonl(ws):
    lines = [published_line("korean", i) for i in range(1, 3)]
    src = write_jsonl(ws / "korean.jsonl", lines)
    assert read_done_list(src) == {normalise_filepath(r["image_path"]) for r in lines}


def test_status_and_claim_without_a_target(ws):
    support.write_candidates(ws, "japanese", 5)
    rows = {r["culture"]: r for r in support.run_json("batch_status.py", ws=ws)["cultures"]}
    assert rows["japanese"]["target"] is None and rows["japanese"]["gap"] is None and rows["japanese"]["priority"] is None
    assert "japanese" in support.run("batch_status.py", ws=ws, check=True).stdout
    support.run("batch_status.py", "--culture", "japanese", ws=ws, check=True)
    proc = support.run("run_next_batch.py", "--culture", "japanese", ws=ws)
    assert proc.returncode == 1 and "no target" in proc.stdout
    assert not list((ws / "checkpoints").glob("japanese_batch_*"))


# --- 3. catalogues and rules ---------------------------------------------------------------------------
CATALOGUES = {
    "korean": ("KR", {1: 5, 2: 5, 3: 5, 4: 5, 5: 6}),
    "indian": ("IN", {1: 6, 2: 6, 3: 6, 4: 6, 5: 9}),
    "mural": ("MU", {n: 6 for n in range(1, 6)}),
    "hermitage": ("WS", {n: 6 for n in range(1, 6)}),
    "japanese": ("JP", {1: 6, 2: 6, 3: 6, 4: 5, 5: 5}),
    "islamic": ("IS", {1: 6, 2: 6, 3: 6, 4: 6, 5: 8}),
}


@pytest.mark.parametrize("culture", sorted(CATALOGUES))
def test_catalogues_hold_exactly_the_published_ids(culture):
    prefix, per_layer = CATALOGUES[culture]
    want = {f"{prefix}_L{layer}_D{d}" for layer, n in per_layer.items() for d in range(1, n + 1)}
    cfg = PLAN.culture(culture)
    assert {d.id for d in cfg.dimensions} == want
    assert all(d.zh and d.en and d.covers for d in cfg.dimensions)


def test_all_eight_cultures_and_default_rules():
    assert len(PLAN.culture("chinese").dimensions) == 30 and len(PLAN.culture("western").dimensions) == 27
    assert set(PLAN.cultures) == {"korean", "indian", "mural", "chinese", "western", "japanese", "islamic", "hermitage"}
    for name in ("japanese", "islamic", "hermitage"):
        assert PLAN.culture(name).target is None and not PLAN.culture(name).generator
    q = PLAN.culture("korean").quality
    assert (q.min_zh_chars, q.min_dimensions, q.min_en_words) == (200, 18, 100)


# VULCA-Bench's README: each culture's official dimension count, and a 70% threshold
OFFICIAL_DIMENSIONS = {"chinese": 30, "western": 25, "japanese": 27, "korean": 25, "islamic": 28, "indian": 30, "hermitage": 30, "mural": 30}


@pytest.mark.parametrize("culture", sorted(OFFICIAL_DIMENSIONS))
def test_each_culture_requires_the_datasets_own_threshold(culture):
    official = OFFICIAL_DIMENSIONS[culture]
    assert PLAN.culture(culture).quality.min_dimensions == -(-official * 7 // 10) >= 18  # 70%, rounded up
    # the catalogue keeps every ID the published records use, more than the README counts
    assert len(PLAN.culture(culture).dimensions) >= official


RULE_CASES = [
    # (what, line overrides, expected problem or None)
    ("meets every rule", {}, None),
    ("exactly at the floors", {"zh": 200, "en": 100, "ndims": "min"}, None),
    ("dimension IDs cited in the Chinese text", {"cite_ids": True}, None),
    ("short Chinese", {"zh": 199}, "critique_zh: 199 characters, need >= 200"),
    ("short English", {"en": 99}, "critique_en: 99 words, need >= 100"),
    ("too few dimensions", {"ndims": "min-1"}, "{n} valid"),
    ("unscored", {"quality_score": 0.0}, None),
]


@pytest.mark.parametrize("culture", ["korean", "indian", "mural", "chinese", "western", "japanese", "islamic", "hermitage"])
@pytest.mark.parametrize("what,over,problem", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_published_records_meet_the_rules_or_are_returned_with_the_reason(culture, what, over, problem):
    over = dict(over)
    cite = over.pop("cite_ids", False)
    floor = PLAN.culture(culture).quality.min_dimensions  # the culture's own threshold
    if "ndims" in over:
        over["ndims"] = {"min": floor, "min-1": floor - 1}[over["ndims"]]
        problem = problem and problem.format(n=floor - 1)
    line = published_line(culture, 1, **over)
    ids = json.loads(line["covered_dimensions"])
    if cite:  # as published Japanese lines do: （JP_L2_D1笔墨技法）
        line["critique_zh"] = "".join(f"（{i}{ZH_UNIT[:4]}）" for i in ids)  # more ID than prose
    rec = {"filepath": line["image_path"], "culture": culture, **{k: line[k] for k in GENERATOR_FIELDS}}
    rec["covered_dimensions"] = ids
    check = check_output_bytes(json.dumps([rec], ensure_ascii=False).encode(), Path("o.json"), PLAN.culture(culture), PLAN, [line["image_path"]])
    problems = [p for r in check.records for p in r.problems]
    if problem is None:
        assert check.passed, problems
    else:
        assert not check.passed and any(problem in p for p in problems), problems


# --- 4. counts that add up ---------------------------------------------------------------------------------
def test_validate_counts_are_per_batch_image(korean_ws):
    support.run_json("run_next_batch.py", "--culture", "korean", "--size", "3", ws=korean_ws)
    items = support.batch_items(korean_ws, "korean", 1)
    bad = support.bad_record("korean", items[0], "short_zh")
    records = [bad, dict(bad), support.bad_record("korean", "images/korean/not_in_batch.jpg", "short_zh"),
               support.good_record("korean", "images/elsewhere.jpg")]
    support.write_output(korean_ws, "korean", 1, records)
    proc = support.run("validate_batch.py", "korean", "1", ws=korean_ws)
    assert proc.returncode == 1
    last = proc.stdout.strip().splitlines()[-1]
    assert "0 valid, 1 invalid, 0 skipped, 2 missing of 3 images; 3 stray records" in last, last
    out = support.run_json("validate_batch.py", "korean", "1", ws=korean_ws, expect=1)
    assert out["valid"] + out["invalid"] + out["skipped"] + len(out["missing"]) == out["images"] == 3
    assert out["stray_records"] == 3


# --- 5. one image, one spelling ------------------------------------------------------------------------------
def test_output_spellings_match_the_batch_image(korean_ws):
    support.run_json("run_next_batch.py", "--culture", "korean", "--size", "3", ws=korean_ws)
    items = support.batch_items(korean_ws, "korean", 1)
    spelled = ["./" + items[0], items[1].replace("/", "\\"), items[2].replace("/", "//")]
    support.write_output(korean_ws, "korean", 1, [support.good_record("korean", fp) for fp in spelled])
    assert support.run("validate_batch.py", "korean", "1", ws=korean_ws).returncode == 0
    out = support.run_json("run_next_batch.py", "--count", "0", ws=korean_ws)
    assert out["collected"][0]["accepted"] == 3
    assert sorted(support.accepted_filepaths(korean_ws, "korean")) == sorted(items)


def test_nfd_and_nfc_hangul_are_one_image(ws):
    name = "images/korean/안견 몽유도원도.jpg"
    nfd = unicodedata.normalize("NFD", name)
    assert nfd != name
    src = ws / "m.jsonl"
    write_jsonl(src, [{"filepath": nfd, "artist": "An Gyeon", "title": "Dream"}, {"filepath": name, "artist": "An Gyeon", "title": "Dream"}])
    report = add_candidates(Workspace(ws), "korean", src, done=set(), dry_run=False)
    assert report.added == 1 and report.spellings_merged == 1
    assert candidates(ws, "korean")[0]["filepath"] == name  # stored in NFC
    # an older candidates file spelled differently: a new import of the other spelling is merged
    src2 = ws / "m2.csv"
    src2.write_text("filepath\n./" + name + "\n", encoding="utf-8")
    report = add_candidates(Workspace(ws), "korean", src2, done=set(), dry_run=False)
    assert report.added == 0 and report.duplicates == 1 and report.spellings_merged == 1


def test_jsonl_line_with_u2028_is_read(ws):
    rec = {"filepath": "images/korean/a.jpg", "artist": "A", "title": "line\u2028separator\u0085next"}
    src = ws / "m.jsonl"
    src.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    images = load_manifest(src, "korean").images
    assert images[0]["title"] == rec["title"]


def test_csv_quoted_newline_is_kept(ws):
    src = ws / "m.csv"
    src.write_bytes('filepath,artist,title,note\nimages/a.jpg,A,"two\nlines","x\r\ny"\nimages/b.jpg,B,T,\n'.encode())
    images = load_manifest(src, "korean").images
    assert [i["filepath"] for i in images] == ["images/a.jpg", "images/b.jpg"]
    assert images[0]["title"] == "two\nlines" and images[0]["note"] == "x\r\ny"
    bad = ws / "bad.csv"
    bad.write_text('filepath,artist\nimages/a.jpg,"multi\nline",extra\n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_manifest(bad, "korean")
    assert exc.value.where == "line 2"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlinked_folders_are_followed_and_loops_reported(ws):
    root = ws / "images" / "korean"
    (root / "kim").mkdir(parents=True)
    (root / "kim" / "a.jpg").write_bytes(b"x")
    elsewhere = ws / "elsewhere" / "lee"
    elsewhere.mkdir(parents=True)
    (elsewhere / "b.jpg").write_bytes(b"x")
    os.symlink(elsewhere, root / "lee")
    os.symlink(root, root / "kim" / "loop")  # a loop back to the top
    proc = support.run("add_candidates.py", "korean", root, ws=ws, check=True)
    fps = [img["filepath"] for img in candidates(ws, "korean")]
    assert fps == ["images/korean/kim/a.jpg", "images/korean/lee/b.jpg"]
    assert "followed 1 symlinked folders: images/korean/lee" in proc.stdout
    assert "not followed images/korean/kim/loop" in proc.stdout


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", ".", "..", "", " ", "\\", "한", "\u1100\u1161", "é", "e\u0301"]), max_size=8).map("/".join)
       | st.text(max_size=30))
def test_normalise_filepath_is_idempotent_and_canonical(path):
    once = normalise_filepath(path)
    assert normalise_filepath(once) == once
    assert "\\" not in once and "//" not in once and not once.startswith("./") and unicodedata.is_normalized("NFC", once)
    assert normalise_filepath("./" + path.strip()) == once or once.startswith("/")
    assert normalise_filepath(unicodedata.normalize("NFD", path)) == once
    assert normalise_filepath(path.replace("/", "\\")) == once


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=6), st.text(max_size=12), max_size=3), max_size=5))
def test_jsonl_lines_round_trip_any_strings(objs):
    text = "\n".join(json.dumps(o, ensure_ascii=False) for o in objs) + "\n"
    parsed = [json.loads(line) for _, line in jsonl_lines(text)]
    assert parsed == [o for o in objs]


def test_regenerating_from_a_folder_attaches_the_published_pair_id(ws):
    src = write_jsonl(ws / "korean.jsonl", [published_line("korean", 1, path="images/korean/kim/a.jpg", pair=4242)])
    set_baseline(Workspace(ws), [src])
    (ws / "images" / "korean" / "kim").mkdir(parents=True)
    (ws / "images" / "korean" / "kim" / "a.jpg").write_bytes(b"x")
    (ws / "images" / "korean" / "kim" / "b.jpg").write_bytes(b"x")
    report = add_candidates(Workspace(ws), "korean", ws / "images" / "korean", done=set(), dry_run=False)
    assert report.added == 1 and report.published == 1
    report = add_candidates(Workspace(ws), "korean", ws / "images" / "korean", done=set(), dry_run=False, regenerate=True)
    assert report.added == 1
    assert [(i["filepath"], i.get("pair_id")) for i in candidates(ws, "korean")] == [
        ("images/korean/kim/b.jpg", None), ("images/korean/kim/a.jpg", "PAIR_04242")]


def test_status_reads_only_the_small_baseline_summary(korean_ws):
    src = write_jsonl(korean_ws / "korean.jsonl", [published_line("korean", i) for i in range(3)])
    support.run("set_baseline.py", src, ws=korean_ws, check=True)
    (korean_ws / "checkpoints" / "baseline_images.json").unlink()  # status, claim and validate never need it
    src.unlink()
    rows = {r["culture"]: r for r in support.run_json("batch_status.py", ws=korean_ws)["cultures"]}
    assert rows["korean"]["current"] == 3
    support.run_json("run_next_batch.py", "--culture", "korean", ws=korean_ws)
    assert support.run("validate_batch.py", "korean", "1", ws=korean_ws).returncode == 1  # not written yet


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=12), st.text(max_size=20)), max_size=6))
def test_jsonl_manifests_read_every_record_once(tmp_path_factory, rows):
    """Any titles (U+2028, NEL, CR included) and filepaths written as JSONL come back, one image per
    spelling; a filepath with a control character (those included) is refused, naming it."""
    path = tmp_path_factory.mktemp("j") / "m.jsonl"
    objs = [{"filepath": fp, "artist": "A", "title": title} for fp, title in rows]
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs), encoding="utf-8")
    try:
        manifest = load_manifest(path, "korean")
    except InputError as exc:  # only a filepath with nothing in it but white space, "/" or ".", or a control character
        assert exc.where and exc.where.endswith(".filepath")
        assert any(not normalise_filepath(fp) or control_character(fp) for fp, _ in rows)
        return
    want: dict[str, str] = {}
    for fp, title in rows:
        want.setdefault(normalise_filepath(fp), title or Path(normalise_filepath(fp)).stem)
    assert [(i["filepath"], i["title"]) for i in manifest.images] == list(want.items())
    assert len(manifest.images) + len(manifest.repeated) == len(rows)


KR_ITEMS = [support.image("korean", i)["filepath"] for i in range(3)]
spellings = st.sampled_from(KR_ITEMS + ["./" + KR_ITEMS[0], KR_ITEMS[1].replace("/", "\\"), "images/korean/other.jpg", 7])
output_records = st.lists(
    st.builds(lambda fp, kind: support.good_record("korean", fp) if kind == "good" and isinstance(fp, str) else
              {"filepath": fp, "skipped": "unreadable"} if kind == "skip" else {"filepath": fp, "critique_zh": "短"},
              spellings, st.sampled_from(["good", "skip", "bad"])) | st.integers(),
    max_size=7)


@settings(max_examples=200, deadline=None)
@given(output_records)
def test_validation_counts_always_add_up_to_the_batch(records):
    check = check_output_bytes(json.dumps(records, ensure_ascii=False).encode(), Path("korean_batch_001_output.json"),
                               PLAN.culture("korean"), PLAN, KR_ITEMS)
    assert len(check.valid) + len(check.invalid) + len(check.skipped) + len(check.missing) == len(KR_ITEMS)
    assert len(check.strays) + len(KR_ITEMS) - len(check.missing) == len(records)
    assert {r.filepath for r in check.records if r.item} <= set(KR_ITEMS)
