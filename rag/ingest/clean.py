"""Clean a scraped report: drop page noise, normalise widths, read its header.

Pure functions. `clean_report` deletes characters and lines but never rewrites
what it keeps beyond a one-to-one width normalisation, so every character of
the cleaned text maps back to one character of the raw text
(`CleanedReport.source_index`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..text.dates import DATE, iso_date, parse_date
from ..text.normalize import CJK, CJK_PUNCT, normalize_width
from ..text.sentences import SENTENCE_END
from .chrome import COUNTER_FIELD, LICENCE_TAIL, is_chrome_line

__all__ = ["CleanedReport", "clean_report"]

# Characters that are never content: zero-width marks, soft hyphen, BOM, CR.
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad\r]")
# Braille filler some CMSs insert mid-sentence, with the spaces around it.
_BRAILLE = re.compile(r" *[\u2800-\u28ff][\u2800-\u28ff ]*")
# Formatting-tag fragments left by scraping ("</span>", "/span>", "<br/>").
# Other tags (<script> …) are left as text: the UI escapes them.
_TAGS = "span|div|p|br|font|strong|b|i|em|u|a|img|td|tr|th|table|tbody|thead|li|ul|ol|h[1-6]|section|article|o:p"
_HTML_FRAGMENT = re.compile(
    rf"</?(?:{_TAGS})\b[^<>\n]{{0,200}}>|(?<![<\w])/(?:{_TAGS})>|&(?:nbsp|ensp|emsp|thinsp);", re.IGNORECASE
)
# Spaces between Chinese characters are filler (PDF wrapping, padding), except the one
# after a 第X章/节/条 marker, which separates the marker from the heading.
_SPACE_BETWEEN_CJK = re.compile(
    rf"(?<=[{CJK}{CJK_PUNCT},.;:!?)])(?<![章节条]) +(?=[{CJK}{CJK_PUNCT}(])|(?<=[{CJK}])(?<![章节条]) +(?=[\w])"
)
_TRAILING_SPACE = re.compile(r"[ ]+(?=\n|$)|(?<=\n)[ ]+|^[ ]+")
_EXTRA_NEWLINES = re.compile(r"(?<=\n\n)\n+")

_NOISE_LINE = re.compile(
    r"^(?:您现在的位置|您的位置|当前位置|所在位置|首页\s*>|首页\s*»)"
    r"|打印此页|关闭窗口|打印本页|关闭本页|【打印】|【关闭】|\[打印\]|\[关闭\]|返回顶部|分享到[:：]?"
    r"|^字体[:：]?\s*(?:[大中小]\s*)*$|^【?字号[:：]?"
    r"|版权所有|备案号|ICP备|网站标识码|主办单位[:：]|承办单位[:：]|技术支持[:：]"
    r"|^(?:浏览量|浏览次数|访问量|阅读量|点击数|阅读次数)[:：]?\s*\d*\s*$"
)
_LICENCE_TAIL_CHARS = 1500  # how far from the end a licence notice may start
_META_LINE = re.compile(r"(?:来源|发布机构|发文机关)[:：]|(?:发布时间|发布日期|成文日期)[:：]|(?:浏览量|浏览次数|访问量)[:：]")
# The publisher ends where the next header field, a run of spaces or a separator starts.
_PUBLISHER = re.compile(
    r"(?:来源|发布机构|发文机关|信息来源)[:：]\s*(.+?)\s*(?=发布时间|发布日期|成文日期|浏览|访问|字体|字号|作者|点击|\s{2}|[|｜【\[]|$)"
)
_PUBLISHED = re.compile(r"(?:发布时间|发布日期|成文日期|时间|日期)[:：]\s*" + DATE.pattern)
_TITLE_WORDS = re.compile(r"报告|计划|要点|方案|总结|规划|办法|意见|通知|决定|条例|规定|情况|公报|纲要|细则")
_ORG_SUFFIX = re.compile(r"(?:局|委|办|办公室|政府|院|厅|会|室|中心|部|委员会|所|站|处|馆|队)$")
_SIGNED_DATE = re.compile(r"^(?:\d{4}年\d{1,2}月\d{1,2}日|\d{7,8}|\d{4}[-./]\d{1,2}[-./]\d{1,2})$")


@dataclass(frozen=True, eq=False)
class CleanedReport:
    """The cleaned text, what the header said, and where each character came from.

    (Who issued the report, its place and years are read from the cleaned text by
    `rag.ingest.identity`.)"""

    text: str
    title: str | None
    publisher: str | None
    published: str | None  # ISO date
    signature: str | None
    source_index: np.ndarray  # source_index[i] = offset in the raw text of text[i]

    def to_source(self, offset: int) -> int:
        """Offset in the raw text of the cleaned character at `offset` (end maps to raw end)."""
        if offset == len(self.text):
            return int(self.source_index[-1]) + 1 if len(self.text) else 0
        return int(self.source_index[offset])


def clean_report(raw: str, title_hint: str | None = None, published_hint: str | None = None) -> CleanedReport:
    """Clean a raw report and read its title, publisher, dates from the header and signature."""
    text = normalize_width(raw)
    keep = np.ones(len(text), dtype=bool)
    for pattern in (_INVISIBLE, _BRAILLE, _HTML_FRAGMENT):
        _drop_matches(keep, pattern, text)
    text, index = _apply(text, keep, np.arange(len(text), dtype=np.int64))

    lines = _lines(text)
    keep = np.ones(len(text), dtype=bool)
    publisher = published = None
    header_end = _first_content_line(lines)
    for start, end, line in lines:
        stripped = line.strip()
        if _META_LINE.search(stripped) and len(stripped) < 160:
            publisher = publisher or _match(_PUBLISHER, stripped)
            published = published or _published(stripped)
            # the header line stays (the report's own facts, citable); the site's counters go
            for m in COUNTER_FIELD.finditer(line):
                keep[start + m.start() : start + m.end()] = False
        elif (_NOISE_LINE.search(stripped) or is_chrome_line(stripped)) and len(stripped) < 80:
            keep[start:end] = False
    _drop_licence_tail(text, keep)
    title = _take_title(lines, header_end, keep, title_hint)
    signature, signed = _take_signature(lines, keep)
    text, index = _apply(text, keep, index)

    keep = np.ones(len(text), dtype=bool)
    for pattern in (_SPACE_BETWEEN_CJK, _TRAILING_SPACE, _EXTRA_NEWLINES):
        _drop_matches(keep, pattern, text)
    text, index = _apply(text, keep, index)
    text, index = _strip(text, index)

    published = published_hint or published or parse_date(signed or "", None)
    return CleanedReport(
        text=text,
        title=title,
        publisher=publisher or signature,
        published=published,
        signature=signature,
        source_index=index,
    )


def _drop_licence_tail(text: str, keep: np.ndarray) -> None:
    """A wiki's licence notice at the very end is the site's, not the report's."""
    tail = max(0, len(text) - _LICENCE_TAIL_CHARS)
    m = LICENCE_TAIL.search(text, tail)
    if m:
        keep[m.start() :] = False


def _drop_matches(keep: np.ndarray, pattern: re.Pattern[str], text: str) -> None:
    for m in pattern.finditer(text):
        keep[m.start() : m.end()] = False


def _apply(text: str, keep: np.ndarray, index: np.ndarray) -> tuple[str, np.ndarray]:
    if keep.all():
        return text, index
    return _join_runs(text, keep), index[np.flatnonzero(keep)]


def _join_runs(text: str, keep: np.ndarray) -> str:
    """Concatenate the kept runs of `text` (slices, not one character at a time)."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], keep.astype(np.int8), [0]))))
    return "".join(text[s:e] for s, e in zip(edges[::2], edges[1::2], strict=True))


def _strip(text: str, index: np.ndarray) -> tuple[str, np.ndarray]:
    start = len(text) - len(text.lstrip())
    end = len(text.rstrip())
    return text[start:end], index[start:end]


def _lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end including the newline, line text) for each line."""
    out, pos = [], 0
    for line in text.splitlines(keepends=True):
        out.append((pos, pos + len(line), line.rstrip("\n")))
        pos += len(line)
    return out


def _match(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return m.group(1).strip() or None if m else None


def _published(line: str) -> str | None:
    m = _PUBLISHED.search(line)
    return iso_date(*map(int, m.groups())) if m else None


def _first_content_line(lines: list[tuple[int, int, str]]) -> int:
    """Index of the first line that is neither blank nor page noise."""
    for i, (_, _, line) in enumerate(lines):
        stripped = line.strip()
        if stripped and not _NOISE_LINE.search(stripped) and not _META_LINE.search(stripped) and not is_chrome_line(stripped):
            return i
    return len(lines)


def _take_title(
    lines: list[tuple[int, int, str]], first: int, keep: np.ndarray, title_hint: str | None
) -> str | None:
    """Remove the title line from the body and return it (the hint wins if given)."""
    if first >= len(lines):
        return title_hint
    start, end, line = lines[first]
    candidate = line.strip().lstrip("#").strip()
    looks_like_title = (
        len(candidate) <= 80
        and not SENTENCE_END.search(candidate[:-1])
        and not candidate.endswith(("。", ",", ":"))
        and (_TITLE_WORDS.search(candidate) or candidate == (title_hint or "").strip())
        and not re.match(r"^(?:[一二三四五六七八九十]+、|\(|第[一二三四五六七八九十\d]+[章节条]|\d+[.、])", candidate)
    )
    if looks_like_title:
        keep[start:end] = False
        return title_hint or candidate
    return title_hint


def _take_signature(lines: list[tuple[int, int, str]], keep: np.ndarray) -> tuple[str | None, str | None]:
    """Remove closing signature lines (publisher name, bare date); return them."""
    signature = signed = None
    tail = [(s, e, line.strip()) for s, e, line in lines if line.strip() and keep[s:e].any()]
    for start, end, line in reversed(tail[-4:]):
        if signed is None and _SIGNED_DATE.match(line):
            signed = line
        elif signature is None and len(line) <= 30 and _ORG_SUFFIX.search(line) and not SENTENCE_END.search(line):
            signature = line
        else:
            break
        keep[start:end] = False
    return signature, signed
