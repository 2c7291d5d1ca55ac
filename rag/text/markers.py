"""Numbering markers of Chinese official documents, each style spelled once.

Pure patterns. The styles, outermost first: Markdown `#`, 第X章, 第X节, 第X条, 一、,
(一), 1. / 1、, (1), ①, and paragraph-initial 一是/二是…. Loaders use them to keep
a numbered line its own paragraph, the section parser to build heading paths,
and answers to list a passage's points and to quote a point without its marker.
Both widths are accepted ((一) and （一）), so the patterns work on raw and on
width-normalised text alike.
"""

from __future__ import annotations

import re
from enum import IntEnum

__all__ = [
    "CN_NUMERAL",
    "HeadingKind",
    "SECTION_MARKERS",
    "MARKDOWN_MARKER",
    "LINE_MARKER",
    "STRONG_LINE_MARKER",
    "INLINE_HEADING_END",
    "INLINE_ORDINAL",
    "ENUM_PREFIX",
    "POINT_START",
]

# A Chinese number from 一 to 九百九十九, so that '五一、中秋' is not taken for a marker.
CN_NUMERAL = (
    r"(?:[一二三四五六七八九]百(?:零?[一二三四五六七八九]|[一二三四五六七八九]?十[一二三四五六七八九]?)?"
    r"|[一二三四五六七八九]?十[一二三四五六七八九]?|[一二三四五六七八九])"
)
_COUNTED = r"[一二三四五六七八九十百千零〇两\d]+"  # after 第: 第十二条, 第3章

# One fragment per style (no anchors: each use adds its own).
CHAPTER = rf"第{_COUNTED}章"
PART = rf"第{_COUNTED}节"
ARTICLE = rf"第{_COUNTED}条"
CN_ENUM = rf"{CN_NUMERAL}、"  # 一、
PAREN_CN = rf"[(（]{CN_NUMERAL}[)）]"  # (一)
ARABIC_ENUM = r"\d{1,2}(?:[.．、](?![\d.．])|\.(?=\s))"  # 1. 1、 (not 1.5)
PAREN_ARABIC = r"[(（]\d{1,3}[)）]"  # (1)
CIRCLED = "[\u2460-\u2473]"  # ① … ⑳
ORDINAL_IS = rf"{CN_NUMERAL}是"  # 一是 二是: "firstly", "secondly"
_BEFORE_CJK = r"(?=[\u4e00-\u9fff])"


class HeadingKind(IntEnum):
    """Heading styles; the value orders nesting (smaller = outer)."""

    MD1 = 1
    MD2 = 2
    MD3 = 3
    MD4 = 4
    MD5 = 5
    MD6 = 6
    CHAPTER = 10  # 第一章
    PART = 11  # 第一节
    ARTICLE = 12  # 第一条
    CN_ENUM = 13  # 一、
    PAREN_CN = 14  # (一)
    ARABIC = 15  # 1. / 1、
    PAREN_ARABIC = 16  # (1)
    CIRCLED = 17  # ①
    ORDINAL_IS = 18  # 一是


# The marker a heading line starts with, per style (a line's marker is matched in this order).
SECTION_MARKERS: tuple[tuple[HeadingKind, re.Pattern[str]], ...] = (
    (HeadingKind.CHAPTER, re.compile(CHAPTER)),
    (HeadingKind.PART, re.compile(PART)),
    (HeadingKind.ARTICLE, re.compile(ARTICLE + r"(?=[ \u3000\u4e00-\u9fff])")),
    (HeadingKind.CN_ENUM, re.compile(CN_ENUM)),
    (HeadingKind.PAREN_CN, re.compile(PAREN_CN)),
    (HeadingKind.ARABIC, re.compile(ARABIC_ENUM)),
    (HeadingKind.PAREN_ARABIC, re.compile(PAREN_ARABIC)),
    (HeadingKind.CIRCLED, re.compile(CIRCLED)),
    (HeadingKind.ORDINAL_IS, re.compile(ORDINAL_IS + _BEFORE_CJK)),
)
MARKDOWN_MARKER = re.compile(r"(#{1,6})[ \t]+")  # "## " before a Markdown heading; group 1 gives its level

# A line that starts with one of these starts a paragraph of its own (loaders joining wrapped lines).
LINE_MARKER = re.compile(
    rf"^(?:{CN_NUMERAL}[、．.]|{PAREN_CN}|{PAREN_ARABIC}|\d{{1,3}}(?:[.．](?![\d.．])|、)|{CIRCLED}"
    rf"|第{_COUNTED}[章节条部分篇编款]|{ORDINAL_IS})"
)
# Markers that start a paragraph even where layout does not show it (PDF); list markers
# (1. / 一是) are left to layout, since a wrapped line can start with them by chance.
STRONG_LINE_MARKER = re.compile(rf"^(?:{CN_ENUM}|{PAREN_CN}|{CHAPTER}|{PART}|{ARTICLE})")

# Inside a line, after a word: where a heading sharing its line with its first point ends.
INLINE_HEADING_END = re.compile(r"(?<=[\u4e00-\u9fff》”)])(?:一是|[(（]一[)）]|①)")
# Inline 二是/三是 … (reports often omit the 。 before them); 统一是, 唯一是 … are words.
INLINE_ORDINAL = re.compile(r"(?<=[\u4e00-\u9fff”》)])(?<![统唯单同专第])[一二三四五六七八九十]是" + _BEFORE_CJK)
# The marker a quoted point starts with, dropped from the quote.
ENUM_PREFIX = re.compile(rf"(?:{ORDINAL_IS}|{PAREN_ARABIC}|{PAREN_CN}|{CIRCLED}|\d+[.、])")
# Where an enumerated point starts: a paragraph or sentence start followed by 一是 / (1) / ①.
POINT_START = re.compile(rf"(?:^|(?<=[。;:\n]))(?:{ORDINAL_IS}|{PAREN_ARABIC}|{CIRCLED})")
