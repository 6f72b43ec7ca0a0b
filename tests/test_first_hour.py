"""Issue 12, the first hour: missing image files cost no subagent, take-over of an earlier
session's claims, messages that are right (run as a user does, through the scripts)."""

from __future__ import annotations

import json

import pytest

import support
from critique_batch.state.rebuild import rebuild
from critique_batch.state.session import run_session
from critique_batch.state import progress as prog
from critique_batch.cli import cut, plural
from critique_batch.files.workspace import Workspace
from critique_batch.files.candidates import load_candidates

T0 = "2026-11-01T10:00:00Z"


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    monkeypatch.setenv("CRITIQUE_BATCH_NOW", T0)


def _remove(ws, images, indices):
    for i in indices:
        (ws / images[i]["filepath"]).unlink()


def _rebuild_matches(ws, culture="korean"):
    r = support.run("batch_status.py", "--rebuild", "--check", "--culture", culture, ws=ws)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "matches" in r.stdout


# --- missing image files -------------------------------------------------------------------

def test_claim_parks_missing_images_without_a_subagent(ws):
    images = support.write_candidates(ws, "korean", 12)
    _remove(ws, images, [0, 2, 3, 7])
    r = support.run("run_next_batch.py", "--culture", "korean", "--size", "5", ws=ws)
    assert r.returncode == 0, r.stderr
    assert "parked 4 images of korean without a subagent: image file not found" in r.stdout
    assert "claimed 1 batch." in r.stdout
    batch = json.loads((ws / "checkpoints" / "korean_batch_001_input.json").read_text())
    assert [img["filepath"] for img in batch["images"]] == [images[i]["filepath"] for i in (1, 4, 5, 6, 8)]
    p = support.progress(ws, "korean")
    f = p["failures"][images[0]["filepath"]]
    assert prog.attempts(f) == 0 and f["skips"] == 1  # like a skip: no attempt counted
    assert f["reason"] == f"image file not found: {ws / images[0]['filepath']}"
    r = support.run_json("run_next_batch.py", "--culture", "korean", "--size", "5", ws=ws)
    assert r["parked_missing"] == []
    assert len(r["batches"]) == 1 and r["batches"][0]["images"] == 3
    _rebuild_matches(ws)
    status = support.run("batch_status.py", "--culture", "korean", ws=ws).stdout
    assert "image file not found" in status


def test_requeue_keeps_missing_file_parked_until_it_exists(ws):
    images = support.write_candidates(ws, "korean", 3)
    _remove(ws, images, [1])
    support.run("run_next_batch.py", "--culture", "korean", "--size", "5", ws=ws, check=True)
    r = support.run("requeue_parked.py", "korean", ws=ws)
    assert r.returncode == 0
    assert "1 parked item left parked: the image file is still missing" in r.stdout
    assert images[1]["filepath"] in r.stdout
    assert prog.Progress.from_json(support.progress(ws, "korean")).parked(3)
    support.touch_images(ws, [images[1]])
    r = support.run("requeue_parked.py", "korean", ws=ws)
    assert "re-queued 1 parked item" in r.stdout and "still missing" not in r.stdout
    _rebuild_matches(ws)
    r = support.run_json("run_next_batch.py", "--culture", "korean", ws=ws)
    assert r["batches"][0]["images"] == 1 and not r["parked_missing"]
    _rebuild_matches(ws)


def test_only_missing_images_left_claims_nothing_and_says_why(ws):
    images = support.write_candidates(ws, "korean", 4)
    _remove(ws, images, range(4))
    r = support.run("run_next_batch.py", "--culture", "korean", ws=ws)
    assert r.returncode == 1
    assert "parked 4 images of korean" in r.stdout
    assert "only parked items left (4)" in r.stdout
    assert not (ws / "checkpoints" / "korean_batch_001_input.json").exists()
    _rebuild_matches(ws)


def test_urls_are_not_checked(ws):
    images = [dict(support.image("korean", i), filepath=f"https://example.org/img/{i}.jpg") for i in range(2)]
    images.append(dict(support.image("korean", 2), filepath="s3://bucket/korean/2.jpg"))
    path = ws / "checkpoints" / "korean_expansion_candidates.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"culture": "korean", "images": images}), encoding="utf-8")
    r = support.run_json("run_next_batch.py", "--culture", "korean", ws=ws)
    assert r["batches"][0]["images"] == 3 and not r["parked_missing"]


def test_crash_after_missing_park_is_reconciled(ws):
    images = support.write_candidates(ws, "korean", 6)
    _remove(ws, images, [0])
    support.run("run_next_batch.py", "--culture", "korean", "--size", "2", ws=ws, check=True)
    (ws / "checkpoints" / "korean_expansion_progress.json").unlink()  # as if never saved
    w = Workspace(ws)
    kept = run_session(w, "korean", lambda s: s.progress.to_json())
    assert prog.Progress.from_json(kept).parked(3) == {images[0]["filepath"]: kept["failures"][images[0]["filepath"]]}
    _rebuild_matches(ws)


def test_add_candidates_reports_missing_files(ws, tmp_path):
    (ws / "images").mkdir()
    (ws / "images" / "a.jpg").write_bytes(b"x")
    manifest = tmp_path / "m.csv"
    manifest.write_text("filepath,artist,title\nimages/a.jpg,A,T\nimages/b.jpg,B,T\n/mnt/i/vulca/c.jpg,C,T\nhttps://x.org/d.jpg,D,T\n")
    r = support.run("add_candidates.py", "korean", str(manifest), "--dry-run", ws=ws)
    assert r.returncode == 0, r.stderr
    assert "candidates would be 4" in r.stdout
    assert "2 of the 4 added images have no file" in r.stdout
    assert "/mnt/i/vulca/c.jpg" in r.stdout
    out = support.run_json("add_candidates.py", "korean", str(manifest), ws=ws)
    assert out["missing_files"] == 2


# --- messages ------------------------------------------------------------------------------

def test_plural_and_cut():
    assert plural(1, "batch") == "1 batch" and plural(2, "batch") == "2 batches"
    assert plural(0, "image") == "0 images" and plural(1, "word") == "1 word"
    assert cut("abcdef", 4) == "abc…" and cut("abc", 4) == "abc"


def test_check_without_rebuild_is_refused(ws):
    r = support.run("batch_status.py", "--check", ws=ws)
    assert r.returncode == 2
    assert "--rebuild" in r.stderr


# --- take-over of an earlier session's claims ------------------------------------------------

def _claim(ws, *args, now=T0, session="A"):
    return support.run_json("run_next_batch.py", "--culture", "korean", "--session", session, *args, ws=ws,
                            env={"CRITIQUE_BATCH_NOW": now}, expect=None)


def test_take_over_earlier_sessions_claims(ws):
    support.write_candidates(ws, "korean", 30)
    first = _claim(ws, "--count", "2", "--size", "5", session="A")
    assert [b["batch_id"] for b in first["batches"]] == [1, 2]
    assert json.loads((ws / "checkpoints" / "korean_batch_001_input.json").read_text())["session"] == "A"
    support.write_output(ws, "korean", 1, [support.good_record("korean", fp) for fp in support.batch_items(ws, "korean", 1)])
    # a new session, 30 minutes later (the leases last longer): batch 2 is taken over at once
    later = "2026-11-01T10:30:00Z"
    got = _claim(ws, "--take-over", "--count", "1", now=later, session="B")
    assert [c["batch_id"] for c in got["collected"]] == [1]
    assert [(b["batch_id"], b["taken_over"]) for b in got["batches"]] == [(2, True)]
    batch = json.loads((ws / "checkpoints" / "korean_batch_002_input.json").read_text())
    assert batch["session"] == "B" and batch["claims"] == 2
    # its own claims are never taken over by itself
    again = _claim(ws, "--take-over", "--count", "1", now=later, session="B")
    assert [b["batch_id"] for b in again["batches"]] == [3]
    support.run("batch_status.py", "--rebuild", "--check", "--culture", "korean", ws=ws, check=True,
                env={"CRITIQUE_BATCH_NOW": later})


def test_take_over_of_a_recent_claim_asks_for_yes(ws):
    support.write_candidates(ws, "korean", 30)
    _claim(ws, "--size", "5", session="A")
    soon = "2026-11-01T10:03:00Z"
    r = support.run("run_next_batch.py", "--culture", "korean", "--session", "B", "--take-over", "--count", "1",
                    "--size", "5", ws=ws, env={"CRITIQUE_BATCH_NOW": soon})
    assert "not taken over: korean 001 was claimed 3 min ago by session A, which may still be running" in r.stdout
    assert "--take-over --yes" in r.stdout
    assert "--- korean 002" in r.stdout  # a new batch instead
    r = support.run_json("run_next_batch.py", "--culture", "korean", "--session", "B", "--take-over", "--yes",
                         ws=ws, env={"CRITIQUE_BATCH_NOW": soon})
    assert [(b["batch_id"], b["taken_over"]) for b in r["batches"]] == [(1, True)]
    r = support.run("run_next_batch.py", "--yes", ws=ws)
    assert r.returncode == 2 and "--take-over" in r.stderr


def test_session_default_from_the_environment(ws):
    support.write_candidates(ws, "korean", 10)
    r = support.run_json("run_next_batch.py", "--culture", "korean", ws=ws, env={"CLAUDE_SESSION_ID": "abc-123"})
    assert r["session"] == "abc-123"
    assert json.loads((ws / "checkpoints" / "korean_batch_001_input.json").read_text())["session"] == "abc-123"
    other = ws / "other"
    other.mkdir()
    support.write_candidates(other, "korean", 10)
    # a skill's ${CLAUDE_SESSION_ID} left unfilled: no session recorded, no error
    r = support.run_json("run_next_batch.py", "--culture", "korean", "--session", "", ws=other,
                         env={"CLAUDE_SESSION_ID": "", "CLAUDE_CODE_SESSION_ID": ""})
    assert r["session"] is None and len(r["batches"]) == 1
    assert "session" not in json.loads((other / "checkpoints" / "korean_batch_001_input.json").read_text())


def test_status_shows_lease_end_and_session(ws):
    support.write_candidates(ws, "korean", 30)
    _claim(ws, "--count", "2", "--size", "5", session="A")
    out = support.run("batch_status.py", "--culture", "korean", ws=ws, env={"CRITIQUE_BATCH_NOW": "2026-11-01T10:18:00Z"}).stdout
    assert "001 (lease ends in 42 min, session A)" in out
    out = support.run("batch_status.py", "--culture", "korean", ws=ws, env={"CRITIQUE_BATCH_NOW": "2026-11-01T12:00:00Z"}).stdout
    assert "001 (lease expired, session A)" in out
    assert "remaining    4 batches of 10 (2 in flight)" in out
    assert "dataset      64/150 = 43% of the target" in out and "0.0% of the candidates" in out
    assert "not reachable with the images not yet accepted" in out  # M1 needs 43 new, 30 candidates
    overview = support.run("batch_status.py", ws=ws).stdout
    assert " 43% " in overview


def test_nothing_claimed_names_batches_in_flight(ws):
    images = support.write_candidates(ws, "korean", 8)
    _claim(ws, "--size", "5", session="A")
    _remove(ws, images, [5, 6, 7])
    r = support.run("run_next_batch.py", "--culture", "korean", "--session", "A", ws=ws)
    assert r.returncode == 1
    assert "only parked items left (3), besides 1 batch in flight" in r.stdout


def test_empty_workspace_status_names_next_step(ws):
    out = support.run("batch_status.py", ws=ws).stdout
    assert "add_candidates.py" in out


def test_sync_force_with_nothing_waiting_gives_no_force_hint(ws):
    support.write_candidates(ws, "korean", 5)
    plain = support.run("sync_to_lancedb.py", "--dry-run", ws=ws)
    assert plain.returncode == 0 and "--force merges any amount" in plain.stdout
    for args in (["--force", "--dry-run"], ["--force"]):
        r = support.run("sync_to_lancedb.py", *args, ws=ws)
        assert r.returncode == 0, r.stderr
        assert "nothing" in r.stdout and "--force merges any amount" not in r.stdout, r.stdout


def test_unknown_culture_points_at_the_workspace_plan(ws):
    r = support.run("run_next_batch.py", "--culture", "klingon", ws=ws)
    assert r.returncode == 2
    first = r.stderr.splitlines()[0]
    assert str(ws / "checkpoints" / "expansion_plan.json") in first and "only what differs from the bundled plan" in first
    assert "critique_batch/data" not in first.split("only what differs")[0]


def test_validate_reports_each_problem_once(ws):
    support.write_candidates(ws, "korean", 2)
    support.run("run_next_batch.py", "--culture", "korean", ws=ws, check=True)
    items = support.batch_items(ws, "korean", 1)
    rec = support.good_record("korean", items[1])
    rec["covered_dimensions"] = rec["covered_dimensions"][:-1] + ["bad id"]
    support.write_output(ws, "korean", 1, [{"filepath": items[0], "skipped": ""}, rec])
    out = support.run("validate_batch.py", "korean", "1", ws=ws).stdout
    assert out.count("skipped:") == 1, out
    assert out.count("bad id") == 1, out


def test_plan_changing_only_throughput_keeps_the_short_brief(ws):
    support.write_candidates(ws, "korean", 20)
    plan = json.loads((support.ROOT / "checkpoints" / "expansion_plan.json").read_text())
    plan["cultures"]["korean"].update(max_parallel=2, batch_size=5)
    (ws / "checkpoints" / "expansion_plan.json").write_text(json.dumps(plan, ensure_ascii=False))
    [b] = support.run_json("run_next_batch.py", "--culture", "korean", ws=ws)["batches"]
    assert b["brief"].startswith("Use the korean-batch-generator skill") and b["images"] == 5


# --- help and docs in one voice ----------------------------------------------------------------

BLOCK = '''import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"jsonschema", "filelock", "pyarrow", "lancedb"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _Block())
'''

SCRIPT_CALLS = [
    ("add_candidates.py", "korean", "m.csv"), ("batch_status.py",), ("batch_status.py", "korean"), ("run_next_batch.py",),
    ("validate_batch.py", "korean", "1"), ("requeue_parked.py", "korean"), ("generator_instructions.py", "korean"),
    ("sync_to_lancedb.py", "--force"), ("search_critiques.py", "x"), ("export_critiques.py",), ("set_baseline.py", "m.jsonl"),
    ("quality_report.py",), ("run_unattended.py", "korean"), ("set_target.py", "korean", "300"), ("check_dataset.py", "m.jsonl"),
    ("remove_candidates.py", "korean", "images/x.jpg"),
]


def test_every_script_without_its_dependencies_prints_one_line_and_exits_2(ws, tmp_path):
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(BLOCK)
    scripts = sorted(p.name for p in support.SCRIPTS.glob("*.py"))
    assert sorted({c[0] for c in SCRIPT_CALLS}) == scripts
    for script, *args in SCRIPT_CALLS:
        r = support.run(script, *args, ws=ws, env={"PYTHONPATH": str(block)})
        assert r.returncode == 2, (script, r.stdout, r.stderr)
        assert len(r.stderr.splitlines()) == 1 and "pip install" in r.stderr, (script, r.stderr)


def test_culture_both_ways_everywhere(ws, tmp_path):
    support.write_candidates(ws, "korean", 3)
    manifest = tmp_path / "m.csv"
    manifest.write_text("filepath,artist,title\nimages/x.jpg,A,T\n")
    for a, b in [(("batch_status.py", "korean"), ("batch_status.py", "--culture", "korean")),
                 (("generator_instructions.py", "korean"), ("generator_instructions.py", "--culture", "korean")),
                 (("add_candidates.py", "korean", manifest, "--dry-run"), ("add_candidates.py", "--culture", "korean", manifest, "--dry-run")),
                 (("requeue_parked.py", "korean"), ("requeue_parked.py", "--culture", "korean")),
                 (("sync_to_lancedb.py", "korean", "--dry-run"), ("sync_to_lancedb.py", "--culture", "korean", "--dry-run"))]:
        first, second = support.run(*a, ws=ws), support.run(*b, ws=ws)
        assert first.returncode == second.returncode == 0, (a, first.stderr, second.stderr)
        assert first.stdout == second.stdout
    support.run("run_next_batch.py", "--culture", "korean", ws=ws, check=True)
    a, b = support.run("validate_batch.py", "korean", "1", ws=ws), support.run("validate_batch.py", "--culture", "korean", "1", ws=ws)
    assert a.returncode == b.returncode == 1 and a.stdout == b.stdout
    r = support.run("batch_status.py", "korean", "--culture", "western", ws=ws)
    assert r.returncode == 2 and "two cultures" in r.stderr
    r = support.run("add_candidates.py", ws=ws)
    assert r.returncode == 2 and "--culture CULTURE" in r.stderr


def test_every_help_names_the_exit_codes():
    for script in sorted(support.SCRIPTS.glob("*.py")):
        out = support.run(script.name, "--help").stdout
        assert "Exit codes: 0 done; 1 " in out and "; 2 a bad command" in out, script.name


def test_every_option_of_every_script_is_in_the_scripts_page():
    """In the style of sqlite-utils' test_docs.py: docs/scripts.md's section of each script names all its options."""
    import re

    readme = (support.ROOT / "docs" / "scripts.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^### (\w+\.py)\n(.*?)(?=^## |^### |\Z)", readme, flags=re.S | re.M))
    common = {"--help", "--workspace", "--json"}
    missing = []
    for script in sorted(support.SCRIPTS.glob("*.py")):
        assert script.name in sections, f"docs/scripts.md has no section ### {script.name}"
        help_text = support.run(script.name, "--help").stdout
        listed = help_text.split("options:", 1)[1].split("\n\n", 1)[0]  # the option list, not the epilog
        options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", listed)) - common
        missing += [f"{script.name} {o}" for o in sorted(options) if o not in sections[script.name]]
    assert not missing, missing
    for option in common - {"--help"}:
        assert option in readme


def test_usage_errors_keep_their_usage_line(ws):
    r = support.run("run_next_batch.py", "--count", "x", ws=ws)
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert lines[0].startswith("usage: run_next_batch.py") and lines[-1].startswith("run_next_batch.py: error:")
    r = support.run("run_next_batch.py", "--count", "x", "--json", ws=ws)
    assert r.returncode == 2 and json.loads(r.stdout)["ok"] is False and "usage:" not in r.stderr.split("error:")[0]


def test_environment_variables_in_help_are_in_the_docs():
    import re

    # the hand-written pages (README.md and docs/), not the generated copy of the --help texts
    pages = [support.ROOT / "README.md", *sorted((support.ROOT / "docs").glob("*.md"))]
    readme = "".join(p.read_text(encoding="utf-8") for p in pages if p.name != "scripts-help.md")
    named = set()
    for script in sorted(support.SCRIPTS.glob("*.py")):
        named |= set(re.findall(r"\$([A-Z][A-Z0-9_]{3,})", support.run(script.name, "--help").stdout))
    assert named and not [v for v in sorted(named) if v not in readme]



def test_readme_links_every_docs_page_and_every_link_resolves():
    """The README stays short by linking docs/: every page is reachable from it, and no relative
    link in README.md or docs/ points at a file (or a README heading) that is not there."""
    import re

    readme = (support.ROOT / "README.md").read_text(encoding="utf-8")
    pages = sorted((support.ROOT / "docs").glob("*.md"))
    assert pages and not [p.name for p in pages if f"](docs/{p.name})" not in readme]
    headings = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", readme, re.M)}
    broken = []
    for page in [support.ROOT / "README.md", *pages]:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.exists() or (anchor and resolved.name == "README.md" and anchor not in headings):
                broken.append(f"{page.name}: {target}")
    assert not broken, broken

def test_many_missing_images_are_parked_in_one_write(ws, monkeypatch):
    from critique_batch.base import jsonfiles
    from critique_batch.state import missing_images

    images = support.write_candidates(ws, "korean", 300)
    _remove(ws, images, range(295))
    writes = []
    real = missing_images.write_json
    monkeypatch.setattr(missing_images, "write_json", lambda path, doc, schema: (writes.append(schema), real(path, doc, schema))[1])
    got = run_session(Workspace(ws), "korean", lambda s: (s.claim(1, 10), s.parked_missing))
    assert len(got[1]) == 295 and got[0][0]["images"] == 5
    assert writes.count("missing_images") == 1
    assert jsonfiles.read_json(ws / "checkpoints" / "korean_missing_images.json", "missing_images")["events"][-1]["seq"] == 295
    _rebuild_matches(ws)


# --- a state machine: files come and go between claims; progress stays a fold over the files ------

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule  # noqa: E402

N_IMAGES = 14


class MissingFiles(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        import os
        import tempfile
        from pathlib import Path

        os.environ["CRITIQUE_BATCH_NOW"] = T0
        self.dir = Path(tempfile.mkdtemp())
        self.images = support.write_candidates(self.dir, "korean", N_IMAGES)

    def teardown(self):
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)

    def session(self, fn):
        return run_session(Workspace(self.dir), "korean", fn)

    @rule(i=st.integers(0, N_IMAGES - 1))
    def remove(self, i):
        (self.dir / self.images[i]["filepath"]).unlink(missing_ok=True)

    @rule(i=st.integers(0, N_IMAGES - 1))
    def restore(self, i):
        support.touch_images(self.dir, [self.images[i]])

    @rule(count=st.integers(1, 2), size=st.integers(1, 4))
    def claim(self, count, size):
        claimed, parked = self.session(lambda s: (s.claim(count, size), s.parked_missing))
        for b in claimed:
            for fp in support.batch_items(self.dir, "korean", b["batch_id"]):
                if not b["resumed"]:
                    assert (self.dir / fp).exists(), f"{fp} handed out without its file"
        for m in parked:
            assert not (self.dir / m["filepath"]).exists()

    @rule()
    def answer_and_collect(self):
        p = self.session(lambda s: s.progress.to_json())
        for key in p["in_flight"]:
            items = support.batch_items(self.dir, "korean", int(key))
            support.write_output(self.dir, "korean", int(key), [support.good_record("korean", fp) for fp in items])
        self.session(lambda s: s.collect())

    @rule()
    def requeue(self):
        requeued, still = self.session(lambda s: (s.requeue(None), s.still_missing))
        for m in still:
            assert not (self.dir / m["filepath"]).exists()

    @invariant()
    def progress_is_a_fold(self):
        kept = self.session(lambda s: s.progress)
        fresh = rebuild(Workspace(self.dir), "korean")
        assert fresh.comparable() == kept.comparable()
        parked = set(kept.parked(3))
        flying = kept.in_flight_items()
        assert not parked & flying
        assert kept.completed + len(parked) + len(flying) + kept.pending(3) == N_IMAGES
        pending = kept.pending_items(load_candidates(Workspace(self.dir), "korean").images, 3)
        assert len(pending) == len(set(pending)) == kept.pending(3) and not set(pending) & (parked | flying)


TestMissingFiles = MissingFiles.TestCase
TestMissingFiles.settings = settings(max_examples=20, stateful_step_count=12, deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
