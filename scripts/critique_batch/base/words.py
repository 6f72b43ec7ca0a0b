"""Words for what the scripts print: counts with their noun, cut texts, progress bars."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 batch`, `2 batches`, `0 images`: the count with the word in the right number."""
    if n == 1:
        return f"{n} {word}"
    if many is None:
        many = word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")
    return f"{n} {many}"


def cut(text: str, limit: int) -> str:
    """At most `limit` characters; a cut text ends with `…` so that it shows it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar(fraction: float, width: int = 20) -> str:
    """`[#####---]`: a fraction (clamped to 0..1) as a bar of `width` characters."""
    fraction = min(max(fraction, 0.0), 1.0)
    full = int(round(fraction * width))
    return "[" + "#" * full + "-" * (width - full) + "]"
