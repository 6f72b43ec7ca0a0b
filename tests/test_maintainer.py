"""The maintainer's round trip on the published VULCA-Bench shape, as the README's "Expanding a
published dataset" runs it: baseline of every published file, new images, a target, the loop, sync
with the published records, an export that appends as it is, the grown files checked, and a fresh
workspace's baseline of them. Then the pieces: set_target.py and the workspace plan merged over the
bundled one, the dataset check's problems, each culture's own dimension threshold.

The published lines are real ones (tests/data/vulca-bench-sample, CC BY 4.0, see its SOURCE.txt)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import support

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SAMPLE = Path(__file__).resolve().parent / "data" / "vulca-bench-sample"
CULTURES = ["hermitage", "indian", "islamic", "japanese", "korean", "mural"]


def published_copy(folder: Path) -> list[Path]:
    """A writable copy of the published files (the maintainer appends to them)."""
    folder.mkdir()
    for name in CULTURES:
        shutil.copyfile(SAMPLE / f"{name}.jsonl", folder / f"{name}.jsonl")
    return [folder / f"{name}.jsonl" for name in CULTURES]


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def new_images(ws: Path, n: int) -> None:
    for i in range(n):
        f = ws / "images" / "korean_new" / f"Artist_{i % 3}" / f"work_{i:02d}.jpg"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"")


def expand(ws: Path, culture: str, images: int) -> None:
    """Run the loop as the orchestrator does, a scripted generator answering (some records invalid)."""
    gen = support.ScriptedGenerator(ws, culture, seed=3, p_invalid=0.2, p_malformed=0, p_abandon=0, p_skip=0)
    clock = datetime(2026, 11, 1, tzinfo=timezone.utc)
    for _ in range(30):
        clock += timedelta(minutes=3)
        env = {"CRITIQUE_BATCH_NOW": clock.strftime("%Y-%m-%dT%H:%M:%SZ")}
        row = next(r for r in support.run_json("batch_status.py", ws=ws, env=env)["cultures"] if r["culture"] == culture)
        if row["completed"] == images:
            return
        got = support.run_json("run_next_batch.py", "--culture", culture, "--count", "2", ws=ws, env=env, expect=None)
        for b in got["batches"]:
            gen.answer(b["batch_id"])
        support.run("run_next_batch.py", "--count", "0", ws=ws, env=env, check=True)
    raise AssertionError("the expansion did not finish")


def test_the_maintainers_round_trip_gives_one_clean_dataset(tmp_path):
    files = published_copy(tmp_path / "published")
    ws = tmp_path / "ws"
    (ws / "checkpoints").mkdir(parents=True)
    before = support.run_json("check_dataset.py", *files, ws=ws)
    assert before["clean"] and before["lines"] == 30
    top = max(int(r["pair_id"][5:]) for f in files for r in jsonl(f))

    # a target at the published count: set_baseline.py names it, with the command that raises it
    support.run("set_target.py", "korean", "3", ws=ws, check=True)
    base = support.run("set_baseline.py", *files, ws=ws, check=True).stdout
    assert "korean: 3 published records already meet its target 3" in base and "set_target.py korean +100" in base
    # the sample holds no Chinese or Western line: their published pair_ids may collide with new ones
    assert "warning: no published record of chinese, western" in base and "pair_ids" in base

    new_images(ws, 12)
    support.run("add_candidates.py", "korean", "images/korean_new/", ws=ws, cwd=ws, check=True)
    out = support.run_json("set_target.py", "korean", "+12", ws=ws)
    assert (out["target"], out["reached"], out["gap"]) == (15, 3, 12)
    assert json.loads((ws / "checkpoints" / "expansion_plan.json").read_text()) == {"cultures": {"korean": {"target": 15}}}
    expand(ws, "korean", 12)
    kr = next(r for r in support.run_json("batch_status.py", ws=ws)["cultures"] if r["culture"] == "korean")
    assert (kr["reached"], kr["target"], kr["gap"]) == (15, 15, 0)

    support.run_json("sync_to_lancedb.py", "--force", ws=ws)
    assert support.run_json("sync_to_lancedb.py", "--baseline", ws=ws)["inserted"] == 29
    # the table holds the published records now: an export for appending would repeat their pair_ids
    refused = support.run("export_critiques.py", "--culture", "korean", "--output", tmp_path / "all_korean.jsonl", ws=ws)
    assert refused.returncode == 2 and "--new" in refused.stderr and "--whole-dataset" in refused.stderr, refused.stderr

    exported = support.run_json("export_critiques.py", "--culture", "korean", "--new", "--output", tmp_path / "new_korean.jsonl", ws=ws)
    assert exported["records"] == 12 and exported["published_shape"]
    new = jsonl(tmp_path / "new_korean.jsonl")
    published_kr = jsonl(files[CULTURES.index("korean")])
    for line in new:  # the published Korean lines' shape: keys in order, types, "" for missing metadata
        assert list(line) == list(published_kr[0])
        assert isinstance(line["covered_dimensions"], str) and len(json.loads(line["covered_dimensions"])) >= 18
        assert isinstance(line["quality_score"], float) and line["art_style"] == line["art_genre"] == line["medium"] == ""
    assert sorted(int(line["pair_id"][5:]) for line in new) == list(range(top + 1, top + 13))

    korean = files[CULTURES.index("korean")]
    with korean.open("ab") as f:  # README step 7: cat new_korean.jsonl >> korean.jsonl
        f.write((tmp_path / "new_korean.jsonl").read_bytes())
    after = support.run("check_dataset.py", *files, ws=ws)
    assert after.returncode == 0 and "clean" in after.stdout.splitlines()[0], after.stdout
    grown = support.run_json("check_dataset.py", *files, ws=ws)["cultures"]["korean"]
    assert (grown["lines"], grown["rules"]["records"], grown["rules"]["met"]) == (15, 15, 14)  # one published line predates the rules

    fresh = tmp_path / "fresh"
    (fresh / "checkpoints").mkdir(parents=True)
    again = support.run_json("set_baseline.py", *files, ws=fresh)
    assert again["cultures"]["korean"]["records"] == 15 and again["max_pair_id"] == top + 12


def test_the_check_finds_repeated_ids_and_a_second_shape(tmp_path, ws):
    files = published_copy(tmp_path / "published")
    korean = files[CULTURES.index("korean")]
    lines = korean.read_text(encoding="utf-8").splitlines()
    other = json.loads(lines[1])
    other.update(pair_id=json.loads(lines[0])["pair_id"], covered_dimensions=json.loads(other["covered_dimensions"]))
    other["image_path"] += ".again"
    korean.write_text("\n".join(lines + [json.dumps(other, ensure_ascii=False)]) + "\n", encoding="utf-8")
    r = support.run("check_dataset.py", *files, ws=ws)
    assert r.returncode == 1, r.stdout
    assert "pair_id PAIR_07767 is given 2 times (korean.jsonl line 1, korean.jsonl line 4)" in r.stdout
    assert f"ulid {other['ulid']} is given 2 times (korean.jsonl line 2, korean.jsonl line 4)" in r.stdout
    assert "covered_dimensions is an array, the culture's lines hold a string" in r.stdout
    out = support.run_json("check_dataset.py", *files, ws=ws, expect=1)
    assert {p["kind"] for p in out["problems"]} == {"pair_id", "ulid", "shape"}
    # the published mural file repeats an image_path: reported, not a problem
    assert out["cultures"]["mural"]["repeated_images"][0]["place"] == "mural.jsonl line 6"
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    r = support.run("check_dataset.py", bad, ws=ws)
    assert r.returncode == 2 and "bad.jsonl: line 1: not valid JSON" in r.stderr


def test_the_check_counts_why_published_records_miss_todays_rules(ws):
    out = support.run_json("check_dataset.py", *[SAMPLE / f"{c}.jsonl" for c in CULTURES], ws=ws)
    indian = out["cultures"]["indian"]
    assert (indian["rules"]["records"], indian["rules"]["met"]) == (6, 3)
    assert indian["rules"]["failing"] == {"critique_zh: too few characters, need >= 200": 2,
                                          "critique_en: too few words, need >= 100": 1,
                                          "covered_dimensions: too few valid IN dimensions, need >= 21": 1}
    # the records use more dimension IDs than the dataset's README counts: the catalogue keeps them all
    assert indian["dimensions"] == {"used": 33, "catalogue": 33, "official": 30, "beyond_official": 3, "outside_catalogue": []}
    for name in CULTURES:
        assert out["cultures"][name]["dimensions"]["outside_catalogue"] == [], name


def test_set_target_absolute_relative_none_and_bad(ws):
    out = support.run_json("set_target.py", "japanese", "500", ws=ws)
    assert (out["target"], out["was"]) == (500, None)
    status = {r["culture"]: r for r in support.run_json("batch_status.py", ws=ws)["cultures"]}
    assert status["japanese"]["target"] == 500 and status["korean"]["target"] == 150  # the rest of the bundled plan holds
    assert support.run_json("set_target.py", "korean", "+10", ws=ws)["target"] == 64 + 10  # the plan's current, no baseline
    support.run("set_target.py", "japanese", "none", ws=ws, check=True)
    plan = json.loads((ws / "checkpoints" / "expansion_plan.json").read_text())
    assert plan == {"cultures": {"japanese": {"target": None}, "korean": {"target": 74}}}
    for bad in ("-5", "lots", "+0"):
        r = support.run("set_target.py", "korean", bad, ws=ws)
        assert r.returncode == 2 and "TARGET" in r.stderr, (bad, r.stderr)
    r = support.run("set_target.py", "klingon", "5", ws=ws)
    assert r.returncode == 2 and "not in the plan" in r.stderr
    assert json.loads((ws / "checkpoints" / "expansion_plan.json").read_text()) == plan  # nothing written on bad input


def test_messages_name_set_target_where_a_target_stops_work(ws):
    support.write_candidates(ws, "japanese", 3)
    support.write_candidates(ws, "korean", 12)
    r = support.run("run_next_batch.py", "--culture", "japanese", ws=ws)
    assert r.returncode == 1 and "set_target.py japanese N" in r.stdout, r.stdout
    assert "set_target.py japanese N" in support.run("batch_status.py", ws=ws).stdout
    assert "set_target.py japanese N" in support.run("batch_status.py", "japanese", ws=ws).stdout
    r = support.run("run_unattended.py", "japanese", ws=ws)
    assert r.returncode == 2 and "set_target.py japanese N" in r.stderr
    support.run("set_target.py", "korean", "64", ws=ws, check=True)  # reached already, 12 images pending
    out = support.run("batch_status.py", ws=ws).stdout
    assert "target reached with images left (korean 64/64): raise it with set_target.py korean +12" in out, out
    assert "set_target.py korean +12 raises it" in support.run("batch_status.py", "korean", ws=ws).stdout
    r = support.run("run_next_batch.py", "--culture", "korean", ws=ws)
    assert r.returncode == 0 and "note: korean already holds 64 records, its target is 64: set_target.py korean +2 raises it" in r.stdout, r.stdout


def test_a_workspace_plan_holds_only_what_differs(ws):
    plan = ws / "checkpoints" / "expansion_plan.json"
    plan.write_text(json.dumps({"cultures": {"japanese": {"target": 500, "quality": {"min_en_words": 80}}},
                                "defaults": {"batch_size": 5}}))
    from critique_batch.files.workspace import Workspace

    p = Workspace(ws).plan
    jp, cn = p.culture("japanese"), p.culture("chinese")
    assert jp.target == 500 and jp.quality.min_en_words == 80 and jp.quality.min_dimensions == 19  # the bundled rest kept
    assert len(jp.dimensions) == 28 and cn.target == 2100 and cn.batch_size == jp.batch_size == 5
    # the workspace's defaults win over what the bundled plan says per culture
    plan.write_text(json.dumps({"defaults": {"quality": {"min_dimensions": 3}}}))
    assert Workspace(ws).plan.culture("chinese").quality.min_dimensions == 3
    plan.write_text(json.dumps({"cultures": {"japanese": {"target": "many"}}}))
    r = support.run("batch_status.py", ws=ws)
    assert r.returncode == 2 and f"{plan}: cultures.japanese.target: expected" in r.stderr, r.stderr
    plan.write_text(json.dumps({"cultures": {"thai": {"target": 10}}}))
    r = support.run("batch_status.py", ws=ws)
    assert r.returncode == 2 and "cultures.thai" in r.stderr and "prefix" in r.stderr, r.stderr


def test_a_baseline_set_before_shapes_were_kept_reads_them_from_its_files(tmp_path, ws):
    from critique_batch.files.baseline import load_baseline
    from critique_batch.files.published import line_for
    from critique_batch.files.workspace import Workspace

    files = published_copy(tmp_path / "published")
    support.run("set_baseline.py", *files, ws=ws, check=True)
    path = ws / "checkpoints" / "baseline.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    shapes = doc.pop("shapes")
    path.write_text(json.dumps(doc), encoding="utf-8")
    baseline = load_baseline(Workspace(ws))
    assert baseline.shape("korean") == shapes["korean"] and shapes["korean"]["types"]["covered_dimensions"] == "string"
    assert baseline.shape("chinese") == shapes["hermitage"]  # a culture the files do not hold: the fullest shape
    row = {"filepath": "images/k.jpg", "culture": "korean", "pair_id": "PAIR_20000", "ulid": "U", "artist": None, "title": "T",
           "critique_zh": "评", "critique_en": "e", "covered_dimensions": ["KR_L1_D1"], "quality_score": 90, "art_form": None}
    line = json.loads(line_for(row, {}, shape=baseline.shape("korean")))
    assert list(line) == shapes["korean"]["keys"]
    assert (line["artist"], line["quality_score"], line["covered_dimensions"], line["medium"]) == ("", 90.0, '["KR_L1_D1"]', "")
