#!/usr/bin/env python3
"""Benchmark sync_to_lancedb.py against the floor of a plain merge_insert.

  python benchmarks/bench_sync.py                          10,000 records in 1,000 batches into 100,000 rows
  python benchmarks/bench_sync.py --records 2000 --batches 200 --existing 20000 --repeat 3
  python benchmarks/bench_sync.py --json

Setup (not timed): a workspace whose `western` culture has `batches` batches collected through the
engine (claim -> output file -> collect, so the result files are exactly what a real run writes),
realistic record sizes (critique_zh ~320 characters, critique_en ~190 words, 20 dimensions), and
a critiques table that already holds `existing` rows (other records with their pair_ids and ulids,
indexed and compacted).

Timed, each as a separate process from a fresh copy of that state, alternating, `repeat` times:
  sync   python scripts/sync_to_lancedb.py --force
  floor  a plain script: import lancedb, read the same result files with json, build one Arrow
         table, one merge_insert on filepath (no lock, no progress, no tag, no index check)
Then, after the big sync, `later_runs` syncs of 100 new records (10 batches) each, and the
`import lancedb` time: the wall time of a process that only imports lancedb (start-up, import and
exit, like the sync process), and the import alone measured inside it. Bars: sync <= 3 x floor; a
100-record sync <= 0.5 s beyond the import time. Every wall time includes interpreter start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))

from critique_batch.store import database, sync_state, versions  # noqa: E402
from critique_batch.files import published  # noqa: E402
from critique_batch.state.session import run_session  # noqa: E402
from critique_batch.files.workspace import Workspace  # noqa: E402

CULTURE, PREFIX = "western", "WE"
HANZI = ("山水画笔墨意境留白构图设色线条皴法气韵生动文人画宫廷院体花鸟人物题跋印章绢本纸本水墨淡彩青绿"
         "工笔写意没骨白描界画风俗佛教壁画朝鲜王朝唐宋元明清时期艺术家作品表现了自然与人的关系空间层次光影透视"
         "油画肖像风景静物宗教神话历史巴洛克文艺复兴印象派色彩笔触明暗对比画面中央背景前景人物衣纹神情姿态象征")
FLOOR = r'''
import sys, time, json, glob
from datetime import datetime, timezone
t0 = time.perf_counter()
import lancedb, pyarrow as pa
t1 = time.perf_counter()
ws, db = sys.argv[1], sys.argv[2]
schema = lancedb.connect(db).open_table("critiques").schema
rows = []
for path in sorted(glob.glob(ws + "/checkpoints/western_batch_*_result.json")):
    with open(path, "rb") as fh:
        rows.extend(json.load(fh)["records"])
t2 = time.perf_counter()
now = datetime.now(timezone.utc)
cols = {f.name: [r.get(f.name) for r in rows] for f in schema}
cols["accepted_at"] = [datetime.fromisoformat(v.replace("Z", "+00:00")) for v in cols["accepted_at"]]
cols["merged_at"] = [now] * len(rows)
cols["extra"] = [None] * len(rows)
data = pa.table({f.name: pa.array(cols[f.name], type=f.type) for f in schema}, schema=schema)
t3 = time.perf_counter()
table = lancedb.connect(db).open_table("critiques")
res = table.merge_insert("filepath").when_matched_update_all().when_not_matched_insert_all().execute(data)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "read": t2 - t1, "arrow": t3 - t2, "merge": t4 - t3, "inserted": res.num_inserted_rows}))
'''


def plan_doc() -> dict:
    dims = [{"id": f"{PREFIX}_L{layer}_D{d}", "zh": f"维度{layer}{d}", "en": f"dimension {layer}.{d}"} for layer in range(1, 6) for d in range(1, 7)]
    return {
        "version": 1,
        "defaults": {"batch_size": 10, "max_parallel": 64, "sync_threshold": 100},
        "layers": {f"L{i}": {"zh": f"层{i}", "en": f"layer {i}"} for i in range(1, 6)},
        "cultures": {CULTURE: {"prefix": PREFIX, "current": 0, "target": 1_000_000, "generator": "western-image-critique-agent", "dimensions": dims}},
    }


class Texts:
    def __init__(self, seed: int = 7):
        self.rng = random.Random(seed)
        syll = ["ka", "lo", "mi", "ren", "sta", "vor", "el", "quin", "tha", "ro", "bel", "ann", "is", "pe", "dor", "u"]
        self.words = sorted({"".join(self.rng.choice(syll) for _ in range(self.rng.randint(1, 4))) for _ in range(6000)})

    def zh(self) -> str:
        return "".join(self.rng.choices(HANZI, k=320))

    def en(self) -> str:
        return " ".join(self.rng.choices(self.words, k=190))

    def dims(self) -> list[str]:
        return sorted(self.rng.sample([f"{PREFIX}_L{layer}_D{d}" for layer in range(1, 6) for d in range(1, 7)], 20))


def build_workspace(root: Path, records: int, batches: int, texts: Texts) -> None:
    cp = root / "checkpoints"
    cp.mkdir(parents=True)
    (cp / "expansion_plan.json").write_text(json.dumps(plan_doc()), encoding="utf-8")
    add_candidates(root, records + 10_000)
    collect(root, batches, records // batches, texts)


def add_candidates(root: Path, n: int) -> None:
    images = [{"filepath": f"images/western/artist_{i % 97}/work_{i:06d}.jpg", "artist": f"Artist {i % 97}", "title": f"Work {i}",
               "art_form": "painting", "art_style": "baroque" if i % 3 else "impressionism", "art_genre": "landscape", "medium": "oil on canvas"}
              for i in range(n)]
    (root / "checkpoints" / f"{CULTURE}_expansion_candidates.json").write_text(json.dumps({"culture": CULTURE, "images": images}), encoding="utf-8")
    for img in images:  # a claim checks each picked image's file (and parks it when missing)
        path = root / img["filepath"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


def collect(root: Path, batches: int, size: int, texts: Texts) -> None:
    ws = Workspace(root)
    done = 0
    while done < batches:
        claimed = run_session(ws, CULTURE, lambda s: s.claim(min(64, batches - done), size))  # noqa: B023 - called at once
        for b in claimed:
            items = json.loads((root / "checkpoints" / f"{CULTURE}_batch_{b['batch_id']:03d}_input.json").read_text(encoding="utf-8"))["images"]
            recs = [{"filepath": img["filepath"], "critique_zh": texts.zh(), "critique_en": texts.en(), "covered_dimensions": texts.dims(),
                     "quality_score": float(texts.rng.randint(60, 99))} for img in items]
            out = root / "checkpoints" / f"{CULTURE}_batch_{b['batch_id']:03d}_output.json"
            out.write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")
        run_session(ws, CULTURE, lambda s: s.collect())
        done += len(claimed)


def build_table(root: Path, existing: int, texts: Texts) -> None:
    """`existing` rows of earlier work (another culture), indexed and compacted, state recorded."""
    import lancedb
    import pyarrow as pa
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    schema = database.arrow_schema()
    cols = {
        "filepath": [f"images/earlier/work_{i:07d}.jpg" for i in range(existing)],
        "culture": ["chinese"] * existing,
        "artist": [f"Master {i % 301}" for i in range(existing)],
        "title": [f"Earlier work {i}" for i in range(existing)],
        "critique_zh": [texts.zh() for _ in range(existing)],
        "critique_en": [texts.en() for _ in range(existing)],
        "covered_dimensions": [texts.dims() for _ in range(existing)],
        "quality_score": [80.0] * existing,
        "batch_id": [100_000 + i // 10 for i in range(existing)],
        "accepted_at": [now] * existing,
        "merged_at": [now] * existing,
        # ids as this version gives them at a merge (a table without them gets them once, at the next sync)
        "pair_id": [published.format_pair_id(i + 1) for i in range(existing)],
        "ulid": [published.ulid_for(f"images/earlier/work_{i:07d}.jpg", now) for i in range(existing)],
    }
    data = pa.table({f.name: pa.array(cols.get(f.name, [None] * existing), type=f.type) for f in schema}, schema=schema)  # other columns empty
    table = lancedb.connect(str(root / "lancedb")).create_table(database.TABLE, schema=database.table_schema())
    table.add(data)
    target = database.resolve_target(Workspace(root))
    database.ensure_indices(table, target)
    versions.maintain(table, target)
    sync_state.record_version(Workspace(root), target, table.version)


def wall(cmd: list[str], env: dict | None = None) -> tuple[float, str]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    took = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return took, proc.stdout


def import_time() -> tuple[float, float]:
    """(wall time of a process that only imports lancedb, the import itself measured inside it)."""
    code = "import time; t = time.perf_counter(); import lancedb; print(time.perf_counter() - t)"
    took, out = wall([sys.executable, "-c", code])
    return took, float(out)


def run(size_records: int = 10_000, batches: int = 1_000, existing_rows: int = 100_000, repeat: int = 2, later_runs: int = 3,
        workdir: str | None = None, log=None) -> dict:
    log = log or (lambda msg: None)
    tmp = Path(tempfile.mkdtemp(prefix="bench_sync_", dir=workdir))
    env = dict(os.environ)
    env.pop("CRITIQUE_BATCH_DB", None)
    env.pop("CRITIQUE_BATCH_NOW", None)
    try:
        texts = Texts()
        base = tmp / "base"
        t = time.perf_counter()
        build_workspace(base, size_records, batches, texts)
        log(f"setup: {batches} batches collected through the engine in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        build_table(base, existing_rows, texts)
        log(f"setup: table of {existing_rows} rows built and indexed in {time.perf_counter() - t:.1f} s")

        syncs, floors, floor_parts = [], [], []
        for i in range(repeat):
            for kind in ("floor", "sync"):
                run_dir = tmp / f"{kind}{i}"
                shutil.copytree(base, run_dir)
                if kind == "sync":
                    took, out = wall([sys.executable, str(SCRIPTS / "sync_to_lancedb.py"), "--force", "--json", "--workspace", str(run_dir)], env)
                    res = json.loads(out)
                    assert res["inserted"] == size_records and res["rows"] == size_records + existing_rows, res
                    syncs.append(took)
                else:
                    took, out = wall([sys.executable, "-c", FLOOR, str(run_dir), str(run_dir / "lancedb")], env)
                    parts = json.loads(out)
                    assert parts["inserted"] == size_records, parts
                    floors.append(took)
                    floor_parts.append(parts)
                log(f"{kind} {i + 1}/{repeat}: {took:.3f} s")
                if not (kind == "sync" and i == repeat - 1):
                    shutil.rmtree(run_dir)
        last = tmp / f"sync{repeat - 1}"

        imports = [import_time() for _ in range(5)]
        import_wall = statistics.median(w for w, _ in imports)
        import_inner = statistics.median(i for _, i in imports)
        later = []
        for i in range(later_runs):
            collect(last, 10, 10, texts)
            took, out = wall([sys.executable, str(SCRIPTS / "sync_to_lancedb.py"), "--force", "--json", "--workspace", str(last)], env)
            res = json.loads(out)
            assert res["inserted"] == 100 and not res["optimized"], res
            later.append(took)
            log(f"later sync of 100 records {i + 1}/{later_runs}: {took:.3f} s")
        med = statistics.median
        out = {
            "records": size_records, "batches": batches, "existing_rows": existing_rows, "repeat": repeat,
            "sync_s": round(med(syncs), 3), "sync_runs_s": [round(x, 3) for x in syncs],
            "floor_s": round(med(floors), 3), "floor_runs_s": [round(x, 3) for x in floors],
            "floor_parts_s": {k: round(med(p[k] for p in floor_parts), 3) for k in ("import", "read", "arrow", "merge")},
            "ratio": round(med(syncs) / med(floors), 2),
            "import_lancedb_process_s": round(import_wall, 3), "import_lancedb_inprocess_s": round(import_inner, 3),
            "later_sync_s": round(med(later), 3), "later_runs_s": [round(x, 3) for x in later],
            "later_beyond_import_s": round(med(later) - import_wall, 3),
            "later_beyond_inprocess_import_s": round(med(later) - import_inner, 3),
            "python": platform.python_version(), "cpus": os.cpu_count(),
        }
        out["bars"] = {"sync <= 3 x floor": out["ratio"] <= 3.0, "100-record sync <= import + 0.5 s": out["later_beyond_import_s"] <= 0.5}
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--batches", type=int, default=1_000)
    ap.add_argument("--existing", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2, help="runs of sync and floor each (median reported)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = run(args.records, args.batches, args.existing, args.repeat, log=lambda m: print(m, file=sys.stderr))
    if args.json:
        print(json.dumps(res))
        return 0
    print(f"sync of {res['records']} records from {res['batches']} result files into a table of {res['existing_rows']} rows "
          f"(python {res['python']}, {res['cpus']} cpus)")
    print(f"  sync_to_lancedb.py  {res['sync_s']:.3f} s  (runs {res['sync_runs_s']})")
    print(f"  floor               {res['floor_s']:.3f} s  (runs {res['floor_runs_s']}; parts {res['floor_parts_s']})")
    print(f"  ratio               {res['ratio']:.2f} x   (bar <= 3x: {'ok' if res['bars']['sync <= 3 x floor'] else 'MISSED'})")
    print(f"later sync of 100 records  {res['later_sync_s']:.3f} s (runs {res['later_runs_s']})")
    print(f"  import lancedb      {res['import_lancedb_process_s']:.3f} s  (a process doing only `import lancedb`; "
          f"the import inside it: {res['import_lancedb_inprocess_s']:.3f} s)")
    print(f"  beyond import       {res['later_beyond_import_s']:.3f} s  (bar <= 0.5 s: "
          f"{'ok' if res['bars']['100-record sync <= import + 0.5 s'] else 'MISSED'}; "
          f"beyond the in-process import: {res['later_beyond_inprocess_import_s']:.3f} s)")
    return 0 if all(res["bars"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
