#!/usr/bin/env python3
"""Export merged critiques as JSONL in the published VULCA-Bench record shape.

  export_critiques.py                                  the whole table -> <workspace>/exports/critiques.jsonl
  export_critiques.py --culture korean --new --output new_korean.jsonl   the new Korean records: append them to korean.jsonl
  export_critiques.py --whole-dataset --output vulca_bench_grown.jsonl     published + new (to replace the published file)
  export_critiques.py --version sync-20260301T101500Z-v12   the table as it was at a tag or version
  export_critiques.py --output - | head -1             JSONL on stdout (the summary goes to stderr)

One line per record, keys in the published order: pair_id, ulid, culture, image_path, artist,
title, critique_zh, critique_en, covered_dimensions, quality_score, art_form, art_style, art_genre,
medium. With a baseline set (set_baseline.py), a new record's line has its culture's published
shape: the published lines' keys in their order, each value of their type (covered_dimensions as a
JSON string where the published lines hold one, missing art_* and medium as "", scores as floats),
so that the --new file can be appended to the published file as it is. Without a baseline,
covered_dimensions is an array (--dims-as-text: the JSON-string form) and a new record lists the
last four keys only when it has them.

With a baseline, an export holding a record whose pair_id is already published (the baseline's
records, after sync_to_lancedb.py --baseline, or a published image critiqued again) is refused,
exit 2: --new gives the lines to append, --whole-dataset the whole dataset (to replace the files).

pair_id and ulid are given once, when a record is first merged: after the published baseline's
highest pair_id (set_baseline.py), never renumbered. A record of an image that came from a
published line has that line's keys, values, pair_id and ulid; an unchanged published record
(sync_to_lancedb.py --baseline) is exported as its very line. The baseline's records come first,
in their files' order, then the rest by pair_id.
The file is written atomically: a killed export leaves no partial or temporary file.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402


def run(args) -> int:
    from critique_batch.store import export
    from critique_batch.files.workspace import Workspace

    if args.output == "-" and args.json:
        raise cli.InputError("--json and --output - both want stdout; pick one", where="usage")
    ws = Workspace(args.workspace)
    out = export.export(ws, culture=args.culture, output=args.output, db=args.db, version=args.version,
                        new_only=args.new, dims_as_text=args.dims_as_text, whole_dataset=args.whole_dataset)
    if args.json:
        cli.emit_json(out)
    else:
        where = sys.stderr if args.output == "-" else sys.stdout
        shape = " in the published files' shape" if out["published_shape"] else ""
        print(f"wrote {out['records']} records{shape} to {cli.one_line(out['output'])} (table version {out['version']})", file=where)
        if out["republished_left_out"]:
            print(f"left out {out['republished_left_out']} published image(s) critiqued again: their pair_ids are already in the "
                  "published files (export_critiques.py --whole-dataset writes the whole dataset with them in place)", file=where)
        if args.new and out["published_shape"] and out["records"]:
            print("append it to the published file, then check the grown files: check_dataset.py FILES", file=where)
    return 0


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    cli.add_culture(p, "only this culture")
    p.add_argument("--output", metavar="FILE", help="where to write (default <workspace>/exports/critiques[_C].jsonl; - for stdout)")
    p.add_argument("--version", metavar="TAG_OR_VERSION", help="export the table as it was at this tag or version")
    p.add_argument("--new", action="store_true", help="only records critiqued in this expansion (no unchanged published record)")
    p.add_argument("--whole-dataset", action="store_true", help="the whole dataset, published and new records (to replace the "
                   "published files; without it, an export holding a published pair_id is refused)")
    p.add_argument("--dims-as-text", action="store_true", help="write covered_dimensions as a JSON string (the older published form)")
    p.add_argument("--db", metavar="URI",
                   help="database folder or URI (default: $CRITIQUE_BATCH_DB, the plan's database.uri, or <workspace>/lancedb)")
    cli.main(run, cli.take_culture(p, p.parse_args()))
