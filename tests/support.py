"""Test support: candidate lists, a scripted stand-in for the generator subagents, script runner,
state hashing. Only the tests use this; it is not a generator and never presented as one."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))

from critique_batch.files.plan import DEFAULT_PLAN, load_plan  # noqa: E402

ZH = "这幅作品以留白营造空灵意境笔墨浓淡相宜构图疏密有致山石树木层次分明体现了文人画传统与自然观照的深刻融合"
EN_WORDS = "the painting balances empty space and dense brushwork so that mountains trees and water read as one breathing whole".split()


def plan():
    return load_plan(DEFAULT_PLAN)


def image(culture: str, i: int) -> dict:
    return {
        "filepath": f"images/{culture}/artist_{i % 7}/painting_{i:05d}.jpg",
        "artist": f"Artist {i % 7}",
        "title": f"Painting {i}",
        "art_form": "painting",
        "medium": "ink on paper",
    }


def write_candidates(ws: Path, culture: str, n: int, start: int = 0) -> list[dict]:
    images = [image(culture, i) for i in range(start, start + n)]
    path = ws / "checkpoints" / f"{culture}_expansion_candidates.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"culture": culture, "images": images}, ensure_ascii=False, indent=1), encoding="utf-8")
    touch_images(ws, images)
    return images


def touch_images(ws: Path, images: list[dict]) -> None:
    """Create the (empty) image files: a claim parks an image whose file does not exist."""
    for img in images:
        f = ws / img["filepath"]
        f.parent.mkdir(parents=True, exist_ok=True)
        f.touch()


def good_record(culture: str, filepath: str, *, seed: int = 0, n_dims: int | None = None) -> dict:
    cfg = plan().culture(culture)
    ids = [d.id for d in cfg.dimensions]
    n = n_dims or max(cfg.quality.min_dimensions, min(len(ids), 20))
    rng = random.Random(f"{filepath}:{seed}")
    zh_len = cfg.quality.min_zh_chars + 20
    en_len = cfg.quality.min_en_words + 10
    return {
        "filepath": filepath,
        "critique_zh": (ZH * (zh_len // len(ZH) + 1))[:zh_len],
        "critique_en": " ".join(EN_WORDS[(i + seed) % len(EN_WORDS)] for i in range(en_len)),
        "covered_dimensions": rng.sample(ids, n),
        "quality_score": 70 + rng.randint(0, 25),
    }


def bad_record(culture: str, filepath: str, kind: str) -> dict:
    rec = good_record(culture, filepath)
    cfg = plan().culture(culture)
    if kind == "short_zh":
        rec["critique_zh"] = "太短了"
    elif kind == "short_en":
        rec["critique_en"] = "too short"
    elif kind == "few_dims":
        rec["covered_dimensions"] = rec["covered_dimensions"][: cfg.quality.min_dimensions - 1]
    elif kind == "foreign_dims":
        other = next(c for c in plan().cultures.values() if c.name != culture)
        rec["covered_dimensions"] = [other.dimensions[0].id] + rec["covered_dimensions"][: cfg.quality.min_dimensions - 1]
    elif kind == "score":
        rec["quality_score"] = 140
    elif kind == "english_in_zh":
        rec["critique_zh"] = " ".join(EN_WORDS * 20)
    else:
        raise ValueError(kind)
    return rec


def write_output(ws: Path, culture: str, batch_id: int, records) -> Path:
    path = ws / "checkpoints" / f"{culture}_batch_{batch_id:03d}_output.json"
    data = records if isinstance(records, (bytes, str)) else json.dumps(records, ensure_ascii=False)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def batch_items(ws: Path, culture: str, batch_id: int) -> list[str]:
    doc = json.loads((ws / "checkpoints" / f"{culture}_batch_{batch_id:03d}_input.json").read_text(encoding="utf-8"))
    return [img["filepath"] for img in doc["images"]]


def run(script: str, *args, ws: Path | None = None, env: dict | None = None, check: bool = False, timeout: float = 60,
        cwd: Path | None = None):
    """Run one script as a user does; returns CompletedProcess with text stdout/stderr."""
    cmd = [sys.executable, str(SCRIPTS / script), *map(str, args)]
    if ws is not None:
        cmd += ["--workspace", str(ws)]
    full_env = dict(os.environ)
    full_env.pop("CRITIQUE_BATCH_DEBUG", None)
    full_env.update(env or {})
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"{script} {args} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def run_json(script: str, *args, ws: Path, env: dict | None = None, expect: int | None = 0, cwd: Path | None = None) -> dict:
    proc = run(script, *args, "--json", ws=ws, env=env, cwd=cwd)
    if expect is not None:
        assert proc.returncode == expect, f"{script} {args}: exit {proc.returncode}, expected {expect}\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout)


def state_hashes(ws: Path) -> dict[str, str]:
    """Digest of every state file (locks and validation markers excluded)."""
    out = {}
    for path in sorted((ws / "checkpoints").glob("*")):
        if path.is_file():
            out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def progress(ws: Path, culture: str) -> dict:
    return json.loads((ws / "checkpoints" / f"{culture}_expansion_progress.json").read_text(encoding="utf-8"))


def accepted_filepaths(ws: Path, culture: str) -> list[str]:
    """Every accepted record's filepath over all result files (duplicates kept, so tests can see them)."""
    out = []
    for path in sorted((ws / "checkpoints").glob(f"{culture}_batch_*_result.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        out += [r["filepath"] for r in doc["records"]]
    return out


class ScriptedGenerator:
    """Stands in for the generator subagents in tests: answers a claimed batch with a chosen mix of
    valid records, invalid records, skip records, malformed files, or nothing at all (abandoned)."""

    def __init__(self, ws: Path, culture: str, seed: int = 1, p_invalid=0.2, p_malformed=0.05, p_abandon=0.05, p_skip=0.02):
        self.ws, self.culture = ws, culture
        self.rng = random.Random(seed)
        self.p_invalid, self.p_malformed, self.p_abandon, self.p_skip = p_invalid, p_malformed, p_abandon, p_skip
        self.tries: dict[str, int] = {}

    def answer(self, batch_id: int) -> str:
        """Write (or not) the output of one batch; returns what it did."""
        items = batch_items(self.ws, self.culture, batch_id)
        roll = self.rng.random()
        if roll < self.p_abandon:
            return "abandoned"
        if roll < self.p_abandon + self.p_malformed:
            write_output(self.ws, self.culture, batch_id, self.rng.choice(["[{", "{\"records\": []}", "not json", "\ufeff[]", ""]))
            return "malformed"
        records = []
        for fp in items:
            self.tries[fp] = self.tries.get(fp, 0) + 1
            r = self.rng.random()
            if r < self.p_skip and self.tries[fp] == 1:
                records.append({"filepath": fp, "skipped": "image file could not be opened"})
            elif r < self.p_skip + self.p_invalid and self.tries[fp] < 3:
                records.append(bad_record(self.culture, fp, self.rng.choice(["short_zh", "short_en", "few_dims", "foreign_dims", "score"])))
            elif r < self.p_skip + self.p_invalid + 0.03:
                continue  # a missing record
            else:
                records.append(good_record(self.culture, fp, seed=self.tries[fp]))
        self.rng.shuffle(records)
        write_output(self.ws, self.culture, batch_id, records)
        return "answered"


def image_list(ws: Path, culture: str) -> list[dict]:
    doc = json.loads((ws / "checkpoints" / f"{culture}_expansion_candidates.json").read_text(encoding="utf-8"))
    return doc["images"]


def require_real_component(missing: str | None, env_var: str) -> None:
    """A test of a real component (the claude or skills CLI, a browser) skips when it is missing
    (`missing` says why), unless env_var is set, as CI sets it: then it fails."""
    if missing is not None:
        import pytest

        if os.environ.get(env_var):
            pytest.fail(f"{env_var} is set but {missing}")
        pytest.skip(missing)
