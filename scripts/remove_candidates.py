#!/usr/bin/env python3
"""Remove candidates from a culture's candidates file, or correct a candidate's filepath.

  remove_candidates.py korean images/korean/typo.jpg            remove one (or more) candidates
  remove_candidates.py korean --fix images/korean/typo.jpg images/korean/right.jpg
  remove_candidates.py korean images/korean/x.jpg --dry-run     report what would change, change nothing

The one change to a candidates file other than appending (do not edit it by hand). A corrected
candidate keeps its metadata (artist, title, every other field) under the new filepath; if it was
parked (for example "image file not found"), its parking is cleared and it is pending again. A
removed candidate's failures and parking no longer count. Progress is rebuilt at once, so
batch_status.py is right straight after.

Refused (exit 2, nothing changed): a filepath that is not a candidate, one whose record was
accepted (it stays in the dataset), one in flight in a batch (run it again once that batch is
collected), and --fix to a filepath that is already a candidate.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402

SHOWN = 3


def run(args) -> int:
    from critique_batch.state.candidate_edits import edit_candidates
    from critique_batch.files.workspace import Workspace

    ws = Workspace(args.workspace)
    report = edit_candidates(ws, args.culture, args.paths, [tuple(f) for f in args.fix or []], dry_run=args.dry_run)
    if args.json:
        cli.emit_json(report)
        return 0
    c, s = args.culture, report["status"]
    would = "would " if args.dry_run else ""
    done = []
    if report["removed"]:
        done.append(f"{would}remove {cli.plural(len(report['removed']), 'candidate')}" if args.dry_run
                     else f"removed {cli.plural(len(report['removed']), 'candidate')}")
    if report["fixed"]:
        done.append(f"{would}correct {cli.plural(len(report['fixed']), 'filepath')}" if args.dry_run
                    else f"corrected {cli.plural(len(report['fixed']), 'filepath')}")
    if report["unparked"]:
        done.append(f"{cli.plural(len(report['unparked']), 'parked item')} no longer parked")
    print(f"{c}: {'; '.join(done)}; candidates {'would be' if args.dry_run else 'now'} {report['candidates']}")
    print(f"  {s['completed']} completed, {s['pending']} pending, {s['parked']} parked, {s['in_flight_items']} in flight "
          f"of {s['total']}{'' if args.dry_run else ' (progress rebuilt)'}")
    for f in report["fixed"][:SHOWN]:
        if f["file_missing"]:
            print(f"  {f['new']}: no file at {f['file_missing']} either: a claim parks it again")
    return 0


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    cli.add_culture(p, "a culture of the plan")
    p.add_argument("paths", nargs="*", metavar="PATH", help="a candidate's filepath to remove (as batch_status.py lists it)")
    p.add_argument("--fix", nargs=2, action="append", metavar=("OLD", "NEW"),
                   help="correct a candidate's filepath: OLD becomes NEW, its metadata kept (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="report what would change, change nothing")
    args = p.parse_args()
    if args.culture_flag is not None and args.culture is not None:  # --culture korean a.jpg: a.jpg is a path
        args.paths.insert(0, args.culture)
        args.culture = None
    cli.main(run, cli.take_culture(p, args, required=True))
