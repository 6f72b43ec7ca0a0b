"""The quality report's data: accepted records (newest per filepath) read from the result files
(so it works before any sync), returns and parks with their reasons, throughput per day, near
duplicates, claimed layers without evidence, and the published baseline beside them when one is
set. `build` returns one JSON-able summary; `report_html.render` turns it into the page.

Needs datasketch (near duplicates); the page needs matplotlib. Neither is imported by anything
the other scripts load.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from pathlib import Path

from ..checks import evidence, similarity
from ..checks.batches import read_batch
from ..base.errors import EXIT_BAD_INPUT, BatchError, environment_failure
from ..files.plan import Culture, Plan
from ..state.progress import load_progress
from ..checks.validation import count_zh
from ..files.workspace import Workspace

TOP_ARTISTS = 15
OVERALL = "(all cultures)"


class CultureData:
    __slots__ = ("name", "records", "returns", "parks", "per_day", "baseline")

    def __init__(self, name: str, records: dict[str, dict] | None = None, returns: Counter | None = None,
                 parks: Counter | None = None, per_day: Counter | None = None, baseline: list[tuple[str, dict]] | None = None):
        self.name = name
        self.records = {} if records is None else records  # filepath -> newest accepted record
        self.returns = Counter() if returns is None else returns  # reason category -> items returned
        self.parks = Counter() if parks is None else parks  # reason category -> items parked now
        self.per_day = Counter() if per_day is None else per_day  # YYYY-MM-DD -> records accepted
        self.baseline = [] if baseline is None else baseline


def reason_category(reason: str) -> str:
    """A short bucket for a return or park reason (the reasons name the field first)."""
    r = reason or ""
    if "near copy" in r:
        return "near copy"
    if "claimed layers with too little support" in r:
        return "layer evidence"
    if r.startswith("skipped"):
        return "skipped (image not seen)"
    if r.startswith("output file unusable"):
        return "output file unusable"
    if r.startswith("no record"):
        return "missing record"
    fields = sorted({p.split(":", 1)[0].strip() for p in r.split("; ") if ":" in p})
    return ", ".join(f for f in fields if re.fullmatch(r"[\w.\[\]()]+", f)) or "other"


def load_culture(ws: Workspace, cfg: Culture, baseline) -> CultureData:
    data = CultureData(cfg.name)
    results = [read_batch(ws, cfg.name, bid, "result") for bid in ws.batch_ids(cfg.name, "result")]
    for result in sorted(results, key=lambda r: r["seq"]):
        for rec in result["records"]:
            data.records[rec["filepath"]] = rec  # a later critique of the same image replaces it
        day = result["collected_at"][:10]
        for item in result["items"]:
            if item["verdict"] == "accepted":
                data.per_day[day] += 1
            elif item["verdict"] in ("rejected", "missing"):
                data.returns[reason_category(item.get("reason", item["verdict"]))] += 1
    p = load_progress(ws, cfg.name) if ws.candidates_path(cfg.name).exists() else None
    if p is not None:
        for f in p.parked(cfg.max_attempts).values():
            data.parks[reason_category(f["reason"])] += 1
    if baseline is not None:
        data.baseline = list(baseline.iter_records(culture=cfg.name))
    return data


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "min": min(values), "median": statistics.median(values), "mean": round(statistics.fmean(values), 2),
            "max": max(values)}


def _score(rec: dict):
    s = rec.get("quality_score")
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def describe(records: list[dict], cfg: Culture | None) -> dict:
    """Distributions of one set of records (new, or published) of one culture or all."""
    zh = [count_zh(r.get("critique_zh") or "")[0] for r in records]
    en = [len((r.get("critique_en") or "").split()) for r in records]
    scores = [s for s in (_score(r) for r in records) if s is not None]
    dims_per = [len(evidence.dimension_list(r.get("covered_dimensions"))) for r in records]
    claims: Counter = Counter()
    layers: Counter = Counter()
    for r in records:
        ids = set(evidence.dimension_list(r.get("covered_dimensions")))
        claims.update(ids)
        layers.update({evidence.layer_of(d) for d in ids})
    artists = Counter((r.get("artist") or "(unknown)") for r in records)
    out = {
        "records": len(records),
        "zh_chars": zh,
        "en_words": en,
        "quality_scores": scores,
        "zh_chars_stats": _stats(zh),
        "en_words_stats": _stats(en),
        "quality_score_stats": _stats(scores),
        "dimensions_per_record_stats": _stats(dims_per),
        "layer_share": {layer: round(layers[layer] / len(records), 4) if records else 0.0 for layer in evidence.LAYERS},
        "artists": {"distinct": len(artists), "top": [[a, n, round(n / len(records), 4)] for a, n in artists.most_common(TOP_ARTISTS)]},
        "art_form": Counter((r.get("art_form") or "(none)") for r in records).most_common(),
        "art_genre": Counter((r.get("art_genre") or "(none)") for r in records).most_common(),
    }
    if cfg is not None:
        catalogue = [d.id for d in cfg.dimensions]
        out["dimension_claims"] = {d: claims.get(d, 0) for d in catalogue}
        out["never_claimed"] = [d for d in catalogue if not claims.get(d)]
    return out


def build(ws: Workspace, culture: str | None = None, baseline=None) -> dict:
    """The whole report as one JSON-able dict. `baseline`: an object with
    .iter_records(culture=None) -> (filepath, record), or None (no baseline set)."""
    plan: Plan = ws.plan
    names = [ws.culture(culture).name] if culture else [c for c in plan.cultures if _has_data(ws, c)]
    cultures = {}
    all_new: list[tuple[str, dict]] = []
    all_base: list[tuple[str, dict]] = []
    near_duplicates = []
    thin = []
    for name in names:
        cfg = plan.culture(name)
        data = load_culture(ws, cfg, baseline)
        new = list(data.records.items())
        all_new += new
        all_base += data.baseline
        threshold = cfg.quality.near_duplicate_threshold
        dups = [d.as_dict() for d in similarity.find_near_duplicates(new, threshold, data.baseline)] if new else []
        near_duplicates += dups
        terms = evidence.layer_terms(cfg, plan)
        culture_thin = []
        for fp, rec in new:
            t = evidence.thin_layers(rec, terms, cfg.quality.min_layer_evidence)
            if t:
                culture_thin.append({"filepath": fp, "culture": name, "layers": {k: v for k, v in t.items()}})
        thin += culture_thin
        q = cfg.quality
        cultures[name] = {
            "culture": name,
            "rules": {"min_zh_chars": q.min_zh_chars, "min_en_words": q.min_en_words, "min_dimensions": q.min_dimensions,
                      "near_duplicate_threshold": threshold, "min_layer_evidence": q.min_layer_evidence},
            "new": describe([r for _, r in new], cfg),
            "baseline": describe([r for _, r in data.baseline], cfg) if baseline is not None else None,
            "returns": dict(data.returns.most_common()),
            "parks": dict(data.parks.most_common()),
            "accepted_per_day": dict(sorted(data.per_day.items())),
            "near_duplicates": len(dups),
            "thin_claims": len(culture_thin),
        }
    rules = [c["rules"] for c in cultures.values()]
    overall_rules = rules[0] if rules and all(r == rules[0] for r in rules) else None  # rule lines only when shared
    total_per_day: Counter = Counter()
    returns: Counter = Counter()
    parks: Counter = Counter()
    for c in cultures.values():
        total_per_day.update(c["accepted_per_day"])
        returns.update(c["returns"])
        parks.update(c["parks"])
    overall = {
        "culture": OVERALL,
        "rules": overall_rules,
        "new": describe([r for _, r in all_new], None),
        "baseline": describe([r for _, r in all_base], None) if baseline is not None else None,
        "returns": dict(returns.most_common()),
        "parks": dict(parks.most_common()),
        "accepted_per_day": dict(sorted(total_per_day.items())),
        "near_duplicates": len(near_duplicates),
        "thin_claims": len(thin),
    }
    return {
        "workspace": str(ws.root),
        "baseline_set": baseline is not None,
        "cultures": cultures,
        "overall": overall,
        "near_duplicates": near_duplicates,
        "thin_claims": thin,
        "warnings": warnings(cultures, near_duplicates),
    }


def _has_data(ws: Workspace, culture: str) -> bool:
    return ws.candidates_path(culture).exists() or bool(ws.batch_ids(culture, "result"))


def warnings(cultures: dict, near_duplicates: list) -> list[str]:
    """What looks wrong, one line each (the orchestrator mentions the report when any)."""
    out = []
    for name, c in cultures.items():
        n = c["new"]["records"]
        if not n:
            continue
        if c["near_duplicates"]:
            out.append(f"{name}: {c['near_duplicates']} near-duplicate critique pair(s)")
        if n >= 20 and c["new"].get("never_claimed"):
            ids = c["new"]["never_claimed"]
            out.append(f"{name}: {len(ids)} dimension(s) never claimed in {n} records: {', '.join(ids[:8])}{' ...' if len(ids) > 8 else ''}")
        top = c["new"]["artists"]["top"]
        if n >= 20 and top and top[0][2] >= 0.5:
            out.append(f"{name}: one artist has {top[0][2]:.0%} of the records ({top[0][0]})")
        if c["thin_claims"] and c["thin_claims"] >= max(1, n // 10):
            out.append(f"{name}: {c['thin_claims']} of {n} records claim layers their text barely discusses")
    return out


REPORT_REQUIREMENTS = "'matplotlib>=3.8' 'datasketch>=1.6'"


class ReportDependencyMissing(BatchError):
    exit_code = EXIT_BAD_INPUT


def require_dependencies() -> None:
    """quality_report.py needs matplotlib (charts) and datasketch (near duplicates); nothing else does."""
    import importlib.util

    for name in ("matplotlib", "datasketch"):
        if importlib.util.find_spec(name) is None:
            raise ReportDependencyMissing(
                f"missing Python package {name!r}; quality_report.py needs: pip install {REPORT_REQUIREMENTS}"
                " (or, in a clone: pip install -e '.[report]')"
            )


def public(summary: dict) -> dict:
    """The summary without the per-record value lists the charts use (--json stays small)."""
    def strip(section: dict | None):
        if section is None:
            return None
        return {k: v for k, v in section.items() if k not in ("zh_chars", "en_words", "quality_scores")}

    out = dict(summary)
    out["cultures"] = {k: {**c, "new": strip(c["new"]), "baseline": strip(c["baseline"])} for k, c in summary["cultures"].items()}
    o = summary["overall"]
    out["overall"] = {**o, "new": strip(o["new"]), "baseline": strip(o["baseline"])}
    return out


def write_report(ws: Workspace, output: Path | None, culture: str | None, baseline, generated_at: str) -> tuple[dict, Path]:
    """Build the summary and write <output>/index.html atomically; returns (summary, page path)."""
    from ..base.jsonfiles import atomic_write
    from .page import render

    require_dependencies()
    summary = build(ws, culture, baseline)
    out_dir = Path(output) if output else ws.root / "reports"
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        page = out_dir / "index.html"
        atomic_write(page, [render(summary, generated_at).encode("utf-8")])
    except OSError as exc:
        raise environment_failure(f"cannot write the report to {out_dir}", exc) from None
    return summary, page
