# GENERATED from scripts/critique_batch/report/page.py by tools/generate.py; edit the source, not this copy
"""The quality report page: one self-contained HTML file, charts as inline base64 PNG (matplotlib,
Agg backend), no script or style from anywhere else, so it opens offline. A small inline script
counts the charts that decoded and writes the count into the page (the browser test reads it).
"""

from __future__ import annotations

import base64
import html
import io

from ..base.clock import parse_time
from ..checks.evidence import LAYERS

MAX_LISTED = 200  # near duplicates / thin claims listed on the page (the JSON has all)

NEW, PUBLISHED = "#1f77b4", "#ff7f0e"
PUBLISHED_BAR = "#9e9e9e"  # beside bars coloured by layer, published ones are grey and hatched
LAYER_COLOURS = {"L1": "#4c78a8", "L2": "#f58518", "L3": "#54a24b", "L4": "#b279a2", "L5": "#e45756"}


# fonts that hold CJK characters (artist names, titles, reasons may be Chinese), tried in this order
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
             "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "SimHei", "Arial Unicode MS")
CSS_FONTS = "system-ui,-apple-system,\"Segoe UI\"," + ",".join(f'\"{f}\"' for f in CJK_FONTS) + ",sans-serif"


def days_span(per_day: dict) -> list[str]:
    """Every day from the first to the last with accepted records (gaps shown as zero)."""
    if not per_day:
        return []
    from datetime import timedelta

    days = sorted(per_day)
    start, end = parse_time(days[0] + "T00:00:00Z"), parse_time(days[-1] + "T00:00:00Z")
    out = []
    while start <= end and len(out) < 3660:
        out.append(start.strftime("%Y-%m-%d"))
        start += timedelta(days=1)
    return out


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not getattr(_plt, "fonts_set", False):  # matplotlib falls back along the list, glyph by glyph
        from matplotlib import font_manager

        have = {f.name for f in font_manager.fontManager.ttflist}
        matplotlib.rcParams["font.sans-serif"] = ["DejaVu Sans", *(f for f in CJK_FONTS if f in have)]
        _plt.fonts_set = True
    return plt


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72, bbox_inches="tight")
    _plt().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(b64: str, alt: str) -> str:
    return f'<img class="chart" alt="{html.escape(alt)}" src="data:image/png;base64,{b64}">'


def _hist(ax, new: list, base: list | None, rule: float | None, title: str, xlabel: str) -> None:
    values = list(new) + list(base or [])
    bins = 30 if values else 1
    lo, hi = (min(values), max(values)) if values else (0, 1)
    if rule is not None:
        lo, hi = min(lo, rule), max(hi, rule)
    rng = (lo, hi if hi > lo else lo + 1)
    def share(values):  # with a baseline, both as shares of their own records, so the shapes compare
        return [1 / len(values)] * len(values) if base else None

    if new:
        ax.hist(new, bins=bins, range=rng, color=NEW, alpha=0.75, label=f"new ({len(new)})", weights=share(new))
    if base:
        ax.hist(base, bins=bins, range=rng, color=PUBLISHED, alpha=0.5, label=f"published ({len(base)})", weights=share(base),
                histtype="stepfilled")
    if rule is not None:
        ax.axvline(rule, color="crimson", linestyle="--", linewidth=1.5, label=f"rule: >= {rule:g}")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel("share of records" if base else "records", fontsize=9)
    if new or base or rule is not None:
        ax.legend(fontsize=8)


def chart_lengths(section: dict) -> str:
    plt = _plt()
    rules = section["rules"] or {}
    base = section["baseline"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    _hist(axes[0], section["new"]["zh_chars"], base and base["zh_chars"], rules.get("min_zh_chars"), "critique_zh length",
          "characters (non-space)")
    _hist(axes[1], section["new"]["en_words"], base and base["en_words"], rules.get("min_en_words"), "critique_en length", "words")
    return _png(fig)


def chart_scores(section: dict) -> str:
    plt = _plt()
    base = section["baseline"]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    _hist(ax, section["new"]["quality_scores"], base and base["quality_scores"], None, "quality_score", "score")
    return _png(fig)


def _layer_legend(ax, layers: set[str], with_base: bool) -> None:
    """The legend of a chart whose new bars are coloured by layer: one entry a layer, and the published bars."""
    from matplotlib.patches import Patch

    handles = [Patch(color=LAYER_COLOURS[layer], label=f"new, {layer}") for layer in sorted(layers) if layer in LAYER_COLOURS]
    if with_base:
        handles.append(Patch(facecolor=PUBLISHED_BAR, hatch="//", edgecolor="white", label="published"))
    # above the bars (which reach 1.0), under the title
    ax.legend(handles=handles, fontsize=7, ncol=len(handles), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)


def chart_dimensions(section: dict) -> str:
    """Share of records claiming each catalogue ID (a culture) or each layer (overall)."""
    plt = _plt()
    new, base = section["new"], section["baseline"]
    n_new = max(new["records"], 1)
    if "dimension_claims" in new:
        ids = list(new["dimension_claims"])
        shares = [new["dimension_claims"][d] / n_new for d in ids]
        base_shares = [base["dimension_claims"][d] / max(base["records"], 1) for d in ids] if base else None
        colours = [LAYER_COLOURS.get(d.split("_")[1], NEW) for d in ids]
        fig, ax = plt.subplots(figsize=(max(6, 0.32 * len(ids) + 2), 3.4))
        x = range(len(ids))
        width = 0.4 if base_shares else 0.8
        ax.bar([i - (width / 2 if base_shares else 0) for i in x], shares, width=width, color=colours)
        if base_shares:
            ax.bar([i + width / 2 for i in x], base_shares, width=width, color=PUBLISHED_BAR, hatch="//", edgecolor="white")
        _layer_legend(ax, {d.split("_")[1] for d in ids}, bool(base_shares))
        for i, d in enumerate(ids):
            if not new["dimension_claims"][d]:
                ax.text(i, 0.01, "never", rotation=90, fontsize=7, color="crimson", ha="center", va="bottom")
        ax.set_xticks(list(x))
        ax.set_xticklabels([d.split("_", 1)[1] for d in ids], rotation=90, fontsize=7)
        ax.set_ylim(0, 1.05)
        ax.set_title("dimension coverage: share of records claiming each ID (colour = layer)", fontsize=10, pad=16)
    else:
        layers = list(LAYERS)
        fig, ax = plt.subplots(figsize=(6, 3.2))
        width = 0.4 if base else 0.8
        ax.bar([i - (width / 2 if base else 0) for i in range(5)], [new["layer_share"][layer] for layer in layers], width=width,
               color=[LAYER_COLOURS[layer] for layer in layers])
        if base:
            ax.bar([i + width / 2 for i in range(5)], [base["layer_share"][layer] for layer in layers], width=width, color=PUBLISHED_BAR,
                   hatch="//", edgecolor="white")
        _layer_legend(ax, set(layers), bool(base))
        ax.set_xticks(range(5))
        ax.set_xticklabels(layers)
        ax.set_ylim(0, 1.05)
        ax.set_title("layer coverage: share of records claiming a layer", fontsize=10, pad=16)
    ax.set_ylabel("share of records", fontsize=9)
    return _png(fig)


def chart_reasons(section: dict) -> str | None:
    """None when nothing was returned or parked: no chart of two empty panels."""
    if not section["returns"] and not section["parks"]:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 2.4))
    for ax, key, title in ((axes[0], "returns", "returned items by reason"), (axes[1], "parks", "parked items by reason")):
        counts = section[key]
        if counts:
            labels = list(counts)[:10][::-1]
            ax.barh(range(len(labels)), [counts[k] for k in labels], color="#9467bd")
            ax.set_yticks(range(len(labels)))
            ax.set_yticklabels(labels, fontsize=8)
        else:
            ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes)
            ax.set_yticks([])
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("items", fontsize=9)
    return _png(fig)


def chart_throughput(section: dict) -> str | None:
    """None before any batch was collected."""
    per_day = section["accepted_per_day"]
    days = days_span(per_day)
    if not days:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 2.6))
    ax.bar(range(len(days)), [per_day.get(d, 0) for d in days], color=NEW)
    step = max(1, len(days) // 12)
    ax.set_xticks(range(0, len(days), step))
    ax.set_xticklabels(days[::step], rotation=30, fontsize=8, ha="right")
    ax.set_xlim(-0.6, max(len(days), 14) - 0.4)  # a day's bar stays a bar, not the whole width
    ax.set_title("throughput: records accepted per day", fontsize=10)
    ax.set_ylabel("records", fontsize=9)
    return _png(fig)


CHARTS = (
    ("lengths", chart_lengths, "critique lengths with the rule lines"),
    ("dimensions", chart_dimensions, "dimension coverage"),
    ("scores", chart_scores, "quality_score distribution"),
    ("reasons", chart_reasons, "returns and parks by reason"),
    ("throughput", chart_throughput, "records accepted per day"),
)


def _table(headers: list[str], rows: list[list], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _bar(share: float) -> str:
    # the bar's width in em, not a share of a cell that sizes to its content: a 100% bar stays in its cell
    return f'<span class="bar" style="width:{max(share, 0.01) * 6:.2f}em"></span><span class="pct">{share:.1%}</span>'


def _counts_table(title: str, new: list, base: list | None, n_new: int, n_base: int) -> str:
    base_map = dict(base or [])
    rows = []
    for name, count in new[:TOP]:
        row = [html.escape(str(name)), count, _bar(count / max(n_new, 1))]
        if base is not None:
            row.append(_bar(base_map.get(name, 0) / max(n_base, 1)))
        rows.append(row)
    headers = [title, "records", "share"] + (["published share"] if base is not None else [])
    return _table(headers, rows)


TOP = 15


def _compare_table(section: dict) -> str:
    new, base = section["new"], section["baseline"]

    def cell(d, key, stat):
        s = d[key] if d else {}
        return "" if not s or not s.get("n") else f"{s[stat]:g}"

    rows = []
    for label, key in (("critique_zh characters", "zh_chars_stats"), ("critique_en words", "en_words_stats"),
                       ("quality_score", "quality_score_stats"), ("dimensions per record", "dimensions_per_record_stats")):
        row = [label, cell(new, key, "median"), cell(new, key, "min")]
        if base is not None:
            row += [cell(base, key, "median"), cell(base, key, "min")]
        rows.append(row)
    rows.append(["records", new["records"], ""] + ([base["records"], ""] if base is not None else []))
    rows.append(["distinct artists", new["artists"]["distinct"], ""] + ([base["artists"]["distinct"], ""] if base is not None else []))
    headers = ["", "new: median", "new: min"] + (["published: median", "published: min"] if base is not None else [])
    return _table(headers, rows, "compare")


def _section(key: str, section: dict, baseline_set: bool) -> str:
    title = section["culture"]
    new = section["new"]
    parts = [f'<section id="{html.escape(key)}"><h2>{html.escape(title)}</h2>']
    if not new["records"] and not (section["baseline"] or {}).get("records"):
        parts.append("<p>No accepted records yet.</p>")
    if not baseline_set:
        parts.append('<p class="note">No baseline set: new records only.</p>')
    parts.append(_compare_table(section))
    parts.append('<div class="charts">')
    for _name, fn, alt in CHARTS:
        b64 = fn(section)
        if b64 is not None:
            parts.append(_img(b64, f"{title}: {alt}"))
    parts.append("</div>")
    if not section["returns"] and not section["parks"]:
        parts.append('<p class="note">No item returned or parked.</p>')
    if new.get("never_claimed"):
        parts.append(f'<p class="warn">Never claimed: {html.escape(", ".join(new["never_claimed"]))}</p>')
    base = section["baseline"]
    parts.append('<div class="cols">')
    parts.append(_counts_table("artist", new["artists"]["top"] and [(a, n) for a, n, _ in new["artists"]["top"]],
                               base and [(a, n) for a, n, _ in base["artists"]["top"]], new["records"], base["records"] if base else 0))
    parts.append(_counts_table("art_form", new["art_form"], base and base["art_form"], new["records"], base["records"] if base else 0))
    parts.append(_counts_table("art_genre", new["art_genre"], base and base["art_genre"], new["records"], base["records"] if base else 0))
    parts.append("</div>")
    parts.append(f'<p>Near-duplicate pairs: {section["near_duplicates"]}; records with thin layer claims: {section["thin_claims"]}.</p>')
    parts.append("</section>")
    return "\n".join(parts)


STYLE = """
body{font-family:FONTS;margin:1.5em;color:#222;max-width:1200px}
h1{font-size:1.4em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
img.chart{display:block;max-width:100%;margin:.6em 0}
table{border-collapse:collapse;font-size:.85em;margin:.5em 1em .5em 0;vertical-align:top}
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;white-space:nowrap}
.charts{display:flex;flex-wrap:wrap;gap:.5em}
.cols{display:flex;flex-wrap:wrap;align-items:flex-start}
.bar{display:inline-block;height:.7em;background:#1f77b4;vertical-align:middle}
.pct{display:inline-block;min-width:3.6em;margin-left:.3em;text-align:right}
.warn{color:#b00020}.note{color:#666;font-style:italic}
nav a{margin-right:1em}
""".replace("FONTS", CSS_FONTS)

CHECK_SCRIPT = """
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('img.chart'), ok = 0;
  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; }
  var el = document.getElementById('chart-check');
  el.setAttribute('data-charts', imgs.length);
  el.setAttribute('data-rendered', ok);
  el.textContent = ok + ' of ' + imgs.length + ' charts rendered';
});
"""


def render(summary: dict, generated_at: str) -> str:
    cultures = summary["cultures"]
    sections = [("overall", summary["overall"])] if len(cultures) != 1 else []
    sections += [(name, c) for name, c in cultures.items()]
    nav = " ".join(f'<a href="#{html.escape(k)}">{html.escape(s["culture"])}</a>' for k, s in sections)
    warn = "".join(f"<li>{html.escape(w)}</li>" for w in summary["warnings"])
    dups = summary["near_duplicates"]
    dup_rows = [[html.escape(d["a"]), html.escape(d["b"]) + (" (published)" if d.get("baseline") else ""), d["field"],
                 f'{d["similarity"]:.2f}'] for d in dups[:MAX_LISTED]]
    thin = summary["thin_claims"]
    thin_rows = [[html.escape(t["filepath"]), t["culture"],
                  "; ".join(f"{k}: {len(v)} term(s){' (' + html.escape(', '.join(v)) + ')' if v else ''}" for k, v in t["layers"].items())]
                 for t in thin[:MAX_LISTED]]
    body = [
        f"<h1>Critique quality report</h1><p>{html.escape(summary['workspace'])} &middot; generated {html.escape(generated_at)}"
        f" &middot; {'baseline set' if summary['baseline_set'] else 'no baseline set'}</p>",
        '<p id="chart-check" data-charts="?" data-rendered="?">charts not checked (scripts off)</p>',
        f"<nav>{nav} <a href=\"#near-duplicates\">near duplicates</a> <a href=\"#thin-claims\">thin claims</a></nav>",
        f'<ul class="warn">{warn}</ul>' if warn else "<p>Nothing looks wrong.</p>",
    ]
    body += [_section(k, s, summary["baseline_set"]) for k, s in sections]
    body.append(f'<section id="near-duplicates"><h2>Near-duplicate critiques ({len(dups)})</h2>'
                "<p>Pairs whose critique_zh (3-character shingles) or critique_en (3-word shingles) has a Jaccard similarity at or"
                " above the threshold; b is the later record, or the published one a nearly copies.</p>"
                + (_table(["a", "b", "field", "similarity"], dup_rows) if dups else "<p>None.</p>")
                + (f"<p>(first {MAX_LISTED} shown; --json lists all)</p>" if len(dups) > MAX_LISTED else "") + "</section>")
    body.append(f'<section id="thin-claims"><h2>Claimed layers with thin evidence ({len(thin)})</h2>'
                "<p>Records claiming a layer whose terms the text barely uses.</p>"
                + (_table(["filepath", "culture", "thin layers (terms found)"], thin_rows) if thin else "<p>None.</p>")
                + (f"<p>(first {MAX_LISTED} shown; --json lists all)</p>" if len(thin) > MAX_LISTED else "") + "</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Critique quality report</title>"
            f"<style>{STYLE}</style><script>{CHECK_SCRIPT}</script></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
