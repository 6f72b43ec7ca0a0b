#!/usr/bin/env python3
# GENERATED from scripts/add_candidates.py by tools/generate.py; edit the source, not this copy
"""Create or extend a culture's candidates file from a folder of images or a manifest.

  add_candidates.py korean images/korean/             every image below the folder; artist = first sub-folder
  add_candidates.py korean manifest.csv               columns: filepath, artist, title, any extra columns
  add_candidates.py korean manifest.jsonl --done existing_filepaths.txt
  add_candidates.py korean manifest.csv --dry-run

Appends new images only: entries already in the candidates file, repeated in the source, or listed
in --done (images already in the dataset) are skipped and counted. Extra columns are kept and
carried through to the database.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402


def run(args) -> int:
    from pathlib import Path

    from critique_batch.candidates import add_candidates, read_done_list
    from critique_batch.workspace import Workspace

    ws = Workspace(args.workspace)
    done = read_done_list(Path(args.done)) if args.done else set()
    report = add_candidates(ws, args.culture, Path(args.source), done=done, dry_run=args.dry_run)
    if args.json:
        cli.emit_json({**report.as_dict(), "dry_run": args.dry_run})
    else:
        verb = "would add" if args.dry_run else "added"
        print(
            f"{args.culture}: {verb} {report.added} of {report.found} images from {args.source}; "
            f"skipped {report.duplicates} duplicates, {report.done} already done; candidates now {report.total + (0 if not args.dry_run else 0)}"
        )
    return 0


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    p.add_argument("culture", help="a culture of the plan")
    p.add_argument("source", help="a folder of images, or a .csv / .jsonl / .json manifest")
    p.add_argument("--done", metavar="FILE", help="filepaths already in the dataset (text, one per line, or a manifest)")
    p.add_argument("--dry-run", action="store_true", help="report what would be added, change nothing")
    cli.main(run, p.parse_args())
