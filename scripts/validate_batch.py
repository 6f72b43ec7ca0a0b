#!/usr/bin/env python3
"""Check one batch output file and list every problem per record (read-only).

  validate_batch.py korean 7
  validate_batch.py --culture korean 7
  validate_batch.py checkpoints/korean_batch_007_output.json

Checks the record shape (JSON Schema) and the culture's rules from the plan: critique_zh length
in characters, critique_en length in words, covered_dimensions (unique, in this culture's
catalogue, enough of them), quality_score 0..100, filepaths of this batch only, no duplicates,
a record (or a skip record) for every image. Filepaths match in one spelling (NFC, "/", no "./").
The counts are per image of the batch and add up to it; records for other images, or repeating
one, are reported as stray records. Exit 0 if the file would be accepted whole, 1 if not,
2 if the batch does not exist. The last line printed is the one-line summary. A batch already
collected is never read again: a file written after its collection fails with "already collected".
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402


def run(args) -> int:
    from pathlib import Path

    from critique_batch.checks.batch_check import check_batch
    from critique_batch.files.workspace import BATCH_FILE, Workspace, parse_batch_id

    if args.batch_id is None:
        path = Path(args.target)
        m = BATCH_FILE.fullmatch(path.name)
        if not m or m["kind"] != "output":
            raise cli.InputError("expected CULTURE BATCH_ID, or a path named {culture}_batch_{NNN}_output.json", file=args.target)
        culture, bid = m["culture"], int(m["num"])
        if args.workspace != ".":
            ws = Workspace(args.workspace)
        else:  # an output file inside checkpoints/: its workspace is the folder above
            ws = Workspace(path.resolve().parent.parent if path.resolve().parent.name == "checkpoints" else ".")
    else:
        culture, bid = args.target, parse_batch_id(args.batch_id)
        ws = Workspace(args.workspace)
        path = ws.batch_path(culture, bid, "output")
    got = check_batch(ws, culture, bid, path)
    check, done, label, items = got.check, got.collected, got.label, got.items

    if args.json:
        if check is None:
            cli.emit_json({"ok": False, "batch": label, "error": "output file not written yet", "output": ws.display(path)})
        else:
            cli.emit_json({
                "ok": check.passed, "batch": label, "output": ws.display(path), "error": check.error,
                "images": len(items), "valid": len(check.valid), "invalid": len(check.invalid),
                "skipped": len(check.skipped), "missing": check.missing, "stray_records": len(check.strays),
                "problems": [{"index": r.index, "filepath": r.filepath, "problems": r.problems} for r in check.problems],
                "collected": done,
            } | ({"ok": False, "error": _late(label, done)} if got.late else {}))
    elif check is None:
        print(f"{label}: FAIL output file not written yet ({ws.display(path)})")
    elif check.error:
        print(f"{cli.one_line(ws.display(path))}: {cli.one_line(check.error)}")
        print(f"{label}: FAIL the output file is unusable; write one JSON array of records")
    else:
        if not check.passed:
            print(f"{ws.display(path)}:")
        for r in check.problems:
            for problem in r.problems:
                print(f"[{r.index}] {cli.one_line(r.filepath or '(no filepath)')}: {cli.one_line(problem)}")
        for fp in check.missing:
            print(f"missing {cli.one_line(fp)}: no record and no skip record for this image")
        verdict = "OK" if check.passed else "FAIL"
        strays = f"; {len(check.strays)} stray records (for no image of this batch, or repeating one)" if check.strays else ""
        summary = (f"{label}: {verdict} {len(check.valid)} valid, {len(check.invalid)} invalid, {len(check.skipped)} skipped, "
                   f"{len(check.missing)} missing of {len(items)} images{strays}")
        if done is not None and not got.late:
            summary += f" (already collected at {done['at']}: this file is the one read)"
        print(summary)
    if got.late and not args.json:
        print(_late(label, done))
    return 0 if got.passed else 1


def _late(label: str, done: dict) -> str:
    return (f"{label}: FAIL already collected at {done['at']} ({done['accepted']} accepted); "
            "this output will not be read (the returned images go to a new batch)")


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    p.add_argument("target", metavar="CULTURE_OR_PATH", help="a culture name (then BATCH_ID), or the output file's path")
    p.add_argument("batch_id", nargs="?", metavar="BATCH_ID", help="the batch number, e.g. 7 or 007")
    p.add_argument("--culture", dest="culture_flag", metavar="CULTURE", help="the culture, then the positional is "
                   "the BATCH_ID (validate_batch.py --culture korean 7 is validate_batch.py korean 7)")
    args = p.parse_args()
    if args.culture_flag is not None:
        if args.batch_id is None:  # --culture korean 7
            args.target, args.batch_id = args.culture_flag, args.target
        elif args.target != args.culture_flag:
            p.error(f"two cultures given: {args.target!r} and --culture {args.culture_flag!r}")
    cli.main(run, args)
