# GENERATED from scripts/critique_batch/checks/similarity.py by tools/generate.py; edit the source, not this copy
"""Near-duplicate critiques: two records whose critique_zh (or critique_en) is a near copy.

Similarity is the Jaccard index of shingle sets: 3-character shingles of critique_zh (whitespace
and punctuation dropped, so no word segmenter is needed) and 3-word shingles of critique_en
(lower-cased words). A copy with a few words changed keeps most shingles (10 of 150 English words
changed: about 0.67); two distinct critiques of works by one artist share little more than names
and stock phrases (typically below 0.15). Pairs at or above the threshold (plan:
`quality.near_duplicate_threshold`, default 0.5) are near copies.

- `find_near_duplicates` (the report): MinHash + LSH (datasketch) proposes candidate pairs among
  the new records and between new and published baseline records; each candidate's exact Jaccard
  decides. Baseline records are never compared with each other.
- `screen` (collection, when `quality.reject_near_duplicates` is on): a batch's few new records
  are compared exactly with every accepted record of the culture; the later one goes back to the
  pool with the reason and the other filepath. Off: returns at once, imports nothing.
"""

from __future__ import annotations

import re
import zlib
from typing import Iterable, Iterator

FIELDS = ("critique_zh", "critique_en")
ZH_SHINGLE = 3  # characters
EN_SHINGLE = 3  # words
NUM_PERM = 128
LSH_SLACK = 0.8  # LSH is asked for pairs down to 0.8 x the threshold: fewer misses, exact check after

_ZH_DROP = re.compile(r"[\s\W_]+", re.UNICODE)
_EN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def shingles(text: str, field: str) -> set[int]:
    """The shingle set of one critique, as 32-bit hashes (stable across runs and machines)."""
    if not isinstance(text, str):
        return set()
    if field == "critique_zh":
        s = _ZH_DROP.sub("", text)
        if not s:
            return set()
        b = s.encode("utf-32-le")  # 4 bytes a character: a shingle is a plain slice, no encoding per shingle
        width = 4 * ZH_SHINGLE
        return {zlib.crc32(b[i:i + width]) for i in range(0, max(len(b) - width + 4, 4), 4)}
    else:
        words = _EN_WORD.findall(text.lower())
        k = EN_SHINGLE
        grams = (" ".join(words[i:i + k]) for i in range(max(len(words) - k + 1, 1))) if words else ()
    return {zlib.crc32(g.encode("utf-8")) for g in grams}


def jaccard(a: set, b: set) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


class NearDuplicate:
    __slots__ = ("a", "b", "field", "similarity", "b_in_baseline")

    def __init__(self, a: str, b: str, field: str, similarity: float, b_in_baseline: bool = False):
        self.a = a  # the earlier record's filepath
        self.b = b  # the later record's, or (b_in_baseline) the published record that `a` nearly copies
        self.field = field
        self.similarity = similarity  # exact Jaccard of the two shingle sets
        self.b_in_baseline = b_in_baseline

    def as_dict(self) -> dict:
        d = {"a": self.a, "b": self.b, "field": self.field, "similarity": round(self.similarity, 4)}
        if self.b_in_baseline:
            d["baseline"] = True
        return d


def _minhashes(texts: Iterable, field: str):
    """One MinHash per text (None for an empty one), shingled as it goes: only the sketches stay
    in memory (100,000 shingle sets would take gigabytes)."""
    from datasketch import MinHash

    proto = MinHash(num_perm=NUM_PERM, hashfunc=int)  # the shingles are 32-bit hashes already
    for text in texts:
        s = shingles(text, field)
        if not s:
            yield None
            continue
        m = proto.copy()
        m.update_batch(list(s))
        yield m


def find_near_duplicates(
    records: list[tuple[str, dict]],
    threshold: float,
    baseline: Iterable[tuple[str, dict]] | None = None,
    fields: tuple[str, ...] = FIELDS,
) -> list[NearDuplicate]:
    """Near-copy pairs among `records` ((filepath, record), oldest first), and between them and
    `baseline`. A filepath present in both (a re-critique of a published image) is not a pair."""
    from datasketch import MinHashLSH

    base = list(baseline or ())
    found: list[NearDuplicate] = []
    for field in fields:
        lsh = MinHashLSH(threshold=max(threshold * LSH_SLACK, 0.05), num_perm=NUM_PERM)
        new_mh = list(_minhashes((r.get(field) for _, r in records), field))
        with lsh.insertion_session() as session:
            for i, mh in enumerate(new_mh):
                if mh is not None:
                    session.insert(("n", i), mh, check_duplication=False)
            for i, mh in enumerate(_minhashes((r.get(field) for _, r in base), field)):
                if mh is not None:
                    session.insert(("b", i), mh, check_duplication=False)
        for i, mh in enumerate(new_mh):
            if mh is None:
                continue
            mine = None
            for kind, j in lsh.query(mh):
                if kind == "n" and j >= i:
                    continue  # each new pair once, from its later record
                fp_other, other = records[j] if kind == "n" else base[j]
                if fp_other == records[i][0]:
                    continue
                # the exact similarity decides (candidates are few: shingle them again)
                mine = mine if mine is not None else shingles(records[i][1].get(field), field)
                sim = jaccard(mine, shingles(other.get(field), field))
                if sim >= threshold:
                    found.append(NearDuplicate(fp_other, records[i][0], field, sim, False) if kind == "n"
                                 else NearDuplicate(records[i][0], fp_other, field, sim, True))
    found.sort(key=lambda d: (-d.similarity, d.field, d.a, d.b))
    return found


def iter_accepted(ws, culture: str) -> Iterator[tuple[str, dict]]:
    """Accepted records of one culture from its result files, in batch order."""
    from .batches import read_batch

    for bid in ws.batch_ids(culture, "result"):
        result = read_batch(ws, culture, bid, "result")
        for rec in result["records"]:
            yield rec["filepath"], rec


def screen(ws, cfg, plan, verdicts: list[dict], records: list[dict]) -> tuple[list[dict], list[dict]]:
    """Collection hook: with `quality.reject_near_duplicates` on, return each record that is a near
    copy of an accepted one (earlier batches, the baseline when set, or an earlier record of this
    batch) to the pool with the reason. Off: the input unchanged, at no cost."""
    if not cfg.quality.reject_near_duplicates or not records:
        return verdicts, records
    reasons = near_copy_reasons(ws, cfg, records)
    if not reasons:
        return verdicts, records
    out = [{"filepath": v["filepath"], "verdict": "rejected", "reason": reasons[v["filepath"]]}
           if v["filepath"] in reasons else v for v in verdicts]
    return out, [r for r in records if r["filepath"] not in reasons]


def mark_near_copies(ws, cfg, check) -> None:
    """validate_batch.py's hook: the same verdict as collection, as a problem of the record, so a
    subagent's check-and-fix loop sees it. Off: nothing."""
    if not cfg.quality.reject_near_duplicates or check.error:
        return
    valid = {rc.filepath: rc for rc in check.valid}
    records = [check.raw[rc.index] for rc in valid.values()]
    for fp, reason in near_copy_reasons(ws, cfg, records).items():
        valid[fp].problems.append(reason)


def near_copy_reasons(ws, cfg, records: list[dict]) -> dict[str, str]:
    """{filepath: reason} for each of `records` (in order) that is a near copy of an accepted
    record of the culture, of the baseline's, or of an earlier one of `records` that stands."""
    threshold = cfg.quality.near_duplicate_threshold
    pool: list[tuple[str, str, dict[str, set[int]]]] = []  # (filepath, where, field -> shingles)

    def add(fp: str, where: str, rec: dict) -> None:
        pool.append((fp, where, {f: shingles(rec.get(f), f) for f in FIELDS}))

    for fp, rec in iter_accepted(ws, cfg.name):
        add(fp, f"accepted in batch {rec.get('batch_id', '?')}", rec)
    for fp, rec in baseline_records(ws, cfg.name):
        add(fp, "in the published baseline", rec)
    reasons = {}
    for rec in records:
        mine = {f: shingles(rec.get(f), f) for f in FIELDS}
        hit = _closest(rec["filepath"], mine, pool, threshold)
        if hit:
            field, sim, other, where = hit
            reasons[rec["filepath"]] = (
                f"{field}: near copy (similarity {sim:.2f}) of {other}, {where}; write an original critique of this image"
            )
        else:
            add(rec["filepath"], "earlier in this batch", rec)
    return reasons


def _closest(fp: str, mine: dict[str, set[int]], pool, threshold: float):
    best = None
    for other_fp, where, theirs in pool:
        if other_fp == fp:
            continue  # an earlier critique of the same image is replaced, not copied
        for field in FIELDS:
            a, b = mine[field], theirs[field]
            if not a or not b or min(len(a), len(b)) < threshold * max(len(a), len(b)):
                continue  # sizes alone rule it out
            sim = jaccard(a, b)
            if sim >= threshold and (best is None or sim > best[1]):
                best = (field, sim, other_fp, where)
    return best


def baseline_records(ws, culture: str | None) -> Iterator[tuple[str, dict]]:
    """The published baseline's records (set_baseline.py), none when no baseline is set."""
    from ..files.baseline import load_baseline

    baseline = load_baseline(ws)
    if baseline is not None:
        yield from baseline.iter_records(culture=culture)
