#!/usr/bin/env python3
"""Benchmark the agent-facing scripts on synthetic workspaces of growing size.

  python benchmarks/run.py                      sizes 20, 200, 2000 finished batches; 5 cultures x 5,000 candidates
  python benchmarks/run.py --sizes 20,2000 --repeat 11
  python benchmarks/run.py --json               machine-readable figures

For each size it builds a workspace (candidates, input/output/result files of N finished batches,
progress) and checks it once as a session would (every file's check is then remembered), then
times, as separate processes like the agent runs them (median of --repeat rounds, after one
warm-up round; within a round the commands take turns, so that a busy machine slows them alike):
  status     batch_status.py
  claim      run_next_batch.py --count 1          (state restored between runs): the culture first in priority
  claim ko.  run_next_batch.py --culture korean --count 1   the skill's loop names its culture, as the seed does
  validate   validate_batch.py on a 10-record output
  seed prep  the seed's own batch preparation (benchmarks/seed_prepare.py: its run_batch_workflow.py,
             which re-reads the output file of every completed batch and writes the next input file)
and the floor of each script: a plain `python` process that only reads, with the json module, the
files that script must read. Status and claim are also given as a ratio to the seed's preparation.
Processes run as in a normal install: Python may cache compiled modules (PYTHONDONTWRITEBYTECODE
is dropped from their environment). It also times (benchmarks/bench_sync.py) sync_to_lancedb.py
merging 5 x N records from N/2 result files into a table of 50 x N rows, against its floor (a plain
script: import lancedb, read the same files with json, one merge_insert), plus a later sync of 100
records beyond the `import lancedb` time.
Ratios are computed within this one run: large / small, script / floor, script / seed prep.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_sync  # noqa: E402
from critique_batch.state import progress as prog  # noqa: E402
from critique_batch.base.jsonfiles import write_json  # noqa: E402
from critique_batch.files.plan import DEFAULT_PLAN, load_plan  # noqa: E402

CULTURES = ["korean", "indian", "mural", "chinese", "western"]
ZH = "这幅作品以留白营造空灵意境笔墨浓淡相宜构图疏密有致山石树木层次分明体现了文人画传统与自然观照的深刻融合"
EN = "the painting balances empty space and dense brushwork so that mountains trees and water read as one breathing whole".split()
BATCH = 10


def build(ws: Path, n_candidates: int, finished: int) -> None:
    """A workspace with `finished` collected batches spread over the five cultures."""
    plan = load_plan(DEFAULT_PLAN)
    cp = ws / "checkpoints"
    cp.mkdir(parents=True)
    per_culture = [finished // len(CULTURES) + (1 if i < finished % len(CULTURES) else 0) for i in range(len(CULTURES))]
    for culture, n_batches in zip(CULTURES, per_culture):
        cfg = plan.culture(culture)
        images = [
            {"filepath": f"images/{culture}/artist_{i % 97:02d}/painting_{i:05d}.jpg", "artist": f"Artist {i % 97}",
             "title": f"Painting {i}", "art_form": "painting", "art_style": "ink", "art_genre": "landscape", "medium": "ink on paper"}
            for i in range(n_candidates)
        ]
        write_json(cp / f"{culture}_expansion_candidates.json", {"culture": culture, "images": images}, "candidates")  # as add_candidates.py does
        for img in images:  # a claim checks each picked image's file (and parks it when missing)
            (ws / img["filepath"]).parent.mkdir(parents=True, exist_ok=True)
            (ws / img["filepath"]).touch()
        index_of = {img["filepath"]: i for i, img in enumerate(images)}
        p = prog.Progress(culture)
        p.apply_candidates(images, None)
        dims = [d.id for d in cfg.dimensions][: max(cfg.quality.min_dimensions, 20)]
        for b in range(1, n_batches + 1):
            batch_images = images[(b - 1) * BATCH: b * BATCH]
            stamp = "2026-11-01T10:00:00Z"
            batch = {"culture": culture, "batch_id": b, "generator": cfg.generator, "output": f"{culture}_batch_{b:03d}_output.json",
                     "claimed_at": stamp, "first_claimed_at": stamp, "lease_expires_at": "2026-11-01T11:00:00Z", "claims": 1, "images": batch_images}
            records = [{"filepath": img["filepath"], "critique_zh": ZH * 5, "critique_en": " ".join(EN * 9),
                        "covered_dimensions": dims, "quality_score": 85} for img in batch_images]
            result = {"culture": culture, "batch_id": b, "seq": b, "status": "completed", "error": None, "claimed_at": stamp,
                      "collected_at": "2026-11-01T10:20:00Z", "items": [{"filepath": r["filepath"], "verdict": "accepted"} for r in records],
                      "records": [dict(r, **img, culture=culture, batch_id=b, accepted_at="2026-11-01T10:20:00Z")
                                  for r, img in zip(records, batch_images)]}
            for kind, doc in (("input", batch), ("output", records), ("result", result)):
                (cp / f"{culture}_batch_{b:03d}_{kind}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1))
            p.apply_claim(batch, index_of, images)
            p.apply_result(result)
        p.last_updated = "2026-11-01T10:20:00Z"
        cands = (cp / f"{culture}_expansion_candidates.json").stat()
        p.candidates_sig = f"{cands.st_size}:{cands.st_mtime_ns}"
        write_json(cp / f"{culture}_expansion_progress.json", p.to_json(), "progress")


# as in a normal install: compiled modules cached; no test-only write checks
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "CRITIQUE_BATCH_CHECK_WRITES")}


def timed_together(runs: dict[str, tuple[list[str], object]], repeat: int, cwd: Path) -> dict[str, float]:
    """Median wall time of each command over `repeat` rounds, after one warm-up round. `runs` maps a
    name to (command, reset or None); the commands take turns within each round."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(repeat + 1):
        for name, (cmd, reset) in runs.items():
            if reset:
                reset()
            t = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=ENV)
            elapsed = time.perf_counter() - t
            if proc.returncode not in (0, 1):
                raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
            if i:
                times[name].append(elapsed)
    return {name: statistics.median(t) for name, t in times.items()}


def floor_cmd(files: list[Path]) -> list[str]:
    code = "import json,sys\nfor f in sys.argv[1:]:\n    json.loads(open(f,'rb').read())"
    return [sys.executable, "-c", code, *map(str, files)]


def snapshot(folder: Path, pattern: str) -> dict[Path, bytes]:
    return {f: f.read_bytes() for f in folder.glob(pattern) if f.is_file()}


def measure(size: int, n_candidates: int, repeat: int, keep: Path | None) -> dict:
    ws = Path(tempfile.mkdtemp(prefix=f"cb-bench-{size}-")) if keep is None else keep / f"ws-{size}"
    if keep is not None and ws.exists():
        shutil.rmtree(ws)
    t = time.perf_counter()
    build(ws, n_candidates, size)
    build_s = time.perf_counter() - t
    cp = ws / "checkpoints"
    py = [sys.executable]
    status = py + [str(SCRIPTS / "batch_status.py"), "--workspace", str(ws)]
    subprocess.run(status, capture_output=True, env=ENV, check=True)  # a session's first look: checks the plan once
    progress_files = sorted(cp.glob("*_expansion_progress.json"))
    saved = snapshot(cp, "*_expansion_progress.json") | snapshot(cp / ".valid", "*")
    inputs = set(cp.glob("*_input.json"))

    def reset():
        """The workspace as built: claims and the seed's preparation write progress, input files
        and (ours) the remembered checks of what they wrote."""
        for f in set(cp.glob("*_input.json")) - inputs:
            f.unlink()
        for f in {f for f in (cp / ".valid").glob("*") if f.is_file()} - set(saved):
            f.unlink()
        for f, data in saved.items():
            f.write_bytes(data)

    fig = {"finished_batches": size, "candidates": n_candidates * len(CULTURES), "build_s": round(build_s, 2)}
    last = max(1, size // len(CULTURES))
    out = cp / f"korean_batch_{last:03d}_output.json"
    runs = {
        "status_s": (status, reset),
        "status_floor_s": (floor_cmd([DEFAULT_PLAN, *progress_files]), None),
        "claim_s": (py + [str(SCRIPTS / "run_next_batch.py"), "--count", "1", "--workspace", str(ws)], reset),
        # run_next_batch reads the plan, all progress files, and the claimed culture's candidates
        "claim_floor_s": (floor_cmd([DEFAULT_PLAN, *progress_files, cp / "western_expansion_candidates.json"]), None),
        "claim_culture_s": (py + [str(SCRIPTS / "run_next_batch.py"), "--culture", "korean", "--count", "1", "--workspace", str(ws)], reset),
        "seed_prepare_s": (py + [str(Path(__file__).resolve().parent / "seed_prepare.py"), "korean"], reset),
    }
    if out.exists():
        runs["validate_s"] = (py + [str(SCRIPTS / "validate_batch.py"), "korean", str(last), "--workspace", str(ws)], None)
        runs["validate_floor_s"] = (floor_cmd([DEFAULT_PLAN, cp / f"korean_batch_{last:03d}_input.json", out]), None)
    fig.update(timed_together(runs, repeat, ws))
    reset()
    fig["status_vs_seed_prepare"] = fig["status_s"] / fig["seed_prepare_s"]
    fig["claim_vs_seed_prepare"] = fig["claim_s"] / fig["seed_prepare_s"]
    fig["claim_culture_vs_seed_prepare"] = fig["claim_culture_s"] / fig["seed_prepare_s"]
    if keep is None:
        shutil.rmtree(ws, ignore_errors=True)
    return fig


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="\n".join(__doc__.splitlines()[2:]),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="20,200,2000", help="finished batches per workspace, comma-separated (default 20,200,2000)")
    ap.add_argument("--candidates", type=int, default=5000, help="candidates per culture (default 5000)")
    ap.add_argument("--repeat", type=int, default=7, help="timed rounds per figure (default 7)")
    ap.add_argument("--keep", metavar="DIR", help="build the workspaces under DIR and keep them")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--no-sync", action="store_true", help="skip the LanceDB sync figures (they take the longest)")
    ap.add_argument("--sync-repeat", type=int, default=2, help="timed runs of each sync figure (default 2)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    keep = Path(args.keep) if args.keep else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    rows = [measure(s, args.candidates, args.repeat, keep) for s in sizes]
    if not args.no_sync:
        for r in rows:
            n = r["finished_batches"]
            r["sync"] = bench_sync.run(size_records=5 * n, batches=max(n // 2, 1), existing_rows=50 * n,
                                       repeat=args.sync_repeat, later_runs=3)
    small, large = rows[0], rows[-1]
    ratios = {
        "status_large_vs_small": large["status_s"] / small["status_s"],
        "claim_large_vs_small": large["claim_s"] / small["claim_s"],
        "seed_prepare_large_vs_small": large["seed_prepare_s"] / small["seed_prepare_s"],
        "status_vs_seed_prepare": large["status_vs_seed_prepare"],
        "claim_vs_seed_prepare": large["claim_vs_seed_prepare"],
        "claim_culture_vs_seed_prepare": large["claim_culture_vs_seed_prepare"],
    }
    if args.json:
        print(json.dumps({"machine": machine(), "rows": rows, "ratios": ratios}, indent=2))
        return 0
    print(f"machine: {machine()}")
    print(f"workspaces: {len(CULTURES)} cultures x {args.candidates:,} candidates; median of {args.repeat} rounds each\n")
    head = (f"{'batches':>7} | {'status':>6} {'floor':>5} {'x':>4} | {'claim':>6} {'floor':>5} {'x':>4} | "
            f"{'valid.':>6} {'floor':>5} {'x':>4} | {'seed prep':>9} {'st/seed':>7} {'cl/seed':>7} {'ko/seed':>7} | "
            f"{'sync':>7} {'floor':>7} {'x':>4} | {'+100':>5} {'-import':>7}")
    print(head)
    print("-" * len(head))
    ms = lambda s: f"{s * 1000:4.0f}ms"  # noqa: E731
    for r in rows:
        line = (f"{r['finished_batches']:>7,} | "
                f"{ms(r['status_s']):>6} {ms(r['status_floor_s'])[:-2]:>5} {r['status_s'] / r['status_floor_s']:4.1f} | "
                f"{ms(r['claim_s']):>6} {ms(r['claim_floor_s'])[:-2]:>5} {r['claim_s'] / r['claim_floor_s']:4.1f} | "
                f"{ms(r.get('validate_s', 0)):>6} {ms(r.get('validate_floor_s', 0))[:-2]:>5} "
                f"{r.get('validate_s', 0) / max(r.get('validate_floor_s', 1), 1e-9):4.1f} | "
                f"{ms(r['seed_prepare_s']):>9} {r['status_vs_seed_prepare']:7.2f} {r['claim_vs_seed_prepare']:7.2f} "
                f"{r['claim_culture_vs_seed_prepare']:7.2f} | ")
        y = r.get("sync")
        if y:
            line += f"{y['sync_s']:6.2f}s {y['floor_s']:6.2f}s {y['ratio']:4.2f} | {y['later_sync_s']:4.2f}s {y['later_beyond_import_s']:6.2f}s"
        print(line)
    print()
    print("batches: finished batches in the workspace (5 cultures x %s candidates). status / claim / valid.: the script, the floor"
          " (ms), their ratio." % f"{args.candidates:,}")
    print("seed prep: the seed's preparation of one korean batch (benchmarks/seed_prepare.py, a process); st/seed, cl/seed,")
    print("ko/seed: status, claim and a claim of a korean batch (run_next_batch.py --culture korean --count 1) / seed prep."
          " sync: merging 5 x batches records from batches/2 result files into a")
    print("table of 50 x batches rows, its floor, their ratio; +100: a later sync of 100 records; -import: that beyond the time")
    print("of a process that only imports lancedb.")
    print()
    print(f"large / small: status {ratios['status_large_vs_small']:.2f}x, claim {ratios['claim_large_vs_small']:.2f}x "
          f"(bar: <= 1.5x); the seed's batch preparation {ratios['seed_prepare_large_vs_small']:.1f}x")
    bars = large["status_s"] < 0.3 and large["claim_s"] < 0.3 and ratios["status_large_vs_small"] <= 1.5 and ratios["claim_large_vs_small"] <= 1.5
    print("bars (status and claim < 0.3 s at the largest size, <= 1.5x the smallest): " + ("met" if bars else "NOT met"))
    seed_ok = all(ratios[k] <= 1 for k in ("status_vs_seed_prepare", "claim_vs_seed_prepare", "claim_culture_vs_seed_prepare"))
    print(f"at the largest size: status {ratios['status_vs_seed_prepare']:.2f}x, claim {ratios['claim_vs_seed_prepare']:.2f}x, "
          f"a korean claim {ratios['claim_culture_vs_seed_prepare']:.2f}x the seed's batch preparation")
    print("bars (status and both claims no slower than the seed's batch preparation at the largest size): " + ("met" if seed_ok else "NOT met"))
    bars = bars and seed_ok
    if "sync" in large:
        sync_ok = all(large["sync"]["bars"].values())
        print(f"bars (sync <= 3x its floor; a 100-record sync <= 0.5 s beyond importing lancedb): {'met' if sync_ok else 'NOT met'}")
        bars = bars and sync_ok
    return 0 if bars else 1


if __name__ == "__main__":
    sys.exit(main())
