#!/usr/bin/env python3
# GENERATED from scripts/run_next_batch.py by tools/generate.py; edit the source, not this copy
"""Collect finished batches, then claim up to N new ones and print one subagent brief per batch.

  run_next_batch.py                    collect, then claim 1 batch of the highest-priority culture
  run_next_batch.py --count 4          claim up to 4 (each culture at most max_parallel in flight)
  run_next_batch.py --culture korean --count 2 --size 5
  run_next_batch.py --count 0          collect only

Collection validates each finished output file, accepts its valid records and returns invalid or
missing items to the pending pool with the reason. Claims carry a lease; an expired claim is
offered again as it is (same batch id and input file). A culture whose plan entry has no target
(japanese, islamic, hermitage as bundled) is not expanded: nothing is claimed for it. Exit 1 if
N > 0 and nothing could be claimed.
Never imports lancedb.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402


def run(args) -> int:
    from critique_batch import engine, status
    from critique_batch.workspace import Workspace, batch_tag

    if args.count < 0:
        raise cli.InputError(f"expected a number >= 0, got {args.count}", where="--count")
    if args.size is not None and args.size < 1:
        raise cli.InputError(f"expected a number >= 1, got {args.size}", where="--size")
    ws = Workspace(args.workspace)
    names = [ws.culture(args.culture).name] if args.culture else ws.configured_cultures()
    if args.culture and not ws.candidates_path(args.culture).exists():
        engine.load_candidates(ws, args.culture)  # raises the clear "no candidates file" error

    collected = []
    for name in names:
        if args.culture or engine.needs_attention(ws, name):
            collected += engine.run_session(ws, name, lambda s: s.collect())

    batches = []
    why_none = []
    failure = None
    if args.count:
        rows = {r["culture"]: r for r in status.overview(ws)}
        order = names if args.culture else status.priority_order(list(rows.values()))
        for name in order:
            if len(batches) >= args.count:
                break
            if not ws.culture(name).expanded:
                why_none.append(f"{name}: the plan gives no target, so it is not expanded; set cultures.{name}.target "
                                "in checkpoints/expansion_plan.json to expand it")
                continue
            try:
                got = engine.run_session(ws, name, lambda s: s.claim(args.count - len(batches), args.size))
            except cli.BatchError as exc:
                if not batches:
                    raise
                failure = exc  # print the briefs already claimed (they are saved), then the error
                break
            batches += got
            if not got:
                r = rows.get(name) or status.culture_row(ws, ws.culture(name))
                why_none.append(_why(r, ws.culture(name)))
        if not order:
            why_none.append("no culture has images left to claim")

    if args.json:
        cli.emit_json({"collected": collected, "batches": batches, **({"error": str(failure)} if failure else {})})
    else:
        for c in collected:
            head = f"collected {c['culture']} {batch_tag(c['batch_id'])}: {c['accepted']} accepted, {c['rejected'] + c['missing']} returned, {c['skipped']} skipped"
            print(head + (f" (batch failed: {c['error'][:120]})" if c["status"] == "failed" else ""))
            shown = c["returned"] if args.verbose else c["returned"][:3]
            for r in shown:
                print(f"  returned {r['filepath']}: {r['reason'] if args.verbose else r['reason'][:140]}")
            if len(shown) < len(c["returned"]):
                print(f"  ... {len(c['returned']) - len(shown)} more (--verbose)")
        if batches:
            print(f"claimed {len(batches)} batch(es). Start one subagent per batch, all in one message, with run_in_background: false, each given its brief:")
            for b in batches:
                print(f"--- {b['culture']} {batch_tag(b['batch_id'])}{' (resumed: lease had expired)' if b['resumed'] else ''}")
                print(b["brief"])
        elif args.count:
            print("nothing claimed: " + "; ".join(why_none))
        elif not collected:
            print("nothing to collect")
    if failure is not None:
        print(f"run_next_batch.py: error: {failure} (the batches above are claimed; claim again for more)", file=sys.stderr)
        return failure.exit_code
    return 1 if args.count and not batches else 0


def _why(row: dict, cfg) -> str:
    if row["in_flight"] >= cfg.max_parallel:
        return f"{row['culture']}: {row['in_flight']} batches in flight (max_parallel {cfg.max_parallel}); wait for them or let their leases expire"
    if row["parked"] and not row["pending"]:
        return f"{row['culture']}: only parked items left ({row['parked']}); see batch_status.py --culture {row['culture']}"
    return f"{row['culture']}: no images left to claim ({row['completed']}/{row['total']} accepted, {row['in_flight']} batches in flight)"


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    p.add_argument("--culture", metavar="C", help="only this culture (default: by priority)")
    p.add_argument("--count", type=int, default=1, metavar="N", help="claim up to N batches (default 1; 0 = collect only)")
    p.add_argument("--size", type=int, metavar="K", help="images per new batch (default: the plan's batch_size)")
    p.add_argument("--verbose", action="store_true", help="list every returned item with its full reason")
    cli.main(run, p.parse_args())
