#!/usr/bin/env python3
# GENERATED from scripts/set_baseline.py by tools/generate.py; edit the source, not this copy
"""Make the published dataset files the workspace's baseline.

  set_baseline.py data/culture_subsets/*.jsonl      every culture's published file
  set_baseline.py vulca_bench.jsonl                 the whole dataset (8 cultures)
  set_baseline.py korean.jsonl indian.jsonl --dry-run

Give every published file: pair_ids are numbered across the whole dataset, and new records are
numbered after the highest pair_id of the files given (a culture of the plan the files do not hold
is named, with that warning). A culture whose published count already meets its target is named
with the set_target.py command that raises it.

Each culture's `current` becomes the number of its published records (unique images: a second
line of one image_path is reported and not counted), its published images count as done
(add_candidates.py skips them unless --regenerate), and the highest pair_id is remembered for
new records. Status then shows published + new. Running it again replaces the baseline: give every
published file each time. The files stay where they are (the export reads them again; a moved or
changed file is reported). Written to checkpoints/baseline.json and checkpoints/baseline_images.json.
Exit 2 on bad input (a line that is not JSON, no image_path, a malformed pair_id or
covered_dimensions, one pair_id on two images): nothing is changed.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402

SHOWN = 3


def run(args) -> int:
    from pathlib import Path

    from critique_batch.files.baseline import coverage
    from critique_batch.store.set_baseline import set_baseline
    from critique_batch.files.plan import target_command
    from critique_batch.files.workspace import Workspace

    ws = Workspace(args.workspace)
    summary = set_baseline(ws, [Path(f) for f in args.files], dry_run=args.dry_run)
    advice = coverage(ws, summary)
    if args.json:
        cli.emit_json({**summary, **advice, "dry_run": args.dry_run})
        return 0
    verb = "would set" if args.dry_run else "set"
    total = sum(c["records"] for c in summary["cultures"].values())
    print(f"baseline {verb}: {total} published records in {len(summary['cultures'])} cultures from "
          f"{len(summary['sources'])} files; highest pair_id PAIR_{summary['max_pair_id']:0{summary['pair_id_width']}d}")
    for name, c in summary["cultures"].items():
        n = c["duplicates"]
        dup = f" ({n} repeated line{'s' if n != 1 else ''} skipped)" if n else ""
        print(f"  {name:<10} {c['records']:>5} published{dup}")
    sources = summary["sources"]
    for d in summary["duplicates"][:SHOWN]:
        print(f"  skipped {cli.one_line(Path(sources[d['source']]['path']).name)} line {d['line']} ({d['pair_id']}): same image_path as "
              f"line {d['kept_line']} ({d['kept_pair_id']}); the first line is kept")
    if len(summary["duplicates"]) > SHOWN:
        print(f"  ... {len(summary['duplicates']) - SHOWN} more (--json lists them)")
    if advice["missing_cultures"]:
        print(f"warning: no published record of {', '.join(advice['missing_cultures'])}: pair_ids are numbered across the whole "
              "dataset, so new records' pair_ids may collide with those of the files not given; give every published file "
              "(or the whole vulca_bench.jsonl)")
    for a in advice["at_target"]:
        print(f"{a['culture']}: {a['records']} published records already meet its target {a['target']} (run_unattended.py "
              f"stops at once); raise it: {target_command(a['culture'], '+100')}")
    return 0


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    p.add_argument("files", nargs="+", metavar="FILE", help="published VULCA-Bench .jsonl files")
    p.add_argument("--dry-run", action="store_true", help="check and report, change nothing")
    cli.main(run, p.parse_args())
