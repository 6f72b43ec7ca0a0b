"""Everyday paths that used to dead-end (issue 21, section 3 and 4): each now says what to do next."""

from __future__ import annotations

import json

import support


def test_a_misspelt_culture_gets_a_suggestion_and_the_workspace_plan_is_named(ws):
    for script in ("batch_status.py", "run_next_batch.py", "validate_batch.py"):
        args = ("koren", "1") if script == "validate_batch.py" else ("--culture", "koren")
        proc = support.run(script, *args, ws=ws)
        assert proc.returncode == 2, proc.stderr
        assert "did you mean 'korean'?" in proc.stderr, proc.stderr
        assert str(ws / "checkpoints" / "expansion_plan.json") in proc.stderr  # never the bundled plan inside the skill
    far = support.run("batch_status.py", "--culture", "martian", ws=ws)
    assert far.returncode == 2 and "did you mean" not in far.stderr and "it has: chinese" in far.stderr


def test_milestones_beyond_the_target_are_not_shown(ws):
    """The bundled korean milestones (M1 = 43 new images) were set for 64 -> 150; a baseline of 151
    published records and a target of 160 put M1 at 194, past the target: it is not shown."""
    plan = json.loads((support.SCRIPTS / "critique_batch" / "data" / "expansion_plan.json").read_text(encoding="utf-8"))
    plan.pop("$comment", None)
    plan["cultures"]["korean"].update(current=151, target=160)
    (ws / "checkpoints" / "expansion_plan.json").write_text(json.dumps(plan), encoding="utf-8")
    support.write_candidates(ws, "korean", 20)
    d = support.run_json("batch_status.py", "--culture", "korean", ws=ws)["cultures"][0]
    assert d["milestones"] == [] and d["next_milestone"] is None
    text = support.run("batch_status.py", "--culture", "korean", ws=ws, check=True).stdout
    assert "milestone" not in text and "M1" not in text
    plan["cultures"]["korean"].update(current=64, target=150)  # as bundled: M1 and M2 lie within the target
    (ws / "checkpoints" / "expansion_plan.json").write_text(json.dumps(plan), encoding="utf-8")
    d = support.run_json("batch_status.py", "--culture", "korean", ws=ws)["cultures"][0]
    assert [m["name"] for m in d["milestones"]] == ["M1", "M2"] and d["next_milestone"]["dataset"] == 107


def test_rebuild_check_without_a_progress_file_has_nothing_to_compare(korean_ws):
    proc = support.run("batch_status.py", "--rebuild", "--check", "--culture", "korean", ws=korean_ws)
    assert proc.returncode == 0 and proc.stdout.strip() == "korean: no progress file yet: nothing to compare", proc.stdout
    proc = support.run("batch_status.py", "--rebuild", "--culture", "korean", ws=korean_ws, check=True)
    assert proc.stdout.strip() == "korean: progress built from the batch files (there was none)"
    proc = support.run("batch_status.py", "--rebuild", "--check", "--culture", "korean", ws=korean_ws, check=True)
    assert proc.stdout.strip() == "korean: progress matches the batch files"


def test_a_baseline_only_workspace_is_told_about_sync_baseline(ws):
    """set_baseline.py, then search or sync before anything was generated: both name --baseline."""
    sample = support.ROOT.parent / "shared" / "data" / "vulca-bench-sample" / "korean.jsonl"
    published = ws / "korean.jsonl"
    if sample.exists():
        published.write_bytes(sample.read_bytes())
    else:  # a clone without shared/: one line of the published shape
        from test_published import published_line, write_jsonl
        write_jsonl(published, [published_line("korean", 1, pair=1)])
    support.run("set_baseline.py", published, ws=ws, check=True)
    search = support.run("search_critiques.py", "留白", ws=ws)
    assert search.returncode == 1 and "sync_to_lancedb.py --baseline" in search.stderr, search.stderr
    sync = support.run("sync_to_lancedb.py", ws=ws, check=True)
    assert "sync_to_lancedb.py --baseline merges it" in sync.stdout, sync.stdout
    support.run("sync_to_lancedb.py", "--baseline", ws=ws, check=True)
    sync = support.run("sync_to_lancedb.py", ws=ws, check=True)
    assert "--baseline" not in sync.stdout  # merged: no more hint
    assert support.run("search_critiques.py", "留白", ws=ws).returncode == 0


def test_a_progress_file_that_contradicts_its_batch_records_is_not_believed(korean_ws):
    """"completed": 99 edited into a progress file with 3 accepted records: status does not show 99
    (it showed 167%), it names the field and the rebuild; the rebuild restores the truth."""
    ws = korean_ws
    support.run("run_next_batch.py", "--culture", "korean", "--size", "3", "--count", "1", ws=ws, check=True)
    support.write_output(ws, "korean", 1, [support.good_record("korean", fp) for fp in support.batch_items(ws, "korean", 1)])
    support.run("run_next_batch.py", "--culture", "korean", "--count", "0", ws=ws, check=True)
    path = ws / "checkpoints" / "korean_expansion_progress.json"
    good = path.read_text(encoding="utf-8")
    for field, value in (("completed", 99), ("next_batch", 1)):
        doc = json.loads(good)
        doc[field] = value
        path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
        for script in ("batch_status.py", "run_next_batch.py"):
            proc = support.run(script, "--culture", "korean", ws=ws)
            assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
            assert f"korean_expansion_progress.json: {field}:" in proc.stderr or f"{field}" in proc.stderr
            assert "contradicts its own batch records" in proc.stderr and "batch_status.py --rebuild --culture korean" in proc.stderr
        check = support.run("batch_status.py", "--rebuild", "--check", "--culture", "korean", ws=ws)
        assert check.returncode == 1 and check.stdout.startswith(f"korean: differs in {field}"), check.stdout
        support.run("batch_status.py", "--rebuild", "--culture", "korean", ws=ws, check=True)
        row = support.run_json("batch_status.py", "--culture", "korean", ws=ws)["cultures"][0]
        assert row["completed"] == 3 and row["next_batch"] == 2


def test_the_maintainers_path_is_in_the_installed_skills_own_text():
    """A model with only batch-orchestrator installed finds the whole path in SKILL.md: check,
    baseline of every file, new images, target, export of the new records only, append, check."""
    skill = support.ROOT / "skills" / "batch-orchestrator"
    text = (skill / "SKILL.md").read_text(encoding="utf-8")
    path = text.split("## Expanding a published dataset", 1)[1].split("\n## ", 1)[0]
    steps = ["check_dataset.py\" data/culture_subsets/*.jsonl", "set_baseline.py\" data/culture_subsets/*.jsonl",
             "add_candidates.py\" korean images/korean_new/", "set_target.py\" korean +100",
             "export_critiques.py\" --culture korean --new --output new_korean.jsonl", "cat new_korean.jsonl >>"]
    at = [path.find(s) for s in steps]
    assert -1 not in at and at == sorted(at), dict(zip(steps, at))
    for script in ("check_dataset.py", "set_baseline.py", "set_target.py", "export_critiques.py", "add_candidates.py"):
        assert (skill / "scripts" / script).is_file()
    assert "every** published" in path and "--new" in path


def test_a_flat_image_folder_says_its_artists_are_unknown_and_names_the_manifest(ws):
    flat = ws / "images" / "korean_new"
    flat.mkdir(parents=True)
    for i in range(3):
        (flat / f"painting_{i}.jpg").write_bytes(b"")
    (ws / "images" / "korean_new" / "Kim_Hongdo").mkdir()
    (ws / "images" / "korean_new" / "Kim_Hongdo" / "dancer.jpg").write_bytes(b"")
    out = support.run("add_candidates.py", "korean", flat, ws=ws, check=True).stdout
    assert "3 of the 4 added images lie directly in the folder, so their artist is \"Unknown\"" in out, out
    assert "add_candidates.py korean manifest.csv" in out
    assert support.run_json("add_candidates.py", "korean", flat, "--dry-run", ws=ws)["unknown_artists"] == 0


def test_a_sync_that_changes_nothing_makes_no_version_and_baseline_has_a_dry_run(tmp_path):
    import store_support as sup

    root = sup.make_ws(tmp_path / "ws", {"korean": 12}, batch_size=4)
    sup.produce(root, "korean", 3)
    first = support.run_json("sync_to_lancedb.py", "--force", ws=root)
    assert first["merged"] and first["records"] == 12
    path = root / "checkpoints" / "korean_expansion_progress.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["merged_batches"] = []  # lost: the next sync re-merges every batch
    path.write_text(json.dumps(doc), encoding="utf-8")
    again = support.run("sync_to_lancedb.py", "--force", ws=root, check=True)
    assert again.stdout.startswith("12 records already in the table as they are, nothing written; 3 batches recorded as merged"), again.stdout
    tags = support.run_json("sync_to_lancedb.py", "--list", ws=root)
    assert tags["version"] == first["version"] and len(tags["tags"]) == 1
    # --baseline --dry-run: what would be inserted, nothing written
    from test_published import published_line, write_jsonl
    pub = write_jsonl(tmp_path / "pub.jsonl", [published_line("korean", i, pair=100 + i) for i in range(1, 4)])
    support.run("set_baseline.py", pub, ws=root, check=True)
    dry = support.run("sync_to_lancedb.py", "--baseline", "--dry-run", ws=root, check=True).stdout
    assert dry.startswith("dry run: would insert 3 of 3 published records") and "nothing changed" in dry, dry
    assert support.run_json("sync_to_lancedb.py", "--list", ws=root)["version"] == first["version"]
    assert support.run_json("sync_to_lancedb.py", "--baseline", ws=root)["inserted"] == 3


def test_the_generator_check_tables_examples_fail_their_rules():
    """Each example line in a generator's "The check says" table is a real failure of that culture's rule."""
    import re

    from critique_batch.files.plan import load_plan
    from critique_batch.files.workspace import DEFAULT_PLAN

    plan = load_plan(DEFAULT_PLAN)
    for skill in sorted((support.ROOT / "skills").glob("*-batch-generator")):
        text = (skill / "SKILL.md").read_text(encoding="utf-8")
        pairs = re.findall(r"`critique_(?:zh|en): (\d+) (?:characters|words), need >= (\d+)`", text)
        pairs += re.findall(r"`covered_dimensions: (\d+) valid \w+ dimensions, need >= (\d+)`", text)
        assert len(pairs) == 3, skill.name
        assert all(int(have) < int(need) for have, need in pairs), (skill.name, pairs)
    assert plan.cultures["korean"].quality.min_en_words == 100
