#!/usr/bin/env python3
# GENERATED from scripts/quality_report.py by tools/generate.py; edit the source, not this copy
"""Write the quality report: one offline HTML page with charts, near-duplicate critiques and thin layer claims.

  quality_report.py                         every culture -> <workspace>/reports/index.html
  quality_report.py --culture korean        one culture
  quality_report.py --output DIR            write DIR/index.html
  quality_report.py --json                  the summary as JSON (near_duplicates, thin_claims, warnings, ...)

Reads the accepted records from the result files (newest per image), so it works before any sync,
and the published baseline beside them when one is set. Needs matplotlib and datasketch
(pip install 'matplotlib>=3.8' 'datasketch>=1.6'); no other script does. Exit 0 written, 2 bad
input or a missing package.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402


def run(args) -> int:
    from critique_batch.report import quality as report
    from critique_batch.base.clock import iso, now
    from critique_batch.files.baseline import load_baseline
    from critique_batch.files.workspace import Workspace

    report.require_dependencies()
    ws = Workspace(args.workspace)
    if args.culture:
        ws.culture(args.culture)
    summary, page = report.write_report(ws, args.output, args.culture, load_baseline(ws), iso(now()))
    if args.json:
        cli.emit_json({"report": str(page), **report.public(summary)})
        return 0
    o = summary["overall"]
    print(f"wrote {ws.display(page)}: {o['new']['records']:,} records"
          + ("" if summary["baseline_set"] else " (no baseline set)")
          + f"; {len(summary['near_duplicates'])} near-duplicate pair(s); {len(summary['thin_claims'])} record(s) with thin layer claims")
    for line in summary["warnings"]:
        print(f"check: {cli.one_line(line)}")
    return 0


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    p.add_argument("--culture", metavar="C", help="only this culture")
    p.add_argument("--output", metavar="DIR", help="folder for index.html (default <workspace>/reports)")
    cli.main(run, p.parse_args())
