"""The Session's re-queueing of parked images (requeue_parked.py)."""

from __future__ import annotations

from . import progress as prog
from ..base.clock import iso
from ..base.errors import InputError
from ..base.jsonfiles import read_json, write_json


class Requeueing:
    """Session mixin: re-queueing (see session.py for the attributes it uses)."""

    def requeue(self, only: list[str] | None) -> list[str]:
        parked = self.progress.parked(self.cfg.max_attempts)
        if only:
            unknown = [fp for fp in only if fp not in parked]
            if unknown:
                raise InputError(f"not a parked item of {self.name}: {unknown[0]!r}", where="--item")
            parked = {fp: parked[fp] for fp in only}
        # an image parked because its file does not exist stays parked while the file is still missing
        for fp in sorted(parked):
            if prog.missing_file_park(parked[fp]) and self.ws.image_missing(fp) is not None:
                self.still_missing.append({"filepath": fp, "reason": parked.pop(fp)["reason"]})
        if not parked:
            return []
        path = self.ws.requeue_path(self.name)
        doc = read_json(path, "requeue", missing_ok=True) or {"culture": self.name, "rev": 0, "items": {}}
        doc["rev"] = max(doc["rev"], self.progress.requeue_rev) + 1
        for fp, f in parked.items():
            doc["items"][fp] = {"failures": f["failures"], "skips": f["skips"], "at": iso(self.now)}
        write_json(path, doc, "requeue")
        self.progress.apply_requeue(doc)
        self._dirty = True
        return sorted(parked)
