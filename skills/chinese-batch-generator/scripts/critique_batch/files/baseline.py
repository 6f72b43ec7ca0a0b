# GENERATED from scripts/critique_batch/files/baseline.py by tools/generate.py; edit the source, not this copy
"""The published dataset as a workspace's baseline (set_baseline.py).

Two files under checkpoints/, both schema-checked and written atomically:
  baseline.json            small: the published files (path, size, digest), per culture the number
                           of published records (unique images), the highest pair_id. Status reads
                           only this one.
  baseline_images.json     per culture, every published image's normalised filepath -> pair_id.
                           add_candidates.py reads it to skip images already published.

The published files themselves stay where they are: `iter_records` reads them again (after checking
their digest) for the merge and the export. Within a culture the first line of an image is its
record; later lines of the same image are counted and reported, not kept.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..base.digests import content_digest
from ..base.errors import InputError
from ..base.jsonfiles import read_json, read_text_file
from .published import PairIdOwners, ShapeTally, check_dimensions_field, dataset_shape, image_path_of, jsonl_lines, pair_number, parse_jsonl_object
from .workspace import Workspace

TYPE_CHECKING = False  # typing is not imported at run time: status reads the baseline
if TYPE_CHECKING:
    from typing import Iterator

SUMMARY = "baseline.json"
IMAGES = "baseline_images.json"
LOCK_TIMEOUT_S = 60


class PublishedRecord:
    """One published line kept by a scan."""

    __slots__ = ("culture", "filepath", "pair_id", "source", "line", "text")

    def __init__(self, culture: str, filepath: str, pair_id: str, source: int, line: int, text: str):
        self.culture = culture
        self.filepath = filepath  # normalised image_path
        self.pair_id = pair_id
        self.source = source  # index into sources
        self.line = line
        self.text = text  # the line as published (without its "\n")


class Scan:
    """What a set of published files holds."""

    __slots__ = ("sources", "kept", "duplicates", "max_pair_id", "max_pair_width", "shapes")

    def __init__(self):
        self.shapes = ShapeTally()  # each culture's key order and value types, for new records' lines
        self.sources: list[dict] = []
        self.kept: list[PublishedRecord] = []
        self.duplicates: list[dict] = []
        self.max_pair_id = 0
        self.max_pair_width = 0  # digits of the widest pair_id (PAIR_04544: 5), so new ids can match


def scan(paths: list[Path], cultures: set[str] | None) -> Scan:
    """Read and check published JSONL files. Bad input anywhere is an InputError naming the file,
    the line and the field; nothing is kept from a scan that fails. `cultures`: the plan's cultures
    (a line of another culture is an error), or None to accept any."""
    out = Scan()
    owners = PairIdOwners()
    first: dict[tuple[str, str], PublishedRecord] = {}
    for index, path in enumerate(paths):
        if path.suffix.lower() not in (".jsonl", ".ndjson"):
            raise InputError("expected a published .jsonl file (one JSON object per line)", file=path)
        data, text = read_text_file(path, "a published .jsonl file")
        lines = 0
        for n, line in jsonl_lines(text):
            lines += 1
            where = f"line {n}"
            row = parse_jsonl_object(line, path, where)
            _, fp = image_path_of(row, path, where)
            culture = row.get("culture")
            if not isinstance(culture, str) or not culture:
                raise InputError(f"expected the culture's name, got {json.dumps(culture, ensure_ascii=False)}", file=path, where=f"{where}.culture")
            if cultures is not None and culture not in cultures:
                raise InputError(f"culture {culture!r} is not in the plan (it has: {', '.join(sorted(cultures))}); add it to "
                                 "checkpoints/expansion_plan.json first", file=path, where=f"{where}.culture")
            number = pair_number(row.get("pair_id"), path, where)
            pid = row["pair_id"]
            out.max_pair_id = max(out.max_pair_id, number)
            out.max_pair_width = max(out.max_pair_width, len(pid) - len("PAIR_"))
            if "covered_dimensions" in row:
                check_dimensions_field(row["covered_dimensions"], path, where)
            owners.claim(pid, f"{culture}/{fp}", f"{fp!r} ({path.name} {where})", path, where)
            out.shapes.add(culture, row)
            rec = PublishedRecord(culture, fp, pid, index, n, line)
            kept = first.get((culture, fp))
            if kept is not None:
                out.duplicates.append({
                    "culture": culture, "filepath": fp, "pair_id": pid, "source": index, "line": n,
                    "kept_source": kept.source, "kept_line": kept.line, "kept_pair_id": kept.pair_id,
                })
                continue
            first[(culture, fp)] = rec
            out.kept.append(rec)
        out.sources.append({"path": str(path.resolve()), "bytes": len(data), "digest": content_digest(data), "lines": lines})
    return out


class Baseline:
    """A workspace's published baseline: what load_baseline returns (None when none is set)."""

    def __init__(self, ws: Workspace, doc: dict):
        self.ws = ws
        self.doc = doc
        self._images: dict | None = None

    @property
    def max_pair_id(self) -> int:
        return self.doc["max_pair_id"]

    @property
    def pair_id_width(self) -> int:
        return self.doc["pair_id_width"]

    @property
    def sources(self) -> list[Path]:
        return [Path(s["path"]) for s in self.doc["sources"]]

    @property
    def cultures(self) -> list[str]:
        return sorted(self.doc["cultures"])

    def shape(self, culture: str) -> dict | None:
        """The published shape a new record of this culture is exported in (published.ShapeTally):
        the culture's own, else the fullest of the dataset's (a culture the files do not hold)."""
        shapes = self.doc.get("shapes")
        if shapes is None:  # a baseline set before shapes were remembered: read them from the files
            shapes = self.doc["shapes"] = self.verified_scan().shapes.shapes()
        return shapes.get(culture) or dataset_shape(shapes)

    def pair_id_set(self) -> set[str]:
        """Every pair_id of the published baseline's records (repeated lines of an image included)."""
        ids = {pid for culture in self.doc["cultures"] for pid in self.pair_ids(culture).values()}
        return ids | {d["pair_id"] for d in self.doc["duplicates"]}

    def count(self, culture: str) -> int:
        """Published records of a culture (unique images); 0 for a culture it does not hold."""
        return self.doc["cultures"].get(culture, {}).get("records", 0)

    def pair_ids(self, culture: str) -> dict[str, str]:
        """Normalised filepath -> pair_id of every published image of the culture."""
        if self._images is None:
            path = self.ws.checkpoints / IMAGES
            doc = read_json(path, "baseline_images")
            if doc["set_at"] != self.doc["set_at"]:
                raise InputError(f"does not belong to {SUMMARY} (set at {self.doc['set_at']}); run set_baseline.py again", file=path, where="set_at")
            self._images = doc["cultures"]
        return self._images.get(culture, {})

    def filepaths(self, culture: str) -> set[str]:
        return set(self.pair_ids(culture))

    def verified_scan(self) -> Scan:
        """The published files read again (their lines with file and line numbers), after checking
        they are unchanged since the baseline was set."""
        for i, src in enumerate(self.doc["sources"]):
            path = Path(src["path"])
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise InputError("the published file of the baseline is gone (moved or deleted); put it back, or run "
                                 "set_baseline.py with its new path", file=path, where=f"{SUMMARY}: sources[{i}]") from None
            if len(data) != src["bytes"] or content_digest(data) != src["digest"]:
                raise InputError("the published file changed since set_baseline.py read it; run set_baseline.py again",
                                 file=path, where=f"{SUMMARY}: sources[{i}]")
        return scan(self.sources, None)

    def iter_lines(self, culture: str | None = None) -> Iterator[tuple[str, str, str]]:
        """(culture, normalised filepath, the published line's text) of every kept record, in file order."""
        for rec in self.verified_scan().kept:
            if culture is None or rec.culture == culture:
                yield rec.culture, rec.filepath, rec.text

    def iter_records(self, culture: str | None = None) -> Iterator[tuple[str, dict]]:
        """(normalised filepath, the record as published, keys in published order) of every kept
        record (the first line of each image), in file order; reads the published files, which
        must be unchanged since the baseline was set."""
        for _, fp, text in self.iter_lines(culture):
            yield fp, json.loads(text)


def is_set(ws: Workspace) -> bool:
    """Has set_baseline.py given this workspace a baseline (without reading it)?"""
    return (ws.checkpoints / SUMMARY).exists()


def load_baseline(ws: Workspace) -> Baseline | None:
    """The workspace's baseline, or None when set_baseline.py never ran. Reads the small summary only."""
    doc = read_json(ws.checkpoints / SUMMARY, "baseline", missing_ok=True)
    return Baseline(ws, doc) if doc is not None else None


def coverage(ws: Workspace, summary: dict) -> dict:
    """What a maintainer must know about a baseline: the plan's cultures it holds no record of (new
    pair_ids follow the highest pair_id given, numbered across the whole dataset: the files not
    given may already use the next ones), and the cultures whose published count already meets
    their target (set_target.py raises it)."""
    held = summary["cultures"]
    missing = [c for c in ws.plan.cultures if c not in held]
    at_target = [{"culture": c, "records": held[c]["records"], "target": ws.plan.cultures[c].target}
                 for c in held if ws.plan.cultures[c].target and held[c]["records"] >= ws.plan.cultures[c].target]
    return {"missing_cultures": missing, "at_target": at_target}
