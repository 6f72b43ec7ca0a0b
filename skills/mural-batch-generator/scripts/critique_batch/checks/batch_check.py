# GENERATED from scripts/critique_batch/checks/batch_check.py by tools/generate.py; edit the source, not this copy
"""One batch's output file checked as collection would read it (validate_batch.py): read-only."""

from __future__ import annotations

from pathlib import Path

from .batches import collected, read_batch
from ..base.errors import InputError
from ..files.workspace import Workspace, batch_tag

TYPE_CHECKING = False  # typing is not imported by validate_batch.py
if TYPE_CHECKING:
    from .validation import OutputCheck


class BatchCheck:
    """One batch's output file checked as collection would read it."""

    __slots__ = ("label", "items", "check", "collected")

    def __init__(self, label: str, items: list[str], check: OutputCheck | None, collected: dict | None):
        self.label = label  # "korean 007"
        self.items = items  # the batch's images
        self.check = check  # None: the output file is not written yet
        self.collected = collected  # see collected()

    @property
    def late(self) -> bool:
        """Written (or rewritten) after its collection: it will never be read."""
        return self.collected is not None and self.collected["changed_since"] is not False

    @property
    def passed(self) -> bool:
        return self.check is not None and self.check.passed and not self.late


def check_batch(ws: Workspace, culture: str, batch_id: int, path: Path) -> BatchCheck:
    """Check the output file at `path` of one batch (read-only)."""
    cfg = ws.culture(culture)
    input_path = ws.batch_path(culture, batch_id, "input")
    if not input_path.exists():
        raise InputError(f"no batch {culture} {batch_tag(batch_id)}: its input file does not exist", file=ws.display(input_path))
    batch = read_batch(ws, culture, batch_id, "input")
    items = [img["filepath"] for img in batch["images"]]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = None
    check = None
    if data is not None:
        # here: an output not written yet is reported without loading the checks (jsonschema)
        from .similarity import mark_near_copies
        from .validation import check_output_bytes

        check = check_output_bytes(data, path, cfg, ws.plan, items)
        mark_near_copies(ws, cfg, check)  # only when the plan rejects near copies: what collection would return
    # after collection the output file is never read again: a rewrite is lost, and must say so
    return BatchCheck(f"{culture} {batch_tag(batch_id)}", items, check, collected(ws, culture, batch_id, data))
