"""The Session's log of images parked because their file does not exist (the missing-images
file): read once per session, appended to as a claim parks images, saved before progress."""

from __future__ import annotations

import time
from pathlib import Path

from . import progress as prog
from ..base.clock import iso
from ..base.errors import InputError
from ..base.jsonfiles import read_json, write_json
from ..files.workspace import setting

PARK_SAVE_EVERY = 1000  # a claim saves what it parked once this many wait ($CRITIQUE_BATCH_PARK_SAVE_EVERY) ...
PARK_SAVE_S = 10  # ... and as many as it saved, or this many seconds passed ($CRITIQUE_BATCH_PARK_SAVE_S)


class MissingImages:
    """Session mixin: the missing-images log (see session.py for the attributes it uses)."""

    def missing_events(self) -> list[dict]:
        if self._missing_doc is None:
            self._missing_doc = (read_json(self.ws.missing_images_path(self.name), "missing_images", missing_ok=True)
                                 or {"culture": self.name, "events": []})
            if self._missing_doc["culture"] != self.name:
                raise InputError(f"expected {self.name!r}, got {self._missing_doc['culture']!r}",
                                 file=self.ws.missing_images_path(self.name), where="culture")
        return self._missing_doc["events"]

    def _unpick(self, filepaths: list[str]) -> None:
        """Images parked outside any batch are handed out all the same: the cursor moves past them
        (one move for them all: its cost is the images it passes)."""
        index_of = self.cands.index_of
        indices = [index_of[fp] for fp in filepaths if fp in index_of]
        if indices:
            self.progress.mark_handed_out(indices, self.cands.images)

    def _park_missing(self, found: list[tuple[dict, Path]]) -> None:
        """Park images whose file does not exist, as a skip of each (no attempt counted). Applied to
        progress now (so no later pick offers them); written to the missing-images file by
        _save_missing before anything else is written (the rebuild reads that file)."""
        if not found:
            return
        events = self.missing_events()
        for img, path in found:
            event = {"seq": self.progress.last_seq + 1, "filepath": img["filepath"], "path": str(path), "at": iso(self.now)}
            events.append(event)
            self.progress.apply_missing(event)
            self.parked_missing.append({"filepath": event["filepath"], "reason": prog.MISSING_REASON + event["path"]})
        self._unpick([img["filepath"] for img, _ in found])
        self._missing_unsaved += len(found)
        self._dirty = True

    def _save_missing(self) -> None:
        """Write the images parked since the last write (before progress, which is a fold over the
        files). Lost in a crash before it: those images are simply checked again."""
        if self._missing_unsaved:
            write_json(self.ws.missing_images_path(self.name), self._missing_doc, "missing_images")
            self._missing_unsaved = 0

    def _parking_save_due(self) -> bool:
        """A claim parking many images saves what it parked on the way, so a killed claim keeps it:
        after PARK_SAVE_EVERY parked, then whenever the unsaved ones are as many as the saved
        (each write costs the whole file: doubling keeps the writes' total linear) or PARK_SAVE_S
        seconds passed since the last save, and four times as long as it took (so saving never takes
        more than a fifth of the claim's time)."""
        unsaved = self._missing_unsaved
        if unsaved < setting("PARK_SAVE_EVERY", PARK_SAVE_EVERY):
            return False
        saved = len(self._missing_doc["events"]) - unsaved
        since = time.monotonic() - self._saved_at
        return unsaved >= saved or since >= max(setting("PARK_SAVE_S", PARK_SAVE_S, float), 4 * self._save_took)
