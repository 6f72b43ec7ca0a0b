"""One workspace's claimer, run as its own process (lancedb is not fork-safe) by test_shared_claims.py
and bench_shared_claims.py. Argument: a JSON object:
  uri, workspace_id, culture, keys, chunk, mode ("claim" | "claim_all" | "claim_free" | "take_over" | "renew"),
  with_key (False: the table without the key metadata), ready/go (barrier files: written once the
  table is open / waited for before racing), seen ({key: claim id}, take_over and renew), lease_ms,
  now (take_over's clock), seed.
Prints one JSON object: {"won": [...], "claims": [[claim_id, [keys]], ...], "latencies": [s, ...]}."""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from critique_batch.store import shared_claims as sc  # noqa: E402
from critique_batch.files.workspace import Workspace  # noqa: E402


def main() -> None:
    args = json.loads(sys.argv[1])
    ws_root = Path(args.get("workspace", "."))
    ws = Workspace(ws_root)
    claims = sc.Claims(ws, args.get("culture", "korean"), args["workspace_id"], {"uri": args["uri"]},
                       require_key=args.get("with_key", True))
    claims.table  # noqa: B018 - open (or create) before the barrier: the race is the claims, not the imports
    if args.get("ready"):
        Path(args["ready"]).write_text("ready")
    if args.get("go"):
        deadline = time.monotonic() + 60
        while not Path(args["go"]).exists() and time.monotonic() < deadline:
            time.sleep(0.005)
    lease = sc.now_ms() + args.get("lease_ms", 600_000)
    out = {"won": [], "claims": [], "latencies": []}
    keys = list(args.get("keys", []))
    mode = args.get("mode", "claim")
    if mode in ("claim", "claim_all"):
        random.Random(args.get("seed", 0)).shuffle(keys)
        chunk = len(keys) if mode == "claim_all" else args.get("chunk", 10)
        for i in range(0, len(keys), chunk):
            t = time.perf_counter()
            cid, won = claims.claim(keys[i:i + chunk], lease)
            out["latencies"].append(time.perf_counter() - t)
            out["claims"].append([cid, won])
            out["won"] += won
    elif mode == "claim_free":
        # as a workspace claims: `chunk` images at random among those not known taken, until none is left
        rng = random.Random(args.get("seed", 0))
        known: set[str] = set()
        while len(known) < len(keys):
            pick = rng.sample([k for k in keys if k not in known], min(args.get("chunk", 10), len(keys) - len(known)))
            t = time.perf_counter()
            cid, won = claims.claim(pick, lease)
            out["latencies"].append(time.perf_counter() - t)
            out["claims"].append([cid, won])
            out["won"] += won
            known.update(pick)
    elif mode == "take_over":
        cid, won = claims.take_over(args["seen"], lease, args.get("now"))
        out["claims"].append([cid, won])
        out["won"] += won
    elif mode == "renew":
        (cid, keys_seen), = args["seen_claim"].items()
        won = claims.renew(cid, keys_seen, lease)
        out["claims"].append([cid, won])
        out["won"] += won
    print(json.dumps(out))


if __name__ == "__main__":
    main()
