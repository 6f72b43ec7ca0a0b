"""quality_report.py and what it builds on: near-duplicate critiques (similarity.py), claimed layers
checked against the text (evidence.py), the report's data and page, the plan settings that turn
both into rules (off by default), and the page as headless Chromium renders it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import support
from critique_batch.checks import evidence, similarity
from critique_batch.report import quality as report
from critique_batch.files.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

# Two distinct critiques of works by one artist (same name, same stock phrases), and a copy of the
# first with a few words changed.
EN_A = (
    "In General View of Mount Geumgang, Jeong Seon gathers the twelve thousand peaks into one rounded mass, the sharp "
    "granite spires drawn with vertical strokes that fall like rain while the soft earthen hills on the left are laid in "
    "with wet ink dots. The composition balances empty space against dense passages of detail, and the mist that rings "
    "the mountain lets the eye travel upward to the summit. This is true-view landscape: the painter walked these valleys "
    "and records the place itself rather than a Chinese model, a choice rooted in the confidence of eighteenth-century "
    "Joseon scholars. The brushwork reveals a confident and practiced hand, and the whole sheet breathes with the "
    "Neo-Confucian wish to see principle in the living shape of the land."
)
EN_B = (
    "Clearing after Rain on Mount Inwang shows Jeong Seon at seventy-five, painting the mountain outside his window as "
    "the clouds lift. Massive rock faces are built from broad horizontal sweeps of saturated ink, so wet that the paper "
    "seems to shine, while pines in the foreground are dotted in quickly with the tip. The composition balances empty "
    "space against dense passages of detail, yet here the weight sits at the top of the picture and the fog hides the "
    "base, a bold reversal. Painted for his dying friend Yi Byeong-yeon, the scroll turns a view into a wish for "
    "recovery. The brushwork reveals a confident and practiced hand and a grief held in check."
)
ZH_A = ("郑敾《金刚全图》将金刚山一万二千峰收拢为一个圆形的整体，左侧土山以湿润的米点皴写出，右侧石峰以垂直的线条如雨般落下。"
        "画面留白与密集的笔墨相互映照，环绕山体的云雾引导视线向上攀升。这是真景山水的典范：画家亲历其境，描绘朝鲜本土的山川，"
        "而非摹写中国范本，体现了十八世纪朝鲜文人的文化自信与性理学观照自然的精神。")
ZH_B = ("郑敾晚年所作《仁王霁色图》描绘雨后云开的仁王山，巨大的岩壁以饱含水分的横向大笔墨扫出，墨色浓重而润泽，前景松树以笔尖点写。"
        "画面重心置于上方，山脚隐于雾中，构图大胆。此画为病重的友人李秉渊而作，借山色转晴寄托康复的祝愿，"
        "在写实的山川之中寄寓深挚的友情与克制的哀思。")


def changed(text: str, swaps: dict[str, str]) -> str:
    for old, new in swaps.items():
        assert old in text
        text = text.replace(old, new, 1)
    return text


EN_A_COPY = changed(EN_A, {"rounded": "round", "sharp": "jagged", "soft": "gentle", "summit": "peak", "living": "lived"})
ZH_A_COPY = changed(ZH_A, {"圆形": "浑圆", "湿润": "润泽", "攀升": "上升", "典范": "代表"})


# --- similarity -----------------------------------------------------------------------------

def test_a_copy_with_a_few_words_changed_is_near_and_distinct_critiques_of_one_artist_are_not():
    for field, a, copy, b in (("critique_en", EN_A, EN_A_COPY, EN_B), ("critique_zh", ZH_A, ZH_A_COPY, ZH_B)):
        sa, sc, sb = (similarity.shingles(t, field) for t in (a, copy, b))
        assert similarity.jaccard(sa, sc) >= 0.6, field
        assert similarity.jaccard(sa, sb) < 0.15, field
    records = [("a.jpg", {"critique_en": EN_A, "critique_zh": ZH_A}),
               ("b.jpg", {"critique_en": EN_B, "critique_zh": ZH_B}),
               ("c.jpg", {"critique_en": EN_A_COPY, "critique_zh": ZH_A_COPY})]
    found = similarity.find_near_duplicates(records, 0.5)
    assert {(d.a, d.b, d.field) for d in found} == {("a.jpg", "c.jpg", "critique_en"), ("a.jpg", "c.jpg", "critique_zh")}
    assert all(0.5 <= d.similarity <= 1.0 for d in found)
    # against a baseline: the copy is found there too, baseline pairs among themselves are not reported
    base = [("pub/a.jpg", {"critique_en": EN_A, "critique_zh": ZH_A}), ("pub/a2.jpg", {"critique_en": EN_A, "critique_zh": ZH_A})]
    found = similarity.find_near_duplicates([("c.jpg", {"critique_en": EN_A_COPY, "critique_zh": ZH_A_COPY})], 0.5, base)
    assert {(d.a, d.b, d.b_in_baseline) for d in found} == {("c.jpg", "pub/a.jpg", True), ("c.jpg", "pub/a2.jpg", True)}


def test_small_benchmark_meets_precision_and_recall_bars():
    import bench_near_duplicates as bench

    res = bench.measure(2000, 40, max_changed=10)
    for field in similarity.FIELDS:
        assert res[field]["recall"] >= 0.95, res
        assert res[field]["precision"] >= 0.95, res


# --- evidence ---------------------------------------------------------------------------------

def test_thin_layer_claims_are_found_and_plan_terms_extend_the_defaults():
    plan = support.plan()
    cfg = plan.culture("korean")
    rec = {"critique_en": "A quiet composition of empty space and pale colour, brush strokes light and quick, ink soft.",
           "critique_zh": "构图疏朗，留白充分，笔墨轻快。",
           "covered_dimensions": ["KR_L1_D1", "KR_L2_D1", "KR_L3_D1"]}
    terms = evidence.layer_terms(cfg, plan)
    hits = evidence.layer_hits(rec, terms)
    assert len(hits["L1"]) >= 2 and len(hits["L2"]) >= 2
    assert evidence.thin_layers(rec, terms, 2) == {"L3": []}
    # published records hold covered_dimensions as a JSON string: read the same
    assert evidence.thin_layers({**rec, "covered_dimensions": json.dumps(rec["covered_dimensions"])}, terms, 2) == {"L3": []}
    extended = cfg._replace(quality=cfg.quality._replace(layer_terms={"L3": {"en": ["quiet", "pale"]}}))
    assert evidence.thin_layers(rec, evidence.layer_terms(extended, plan), 2) == {}


# --- the report ---------------------------------------------------------------------------------

class FakeBaseline:
    """Stands in for baseline.load_baseline(ws): published records per culture."""

    def __init__(self, records):
        self.records = records

    def iter_records(self, culture=None):
        for fp, rec in self.records:
            if culture is None or rec["culture"] == culture:
                yield fp, rec


def collected_workspace(ws: Path, records_by_batch: list[list[dict]], culture: str = "korean", spare: int = 0) -> Path:
    """Claim one batch per list and answer it with these records (filepaths taken from the batch)."""
    n = sum(len(b) for b in records_by_batch)
    support.write_candidates(ws, culture, n + spare)
    for bid, recs in enumerate(records_by_batch, 1):
        support.run("run_next_batch.py", "--culture", culture, "--size", len(recs), ws=ws, check=True)
        items = support.batch_items(ws, culture, bid)
        out = []
        for fp, rec in zip(items, recs):
            out.append({**support.good_record(culture, fp), **rec, "filepath": fp})
        support.write_output(ws, culture, bid, out)
    support.run("run_next_batch.py", "--culture", culture, "--count", "0", ws=ws, check=True)
    return ws


def long_en(text: str) -> str:
    return (text + " ") * 2


def test_report_with_a_baseline_compares_side_by_side_and_finds_copies_of_published_critiques(ws, tmp_path):
    collected_workspace(ws, [[{"critique_en": long_en(EN_A), "critique_zh": ZH_A * 2},
                              {"critique_en": long_en(EN_B), "critique_zh": ZH_B * 2},
                              {"critique_en": long_en(EN_A_COPY), "critique_zh": ZH_A_COPY * 2, "quality_score": 40}]])
    pub = support.good_record("korean", "pub/x.jpg")
    pub.update(culture="korean", artist="Jeong Seon", art_form="painting", critique_en=long_en(EN_B), critique_zh=ZH_B * 2,
               covered_dimensions=json.dumps(pub["covered_dimensions"]))
    w = Workspace(ws)
    summary = report.build(w, None, FakeBaseline([("pub/x.jpg", pub)]))
    k = summary["cultures"]["korean"]
    assert summary["baseline_set"] and k["baseline"]["records"] == 1 and k["new"]["records"] == 3
    pairs = {(d["a"], d["b"], d["field"], d.get("baseline", False)) for d in summary["near_duplicates"]}
    items = support.batch_items(ws, "korean", 1)
    assert (items[0], items[2], "critique_en", False) in pairs and (items[1], "pub/x.jpg", "critique_zh", True) in pairs
    assert k["new"]["quality_score_stats"]["min"] == 40
    from critique_batch.report.page import render
    page = render(summary, "now")
    assert "published" in page and "No baseline set" not in page and "http" not in page.replace("https://", "")
    plain = report.build(w)  # without a baseline (the page then says so: see the script's test)
    assert not plain["baseline_set"] and plain["cultures"]["korean"]["baseline"] is None


def test_script_writes_the_page_and_json_lists_near_duplicates_returns_and_parks(korean_ws):
    ws = korean_ws
    support.run("run_next_batch.py", "--culture", "korean", "--count", "2", ws=ws, check=True)
    for bid in (1, 2):
        items = support.batch_items(ws, "korean", bid)
        recs = [support.good_record("korean", fp, seed=i) for i, fp in enumerate(items)]
        recs[0] = support.bad_record("korean", items[0], "short_zh")
        recs[1] = {"filepath": items[1], "skipped": "image file could not be opened"}
        support.write_output(ws, "korean", bid, recs)
    support.run("run_next_batch.py", "--culture", "korean", "--count", "0", ws=ws, check=True)
    proc = support.run("quality_report.py", ws=ws)
    assert proc.returncode == 0, proc.stderr
    assert re.match(r"wrote .*index\.html: 16 records \(no baseline set\); \d+ near-duplicate pair\(s\)", proc.stdout)
    out = support.run_json("quality_report.py", "--output", ws / "out", ws=ws)
    page = (ws / "out" / "index.html").read_text(encoding="utf-8")
    assert page.count("<img") == 5 and "No baseline set" in page  # one culture: its section only
    assert out["near_duplicates"] and set(out["near_duplicates"][0]) >= {"a", "b", "field", "similarity"}
    k = out["cultures"]["korean"]
    assert k["returns"] == {"critique_zh": 2} and k["parks"] == {"skipped (image not seen)": 2}
    assert sum(k["accepted_per_day"].values()) == 16 and "zh_chars" not in k["new"]
    assert any("near-duplicate" in w for w in out["warnings"])
    bad = support.run("quality_report.py", "--culture", "klingon", "--json", ws=ws)
    assert bad.returncode == 2 and json.loads(bad.stdout)["ok"] is False
    result = ws / "checkpoints" / "korean_batch_002_result.json"
    result.write_text(result.read_text(encoding="utf-8").replace('"items"', '"itemz"', 1), encoding="utf-8")
    bad = support.run("quality_report.py", ws=ws)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.splitlines()) == 1
    assert "korean_batch_002_result.json" in bad.stderr


def test_without_matplotlib_the_script_exits_2_with_one_line_and_the_core_does_not_need_it(korean_ws):
    block = "import sys; sys.modules['matplotlib'] = None; sys.modules['datasketch'] = None; "
    run = (block + "import runpy; sys.argv = ['quality_report.py', '--workspace', sys.argv[1]]; "
           f"runpy.run_path({str(support.SCRIPTS / 'quality_report.py')!r}, run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", run, str(korean_ws)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "pip install 'matplotlib>=3.8'" in proc.stderr
    # the rest of the tool needs neither: every core module imports, and collection with the
    # near-duplicate setting on screens records
    check = block + f"sys.path.insert(0, {str(support.SCRIPTS)!r})\n" + textwrap.dedent("""
        import critique_batch.state.session, critique_batch.report.status, critique_batch.report.quality
        import critique_batch.store.sync, critique_batch.store.search, critique_batch.store.export
        from critique_batch.checks import similarity
        from critique_batch.files import plan
        cfg = plan.load_plan(plan.DEFAULT_PLAN).culture("korean")
        cfg = cfg._replace(quality=cfg.quality._replace(reject_near_duplicates=True))
        class NoResults:  # a workspace without result files or a baseline
            checkpoints = __import__("pathlib").Path("/nonexistent/checkpoints")

            def batch_ids(self, culture, kind):
                return []
        recs = [{"filepath": f, "critique_en": "the same words here and there", "critique_zh": "相同的文字在此"} for f in "ab"]
        verdicts = [{"filepath": f, "verdict": "accepted"} for f in "ab"]
        print(len(similarity.screen(NoResults(), cfg, None, verdicts, recs)[1]))
    """)
    proc = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "1", proc.stderr


# --- the plan settings --------------------------------------------------------------------------

def write_plan(ws: Path, **quality) -> None:
    plan = json.loads(support.plan().path.read_text(encoding="utf-8"))
    plan["defaults"]["quality"].update(quality)
    (ws / "checkpoints" / "expansion_plan.json").write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")


def test_collection_returns_a_near_copy_of_an_accepted_record_when_the_plan_says_so(ws, monkeypatch):
    write_plan(ws, reject_near_duplicates=True)
    collected_workspace(ws, [[{"critique_en": long_en(EN_A), "critique_zh": ZH_A * 2}]], spare=3)
    support.run("run_next_batch.py", "--culture", "korean", "--size", "3", ws=ws, check=True)
    first = support.batch_items(ws, "korean", 1)[0]
    items = support.batch_items(ws, "korean", 2)
    recs = [
        {"critique_en": long_en(EN_A_COPY), "critique_zh": ZH_B * 2},  # English copied from batch 1
        {"critique_en": long_en(EN_B), "critique_zh": ZH_B * 2 + "另"},  # same artist, distinct -- but zh copies the record above
        {"critique_zh": ZH_A_COPY * 2},  # zh copied from batch 1 (English: the fixture's own)
    ]
    support.write_output(ws, "korean", 2, [{**support.good_record("korean", fp), **r, "filepath": fp} for fp, r in zip(items, recs)])
    check = support.run_json("validate_batch.py", "korean", "2", ws=ws, expect=1)  # the subagent's check says what collection will do
    assert {p["filepath"] for p in check["problems"]} == {items[0], items[2]}
    out = support.run_json("run_next_batch.py", "--culture", "korean", "--count", "0", ws=ws)
    returned = {r["filepath"]: r["reason"] for r in out["collected"][0]["returned"]}
    assert set(returned) == {items[0], items[2]}
    assert returned[items[0]].startswith("critique_en: near copy (similarity ") and first in returned[items[0]]
    assert first in returned[items[2]] and returned[items[2]].startswith("critique_zh: near copy")
    # the second is a near copy of the first only, which was returned: it stands
    assert out["collected"][0]["accepted"] == 1
    assert support.run("batch_status.py", "--rebuild", "--check", ws=ws).returncode == 0


def test_near_copies_are_accepted_by_default_and_layer_evidence_is_a_rule_only_when_asked(korean_ws):
    ws = korean_ws
    support.run("run_next_batch.py", "--culture", "korean", "--size", "2", ws=ws, check=True)
    items = support.batch_items(ws, "korean", 1)
    support.write_output(ws, "korean", 1, [support.good_record("korean", fp) for fp in items])  # identical texts
    assert support.run("validate_batch.py", "korean", "1", ws=ws).returncode == 0
    out = support.run_json("run_next_batch.py", "--culture", "korean", "--count", "0", ws=ws)
    assert out["collected"][0]["accepted"] == 2
    write_plan(ws, require_layer_evidence=True)
    support.run("run_next_batch.py", "--culture", "korean", "--size", "1", ws=ws, check=True)
    support.write_output(ws, "korean", 2, [support.good_record("korean", support.batch_items(ws, "korean", 2)[0])])
    proc = support.run("validate_batch.py", "korean", "2", ws=ws)
    assert proc.returncode == 1 and "claimed layers with too little support in the text" in proc.stdout


# --- the page in a browser ------------------------------------------------------------------------

def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_every_chart_renders_in_headless_chromium(ws, tmp_path):
    browser = chromium()
    support.require_real_component("no chromium on PATH (Debian: apt-get install -y chromium)" if browser is None else None,
                                   "CRITIQUE_BATCH_REQUIRE_CHROMIUM")
    collected_workspace(ws, [[{"critique_en": long_en(EN_A), "critique_zh": ZH_A * 2}, {"critique_en": long_en(EN_B)}]])
    support.write_candidates(ws, "indian", 3)
    summary, page = report.write_report(Workspace(ws), None, None, FakeBaseline([]), "now")
    html_text = page.read_text(encoding="utf-8")
    charts = html_text.count('<img class="chart"')
    # overall, korean, indian: lengths, dimensions, scores; throughput where a batch was collected (not
    # indian); no panel of reasons when nothing was returned or parked
    sections = [summary["overall"], *summary["cultures"].values()]
    assert charts == 3 * 3 + sum(1 for s in sections if s["accepted_per_day"]) + sum(1 for s in sections if s["returns"] or s["parks"])
    assert charts >= 11 and "No item returned or parked." in html_text
    assert "Noto Sans CJK SC" in html_text  # a CJK font stack: Chinese names are not boxes where system-ui has no CJK
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html_text)  # nothing to fetch: opens offline
    profile = tmp_path / "chromium-profile"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    m = re.search(r'id="chart-check" data-charts="(\d+)" data-rendered="(\d+)"', proc.stdout)
    assert m, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert int(m[1]) == charts and int(m[2]) == charts
