# GENERATED from scripts/critique_batch/plan.py by tools/generate.py; edit the source, not this copy
"""The expansion plan: per-culture targets, generator skill, batch settings, quality rules,
dimension catalogue and milestones. A culture is pure configuration: adding one to a workspace's
plan needs no code change."""

from __future__ import annotations

import re
from collections import namedtuple
from pathlib import Path

from .errors import InputError
from .jsonfiles import read_json

DEFAULT_PLAN = Path(__file__).resolve().parent / "data" / "expansion_plan.json"
CULTURE_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")  # fullmatch: "korean\n" is no name

# Defaults of SPEC section 7 and the seed; a plan's "defaults" and each culture override them.
BUILTIN_SETTINGS = {
    "batch_size": 10,
    "max_parallel": 4,
    "lease_minutes": 60,
    "max_attempts": 3,
    "sync_threshold": 100,
}
BUILTIN_QUALITY = {
    "min_zh_chars": 200,
    "min_zh_cjk_ratio": 0.5,
    "min_en_words": 100,  # the published paper's floor (the seed sets none)
    "min_dimensions": 18,
    "min_quality_score": 0,
    # off by default: quality_report.py shows these; the plan can make collection / validation enforce them
    "reject_near_duplicates": False,
    "near_duplicate_threshold": 0.5,
    "require_layer_evidence": False,
    "min_layer_evidence": 2,
    "layer_terms": {},
}


# The plan's values are immutable named tuples rather than frozen dataclasses: every claim and
# status loads the plan, and importing dataclasses (it imports inspect) and building these classes
# took about 15 ms of a 100 ms claim. Fields, defaults, equality and _replace() are namedtuple's.


class Quality(namedtuple("Quality", (
    "min_zh_chars", "min_zh_cjk_ratio", "min_en_words", "min_dimensions", "min_quality_score",
    "reject_near_duplicates",  # collection returns a near copy of an accepted critique
    "near_duplicate_threshold",  # Jaccard of shingle sets (similarity.py)
    "require_layer_evidence",  # validation requires text support for each claimed layer
    "min_layer_evidence",  # distinct layer terms in the text (evidence.py)
    "layer_terms",  # {"L3": {"zh": [...], "en": [...]}} added to evidence.py's
), defaults=(False, 0.5, False, 2, {}))):
    __slots__ = ()


class Dimension(namedtuple("Dimension", ("id", "zh", "en", "covers"), defaults=("",))):
    __slots__ = ()

    @property
    def layer(self) -> str:
        return self.id.split("_")[1]


class Culture(namedtuple("Culture", (
    "name", "prefix", "current",
    "target",  # None: not expanded (the plan gives no target); nothing is claimed
    "generator",  # "" when the culture has no generator skill (generator_instructions.py serves it)
    "batch_size", "max_parallel", "lease_minutes", "max_attempts", "sync_threshold",
    "quality",  # Quality
    "milestones",  # ((name, images), ...)
    "dimensions",  # (Dimension, ...)
    "perspective", "seed_agent",
), defaults=({}, ""))):
    __slots__ = ()

    @property
    def dimension_ids(self) -> frozenset[str]:
        return frozenset(d.id for d in self.dimensions)

    @property
    def expanded(self) -> bool:
        return self.target is not None


class Plan(namedtuple("Plan", (
    "path", "layers",
    "cultures",  # {name: Culture}
    "database",  # sync_to_lancedb.py's target and maintenance
), defaults=({},))):
    __slots__ = ()

    def culture(self, name: str) -> Culture:
        check_culture_name(name)
        try:
            return self.cultures[name]
        except KeyError:
            raise InputError(
                f"culture {name!r} is not in the plan (it has: {', '.join(sorted(self.cultures))}); "
                "add it under \"cultures\" to expand it",
                file=self.path,
            ) from None

    def prefix_owner(self, prefix: str) -> str | None:
        for c in self.cultures.values():
            if c.prefix == prefix:
                return c.name
        return None


def check_culture_name(name: str) -> None:
    if not CULTURE_NAME.fullmatch(name or ""):
        raise InputError(
            f"bad culture name {name!r}: expected lowercase letters, digits and underscores, starting with a letter",
            where="--culture",
        )


def load_plan(path: Path, marker: Path | None = None) -> Plan:
    """Load and check a plan. The bundled default plan's check is remembered only where `marker`
    says (in a workspace), never beside the plan: that folder may belong to an installed skill."""
    doc = read_json(path, "plan", marker=marker, cache=marker is not None or path != DEFAULT_PLAN)
    defaults = dict(BUILTIN_SETTINGS)
    defaults.update({k: v for k, v in doc.get("defaults", {}).items() if k != "quality"})
    default_quality = dict(BUILTIN_QUALITY)
    default_quality.update(doc.get("defaults", {}).get("quality", {}))
    cultures: dict[str, Culture] = {}
    prefixes: dict[str, str] = {}
    for name, spec in doc["cultures"].items():
        where = f"cultures.{name}"
        prefix = spec["prefix"]
        if prefix in prefixes:
            raise InputError(f"prefix {prefix!r} is already used by culture {prefixes[prefix]!r}", file=path, where=f"{where}.prefix")
        prefixes[prefix] = name
        dims = []
        seen: set[str] = set()
        for i, d in enumerate(spec["dimensions"]):
            if not d["id"].startswith(prefix + "_"):
                raise InputError(f"expected an ID starting with {prefix}_, got {d['id']!r}", file=path, where=f"{where}.dimensions[{i}].id")
            if d["id"] in seen:
                raise InputError(f"duplicate dimension ID {d['id']!r}", file=path, where=f"{where}.dimensions[{i}].id")
            seen.add(d["id"])
            dims.append(Dimension(d["id"], d["zh"], d["en"], d.get("covers", "")))
        quality = dict(default_quality)
        quality.update(spec.get("quality", {}))
        if quality["min_dimensions"] > len(dims):
            raise InputError(
                f"min_dimensions is {quality['min_dimensions']} but the catalogue has only {len(dims)} dimensions",
                file=path, where=f"{where}.quality.min_dimensions",
            )
        settings = {k: spec.get(k, defaults[k]) for k in BUILTIN_SETTINGS}
        target = spec["target"] or None  # null and 0 both mean: not expanded
        if target is None:
            milestones = spec.get("milestones") or []
        else:
            milestones = spec.get("milestones") or [{"name": "target", "images": max(target - spec["current"], 1)}]
        cultures[name] = Culture(
            name=name,
            prefix=prefix,
            current=spec["current"],
            target=target,
            generator=spec.get("generator", ""),
            quality=Quality(**quality),
            milestones=tuple((m["name"], m["images"]) for m in milestones),
            dimensions=tuple(dims),
            perspective=spec.get("perspective", {}),
            seed_agent=spec.get("seed_agent", ""),
            **settings,
        )
    return Plan(path=path, layers=doc["layers"], cultures=cultures, database=doc.get("database", {}))
