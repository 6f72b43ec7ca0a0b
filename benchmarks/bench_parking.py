#!/usr/bin/env python3
"""Benchmark a claim that parks many images whose files are missing (issue 20, section 6).

  python benchmarks/bench_parking.py                       2,000 / 8,000 / 16,000 / 100,000 missing images
  python benchmarks/bench_parking.py --sizes 2000,520000 --timeout 600
  python benchmarks/bench_parking.py --json

For each size it writes a candidates file of N images (paths under /mnt/, which do not exist here,
as a published file from another machine gives) plus 10 present images at its end, as
add_candidates.py does (written by the package, so its schema check is remembered), then times one
`run_next_batch.py --culture korean --count 1` as a separate process: it parks the N images and
claims a batch of the 10 present ones. A run that passes --timeout is reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
PRESENT = 10


def build(ws: Path, missing: int, scripts: Path = SCRIPTS) -> None:
    cp = ws / "checkpoints"
    cp.mkdir(parents=True)
    images = [{"filepath": f"/mnt/vulca/korean/artist_{i % 97:02d}/painting_{i:06d}.jpg", "artist": f"Artist {i % 97}",
               "title": f"Painting {i}"} for i in range(missing)]
    present = [{"filepath": f"images/korean/present_{i:02d}.jpg", "artist": "Present", "title": f"P {i}"} for i in range(PRESENT)]
    for img in present:
        (ws / img["filepath"]).parent.mkdir(parents=True, exist_ok=True)
        (ws / img["filepath"]).touch()
    sys.path.insert(0, str(scripts))
    from critique_batch.base.jsonfiles import write_json

    write_json(cp / "korean_expansion_candidates.json", {"culture": "korean", "images": images + present}, "candidates")


def measure(missing: int, timeout: float, scripts: Path = SCRIPTS) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-parking-") as tmp:
        ws = Path(tmp)
        build(ws, missing, scripts)
        cmd = [sys.executable, str(scripts / "run_next_batch.py"), "--culture", "korean", "--count", "1", "--json", "--workspace", str(ws)]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return {"missing": missing, "seconds": None, "timed_out_after": timeout}
        took = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"claim failed ({proc.returncode}): {proc.stderr.strip()}")
        out = json.loads(proc.stdout)
        parked = len(out["parked_missing"])
        if parked != missing or out["batches"][0]["images"] != PRESENT:
            raise SystemExit(f"expected {missing} parked and a batch of {PRESENT}, got {parked} and {out['batches']}")
        return {"missing": missing, "seconds": round(took, 2), "us_per_image": round(took / missing * 1e6, 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="2000,8000,16000,100000", help="missing images per run, comma-separated")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds before a run is given up (default 300)")
    p.add_argument("--scripts", type=Path, default=SCRIPTS, help="the scripts folder to time (default: this checkout's; another "
                   "version's, e.g. from `git archive`, to compare)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    rows = [measure(int(s), args.timeout, args.scripts.resolve()) for s in args.sizes.split(",")]
    if args.json:
        print(json.dumps(rows))
        return 0
    for r in rows:
        if r["seconds"] is None:
            print(f"{r['missing']:>9,} missing images: did not finish in {r['timed_out_after']:.0f} s")
        else:
            print(f"{r['missing']:>9,} missing images: {r['seconds']:7.2f} s  ({r['us_per_image']} µs per image)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
