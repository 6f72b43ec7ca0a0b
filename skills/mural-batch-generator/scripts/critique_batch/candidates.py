# GENERATED from scripts/critique_batch/candidates.py by tools/generate.py; edit the source, not this copy
"""Creating or extending a culture's candidates file from a folder of images or a manifest
(CSV or JSONL with filepath, artist, title and any extra columns). Existing entries are never
reordered or removed: new images are appended, which is what claims rely on."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .jsonfiles import parse_json_bytes, read_json, write_json
from .workspace import Workspace

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp"}


@dataclass
class ImportReport:
    culture: str
    source: str
    found: int = 0
    added: int = 0
    duplicates: int = 0  # already in the candidates file, or twice in the source
    done: int = 0  # listed in --done (already in the dataset)
    total: int = 0
    examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _workspace_relative(ws: Workspace, path: Path) -> str:
    try:
        return path.resolve().relative_to(ws.root).as_posix()
    except ValueError:
        return str(path.resolve())


def scan_folder(ws: Workspace, folder: Path) -> list[dict]:
    """Images under folder; artist = the first folder level below it, title = the file name."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.suffix.lower() not in IMAGE_SUFFIXES or name.startswith("."):
                continue
            rel = path.relative_to(folder)
            artist = rel.parts[0].replace("_", " ") if len(rel.parts) > 1 else "Unknown"
            title = path.stem.replace("_", " ").strip() or path.stem
            out.append({"filepath": _workspace_relative(ws, path), "artist": artist, "title": title})
    return out


def read_manifest(path: Path) -> list[dict]:
    suffix = path.suffix.lower()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    if data.startswith(b"\xef\xbb\xbf"):
        raise InputError("starts with a UTF-8 byte-order mark (BOM); save it as UTF-8 without BOM", file=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=path) from None
    rows: list[tuple[str, dict]] = []
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or "filepath" not in reader.fieldnames:
            raise InputError(f"expected a header row with a 'filepath' column, got {reader.fieldnames}", file=path, where="line 1")
        for n, row in enumerate(reader, start=2):
            if None in row:
                raise InputError("more fields than the header has", file=path, where=f"line {n}")
            rows.append((f"line {n}", {k: (v or "").strip() for k, v in row.items()}))
    elif suffix in (".jsonl", ".ndjson"):
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", file=path, where=f"line {n}") from None
            if not isinstance(obj, dict):
                raise InputError(f"expected a JSON object, got {type(obj).__name__}", file=path, where=f"line {n}")
            rows.append((f"line {n}", obj))
    elif suffix == ".json":
        obj = parse_json_bytes(data, path)
        items = obj.get("images") if isinstance(obj, dict) else obj
        if not isinstance(items, list):
            raise InputError("expected a JSON array of images, or an object with an \"images\" array", file=path)
        rows = [(f"[{i}]", x) for i, x in enumerate(items)]
    else:
        raise InputError("expected a folder, or a manifest ending in .csv, .jsonl or .json", file=path)
    out = []
    for where, row in rows:
        if not isinstance(row, dict):
            raise InputError(f"expected an object, got {type(row).__name__}", file=path, where=where)
        fp = row.get("filepath")
        if not isinstance(fp, str) or not fp.strip():
            raise InputError(f"expected a non-empty string, got {json.dumps(fp)}", file=path, where=f"{where}.filepath")
        for key in ("artist", "title"):
            if key in row and not isinstance(row[key], str):
                raise InputError(f"expected a string, got {json.dumps(row[key], ensure_ascii=False)}", file=path, where=f"{where}.{key}")
        image = {"filepath": fp.strip(), "artist": row.get("artist") or "Unknown", "title": row.get("title") or Path(fp).stem}
        image.update({k: v for k, v in row.items() if k not in image and v not in ("", None)})
        out.append(image)
    return out


def read_done_list(path: Path) -> set[str]:
    """Filepaths already in the dataset: a text file (one per line), or any manifest format."""
    if path.suffix.lower() in (".csv", ".jsonl", ".ndjson", ".json"):
        return {img["filepath"] for img in read_manifest(path)}
    try:
        return {line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    except FileNotFoundError:
        raise InputError("file not found", file=path, where="--done") from None


def add_candidates(ws: Workspace, culture: str, source: Path, *, done: set[str], dry_run: bool) -> ImportReport:
    ws.culture(culture)  # must be in the plan
    if not source.exists():
        raise InputError("no such folder or file", file=source)
    images = scan_folder(ws, source) if source.is_dir() else read_manifest(source)
    report = ImportReport(culture=culture, source=str(source), found=len(images))
    path = ws.candidates_path(culture)

    def merge() -> ImportReport:
        doc = read_json(path, "candidates", missing_ok=True) or {"culture": culture, "images": []}
        if doc["culture"] != culture:
            raise InputError(f"expected {culture!r}, got {doc['culture']!r}", file=path, where="culture")
        known = {img["filepath"] for img in doc["images"]}
        for img in images:
            if img["filepath"] in known:
                report.duplicates += 1
            elif img["filepath"] in done:
                report.done += 1
            else:
                known.add(img["filepath"])
                doc["images"].append(img)
                report.added += 1
                if len(report.examples) < 3:
                    report.examples.append(img["filepath"])
        report.total = len(doc["images"])
        if report.added and not dry_run:
            write_json(path, doc, "candidates")
        return report

    if dry_run:
        return merge()
    ws.checkpoints.mkdir(parents=True, exist_ok=True)
    with ws.lock(culture):
        return merge()
