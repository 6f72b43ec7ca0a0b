"""Property tests of the parsers: whatever bytes an output file, a manifest or a state file holds,
the result is a verdict or an InputError naming the file, never another exception."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import support
from critique_batch.state.candidate_sources import read_manifest
from critique_batch.base.errors import InputError
from critique_batch.base.jsonfiles import read_json
from critique_batch.checks.validation import check_output_bytes

PLAN = support.plan()
KR = PLAN.culture("korean")
ITEMS = [support.image("korean", i)["filepath"] for i in range(4)]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
record_like = st.fixed_dictionaries(
    {"filepath": st.sampled_from(ITEMS + ["images/elsewhere.jpg"])},
    optional={
        "critique_zh": st.text(max_size=300) | st.integers(),
        "critique_en": st.text(max_size=300),
        "covered_dimensions": st.lists(st.sampled_from([d.id for d in KR.dimensions] + ["WE_L1_D1", "KR_L9_D1", "x"]), max_size=22),
        "quality_score": st.floats(allow_nan=False) | st.integers(-5, 200) | st.text(max_size=3),
        "skipped": st.text(max_size=10),
        "culture": st.sampled_from(["korean", "indian"]),
    },
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_a_verdict(data):
    check = check_output_bytes(data, Path("x_batch_001_output.json"), KR, PLAN, ITEMS)
    assert check.error is not None or isinstance(check.records, list)
    assert not (check.error and check.passed)


@settings(max_examples=200, deadline=None)
@given(st.lists(record_like | json_values, max_size=6))
def test_any_records_give_per_record_verdicts(records):
    data = json.dumps(records, ensure_ascii=False).encode()
    check = check_output_bytes(data, Path("x_batch_001_output.json"), KR, PLAN, ITEMS)
    assert check.error is None and len(check.records) == len(records)
    for rc in check.records:
        assert all(":" in p for p in rc.problems)  # every problem names its field
    seen = [r.get("filepath") for r in records if isinstance(r, dict)]
    for fp in check.missing:
        assert fp in ITEMS and fp not in seen
    if check.passed:  # a file that passes has one valid or skip record per image and nothing else
        assert sorted(rc.filepath for rc in check.records) == sorted(ITEMS)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_csv_manifest_never_crashes(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("m") / "manifest.csv"
    path.write_text(text, encoding="utf-8")
    try:
        rows = read_manifest(path)
    except InputError as exc:
        assert exc.file == str(path)
    else:
        assert all(r["filepath"].strip() and isinstance(r["artist"], str) for r in rows)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_state_files_are_checked(tmp_path_factory, value):
    path = tmp_path_factory.mktemp("s") / "korean_expansion_candidates.json"
    path.write_text(json.dumps(value))
    try:
        doc = read_json(path, "candidates")
    except InputError as exc:
        assert exc.file == str(path)
    else:
        assert isinstance(doc["images"], list) and isinstance(doc["culture"], str)
