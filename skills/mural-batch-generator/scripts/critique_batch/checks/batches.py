# GENERATED from scripts/critique_batch/checks/batches.py by tools/generate.py; edit the source, not this copy
"""One batch's files: reading its input and result files (a result's records checked again after a
hand edit), and whether it was collected. batch_check.py checks an output file."""

from __future__ import annotations

from pathlib import Path

from ..base.digests import content_digest
from ..base.errors import InputError
from ..base.jsonfiles import read_json
from ..files.workspace import Workspace

def output_digest(data: bytes) -> str:
    """What a result file records of the output file it read."""
    return content_digest(data)


def read_batch(ws: Workspace, culture: str, batch_id: int, kind: str, *, missing_ok: bool = False):
    schema = {"input": "batch_input", "result": "batch_result"}[kind]
    path = ws.batch_path(culture, batch_id, kind)
    check = (lambda doc: check_result(ws, culture, batch_id, doc, path)) if kind == "result" else None
    doc = read_json(path, schema, missing_ok=missing_ok, check=check)
    if doc is not None and (doc["culture"] != culture or doc["batch_id"] != batch_id):
        raise InputError(
            f"file is for {doc['culture']} batch {doc['batch_id']}, expected {culture} batch {batch_id}",
            file=path, where="batch_id",
        )
    return doc


def check_result(ws: Workspace, culture: str, batch_id: int, doc: dict, path: Path) -> None:
    """A result file's accepted records checked as collection checked them (only when its bytes
    have not passed before: collection remembers what it wrote, so this runs after a hand edit).
    Sync merges these records and the export publishes them: a NaN score, a 5-character critique
    or a filepath outside the batch must stop here, naming the record and the field."""
    if doc.get("culture") != culture or doc.get("batch_id") != batch_id:
        return  # read_batch names the mismatch
    batch = read_batch(ws, culture, batch_id, "input", missing_ok=True)
    images = [img["filepath"] for img in batch["images"]] if batch is not None else [item["filepath"] for item in doc["items"]]
    in_batch = set(images)
    for i, item in enumerate(doc["items"]):
        if item["filepath"] not in in_batch:
            raise InputError(f"{item['filepath']!r} is not one of this batch's images", file=path, where=f"items[{i}].filepath")
    accepted = {item["filepath"] for item in doc["items"] if item["verdict"] == "accepted"}
    from .validation import check_records  # only after a hand edit: a claim never imports it

    check = check_records(doc["records"], path, ws.culture(culture), ws.plan, images)
    for rc in check.records:
        if rc.problems:
            field, _, what = rc.problems[0].partition(": ")
            where = f"records[{rc.index}]" + (f".{field}" if field not in ("", "(record)", "(top level)") else "")
            raise InputError(what or rc.problems[0], file=path, where=where)
        if rc.filepath not in accepted:
            raise InputError(f"{rc.filepath!r} has no accepted verdict in items", file=path, where=f"records[{rc.index}].filepath")
    if len(doc["records"]) != len(accepted):
        raise InputError(f"{len(accepted)} items are accepted but there are {len(doc['records'])} records; each accepted "
                         "item has exactly one record", file=path, where="records")


def collected(ws: Workspace, culture: str, batch_id: int, data: bytes | None) -> dict | None:
    """If the batch was collected: when, how many accepted, and whether `data` (the output file
    now) differs from what was read. Nothing reads an output file after its collection."""
    result = read_batch(ws, culture, batch_id, "result", missing_ok=True)
    if result is None:
        return None
    digest = result.get("output_digest")
    changed = None if digest is None or data is None else output_digest(data) != digest  # None: cannot tell
    accepted = sum(1 for item in result["items"] if item["verdict"] == "accepted")
    return {"at": result["collected_at"], "accepted": accepted, "claim": result.get("claim"), "changed_since": changed}
