#!/usr/bin/env python3
# GENERATED from scripts/batch_status.py by tools/generate.py; edit the source, not this copy
"""Show where every culture's expansion stands, or one culture in detail.

  batch_status.py                      overview: progress bars, priority order, in flight, failed, parked, unmerged
  batch_status.py --culture korean     one culture: next batch, last artist, ETA, next milestone, stuck items
  batch_status.py --rebuild            recompute progress from the batch files on disk (all cultures, or --culture)
  batch_status.py --rebuild --check    only compare; exit 1 if the kept progress differs from the rebuild

A rebuild is a fold over every file: an image not accepted, in flight or parked is pending again
(after a deleted input file, or images inserted above handed-out ones), and claims keep the
leases their input files carry. Status reads the plan and the progress files (the batch files
only when a progress file is missing); never imports lancedb, unless claims are shared with other
workspaces ($CRITIQUE_BATCH_CLAIMS or the plan's "claims"): then it also shows the shared expansion
(done here, done elsewhere, claimed elsewhere: by which workspace, until when).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402


def run(args) -> int:
    from critique_batch.report import status
    from critique_batch.store import shared_claims
    from critique_batch.state.rebuild import rebuild_progress
    from critique_batch.base.clock import now
    from critique_batch.files.workspace import Workspace

    if args.check and not args.rebuild:
        raise cli.InputError("--check compares a rebuild with the kept progress: use it with --rebuild (batch_status.py --rebuild --check)",
                             where="--check")
    ws = Workspace(args.workspace)
    if args.rebuild:
        names = ws.culture_names(args.culture)
        report = rebuild_progress(ws, names, write=not args.check)
        if args.json:
            cli.emit_json({"rebuilt": [r.as_dict() for r in report], "checked_only": args.check})
        else:
            for r in report:
                if r.nothing_kept:
                    print(f"{r.culture}: " + ("no progress file yet: nothing to compare" if args.check
                                             else "progress built from the batch files (there was none)"))
                elif r.matches:
                    print(f"{r.culture}: progress matches the batch files")
                else:
                    verb = "differs" if args.check else "rebuilt"
                    moved = f"; pending {r.pending_before} -> {r.pending}" if r.pending_before not in (None, r.pending) else ""
                    print(f"{r.culture}: {verb} in {', '.join(r.changed)}{moved}" + (f" (was unreadable: {r.was_broken})" if r.was_broken else ""))
        return 1 if args.check and any(not r.matches for r in report) else 0

    rows = status.overview(ws, args.culture)
    shared = shared_claims.summaries(ws, [r["culture"] for r in rows if r["configured"]])  # {} unless claims are shared
    if args.culture:
        cfg = ws.culture(args.culture)
        d = status.detail(ws, rows[0], cfg, now())
        if args.json:
            cli.emit_json({"cultures": [{**d, **({"shared": shared[args.culture]} if args.culture in shared else {})}]})
        else:
            print(status.render_detail(d, verbose=args.verbose))
            _print_shared(shared)
        return 0
    if args.json:
        cli.emit_json({"cultures": [{**status.public(r), **({"shared": shared[r["culture"]]} if r["culture"] in shared else {})} for r in rows],
                       "priority": status.priority_order(rows)})
    else:
        print(status.render_overview(rows))
        _print_shared(shared)
    return 0


def _print_shared(shared: dict) -> None:
    from critique_batch.store import shared_claims

    for culture, s in shared.items():
        print(shared_claims.render_summary(culture, s))


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    cli.add_culture(p, "show one culture in detail")
    p.add_argument("--rebuild", action="store_true", help="recompute progress from the batch files on disk")
    p.add_argument("--check", action="store_true", help="with --rebuild: compare only, change nothing")
    p.add_argument("--verbose", action="store_true", help="list every stuck item with its full reason")
    cli.main(run, cli.take_culture(p, p.parse_args()))
