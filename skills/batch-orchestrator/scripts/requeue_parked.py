#!/usr/bin/env python3
# GENERATED from scripts/requeue_parked.py by tools/generate.py; edit the source, not this copy
"""Return parked items (failed max_attempts times, or skipped by the generator) to the pending pool.

  requeue_parked.py korean                         every parked korean item
  requeue_parked.py korean --item images/a.jpg     only these items (repeat --item)

An image parked because its file does not exist (a claim checks each image it picks, and parks it
without a subagent) is re-queued only once the file is there; while it is still missing it stays
parked and is listed (a mistyped filepath: remove_candidates.py korean --fix OLD NEW). See what
is parked, and why, with batch_status.py --culture korean.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402

SHOWN = 3


def run(args) -> int:
    from critique_batch.state.session import run_session
    from critique_batch.files.workspace import Workspace

    ws = Workspace(args.workspace)
    ws.culture(args.culture)
    items, still_missing = run_session(ws, args.culture, lambda s: (s.requeue(args.item), s.still_missing))
    if args.json:
        cli.emit_json({"culture": args.culture, "requeued": items, "still_missing": still_missing})
        return 0
    if items:
        print(f"{args.culture}: re-queued {cli.plural(len(items), 'parked item')}")
    elif not still_missing:
        print(f"{args.culture}: no parked items")
    if still_missing:
        print(f"{args.culture}: {cli.plural(len(still_missing), 'parked item')} left parked: the image file is still missing "
              f"(put the file there, or correct a mistyped filepath: remove_candidates.py {args.culture} --fix OLD NEW):")
        for m in still_missing[:SHOWN]:
            print(f"  {cli.one_line(m['filepath'])}: {cli.one_line(m['reason'])}")
        if len(still_missing) > SHOWN:
            print(f"  ... {len(still_missing) - SHOWN} more (--json lists them)")
    return 0


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    cli.add_culture(p, "a culture of the plan")
    p.add_argument("--item", action="append", metavar="FILEPATH", help="re-queue only this item (repeatable)")
    cli.main(run, cli.take_culture(p, p.parse_args(), required=True))
