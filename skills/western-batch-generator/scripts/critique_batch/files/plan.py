# GENERATED from scripts/critique_batch/files/plan.py by tools/generate.py; edit the source, not this copy
"""The expansion plan: per-culture targets, generator skill, batch settings, quality rules,
dimension catalogue and milestones. A culture is pure configuration: adding one to a workspace's
plan needs no code change."""

from __future__ import annotations

import re
from collections import namedtuple
from pathlib import Path

from ..base.errors import InputError
from ..base.jsonfiles import check_cached, parse_json_bytes, read_json

DEFAULT_PLAN = Path(__file__).resolve().parents[1] / "data" / "expansion_plan.json"
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
    "official_dimensions",  # the published dataset's own count (VULCA-Bench README); min_dimensions is 70% of it
), defaults=({}, "", None))):
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
    "claims",  # shared_claims.py: where workspaces share this expansion's claims ({} = not shared)
), defaults=({}, {}))):
    __slots__ = ()

    def culture(self, name: str) -> Culture:
        check_culture_name(name)
        try:
            return self.cultures[name]
        except KeyError:
            raise self.unknown_culture(name, "add it under \"cultures\" to expand it") from None

    def unknown_culture(self, name: str, how_to_add: str, file=None) -> InputError:
        """The error for a culture the plan lacks: a near name first (a typo is likelier than a new culture)."""
        import difflib

        near = difflib.get_close_matches(name.lower(), list(self.cultures), n=1, cutoff=0.6)
        hint = f"did you mean {near[0]!r}? " if near else ""
        return InputError(f"culture {name!r} is not in the plan; {hint}it has: {', '.join(sorted(self.cultures))}; "
                          f"{'if it is a new culture, ' if near else ''}{how_to_add}", file=file or self.path)

    def prefix_owner(self, prefix: str) -> str | None:
        for c in self.cultures.values():
            if c.prefix == prefix:
                return c.name
        return None


def target_command(culture: str, amount: str = "N") -> str:
    """The command that sets a culture's target: named wherever a target stops work."""
    return f"set_target.py {culture} {amount}"


def check_culture_name(name: str) -> None:
    if not CULTURE_NAME.fullmatch(name or ""):
        raise InputError(
            f"bad culture name {name!r}: expected lowercase letters, digits and underscores, starting with a letter",
            where="--culture",
        )


def load_plan(path: Path, marker: Path | None = None) -> Plan:
    """Load and check a whole plan (the bundled one). The bundled default plan's check is
    remembered only where `marker` says (in a workspace), never beside the plan: that folder may
    belong to an installed skill."""
    doc = read_json(path, "plan", marker=marker, cache=marker is not None or path != DEFAULT_PLAN)
    return build_plan(path, doc)


def load_workspace_plan(path: Path) -> Plan:
    """A workspace's plan: what its file gives, merged over the bundled plan (merge_plans), then
    checked as a whole. The file may hold only what differs, e.g. {"cultures": {"japanese":
    {"target": 500}}}; errors name the file and the merged plan's JSON path."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the plan: {exc.strerror or exc}", file=path) from None
    own = parse_json_bytes(data, path)
    if not isinstance(own, dict):
        raise InputError("expected a JSON object (the plan, or only what differs from the bundled plan), "
                         f"got {type(own).__name__}", file=path)
    bundled = DEFAULT_PLAN.read_bytes()
    merged = merge_plans(parse_json_bytes(bundled, DEFAULT_PLAN), own)
    # one check of the merged plan, remembered for both files' bytes: a changed bundled plan is checked again
    check_cached(merged, data + b"\0" + bundled, "plan", path)
    return build_plan(path, merged)


SETTING_KEYS = tuple(BUILTIN_SETTINGS)


def merge_plans(base: dict, over: dict) -> dict:
    """`over` (a workspace's plan) merged over `base` (the bundled plan): objects key by key, at
    every depth (a culture, its quality, the defaults, the database, the layers); anything else
    (a list such as dimensions or milestones, a number, null) replaces the base's value. A setting
    or quality rule the workspace's `defaults` gives applies to every culture that does not set
    it in the workspace's own plan, over what the bundled plan says for that culture."""
    out = _merged(base, {k: v for k, v in over.items() if k != "cultures"})
    over_cultures = over.get("cultures", {})
    if not isinstance(over_cultures, dict):  # not an object: the schema check names it
        out["cultures"] = over_cultures
        return out
    defaults = over.get("defaults") if isinstance(over.get("defaults"), dict) else {}
    ws_settings = [k for k in defaults if k in SETTING_KEYS]
    ws_quality = list(defaults["quality"]) if isinstance(defaults.get("quality"), dict) else []
    cultures = {}
    for name, spec in base["cultures"].items():
        spec = {k: v for k, v in spec.items() if k not in ws_settings}
        if ws_quality and isinstance(spec.get("quality"), dict):
            spec["quality"] = {k: v for k, v in spec["quality"].items() if k not in ws_quality}
        cultures[name] = spec
    for name, spec in over_cultures.items():
        cultures[name] = _merged(cultures[name], spec) if name in cultures and isinstance(spec, dict) else spec
    out["cultures"] = cultures
    return out


def _merged(base, over):
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return over
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(base[k], v) if k in base else v
    return out


def build_plan(path: Path, doc: dict) -> Plan:
    """A Plan from a checked plan document."""
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
            raise InputError(f"prefix {prefix!r} is already used by culture {prefixes[prefix]!r}", file=path,
                             where=f"{where}.prefix")
        prefixes[prefix] = name
        dims = []
        seen: set[str] = set()
        for i, d in enumerate(spec["dimensions"]):
            if not d["id"].startswith(prefix + "_"):
                raise InputError(f"expected an ID starting with {prefix}_, got {d['id']!r}", file=path,
                                 where=f"{where}.dimensions[{i}].id")
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
            official_dimensions=spec.get("official_dimensions"),
            **settings,
        )
    return Plan(path=path, layers=doc["layers"], cultures=cultures, database=doc.get("database", {}),
                claims=doc.get("claims", {}))
