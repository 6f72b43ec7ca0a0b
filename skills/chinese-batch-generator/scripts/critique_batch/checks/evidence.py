# GENERATED from scripts/critique_batch/checks/evidence.py by tools/generate.py; edit the source, not this copy
"""Claimed layers have evidence: does the text support each layer (L1-L5) that a record's
covered_dimensions claims?

In the spirit of the published dataset's DCR evaluator: a claimed layer is supported when the
critique (Chinese and English together) uses at least `min_layer_evidence` distinct terms of that
layer. The terms of a layer are the generic ones below, the layer's own name from the plan, the
names of the culture's catalogue dimensions in that layer, and any the plan adds per culture
(`quality.layer_terms`: {"L3": {"zh": [...], "en": [...]}}). English terms match at a word start
("symbol" matches "symbolism"; terms of 4 letters or fewer only as a word or its plural),
Chinese ones anywhere. Pure Python, no dependency: the report uses
it, and validation when `quality.require_layer_evidence` is on.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from ..files.plan import Culture, Plan

LAYERS = ("L1", "L2", "L3", "L4", "L5")

# Generic terms per layer (visual perception, technical analysis, cultural symbolism, historical
# context, philosophical aesthetics): words any critique of any culture uses when it does address
# the layer. A culture adds its own through the plan.
DEFAULT_TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    "L1": {
        "zh": ("构图", "色彩", "设色", "色调", "线条", "轮廓", "光影", "明暗", "空间", "留白", "余白", "视觉", "形态",
               "形体", "画面", "布局", "比例", "对称", "层次", "节奏", "质感", "肌理", "透视", "疏密", "虚实"),
        "en": ("composition", "colour", "color", "palette", "line", "contour", "outline", "light", "shadow", "tone",
               "tonal", "space", "spatial", "empty", "visual", "form", "shape", "layout", "proportion", "symmetr",
               "balance", "rhythm", "texture", "perspective", "contrast", "hue", "foreground", "background"),
    },
    "L2": {
        "zh": ("笔法", "笔触", "用笔", "笔墨", "墨色", "墨法", "皴", "技法", "工笔", "写意", "设色", "颜料", "矿物",
               "绢本", "纸本", "材质", "媒材", "线描", "晕染", "渲染", "勾勒", "点染", "画法", "工艺", "刀法", "油彩"),
        "en": ("brush", "stroke", "technique", "technical", "ink", "pigment", "medium", "silk", "paper", "wash",
               "layer", "glaze", "impasto", "oil", "tempera", "fresco", "gouache", "outline", "modelling", "modeling",
               "execution", "craft", "carv", "gild", "mineral", "texture stroke", "handling"),
    },
    "L3": {
        "zh": ("象征", "寓意", "隐喻", "符号", "意象", "图像", "宗教", "佛教", "神话", "吉祥", "信仰", "仪式", "图式",
               "母题", "寓言", "神圣", "表征", "文化", "民俗"),
        "en": ("symbol", "allegor", "metaphor", "motif", "icon", "emblem", "myth", "religio", "sacred", "devotion",
               "ritual", "auspicious", "meaning", "signif", "represent", "cultural", "folk", "narrative", "divine"),
    },
    "L4": {
        "zh": ("时期", "时代", "朝代", "王朝", "年代", "世纪", "历史", "传统", "影响", "流派", "画派", "宫廷", "赞助",
               "沿革", "承袭", "继承", "脉络", "风格演变", "当时", "画院", "画员", "文人"),
        "en": ("century", "period", "dynasty", "era", "histor", "tradition", "influence", "school", "court", "patron",
               "lineage", "contemporar", "reign", "movement", "inherit", "legacy", "context", "literati", "academy"),
    },
    "L5": {
        "zh": ("意境", "哲学", "美学", "精神", "境界", "禅", "道家", "儒家", "气韵", "超越", "和谐", "自然观", "宇宙",
               "生命", "心性", "审美", "理念", "崇高", "静观", "天人"),
        "en": ("philosoph", "aesthetic", "spirit", "transcend", "harmony", "sublime", "beauty", "contemplat",
               "cosmo", "metaphysic", "zen", "dao", "tao", "confucian", "serenity", "ideal", "essence", "worldview",
               "meditat", "inner"),
    },
}

_ZH_SPLIT = re.compile(r"[与和及、，,/（）()《》「」“”\s·]+")
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z\-']+")
_EN_STOP = frozenset("and the of in with from into for its their this that over under between".split())


def layer_of(dim_id: str) -> str:
    return dim_id.split("_")[1]


def dimension_list(value) -> list[str]:
    """covered_dimensions as a list; published records may hold it as a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [d for d in value if isinstance(d, str) and d.count("_") == 2] if isinstance(value, list) else []


@lru_cache(maxsize=64)
def _name_terms(zh: str, en: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Evidence terms from a dimension's (or layer's) names: Chinese parts of 2+ characters,
    English words of 4+ letters that are not stop words."""
    zh_terms = tuple(t for t in _ZH_SPLIT.split(zh) if len(t) >= 2 and not t.isascii())
    en_terms = tuple(w.lower() for w in _EN_WORD.findall(en) if len(w) >= 4 and w.lower() not in _EN_STOP)
    return zh_terms, en_terms


def layer_terms(culture: Culture, plan: Plan) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """{layer: (zh terms, en terms)} for a culture: defaults + layer names + catalogue names + plan's."""
    extra = getattr(culture.quality, "layer_terms", None) or {}
    out = {}
    for layer in LAYERS:
        zh = set(DEFAULT_TERMS[layer]["zh"])
        en = set(DEFAULT_TERMS[layer]["en"])
        names = plan.layers.get(layer)
        if names:
            z, e = _name_terms(names["zh"], names["en"])
            zh.update(z)
            en.update(e)
        for d in culture.dimensions:
            if d.layer == layer:
                z, e = _name_terms(d.zh, d.en)
                zh.update(z)
                en.update(e)
        own = extra.get(layer, {})
        zh.update(own.get("zh", ()))
        en.update(t.lower() for t in own.get("en", ()))
        out[layer] = (frozenset(zh), frozenset(en))
    return out


_EN_PATTERNS: dict[frozenset[str], re.Pattern] = {}


def _en_pattern(terms: frozenset[str]) -> re.Pattern:
    pat = _EN_PATTERNS.get(terms)
    if pat is None:
        # a long term matches at a word start ("symbol": "symbolism"); a short one only as a word or
        # its plural, so "line" does not match "lineage" nor "form" "former"
        ordered = sorted(terms, key=len, reverse=True)
        prefixes = "|".join(re.escape(t) for t in ordered if len(t) > 4) or "(?!)"
        words = "|".join(re.escape(t) for t in ordered if len(t) <= 4) or "(?!)"
        pat = _EN_PATTERNS[terms] = re.compile(rf"\b(?:({prefixes})|({words})(?:e?s)?\b)", re.IGNORECASE)
    return pat


def layer_hits(record: dict, terms: dict[str, tuple[frozenset[str], frozenset[str]]]) -> dict[str, list[str]]:
    """{claimed layer: distinct terms found in the text}."""
    claimed = sorted({layer_of(d) for d in dimension_list(record.get("covered_dimensions"))})
    zh = record.get("critique_zh") or ""
    en = record.get("critique_en") or ""
    out = {}
    for layer in claimed:
        if layer not in terms:
            continue
        zh_terms, en_terms = terms[layer]
        found = {t for t in zh_terms if t in zh}
        if en_terms:
            found.update((a or b).lower() for a, b in _en_pattern(en_terms).findall(en))
        out[layer] = sorted(found)
    return out


def thin_layers(record: dict, terms, minimum: int) -> dict[str, list[str]]:
    """Claimed layers with fewer than `minimum` distinct terms in the text: {layer: terms found}."""
    return {layer: found for layer, found in layer_hits(record, terms).items() if len(found) < minimum}


def check(record: dict, culture: Culture, plan: Plan) -> list[str]:
    """Validation problems ("covered_dimensions: ...") when the culture requires layer evidence."""
    q = culture.quality
    thin = thin_layers(record, layer_terms(culture, plan), q.min_layer_evidence)
    if not thin:
        return []
    parts = [f"{layer} ({len(found)} of {q.min_layer_evidence} terms{': ' + ', '.join(found) if found else ''})"
             for layer, found in thin.items()]
    return [f"covered_dimensions: claimed layers with too little support in the text: {'; '.join(parts)}; "
            "discuss each claimed layer in the critique, or claim only what it discusses"]
