"""The scripts as a user runs them: parallel claims, output sizes, --help, --json, speed rules
(no lancedb import), the missing-dependency message, and generated files in sync."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import support

CULTURES = ["korean", "indian", "mural", "chinese", "western"]
SCRIPTS = ["batch_status.py", "run_next_batch.py", "validate_batch.py", "add_candidates.py", "requeue_parked.py", "set_baseline.py"]


def start(script, *args, ws):
    return subprocess.Popen([sys.executable, str(support.SCRIPTS / script), *args, "--workspace", str(ws), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_eight_parallel_claims_never_share_an_item(ws):
    for c in CULTURES:
        support.write_candidates(ws, c, 30)
    for _round in range(2):
        procs = [start("run_next_batch.py", "--count", "3", "--size", "3", ws=ws) for _ in range(8)]
        outs = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode in (0, 1) for p in procs), outs
        for out, err in outs:
            assert "Traceback" not in err
            json.loads(out)
        # answer every batch so the second round collects and claims at once
        for c in CULTURES:
            p = support.progress(ws, c)
            for key, entry in p["in_flight"].items():
                support.write_output(ws, c, int(key), [support.good_record(c, fp) for fp in entry["items"]])
    for c in CULTURES:
        inputs = sorted((ws / "checkpoints").glob(f"{c}_batch_*_input.json"))
        claimed = [img["filepath"] for f in inputs for img in json.loads(f.read_text())["images"]]
        assert len(claimed) == len(set(claimed)), f"{c}: an item is in two batches"
        assert len(inputs) <= 8  # max_parallel 4 per round
    for f in (ws / "checkpoints").glob("*.json"):
        json.loads(f.read_text())  # no broken file
    assert support.run("batch_status.py", "--rebuild", "--check", ws=ws).returncode == 0


def test_parallel_collect_accepts_each_record_once(ws):
    support.write_candidates(ws, "korean", 40)
    support.run("run_next_batch.py", "--culture", "korean", "--count", "4", ws=ws, check=True)
    p = support.progress(ws, "korean")
    for key, entry in p["in_flight"].items():
        support.write_output(ws, "korean", int(key), [support.good_record("korean", fp) for fp in entry["items"]])
    procs = [start("run_next_batch.py", "--count", "0", ws=ws) for _ in range(6)]
    for proc in procs:
        proc.communicate(timeout=120)
    accepted = support.accepted_filepaths(ws, "korean")
    assert len(accepted) == len(set(accepted)) == 40 == support.progress(ws, "korean")["completed"]


def test_status_overview_is_short(ws):
    for c in CULTURES:
        support.write_candidates(ws, c, 300)
    support.run("run_next_batch.py", "--count", "6", ws=ws, check=True)
    out = support.run("batch_status.py", ws=ws, check=True).stdout
    assert len(out.encode()) <= 2048, out
    for c in CULTURES:
        assert c in out
    # relative gap (1 - current/target): western 0.66, korean 0.57, indian 0.35, mural 0.27, chinese 0.12
    assert "priority: western > korean > indian > mural > chinese" in out


def test_status_json_fields(korean_ws):
    doc = support.run_json("batch_status.py", ws=korean_ws)
    kr = next(c for c in doc["cultures"] if c["culture"] == "korean")
    for key in ("culture", "current", "target", "total", "completed", "pending", "in_flight", "failed", "unmerged"):
        assert key in kr
    assert kr["total"] == 40 and kr["pending"] == 40 and kr["current"] == 64 and kr["target"] == 150


def test_status_detail(korean_ws):
    support.run("run_next_batch.py", "--culture", "korean", ws=korean_ws, check=True)
    out = support.run("batch_status.py", "--culture", "korean", ws=korean_ws, check=True).stdout
    assert "next batch   002" in out and "remaining    4 batches of 10" in out and "in flight    001" in out


def test_western_milestones(ws):
    support.write_candidates(ws, "western", 30)
    d = support.run_json("batch_status.py", "--culture", "western", ws=ws)["cultures"][0]
    assert [(m["name"], m["images"]) for m in d["milestones"]] == [("M1", 250), ("M2", 750), ("M3", 1500), ("M4", 2500), ("M5", 3704)]
    assert d["next_milestone"]["name"] == "M1"


def test_eta_from_observed_durations(korean_ws):
    env = {"CRITIQUE_BATCH_NOW": "2026-11-01T10:00:00Z"}
    support.run("run_next_batch.py", "--culture", "korean", "--count", "2", ws=korean_ws, env=env, check=True)
    for b in (1, 2):
        support.write_output(korean_ws, "korean", b, [support.good_record("korean", fp) for fp in support.batch_items(korean_ws, "korean", b)])
    env = {"CRITIQUE_BATCH_NOW": "2026-11-01T10:10:00Z"}
    support.run("run_next_batch.py", "--count", "0", ws=korean_ws, env=env, check=True)
    d = support.run_json("batch_status.py", "--culture", "korean", ws=korean_ws, env=env)["cultures"][0]
    assert d["median_batch_seconds"] == 600 and d["remaining_batches"] == 2
    assert d["eta_seconds"] == 600  # 2 batches, 4 in parallel: one wave of 600 s (issue 12: never less than one batch)


def test_brief_is_short_and_exact(korean_ws):
    doc = support.run_json("run_next_batch.py", "--culture", "korean", ws=korean_ws)
    [b] = doc["batches"]
    assert len(b["brief"].encode()) <= 600
    assert "korean-batch-generator" in b["brief"] and "validate_batch.py" in b["brief"] and b["output"] in b["brief"]
    # the check command in the brief works as written
    cmd = b["brief"].split("Check: ")[1].split(" ;")[0].split()
    proc = subprocess.run([sys.executable, *cmd[1:]], capture_output=True, text=True)
    assert proc.returncode == 1 and "FAIL output file not written yet" in proc.stdout


def test_count_zero_only_collects(korean_ws):
    proc = support.run("run_next_batch.py", "--count", "0", ws=korean_ws)
    assert proc.returncode == 0 and "nothing to collect" in proc.stdout
    assert not list((korean_ws / "checkpoints").glob("*_input.json"))


def test_nothing_claimable_exits_1_with_reason(korean_ws):
    support.run("run_next_batch.py", "--culture", "korean", "--count", "4", ws=korean_ws, check=True)
    proc = support.run("run_next_batch.py", "--culture", "korean", ws=korean_ws)
    assert proc.returncode == 1 and "max_parallel" in proc.stdout


@pytest.mark.parametrize("script", SCRIPTS)
def test_help(script):
    proc = support.run(script, "--help")
    assert proc.returncode == 0 and "--workspace" in proc.stdout and "--json" in proc.stdout


@pytest.mark.parametrize("script,args", [("batch_status.py", []), ("run_next_batch.py", ["--count", "1"]), ("validate_batch.py", ["korean", "1"])])
def test_hot_scripts_do_not_import_lancedb(korean_ws, script, args):
    support.run("run_next_batch.py", "--culture", "korean", ws=korean_ws, check=True)
    cmd = [sys.executable, "-X", "importtime", str(support.SCRIPTS / script), *args, "--workspace", str(korean_ws)]
    env = {k: v for k, v in os.environ.items() if k != "CRITIQUE_BATCH_CHECK_WRITES"}  # as at run time
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "critique_batch" in imported and "json" in imported  # the check sees real imports
    assert "lancedb" not in imported and "pyarrow" not in imported
    if script != "validate_batch.py":
        # status and a claim stay lean (issue 13): no dataclasses (it imports inspect), no typing,
        # no OpenSSL (hashlib), no shutil, no uuid (it imports platform), no schema checks of files
        # the package wrote itself
        lean = {"dataclasses", "inspect", "typing", "hashlib", "shutil", "uuid", "platform", "jsonschema"}
        assert not imported & lean, sorted(imported)


def test_missing_dependency_gives_install_line(korean_ws, tmp_path):
    fake = tmp_path / "fake"
    (fake / "jsonschema").mkdir(parents=True)
    (fake / "jsonschema" / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'jsonschema'\", name='jsonschema')\n")
    env = {"PYTHONPATH": str(fake)}
    proc = support.run("batch_status.py", ws=korean_ws, env=env)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install" in lines[0] and "uv pip install" in lines[0] and "jsonschema" in lines[0]
    assert "Traceback" not in proc.stderr


def test_scripts_work_from_a_copied_folder(tmp_path, korean_ws):
    """Skills carry a copy of scripts/: it must work with nothing else from the repo."""
    import shutil
    copy = tmp_path / "elsewhere" / "scripts"
    shutil.copytree(support.SCRIPTS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([sys.executable, str(copy / "run_next_batch.py"), "--culture", "korean", "--workspace", str(korean_ws)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert str(copy / "validate_batch.py") in proc.stdout


def test_add_candidates_from_folder_and_manifest(ws):
    images = ws / "images" / "korean"
    for artist in ("Kim_Hongdo", "Shin_Yunbok"):
        (images / artist).mkdir(parents=True)
        for n in range(3):
            (images / artist / f"work_{n}.jpg").write_bytes(b"\xff\xd8")
    (images / "notes.txt").write_text("not an image")
    doc = support.run_json("add_candidates.py", "korean", str(images), ws=ws)
    assert (doc["added"], doc["found"]) == (6, 6)
    cands = support.image_list(ws, "korean")
    assert cands[0] == {"filepath": "images/korean/Kim_Hongdo/work_0.jpg", "artist": "Kim Hongdo", "title": "work 0"}
    manifest = ws / "more.csv"
    manifest.write_text("filepath,artist,title,art_form,medium\n"
                        "images/korean/Kim_Hongdo/work_0.jpg,Kim Hongdo,dup,,\n"
                        "images/korean/x.jpg,Jeong Seon,Inwang,painting,ink\n"
                        "images/korean/y.jpg,Jeong Seon,Geumgang,painting,\n"
                        "images/korean/x.jpg,Jeong Seon,Inwang again,,\n")
    done = ws / "done.txt"
    done.write_text("images/korean/y.jpg\n")
    doc = support.run_json("add_candidates.py", "korean", str(manifest), "--done", str(done), ws=ws)
    assert (doc["added"], doc["duplicates"], doc["done"], doc["total"]) == (1, 2, 1, 7)
    assert support.image_list(ws, "korean")[-1] == {"filepath": "images/korean/x.jpg", "artist": "Jeong Seon", "title": "Inwang",
                                                    "art_form": "painting", "medium": "ink"}
    before = support.state_hashes(ws)
    again = support.run_json("add_candidates.py", "korean", str(manifest), "--dry-run", ws=ws)  # y.jpg would be added now
    assert again["added"] == 1 and again["dry_run"] and support.state_hashes(ws) == before


def test_new_culture_is_configuration_only(ws):
    plan = json.loads((support.ROOT / "checkpoints" / "expansion_plan.json").read_text())
    plan["cultures"]["japanese"] = {
        "prefix": "JP", "current": 10, "target": 40, "generator": "japanese-batch-generator", "batch_size": 5,
        "quality": {"min_dimensions": 3, "min_zh_chars": 20, "min_en_words": 10},
        "dimensions": [{"id": f"JP_L{layer}_D1", "zh": f"维度{layer}", "en": f"Dimension {layer}"} for layer in range(1, 6)],
    }
    (ws / "checkpoints" / "expansion_plan.json").write_text(json.dumps(plan, ensure_ascii=False))
    support.write_candidates(ws, "japanese", 12)
    [b] = support.run_json("run_next_batch.py", "--culture", "japanese", ws=ws)["batches"]
    fps = support.batch_items(ws, "japanese", 1)
    assert len(fps) == 5 and b["generator"] == "japanese-batch-generator"
    # no skill exists for it: the brief has the subagent print its instructions from this plan
    assert "generator_instructions.py japanese --batch 1" in b["brief"]
    text = support.run("generator_instructions.py", "japanese", "--batch", "1", ws=ws, check=True).stdout
    for layer in range(1, 6):
        assert f"| `JP_L{layer}_D1` | 维度{layer} | Dimension {layer} |" in text
    assert "At least 3 distinct `JP_L{1-5}_D{n}` IDs" in text and "japanese_batch_001_output.json" in text
    rec = {"critique_zh": "这是一段足够长的中文评论内容用来测试新文化的配置",
           "critique_en": "a long enough english critique for the new culture test here",
           "covered_dimensions": ["JP_L1_D1", "JP_L2_D1", "JP_L3_D1"], "quality_score": 80}
    support.write_output(ws, "japanese", 1, [dict(rec, filepath=fp) for fp in fps])
    assert support.run("validate_batch.py", "japanese", "1", ws=ws).returncode == 0
    support.run("run_next_batch.py", "--count", "0", ws=ws, check=True)
    assert support.progress(ws, "japanese")["completed"] == 5


def test_generated_copies_match_sources():
    proc = subprocess.run([sys.executable, str(support.ROOT / "tools" / "generate.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_drift_is_detected(tmp_path):
    import shutil
    repo = tmp_path / "repo"
    for part in ("schemas", "checkpoints", "scripts", "tools", "skills", ".claude-plugin"):  # all that generate.py reads
        shutil.copytree(support.ROOT / part, repo / part, ignore=shutil.ignore_patterns("__pycache__", ".valid", ".locks", "*_progress.json"))
    shutil.copy2(support.ROOT / "pyproject.toml", repo / "pyproject.toml")
    shutil.copy2(support.ROOT / "LICENSE", repo / "LICENSE")
    copy = repo / "scripts" / "critique_batch" / "schemas" / "plan.schema.json"
    copy.write_text(copy.read_text().replace("Expansion plan", "Edited by hand"))
    proc = subprocess.run([sys.executable, str(repo / "tools" / "generate.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 1 and "plan.schema.json" in proc.stdout
    subprocess.run([sys.executable, str(repo / "tools" / "generate.py")], check=True, capture_output=True)
    assert subprocess.run([sys.executable, str(repo / "tools" / "generate.py"), "--check"]).returncode == 0


def test_brief_points_to_fitting_instructions(ws):
    """Instructions generated from the bundled plan are used only while the workspace's plan has
    not changed the culture; otherwise they are rendered from the workspace's plan."""
    support.write_candidates(ws, "korean", 20)
    plan = json.loads((support.ROOT / "checkpoints" / "expansion_plan.json").read_text())
    (ws / "checkpoints" / "expansion_plan.json").write_text(json.dumps(plan, ensure_ascii=False))
    [b] = support.run_json("run_next_batch.py", "--culture", "korean", ws=ws)["batches"]
    assert b["brief"].startswith("Use the korean-batch-generator skill")  # same culture as bundled
    plan["cultures"]["korean"]["quality"] = {"min_dimensions": 20}
    (ws / "checkpoints" / "expansion_plan.json").write_text(json.dumps(plan, ensure_ascii=False))
    [b] = support.run_json("run_next_batch.py", "--culture", "korean", ws=ws)["batches"]
    assert "generator_instructions.py korean --batch 2" in b["brief"]
    text = support.run("generator_instructions.py", "korean", ws=ws, check=True).stdout
    assert "At least 20 distinct `KR_L{1-5}_D{n}` IDs" in text
    assert "A complete record that passes the check" in text  # the bundled example still passes
