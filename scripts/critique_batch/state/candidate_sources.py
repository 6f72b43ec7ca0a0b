"""Where candidates come from: creating or extending a culture's candidates file from a folder of images or a manifest (CSV or
JSONL/JSON with filepath, artist, title and any extra columns), including the published VULCA-Bench
files as they are (image_path is the filepath). Existing entries are never reordered or removed:
new images are appended, which is what claims rely on.

Every filepath is normalised (published.normalise_filepath), so one image has one spelling."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from ..base.errors import InputError
from ..base.jsonfiles import parse_json_bytes, read_json, read_text_file, write_json
from ..files.published import (DIMS_TEXT_FIELD, GENERATOR_FIELDS, KEYS_FIELD, PairIdOwners, check_dimensions_field, image_path_of,
                               jsonl_lines, normalise_filepath, pair_number, parse_jsonl_object)
from ..base.text import control_character
from ..files.workspace import IMAGE_SUFFIXES, Workspace



class Manifest:
    """What a source holds for one culture: its images (normalised, first of repeats) and what was
    left out, and why."""

    __slots__ = ("images", "raw_spelling", "other_cultures", "repeated", "spellings_merged", "symlinks_followed", "symlinks_skipped")

    def __init__(self):
        self.images: list[dict] = []
        self.raw_spelling: dict[str, str] = {}  # filepath -> as the source wrote it
        self.other_cultures: dict[str, int] = {}  # lines of other cultures, not imported
        self.repeated: list[dict] = []  # {"where", "filepath", "first", "reason"}
        self.spellings_merged = 0  # repeats spelled differently from the first (NFD, "\\", "./" ...)
        self.symlinks_followed: list[str] = []
        self.symlinks_skipped: list[dict] = []  # {"path", "reason"}


class ImportReport:
    __slots__ = ("culture", "source", "found", "added", "duplicates", "done", "published", "other_cultures", "spellings_merged",
                 "repeated", "symlinks_followed", "symlinks_skipped", "total", "examples", "missing_files", "missing_examples",
                 "unknown_artists")  # in as_dict()'s order

    def __init__(self, culture: str, source: str, *, found: int = 0, duplicates: int = 0, other_cultures: dict | None = None,
                 spellings_merged: int = 0, repeated: list | None = None, symlinks_followed: list | None = None,
                 symlinks_skipped: list | None = None):
        self.culture = culture
        self.source = source
        self.found = found
        self.added = 0
        self.duplicates = duplicates  # already in the candidates file, or twice in the source
        self.done = 0  # listed in --done (already in the dataset)
        self.published = 0  # in the workspace's published baseline (set_baseline.py)
        self.other_cultures = {} if other_cultures is None else other_cultures
        self.spellings_merged = spellings_merged
        self.repeated = [] if repeated is None else repeated  # lines of the source skipped as repeats, with the reason
        self.symlinks_followed = [] if symlinks_followed is None else symlinks_followed
        self.symlinks_skipped = [] if symlinks_skipped is None else symlinks_skipped
        self.total = 0
        self.examples: list[str] = []
        # added images whose local file does not exist (relative to the workspace, or absolute; URLs
        # are not checked): a claim parks them without a subagent
        self.missing_files = 0
        self.missing_examples: list[str] = []
        # added from a folder's top level: no sub-folder names the artist, so it is "Unknown"
        self.unknown_artists = 0

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


def _workspace_relative(ws: Workspace, path: Path) -> str:
    """The path relative to the workspace when inside it (symlinks below the scanned folder are
    kept as written, not resolved: the image is named the way the folder shows it)."""
    try:
        return path.relative_to(ws.root).as_posix()
    except ValueError:
        return path.as_posix()


def scan_folder(ws: Workspace, folder: Path) -> Manifest:
    """Images under folder; artist = the first folder level below it, title = the file name.
    Symlinked folders are followed; a folder reached a second time (a link loop, or two paths to
    one folder) is reported and scanned once, never silently skipped."""
    top = folder.resolve()
    out = Manifest()
    first_where: dict[str, str] = {}
    seen_dirs: dict[tuple[int, int], Path] = {}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        here = Path(dirpath)
        try:
            st = here.stat()
        except OSError:
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            out.symlinks_skipped.append({"path": _workspace_relative(ws, here),
                                         "reason": f"the same folder as {_workspace_relative(ws, seen_dirs[key])}, already scanned"})
            dirnames[:] = []
            continue
        seen_dirs[key] = here
        dirnames.sort()
        kept = []
        for name in dirnames:
            sub = here / name
            if sub.is_symlink():
                try:
                    sst = sub.stat()
                except OSError as exc:
                    out.symlinks_skipped.append({"path": _workspace_relative(ws, sub), "reason": f"a broken link ({exc.strerror})"})
                    continue
                if (sst.st_dev, sst.st_ino) in seen_dirs:  # an ancestor or a folder already scanned: a loop
                    target = _workspace_relative(ws, seen_dirs[(sst.st_dev, sst.st_ino)])
                    out.symlinks_skipped.append({"path": _workspace_relative(ws, sub),
                                                 "reason": f"links to {target}, already scanned (a loop)"})
                    continue
                out.symlinks_followed.append(_workspace_relative(ws, sub))
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            path = here / name
            if path.suffix.lower() not in IMAGE_SUFFIXES or name.startswith("."):
                continue
            rel = path.relative_to(top)
            raw = _workspace_relative(ws, path)
            if control_character(raw) is not None:  # a file name may hold a newline: never an image's name here
                raise InputError("expected a path without control characters (a newline, a tab, an escape ...); rename "
                                 "the file or its folder: nothing is imported", file=path, where="filepath")
            fp = normalise_filepath(raw)
            if fp in first_where:  # e.g. two file names that differ only in Unicode normalisation
                out.spellings_merged += 1
                out.repeated.append({"where": raw, "filepath": fp, "first": first_where[fp],
                                     "reason": f"another spelling of {first_where[fp]}; kept that one"})
                continue
            first_where[fp] = raw
            out.raw_spelling[fp] = raw
            artist = rel.parts[0].replace("_", " ") if len(rel.parts) > 1 else "Unknown"
            title = path.stem.replace("_", " ").strip() or path.stem
            out.images.append({"filepath": fp, "artist": artist, "title": title})
    return out


def _rows(path: Path) -> list[tuple[str, object]]:
    """(where, row) for every record of a manifest, in order."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson", ".json"):
        raise InputError("expected a folder, or a manifest ending in .csv, .jsonl or .json", file=path)
    data, text = read_text_file(path, "a manifest file")
    rows: list[tuple[str, object]] = []
    if suffix == ".csv":
        # the csv module reads the text itself: a quoted field may hold a newline, kept as written
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not reader.fieldnames or not ({"filepath", "image_path"} & set(reader.fieldnames)):
            raise InputError(f"expected a header row with a 'filepath' (or 'image_path') column, got {reader.fieldnames}", file=path, where="line 1")
        start = reader.line_num + 1
        for row in reader:
            where = f"line {start}"
            start = reader.line_num + 1
            if None in row:
                raise InputError("more fields than the header has", file=path, where=where)
            # key columns are trimmed; other cells are kept as written (a quoted newline included),
            # and an empty cell of a generator field is no value at all
            rows.append((where, {k: (v or "").strip() if k in ("filepath", "image_path", "artist", "title") else (v or "")
                                 for k, v in row.items() if not (k in GENERATOR_FIELDS and not v)}))
    elif suffix in (".jsonl", ".ndjson"):
        rows = [(f"line {n}", parse_jsonl_object(line, path, f"line {n}")) for n, line in jsonl_lines(text)]
    else:
        obj = parse_json_bytes(data, path)
        items = obj.get("images") if isinstance(obj, dict) else obj
        if not isinstance(items, list):
            raise InputError("expected a JSON array of images, or an object with an \"images\" array", file=path)
        rows = [(f"[{i}]", x) for i, x in enumerate(items)]
    return rows


def load_manifest(path: Path, culture: str | None) -> Manifest:
    """Read a manifest or a published file. Every line is checked first (a bad line anywhere is an
    InputError and nothing is imported); then this culture's lines become images, the first of
    repeated images kept. A line whose `culture` is another culture is counted, not imported."""
    out = Manifest()
    owners = PairIdOwners()
    checked = []
    for where, row in _rows(path):
        if not isinstance(row, dict):
            raise InputError(f"expected an object, got {type(row).__name__}", file=path, where=where)
        raw, fp = image_path_of(row, path, where)
        for key in ("artist", "title"):
            if key in row and not isinstance(row[key], str) and not ("image_path" in row and row[key] is None):
                raise InputError(f"expected a string, got {_json(row[key])}", file=path, where=f"{where}.{key}")
        if "covered_dimensions" in row:
            check_dimensions_field(row["covered_dimensions"], path, where)
        if "pair_id" in row:
            pair_number(row["pair_id"], path, where)
            owners.claim(row["pair_id"], fp, f"{fp!r} ({where})", path, where)
        if "culture" in row and not isinstance(row["culture"], str):
            raise InputError(f"expected a culture name, got {_json(row['culture'])}", file=path, where=f"{where}.culture")
        checked.append((where, row, raw, fp))
    first_where: dict[str, str] = {}
    for where, row, raw, fp in checked:
        other = row.get("culture")
        if culture is not None and isinstance(other, str) and other and other != culture:
            out.other_cultures[other] = out.other_cultures.get(other, 0) + 1
            continue
        if fp in first_where:
            first = first_where[fp]
            merged = out.raw_spelling[fp] != raw
            out.spellings_merged += merged
            pid = f" ({row['pair_id']})" if "pair_id" in row else ""
            out.repeated.append({
                "where": where, "filepath": fp, "first": first,
                "reason": (f"another spelling of the image of {first}" if merged else f"same image as {first}") + f"{pid}; kept {first}",
            })
            continue
        first_where[fp] = where
        out.raw_spelling[fp] = raw
        out.images.append(candidate_of(row, fp))
    return out


def candidate_of(row: dict, fp: str) -> dict:
    """The candidate entry of one manifest row. A published line (one with image_path) keeps every
    key but the generator fields, values exactly as published, plus `published_keys` (its keys in
    order) and `published_dims_as_text` when covered_dimensions was a JSON string: what an export
    needs to give the line back. Other rows: filepath, artist ("Unknown" if empty), title (the file
    name if empty) and their non-empty extra columns, as before."""
    if "image_path" in row:
        image = {"filepath": fp}
        image.update({k: v for k, v in row.items() if k not in GENERATOR_FIELDS and k != "filepath"})
        image.setdefault("artist", "Unknown")  # absent from the line: published_keys says so
        image.setdefault("title", Path(fp).stem)
        image[KEYS_FIELD] = list(row)
        if isinstance(row.get("covered_dimensions"), str):
            image[DIMS_TEXT_FIELD] = True
        return image
    image = {"filepath": fp, "artist": row.get("artist") or "Unknown", "title": row.get("title") or Path(fp).stem}
    image.update({k: v for k, v in row.items() if k not in image and k not in GENERATOR_FIELDS and v not in ("", None)})
    return image


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def read_manifest(path: Path, culture: str | None = None) -> list[dict]:
    return load_manifest(path, culture).images


def read_done_list(path: Path) -> set[str]:
    """Filepaths already in the dataset (normalised): a text file (one per line), or any manifest
    format, a published JSONL included (its image_path values, all cultures)."""
    if path.suffix.lower() in (".csv", ".jsonl", ".ndjson", ".json"):
        return {img["filepath"] for img in read_manifest(path)}
    _, text = read_text_file(path, "a --done file (one filepath a line, or a manifest)")
    return {normalise_filepath(line) for line in text.split("\n") if line.strip()}


def add_candidates(ws: Workspace, culture: str, source: Path, *, done: set[str], dry_run: bool,
                   regenerate: bool = False) -> ImportReport:
    """Append the source's new images. Images of the published baseline are skipped ("already
    published") unless `regenerate`: then they are imported for a new critique, carrying their
    pair_id (so status never counts them twice)."""
    from ..files.baseline import load_baseline

    ws.culture(culture)  # must be in the plan
    if not source.exists():
        raise InputError("no such folder or file", file=source)
    manifest = scan_folder(ws, source) if source.is_dir() else load_manifest(source, culture)
    images = manifest.images
    baseline = load_baseline(ws)
    published = baseline.pair_ids(culture) if baseline is not None else {}
    report = ImportReport(
        culture=culture, source=str(source), found=len(images) + len(manifest.repeated),
        duplicates=len(manifest.repeated), other_cultures=manifest.other_cultures, spellings_merged=manifest.spellings_merged,
        repeated=manifest.repeated, symlinks_followed=manifest.symlinks_followed, symlinks_skipped=manifest.symlinks_skipped,
    )
    path = ws.candidates_path(culture)

    def merge() -> ImportReport:
        doc = read_json(path, "candidates", missing_ok=True) or {"culture": culture, "images": []}
        if doc["culture"] != culture:
            raise InputError(f"expected {culture!r}, got {doc['culture']!r}", file=path, where="culture")
        known = {normalise_filepath(img["filepath"]): img["filepath"] for img in doc["images"]}
        for img in images:
            fp = img["filepath"]
            if fp in known:
                report.duplicates += 1
                report.spellings_merged += known[fp] != manifest.raw_spelling.get(fp, fp)
            elif fp in done:
                report.done += 1
            elif fp in published and not regenerate:
                report.published += 1
            else:
                if fp in published and "pair_id" not in img:
                    img = {**img, "pair_id": published[fp]}
                known[fp] = fp
                doc["images"].append(img)
                report.added += 1
                report.unknown_artists += source.is_dir() and img.get("artist") == "Unknown"
                if len(report.examples) < 3:
                    report.examples.append(fp)
                missing = ws.image_missing(fp)
                if missing is not None:
                    report.missing_files += 1
                    if len(report.missing_examples) < 3:
                        report.missing_examples.append(str(missing))
        report.total = len(doc["images"])
        if report.added and not dry_run:
            write_json(path, doc, "candidates")
            from .candidate_edits import reappended  # a filepath removed before: progress rebuilt

            reappended(ws, culture, [img["filepath"] for img in doc["images"][report.total - report.added:]])
        return report

    if dry_run:
        return merge()
    ws.checkpoints.mkdir(parents=True, exist_ok=True)
    with ws.lock(culture):
        return merge()
