#!/usr/bin/env python3
"""Set a culture's target: how many records its dataset should hold (published + new).

  set_target.py korean 300          the Korean dataset should reach 300 records
  set_target.py korean +100         100 more than it holds now (published + accepted new records)
  set_target.py japanese 500        expand a culture the bundled plan leaves without a target
  set_target.py islamic none        stop expanding it (no batches are claimed)

Writes the target into the workspace's plan, checkpoints/expansion_plan.json, which holds only what
differs from the bundled plan and is merged over it, culture by culture and key by key (a plan
that holds {"cultures": {"japanese": {"target": 500}}} is a whole plan). The merged plan is checked
before anything is written.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402


def run(args) -> int:
    from critique_batch.files.baseline import load_baseline
    from critique_batch.report.status import culture_row
    from critique_batch.files.targets import parse_target, set_target
    from critique_batch.files.workspace import Workspace

    parse_target(args.target)  # a bad TARGET is named first, before the culture is read
    ws = Workspace(args.workspace)
    row = culture_row(ws, ws.culture(args.culture), load_baseline(ws))  # what the culture holds now
    out = set_target(ws, args.culture, args.target, row, dry_run=args.dry_run)
    if args.json:
        cli.emit_json(out)
        return 0
    was = f"was {out['was']}" if out["was"] else "had none"
    now = f"{out['current']} published + {out['new']} new" if out["current_from"] == "baseline" else f"{out['current']} + {out['new']} new"
    verb = "would set" if args.dry_run else "set"
    if out["target"] is None:
        print(f"{out['culture']}: target removed ({was}): not expanded, nothing is claimed ({out['plan']})")
        return 0
    print(f"{out['culture']}: target {verb} to {out['target']} ({was}) in {out['plan']}; now {out['reached']} ({now}), gap {out['gap']}")
    if out["gap"] == 0:
        print(f"  the culture already holds {out['reached']}: nothing more is needed until the target is above that")
    return 0


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    p.add_argument("culture", metavar="CULTURE", help="a culture of the plan")
    p.add_argument("target", metavar="TARGET", help="records the culture should hold: N, +N (relative to now), or none")
    p.add_argument("--dry-run", action="store_true", help="check and report, change nothing")
    cli.main(run, p.parse_args())
