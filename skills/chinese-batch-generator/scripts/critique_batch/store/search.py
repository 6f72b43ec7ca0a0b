# GENERATED from scripts/critique_batch/store/search.py by tools/generate.py; edit the source, not this copy
"""Full-text search over the merged critiques (search_critiques.py): a Chinese, Japanese or Korean
query searches critique_zh (n-gram index), any other critique_en."""

from __future__ import annotations

from .database import db_errors, open_existing
from ..base.errors import InputError, WorkFailed
from ..files.plan import check_culture_name
from ..base.text import cjk_character
from ..files.workspace import Workspace

RESULT_COLUMNS = ["filepath", "culture", "artist", "title", "critique_zh", "critique_en", "covered_dimensions", "quality_score", "batch_id"]


def search(ws: Workspace, query: str, *, culture: str | None = None, limit: int = 5, lang: str = "auto",
           min_quality: float | None = None, db: str | None = None) -> dict:
    """Full-text search over the critiques (Chinese query -> critique_zh, else critique_en)."""
    query = (query or "").strip()
    if not query:
        raise InputError("expected a non-empty query", where="QUERY")
    if limit < 1:
        raise InputError(f"expected a limit >= 1, got {limit}", where="--limit")
    if culture:
        check_culture_name(culture)
    if lang == "auto":
        lang = "zh" if cjk_character().search(query) else "en"
    column = {"zh": "critique_zh", "en": "critique_en"}[lang]
    target, table = open_existing(ws, db)
    where = []
    if culture:
        where.append(f"culture = '{culture}'")
    if min_quality is not None:
        where.append(f"quality_score >= {float(min_quality)!r}")
    with db_errors(target, "search failed"):
        indexed = any(column in ix.columns and str(ix.index_type).upper() == "FTS" for ix in table.list_indices())
        if not indexed:
            raise WorkFailed(f"the critiques table in {target.shown} has no full-text index on {column}; run sync_to_lancedb.py --optimize")
        q = table.search(query, query_type="fts", fts_columns=column).select(RESULT_COLUMNS + ["_score"]).limit(limit)
        if where:
            q = q.where(" AND ".join(where), prefilter=True)
        hits = q.to_list()
    results = []
    for h in hits:
        r = {k: h.get(k) for k in RESULT_COLUMNS}
        r["score"] = round(float(h.get("_score") or 0.0), 4)
        results.append(r)
    return {"db": target.shown, "query": query, "lang": lang, "column": column, "culture": culture, "results": results}

