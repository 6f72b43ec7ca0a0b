#!/usr/bin/env python3
# GENERATED from scripts/export_critiques.py by tools/generate.py; edit the source, not this copy
"""Export merged critiques as JSONL in the VULCA-Bench record shape.

  export_critiques.py                                  all cultures -> <workspace>/exports/critiques.jsonl
  export_critiques.py --culture korean --output kr.jsonl
  export_critiques.py --pair-start 7411                continue VULCA-Bench's PAIR_ numbering
  export_critiques.py --version sync-20260301T101500Z-v12   export the table as it was at a tag or version
  export_critiques.py --output - | head -1             JSONL on stdout (the summary goes to stderr)

One line per record: pair_id, ulid, culture, image_path, artist, title, critique_zh, critique_en,
covered_dimensions (a list; --dims-as-text writes it as a JSON string like the VULCA-Bench GitHub
files), quality_score, art_form, art_style, art_genre, medium. pair_id numbers the whole table in
the order records were accepted, so filtering by culture does not renumber. The file is written
atomically (temp file + rename).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402


def run(args) -> int:
    from critique_batch import store
    from critique_batch.workspace import Workspace

    if args.output == "-" and args.json:
        raise cli.InputError("--json and --output - both want stdout; pick one", where="usage")
    ws = Workspace(args.workspace)
    out = store.export(ws, culture=args.culture, output=args.output, db=args.db, version=args.version,
                       pair_start=args.pair_start, dims_as_text=args.dims_as_text)
    if args.json:
        cli.emit_json(out)
    else:
        line = f"wrote {out['records']} records to {out['output']} (table version {out['version']})"
        print(line, file=sys.stderr if args.output == "-" else sys.stdout)
    return 0


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    p.add_argument("--culture", metavar="C", help="only this culture")
    p.add_argument("--output", metavar="FILE", help="where to write (default <workspace>/exports/critiques[_C].jsonl; - for stdout)")
    p.add_argument("--version", metavar="TAG_OR_VERSION", help="export the table as it was at this tag or version")
    p.add_argument("--pair-start", type=int, default=1, metavar="N", help="first pair_id number (default 1)")
    p.add_argument("--dims-as-text", action="store_true", help="write covered_dimensions as a JSON string")
    p.add_argument("--db", metavar="URI", help="database folder or URI (default: $CRITIQUE_BATCH_DB, the plan's database.uri, or <workspace>/lancedb)")
    cli.main(run, p.parse_args())
