#!/usr/bin/env python3
# GENERATED from scripts/check_dataset.py by tools/generate.py; edit the source, not this copy
"""Check a published dataset's files together, before and after appending new records to them.

  check_dataset.py data/culture_subsets/*.jsonl      every culture's file (or the whole vulca_bench.jsonl)
  check_dataset.py korean.jsonl mural.jsonl --json

Problems (exit 1): a pair_id or ulid given twice across all the files (pair_ids are numbered across
the whole dataset), a pair_id that is not PAIR_<digits>, a line whose shape differs from its
culture's other lines (keys, their order, value types: e.g. covered_dimensions as an array where
the published lines hold a JSON string). A line that only lacks art_style, art_genre and medium, as
older published lines do, is not a problem.
Reported, not failed: image_paths repeated within a culture (the published dataset has some), and
per culture how many records (the first line of each image) meet today's rules (the workspace's
plan, else the bundled one) and why the others do not, with the dimension IDs the records use
beside the catalogue and the count the dataset's README gives.
Exit 0 clean; 1 problems found; 2 a file that cannot be read or a line that is not a JSON object.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402

SHOWN = 3


def run(args) -> int:
    from pathlib import Path

    from critique_batch.checks.dataset_check import check_files
    from critique_batch.files.workspace import Workspace

    out = check_files(Workspace(args.workspace), [Path(f) for f in args.files])
    if args.json:
        cli.emit_json(out)
        return 0 if out["clean"] else 1
    verdict = "clean" if out["clean"] else cli.plural(len(out["problems"]), "problem")
    print(f"checked {cli.plural(len(out['files']), 'file')}, {cli.plural(out['lines'], 'line')} of "
          f"{cli.plural(len(out['cultures']), 'culture')}: {verdict}")
    for p in out["problems"][:10 if not args.verbose else None]:
        places = p["places"] if args.verbose else p["places"][:SHOWN]
        more = f", ... {len(p['places']) - len(places)} more" if len(places) < len(p["places"]) else ""
        print(f"  problem: {p['message']} ({', '.join(places)}{more})")
    if len(out["problems"]) > 10 and not args.verbose:
        print(f"  ... {len(out['problems']) - 10} more problems (--verbose)")
    for name, c in out["cultures"].items():
        extra = []
        if c["repeated_images"]:
            extra.append(f"{cli.plural(len(c['repeated_images']), 'repeated image_path')}")
        if c["without_metadata"]:
            extra.append(f"{c['without_metadata']} without art_style/art_genre/medium")
        head = f"  {name:<10} {c['lines']:>5} lines, {c['images']} images" + (f" ({'; '.join(extra)})" if extra else "")
        r = c.get("rules")
        if r is None:
            print(head + "; not a culture of the plan: rules not checked")
            continue
        d = c["dimensions"]
        diff = d["used"] - d["official"] if d["official"] else 0
        official = (f"; README counts {d['official']}" + (f", {abs(diff)} {'more' if diff > 0 else 'fewer'} used" if diff else "")
                    if d["official"] else "")
        outside = f"; {len(d['outside_catalogue'])} outside it: {', '.join(d['outside_catalogue'][:SHOWN])}" if d["outside_catalogue"] else ""
        print(f"{head}; {r['met']}/{r['records']} meet today's rules; dimension IDs used {d['used']} "
              f"(catalogue {d['catalogue']}{official}{outside})")
        for reason, n in list(r["failing"].items())[:None if args.verbose else SHOWN]:
            print(f"      {n:>5}  {reason}")
        if len(r["failing"]) > SHOWN and not args.verbose:
            print(f"      ... {len(r['failing']) - SHOWN} more reasons (--verbose)")
    return 0 if out["clean"] else 1


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    p.add_argument("files", nargs="+", metavar="FILE", help="published VULCA-Bench .jsonl files")
    p.add_argument("--verbose", action="store_true", help="every problem, place and reason")
    cli.main(run, p.parse_args())
