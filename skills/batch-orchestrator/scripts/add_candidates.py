#!/usr/bin/env python3
# GENERATED from scripts/add_candidates.py by tools/generate.py; edit the source, not this copy
"""Create or extend a culture's candidates file from a folder of images or a manifest.

  add_candidates.py korean images/korean/             every image below the folder; artist = first sub-folder
  add_candidates.py korean manifest.csv               columns: filepath, artist, title, any extra columns
  add_candidates.py korean manifest.jsonl --done existing_filepaths.txt
  add_candidates.py korean vulca_bench.jsonl --regenerate   published lines, to critique them again
  add_candidates.py korean manifest.csv --dry-run

Reads published VULCA-Bench JSONL/JSON as it is: `image_path` is taken as the filepath; the
published critique fields (critique_zh, critique_en, covered_dimensions, quality_score) are dropped,
pair_id, ulid and every other field are kept with the image; lines of other cultures are counted
and skipped. Filepaths are normalised (Unicode NFC, "/" separators, no "./", no "//"), so two
spellings of one image are one image. Symlinked folders are followed once (loops are reported).

Appends new images only: entries already in the candidates file, repeated in the source (the first
is kept; each skipped line is named), listed in --done (images already in the dataset), or in the
published baseline (set_baseline.py; --regenerate imports those too) are skipped and counted. Extra
columns are kept and carried through to the database. Exit 2 on bad input (nothing is changed).

Reports how many added images have no local file (filepaths are relative to the workspace, or
absolute; URLs such as http://, https://, s3:// or gs:// are not checked). Published VULCA-Bench
image_path values are often absolute paths of another machine (/mnt/...): put the images there, or
correct the filepaths (remove_candidates.py korean --fix OLD NEW). A claim parks such an image at once, without a subagent.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402

SHOWN = 3


def run(args) -> int:
    from pathlib import Path

    from critique_batch.state.candidate_sources import add_candidates, read_done_list
    from critique_batch.files.workspace import Workspace

    ws = Workspace(args.workspace)
    done = read_done_list(Path(args.done)) if args.done else set()
    report = add_candidates(ws, args.culture, Path(args.source), done=done, dry_run=args.dry_run, regenerate=args.regenerate)
    if args.json:
        cli.emit_json({**report.as_dict(), "dry_run": args.dry_run})
        return 0
    verb = "would add" if args.dry_run else "added"
    skipped = [f"{report.duplicates} duplicates", f"{report.done} already done"]
    if report.published:
        skipped.append(f"{report.published} already published (--regenerate imports them)")
    now = "candidates would be" if args.dry_run else "candidates now"
    print(f"{args.culture}: {verb} {report.added} of {cli.plural(report.found, 'image')} from {cli.one_line(args.source)}; "
          f"skipped {', '.join(skipped)}; {now} {report.total}")
    if report.missing_files:
        print(f"  {report.missing_files} of the {cli.plural(report.added, 'added image')} have no file "
              f"(looked for relative to the workspace {cli.one_line(ws.root)}, or as absolute paths), "
              f"e.g. {', '.join(map(cli.one_line, report.missing_examples))}; "
              "a claim parks them without a subagent: put the files there, or correct the filepaths with "
              f"remove_candidates.py {args.culture} --fix OLD NEW")
    if report.unknown_artists:
        print(f"  {report.unknown_artists} of the {cli.plural(report.added, 'added image')} lie directly in the folder, so their artist "
              "is \"Unknown\" (a folder's first sub-folder names the artist): put them in one sub-folder per artist, or import "
              f"a manifest (.csv with filepath, artist, title) instead: add_candidates.py {args.culture} manifest.csv")
    if report.spellings_merged:
        print(f"  {report.spellings_merged} spellings merged (one image written two ways: Unicode form, \\ or ./)")
    if report.other_cultures:
        others = ", ".join(f"{c} {n}" for c, n in sorted(report.other_cultures.items()))
        print(f"  skipped {sum(report.other_cultures.values())} lines of other cultures ({others})")
    for r in report.repeated[:SHOWN]:
        print(f"  skipped {cli.one_line(r['where'])}: {cli.one_line(r['reason'])}")
    if len(report.repeated) > SHOWN:
        print(f"  ... {len(report.repeated) - SHOWN} more repeated lines (--json lists them)")
    if report.symlinks_followed:
        print(f"  followed {len(report.symlinks_followed)} symlinked folders: {', '.join(map(cli.one_line, report.symlinks_followed[:SHOWN]))}")
    for s in report.symlinks_skipped:
        print(f"  not followed {cli.one_line(s['path'])}: {cli.one_line(s['reason'])}")
    return 0


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    cli.add_culture(p, "a culture of the plan")
    p.add_argument("source", nargs="?", help="a folder of images, or a .csv / .jsonl / .json manifest (published VULCA-Bench files as they are)")
    p.add_argument("--done", metavar="FILE", help="filepaths already in the dataset (text, one per line, or a manifest or published JSONL)")
    p.add_argument("--regenerate", action="store_true", help="also import images of the published baseline, to critique them again")
    p.add_argument("--dry-run", action="store_true", help="report what would be added, change nothing")
    cli.main(run, cli.take_culture(p, p.parse_args(), ("source",), required=True))
