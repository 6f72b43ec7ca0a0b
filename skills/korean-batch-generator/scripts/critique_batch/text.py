# GENERATED from scripts/critique_batch/text.py by tools/generate.py; edit the source, not this copy
"""Character classes of the East Asian scripts, one place for their ranges.

HAN_IDEOGRAPH counts Chinese characters (a critique's share of them, see validation); CJK_CHARACTER
tells a Chinese, Japanese or Korean text from an English one (search picks its column by it).
"""

from __future__ import annotations

import re

HAN_BMP = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs: extension A, unified, compatibility
HAN_SUPPLEMENTARY = "\U00020000-\U0002ffff"  # extension B and later (plane 2)
KANA = "\u3040-\u30ff"  # hiragana and katakana
HANGUL = "\uac00-\ud7af"  # hangul syllables

HAN_IDEOGRAPH = re.compile(f"[{HAN_BMP}{HAN_SUPPLEMENTARY}]")
CJK_CHARACTER = re.compile(f"[{KANA}{HAN_BMP}{HANGUL}]")
