# GENERATED from scripts/critique_batch/state/collect.py by tools/generate.py; edit the source, not this copy
"""The Session's collection: each finished batch's output file checked, and its verdicts and
accepted records written as the batch's result file."""

from __future__ import annotations

from . import progress as prog
from ..checks.batches import output_digest, read_batch
from ..base.clock import iso
from ..base.jsonfiles import write_json
from ..files.published import GENERATOR_FIELDS

WRITE_GRACE_S = 60  # a malformed output younger than this, under a live claim, may still be being written


class Collecting:
    """Session mixin: collection (see session.py for the attributes it uses)."""

    def collect(self, shared=None) -> list[dict]:
        """Collect every in-flight batch whose output file exists. `shared`: as for claim()."""
        out = []
        for key in sorted(self.progress.in_flight, key=int):
            summary = self.collect_batch(int(key), shared)
            if summary is not None:
                out.append(summary)
        return out

    def collect_batch(self, bid: int, shared=None) -> dict | None:
        entry = self.progress.in_flight[str(bid)]
        out_path = self.ws.batch_path(self.name, bid, "output")
        try:
            data = out_path.read_bytes()
            mtime = out_path.stat().st_mtime
        except FileNotFoundError:
            return None
        batch = read_batch(self.ws, self.name, bid, "input")
        items = [img["filepath"] for img in batch["images"]]
        from ..checks.validation import check_output_bytes  # only a collection needs it: spared by status and claim

        check = check_output_bytes(data, out_path, self.cfg, self.ws.plan, items)
        claim_no = batch["claims"]
        live = not prog.lease_expired(entry, self.now)
        if check.error and live and self.now.timestamp() - mtime < WRITE_GRACE_S:
            return None  # maybe still being written: leave it alone for now
        verdicts, records = self._verdicts(check, batch, items)
        if shared is not None:  # accepted: done for every workspace (or returned: another holds it now)
            verdicts, records = shared.settle(batch, verdicts, records)
        accepted = sum(1 for v in verdicts if v["verdict"] == "accepted")
        failed = check.error is not None or (
            accepted == 0 and any(v["verdict"] in ("rejected", "missing") for v in verdicts))
        error = None
        if check.error:
            error = f"output file unusable: {check.error}"
        elif failed:
            error = "no record accepted: " + next(
                v["reason"] for v in verdicts if v["verdict"] in ("rejected", "missing"))
        result = {
            "culture": self.name,
            "batch_id": bid,
            "seq": self.progress.last_seq + 1,
            "status": "failed" if failed else "completed",
            "error": error,
            "claimed_at": entry["claimed_at"],
            "collected_at": iso(self.now),
            "claim": claim_no,  # several claims may have written this file: the last write is what was read
            "output_digest": output_digest(data),
            "items": verdicts,
            "records": records,
        }
        write_json(self.ws.batch_path(self.name, bid, "result"), result, "batch_result")
        self.progress.apply_result(result)
        self._dirty = True
        counts = {k: sum(1 for v in verdicts if v["verdict"] == k)
                  for k in ("accepted", "rejected", "missing", "skipped")}
        return {
            "culture": self.name,
            "batch_id": bid,
            "status": result["status"],
            "error": error,
            **counts,
            "returned": [{"filepath": v["filepath"], "reason": v["reason"]}
                         for v in verdicts if v["verdict"] in ("rejected", "missing")],
        }

    def _verdicts(self, check, batch: dict, items: list[str]) -> tuple[list[dict], list[dict]]:
        meta = {img["filepath"]: img for img in batch["images"]}
        if check.error:
            return [{"filepath": fp, "verdict": "rejected", "reason": f"output file unusable: {check.error}"}
                    for fp in items], []
        by_fp: dict[str, dict] = {}
        records = []
        for rc in check.records:
            if rc.filepath is None or rc.filepath not in meta or rc.filepath in by_fp:
                continue
            if not rc.ok:
                by_fp[rc.filepath] = {"filepath": rc.filepath, "verdict": "rejected", "reason": "; ".join(rc.problems)}
            elif rc.skipped is not None:
                by_fp[rc.filepath] = {"filepath": rc.filepath, "verdict": "skipped", "reason": rc.skipped}
            else:
                by_fp[rc.filepath] = {"filepath": rc.filepath, "verdict": "accepted"}
                rec = dict(check.raw[rc.index])
                # the candidates' metadata is authoritative, except for what the generator writes:
                # a candidates file of an older version may hold a published line's critique fields
                rec.update({k: v for k, v in meta[rc.filepath].items() if k not in GENERATOR_FIELDS})
                # accepted_at equals the result's collected_at: the merger relies on it to tell which
                # batches a table holds (sync_state.reconcile rebuilds merged_batches from it)
                rec.update(culture=self.name, batch_id=batch["batch_id"], accepted_at=iso(self.now))
                records.append(rec)
        verdicts = [by_fp.get(fp) or {"filepath": fp, "verdict": "missing",
                                      "reason": "no record for this image in the output"}
                    for fp in items]
        from ..checks.similarity import screen as screen_near_duplicates  # as check_output_bytes

        # a no-op unless the plan asks
        return screen_near_duplicates(self.ws, self.cfg, self.ws.plan, verdicts, records)
