# GENERATED from scripts/critique_batch/base/text.py by tools/generate.py; edit the source, not this copy
"""Character classes: those of the East Asian scripts, and the characters no text from data may
bring raw into what a person or an agent reads.

han_ideograph() counts Chinese characters (a critique's share of them, see validation);
cjk_character() tells a Chinese, Japanese or Korean text from an English one (search picks its
column by it). Each pattern is compiled when first used: compiling these wide classes takes
milliseconds that a claim, which uses neither, should not spend.

one_line() is how every script prints a text that came from data (a filepath, an artist, a title)
or from a subagent (a skip reason, a verdict): on one line, its control characters escaped, so that
no value can start a line of its own (a forged "--- korean 007" brief) or steer the terminal.
"""

from __future__ import annotations

import re
from functools import cache

HAN_BMP = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs: extension A, unified, compatibility
HAN_SUPPLEMENTARY = "\U00020000-\U0002ffff"  # extension B and later (plane 2)
KANA = "\u3040-\u30ff"  # hiragana and katakana
HANGUL = "\uac00-\ud7af"  # hangul syllables


@cache
def han_ideograph() -> re.Pattern:
    return re.compile(f"[{HAN_BMP}{HAN_SUPPLEMENTARY}]")


@cache
def cjk_character() -> re.Pattern:
    return re.compile(f"[{KANA}{HAN_BMP}{HANGUL}]")


# Characters that end a line or steer a terminal: C0 controls (newline, tab, escape ...), DEL, C1
# controls (U+0085 NEXT LINE, U+009B CSI ...), the line and paragraph separators. Refused in filepaths.
CONTROL = "\x00-\x1f\x7f-\x9f\u2028\u2029"
# shown escaped as well: lone surrogates (half of a UTF-16 pair: nothing can print them) and the
# bidirectional embeddings, overrides and isolates (they reorder how the rest of a line reads)
_UNPRINTABLE = "\ud800-\udfff\u202a-\u202e\u2066-\u2069"
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


@cache
def _control() -> re.Pattern:
    return re.compile(f"[{CONTROL}]")


@cache
def _shown_escaped() -> re.Pattern:
    return re.compile(f"[{CONTROL}{_UNPRINTABLE}]")


@cache
def _json_escaped() -> re.Pattern:
    return re.compile(f"[\x7f-\x9f\u2028\u2029{_UNPRINTABLE}]")


def _escape(m: re.Match) -> str:
    ch = m.group()
    named = _NAMED.get(ch)
    if named:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(value: object) -> str:
    """A text from data as it may be printed: one line, its control characters, lone surrogates and
    bidirectional controls written as escapes (\\n, \\x1b, \\u2028). A backslash is left as it is:
    messages quote values with repr or JSON, whose own escapes would otherwise be doubled; so a
    text without backslashes reads back exactly, and no text can make a second line."""
    text = value if isinstance(value, str) else str(value)
    return _shown_escaped().sub(_escape, text)


def control_character(text: str) -> str | None:
    """The first control character in text (see CONTROL), or None."""
    m = _control().search(text)
    return m.group() if m else None


def json_safe(text: str) -> str:
    """JSON text (from json.dumps with ensure_ascii=False) with the characters json.dumps leaves
    raw but a reader may take for a line break or cannot print (DEL, C1, U+2028/9, lone
    surrogates, bidirectional controls) written as \\u escapes: the same JSON value, safe to print
    and to encode as UTF-8. json.dumps escapes the other control characters itself, and leaves
    these only inside strings, where an escape means the same."""
    return _json_escaped().sub(lambda m: f"\\u{ord(m.group()):04x}", text)
