#!/usr/bin/env python3
# GENERATED from scripts/search_critiques.py by tools/generate.py; edit the source, not this copy
"""Find merged critiques by full-text search, e.g. exemplars of style for a generator.

  search_critiques.py "ink wash landscape"                       English query: searches critique_en
  search_critiques.py "留白 意境" --culture chinese --limit 3      Chinese query: searches critique_zh (n-gram index)
  search_critiques.py "court painter" --min-quality 90 --full     print both critiques in full
  search_critiques.py "金弘道" --json                              full records as one JSON object

The language is picked from the query (any CJK character -> Chinese) unless --lang says otherwise.
Reads the database that sync_to_lancedb.py writes (--db, $CRITIQUE_BATCH_DB, or <workspace>/lancedb).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402


def snippet(text, n: int = 110) -> str:
    text = cli.one_line(" ".join((text or "").split()))
    return text if len(text) <= n else text[: n - 1] + "…"


def run(args) -> int:
    from critique_batch.store import search
    from critique_batch.files.workspace import Workspace

    ws = Workspace(args.workspace)
    out = search.search(ws, args.query, culture=args.culture, limit=args.limit, lang=args.lang,
                        min_quality=args.min_quality, db=args.db)
    if args.json:
        cli.emit_json(out)
        return 0
    if not out["results"]:
        print(f"no critique matches {cli.one_line(repr(out['query']))} in {out['column']}"
              + (f" ({cli.one_line(out['culture'])})" if out["culture"] else ""))
        return 0
    for i, r in enumerate(out["results"], 1):
        score = f"{r['quality_score']:g}" if r["quality_score"] is not None else "?"
        shown = cli.one_line  # every field below came from data
        print(f"{i}. [{shown(r['culture'])}] {shown(r['artist'] or '?')} - {shown(r['title'] or '?')} (quality {score}, match {r['score']:.2f})")
        print(f"   {shown(r['filepath'])}")
        if args.full:
            print(f"   zh: {shown(r['critique_zh'])}")
            print(f"   en: {shown(r['critique_en'])}")
            print(f"   dimensions: {shown(', '.join(r['covered_dimensions'] or []))}")
        else:
            print(f"   {snippet(r[out['column']])}")
    return 0


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    p.add_argument("query", help="words to look for (Chinese or English)")
    p.add_argument("--culture", metavar="C", help="only this culture")
    p.add_argument("--limit", type=int, default=5, metavar="N", help="at most N results (default 5)")
    p.add_argument("--lang", choices=["auto", "zh", "en"], default="auto", help="which critique to search (default: from the query)")
    p.add_argument("--min-quality", type=float, metavar="S", help="only critiques with quality_score >= S")
    p.add_argument("--full", action="store_true", help="print both critiques in full")
    p.add_argument("--db", metavar="URI",
                   help="database folder or URI (default: $CRITIQUE_BATCH_DB, the plan's database.uri, or <workspace>/lancedb)")
    cli.main(run, p.parse_args())
