"""Character width and script classes: full-width ASCII to ASCII, one character for one.

Pure. One-to-one on purpose: cleaning and question handling normalise with it, and
an offset into the normalised text is the same offset into the text before.
"""

from __future__ import annotations

import re

__all__ = ["normalize_width", "CJK", "CJK_PUNCT", "CJK_CHAR"]

# Full-width ASCII (U+FF01–U+FF5E) to ASCII, odd spaces to a plain space.
_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_WIDTH.update({cp: 0x20 for cp in (0x3000, 0x00A0, 0x202F, 0x205F, 0x0009)})
_WIDTH.update({0x2002 + i: 0x20 for i in range(9)})  # en space … hair space

CJK = r"\u4e00-\u9fff\u3400-\u4dbf"  # for character classes: [{CJK}]
CJK_PUNCT = "。、“”‘’《》【】…—·"
CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")


def normalize_width(text: str) -> str:
    """Full-width ASCII to ASCII, odd spaces to spaces (length-preserving).

    >>> normalize_width("（一）２０２４年：")
    '(一)2024年:'
    """
    return text.translate(_WIDTH)
