#!/usr/bin/env python3
# GENERATED from scripts/requeue_parked.py by tools/generate.py; edit the source, not this copy
"""Return parked items (failed max_attempts times, or skipped by the generator) to the pending pool.

  requeue_parked.py korean                         every parked korean item
  requeue_parked.py korean --item images/a.jpg     only these items (repeat --item)

See what is parked, and why, with batch_status.py --culture korean.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402


def run(args) -> int:
    from critique_batch import engine
    from critique_batch.workspace import Workspace

    ws = Workspace(args.workspace)
    ws.culture(args.culture)
    items = engine.run_session(ws, args.culture, lambda s: s.requeue(args.item))
    if args.json:
        cli.emit_json({"culture": args.culture, "requeued": items})
    else:
        print(f"{args.culture}: re-queued {len(items)} parked item(s)" if items else f"{args.culture}: no parked items")
    return 0


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    p.add_argument("culture", help="a culture of the plan")
    p.add_argument("--item", action="append", metavar="FILEPATH", help="re-queue only this item (repeatable)")
    cli.main(run, p.parse_args())
