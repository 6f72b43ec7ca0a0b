#!/usr/bin/env python3
"""Regenerate every generated file from its single source, or check that none has drifted.

  python tools/generate.py           write the generated copies
  python tools/generate.py --check   exit 1 and list the files that differ from what would be generated

Sources -> generated copies:
  schemas/*.schema.json              -> scripts/critique_batch/schemas/   (so scripts/ works when copied alone)
  checkpoints/expansion_plan.json    -> scripts/critique_batch/data/expansion_plan.json (the default plan)
Each copy carries a "$comment" naming its source: edit the source, never the copy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "scripts" / "critique_batch"


def marked_json(source: Path) -> bytes:
    doc = json.loads(source.read_text(encoding="utf-8"))
    rel = source.relative_to(ROOT).as_posix()
    out = {"$comment": f"GENERATED from {rel} by tools/generate.py; edit the source, not this copy"}
    out.update({k: v for k, v in doc.items() if k != "$comment"})
    return (json.dumps(out, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def outputs() -> dict[Path, bytes]:
    files: dict[Path, bytes] = {}
    for schema in sorted((ROOT / "schemas").glob("*.schema.json")):
        files[PKG / "schemas" / schema.name] = marked_json(schema)
    files[PKG / "data" / "expansion_plan.json"] = marked_json(ROOT / "checkpoints" / "expansion_plan.json")
    return files


def stale_files(files: dict[Path, bytes]) -> list[Path]:
    stale = [p for p, data in files.items() if not p.exists() or p.read_bytes() != data]
    # a generated folder must not hold files that no longer have a source
    for folder in {p.parent for p in files}:
        stale += [p for p in folder.glob("*.json") if p not in files and p.read_text(encoding="utf-8").find('"GENERATED from') >= 0]
    return sorted(stale)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a generated file differs")
    args = ap.parse_args()
    files = outputs()
    stale = stale_files(files)
    if args.check:
        for p in stale:
            print(f"drifted: {p.relative_to(ROOT)}")
        if stale:
            print("run: python tools/generate.py")
        return 1 if stale else 0
    for p in stale:
        if p in files:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(files[p])
        else:
            p.unlink()
        print(f"wrote {p.relative_to(ROOT)}" if p in files else f"removed {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
