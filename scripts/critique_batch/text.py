"""Character classes of the East Asian scripts, one place for their ranges.

han_ideograph() counts Chinese characters (a critique's share of them, see validation);
cjk_character() tells a Chinese, Japanese or Korean text from an English one (search picks its
column by it). Each pattern is compiled when first used: compiling these wide classes takes
milliseconds that a claim, which uses neither, should not spend.
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
