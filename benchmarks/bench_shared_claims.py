#!/usr/bin/env python3
"""Benchmark the shared claims table (shared_claims.py), on a folder and on S3 (moto on loopback).

  python benchmarks/bench_shared_claims.py                 the figures of the README
  python benchmarks/bench_shared_claims.py --keys 200 --latency-claims 300 --json

Throughput: 1, 2 and 4 workspaces (each its own process, released together) claim `--chunk`
images at a time (a batch) at random among those not known taken, until every one of `--keys`
images is claimed. Claims per second = claims that won at least one image / wall time from the
release to the last process done; also the p50/p90 latency of one claim (read, commit, read back).

Latency after many claims: one workspace makes `--latency-claims` claims of `--chunk` images, with
housekeeping every 100 versions (the default) and without it; reported: the p50/p90 of the first
50 claims and of the last 50. On moto, `--latency-claims-s3` claims (each costs ~0.2 s there).
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
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

from critique_batch.store import shared_claims as sc  # noqa: E402
from critique_batch.files.workspace import Workspace  # noqa: E402

WORKER = ROOT / "tests" / "claims_worker.py"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def throughput(tmp: Path, uri: str, env: dict, workspaces: int, n_keys: int, chunk: int) -> dict:
    keys = [f"images/western/painting_{i:05d}.jpg" for i in range(n_keys)]
    go = tmp / f"go-{time.monotonic_ns()}"
    procs = []
    for i in range(workspaces):
        ready = tmp / f"{go.name}-ready-{i}"
        args = {"uri": uri, "workspace": str(tmp), "workspace_id": f"w{i}", "culture": "western", "keys": keys, "chunk": chunk,
                "mode": "claim_free", "ready": str(ready), "go": str(go), "seed": i}
        procs.append((ready, subprocess.Popen([sys.executable, str(WORKER), json.dumps(args)], stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, text=True, env={**os.environ, **env})))
    while not all(r.exists() or p.poll() is not None for r, p in procs):
        time.sleep(0.01)
    t0 = time.perf_counter()
    go.write_text("go")
    outs = []
    for _, p in procs:
        out, err = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"worker failed: {err}")
        outs.append(json.loads(out))
    wall = time.perf_counter() - t0
    won = [k for o in outs for k in o["won"]]
    assert len(won) == len(set(won)) == n_keys, "a key won twice, or not at all"
    lat = [x for o in outs for x in o["latencies"]]
    winning = sum(1 for o in outs for _, w in o["claims"] if w)
    return {"workspaces": workspaces, "keys": n_keys, "claims": winning, "attempts": len(lat), "wall_s": round(wall, 2),
            "claims_per_s": round(winning / wall, 1), "p50_ms": round(pct(lat, 0.5) * 1000), "p90_ms": round(pct(lat, 0.9) * 1000)}


def latency(tmp: Path, uri: str, n_claims: int, chunk: int, optimize_every: int) -> dict:
    os.environ["CRITIQUE_BATCH_CLAIMS_OPTIMIZE_EVERY"] = str(optimize_every)
    c = sc.Claims(Workspace(tmp), "western", "bench", {"uri": uri})
    lease = sc.now_ms() + 3_600_000
    lat = []
    for i in range(n_claims):
        keys = [f"images/western/l{optimize_every}/p{i:05d}_{j}.jpg" for j in range(chunk)]
        t = time.perf_counter()
        _, won = c.claim(keys, lease)
        lat.append(time.perf_counter() - t)
        assert len(won) == chunk
    first, last = lat[:50], lat[-50:]
    return {"claims": n_claims, "optimize_every": optimize_every or "never", "housekeeping_runs": c.housekept,
            "first50_p50_ms": round(pct(first, 0.5) * 1000, 1), "first50_p90_ms": round(pct(first, 0.9) * 1000, 1),
            "last50_p50_ms": round(pct(last, 0.5) * 1000, 1), "last50_p90_ms": round(pct(last, 0.9) * 1000, 1),
            "fragments": c.table.stats()["fragment_stats"]["num_fragments"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=400, help="images claimed in each throughput run")
    ap.add_argument("--keys-s3", type=int, default=200)
    ap.add_argument("--chunk", type=int, default=10, help="images per claim (a batch)")
    ap.add_argument("--latency-claims", type=int, default=1000)
    ap.add_argument("--latency-claims-s3", type=int, default=300)
    ap.add_argument("--storage", choices=("folder", "s3"), action="append", help="only this storage (repeatable; default both)")
    ap.add_argument("--only", choices=("throughput", "latency"), help="only this measure")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    import store_support

    server = store_support.S3Server()
    os.environ.update(server.env)
    report: dict = {"throughput": [], "latency": []}
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            for where in a.storage or ("folder", "s3"):
                for w in (1, 2, 4) if a.only != "latency" else ():
                    uri = str(tmp / f"t{w}") if where == "folder" else server.bucket(f"bench-t{w}")
                    r = throughput(tmp, uri, server.env if where == "s3" else {}, w, a.keys if where == "folder" else a.keys_s3, a.chunk)
                    report["throughput"].append({"storage": where, **r})
                    if not a.json:
                        print(json.dumps(report["throughput"][-1]), flush=True)
                for every in (0, sc.OPTIMIZE_EVERY) if a.only != "throughput" else ():
                    uri = str(tmp / f"l{every}") if where == "folder" else server.bucket(f"bench-l{every}")
                    n = a.latency_claims if where == "folder" else a.latency_claims_s3
                    r = latency(tmp, uri, n, a.chunk, every)
                    report["latency"].append({"storage": where, **r})
                    if not a.json:
                        print(json.dumps(report["latency"][-1]), flush=True)
    finally:
        server.stop()
    report["machine"] = {"cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 1)}
    if a.json:
        print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
