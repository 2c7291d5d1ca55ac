"""Markdown: headings keep their '#'s; emphasis, links, code marks, images, comments and
front matter go; soft-wrapped lines are joined unless a line ends a sentence or the next
starts with Chinese numbering."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Sequence

from ...text.markers import LINE_MARKER
from .common import EDGE_SPACE, breaks_before, glue

__all__ = ["markdown_paragraphs", "markdown_title"]

_FRONT_MATTER = re.compile(
    r"\A(?:---[ \t]*\n.*?\n(?:---|\.\.\.)|\+\+\+[ \t]*\n.*?\n\+\+\+)[ \t]*(?:\n|\Z)", re.S
)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
# '##一、标题' without the space is common in Chinese Markdown; '#tag' stays text.
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+|(?=[^\x00-\x7f])|$)(.*?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```+|~~~+)")
_THEMATIC = re.compile(r"^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_BULLET = re.compile(r"^[ \t]*[-*+][ \t]+")
_ORDERED = re.compile(r"^[ \t]*\d{1,9}[.)][ \t]+")
_QUOTE = re.compile(r"^[ \t]{0,3}>[ \t]?")
_REF_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*\S+")
_TABLE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$")
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*$")

_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_MD_CODE = re.compile(r"(`+)(.+?)\1", re.S)
_MD_IMAGE = re.compile(r"!\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])")
_MD_LINK = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\[[^\]]*\])")
_MD_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>")
_MD_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_EM_STAR = re.compile(r"\*(?=\S)(.+?)(?<=\S)\*")
_MD_EM_UNDER = re.compile(r"(?<![A-Za-z0-9_])_(?=\S)(.+?)(?<=\S)_(?![A-Za-z0-9_])")
_MD_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_MD_BREAK_TAG = re.compile(r"<br\s*/?>", re.I)
_MD_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")


def markdown_paragraphs(text: str) -> list[str]:
    """Markdown → paragraphs: headings keep their '#'s; emphasis, links, code marks,
    images, comments and front matter go. Soft-wrapped lines are joined unless the
    line ends a sentence or the next one starts with Chinese numbering (files
    converted from reports often put one paragraph per line without blank lines).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _FRONT_MATTER.sub("", text, count=1)
    text = _HTML_COMMENT.sub("", text)
    out: list[str] = []
    current: list[str] = []  # wrapped lines of the paragraph being read

    def flush() -> None:
        if current:
            out.append(_md_inline(_join_wrapped(current)))
            current.clear()

    fence: str | None = None
    for raw in text.split("\n"):
        if fence is not None:  # inside a code block: each line as it is
            if raw.strip().startswith(fence):
                fence = None
            elif raw.strip():
                out.append(raw.strip())
            continue
        if m := _FENCE.match(raw):
            flush()
            fence = m.group(1)[:3]
            continue
        line = raw
        while _QUOTE.match(line):
            line = _QUOTE.sub("", line, count=1)
        if not line.strip():
            flush()
        elif m := _ATX.match(line):
            flush()
            content = _md_inline(m.group(2) or "")
            if content:
                out.append(f"{m.group(1)} {content}")
        elif current and _SETEXT.match(line) and not _BULLET.match(current[-1]):
            level = "#" if line.strip().startswith("=") else "##"
            out.append(f"{level} {_md_inline(_join_wrapped(current))}")
            current.clear()
        elif _THEMATIC.match(line) or _REF_DEF.match(line) or _TABLE_RULE.match(line) and "-" in line:
            flush()
        elif _TABLE_ROW.match(line):
            flush()
            cells = [_md_inline(c) for c in line.strip().strip("|").split("|")]
            out.append(" | ".join(c for c in cells if c))
        elif _BULLET.match(line) or _ORDERED.match(line):
            flush()
            current.append(_BULLET.sub("", line, count=1).strip())
        else:
            current.append(line.strip())
            if raw.endswith("  ") or raw.endswith("\\"):  # a hard line break
                current[-1] = current[-1].rstrip("\\")
                flush()
    flush()
    return [p for p in out if p.strip(EDGE_SPACE)]


def _join_wrapped(lines: Sequence[str]) -> str:
    """Join soft-wrapped lines; a sentence end or a numbering marker starts a new line,
    and so does the line after a short numbered heading ('一、总体情况')."""
    parts: list[str] = []
    for line in lines:
        after_heading = bool(LINE_MARKER.match(parts[-1]) and len(parts[-1]) <= 40) if parts else False
        if parts and not after_heading and not breaks_before(parts[-1], line):
            parts[-1] = glue(parts[-1], line)
        else:
            parts.append(line)
    return "\n".join(parts)


def _md_inline(text: str) -> str:
    """Strip inline Markdown; code spans and backslash escapes are protected first."""
    kept: list[str] = []

    def protect(value: str) -> str:
        kept.append(value)
        return f"\ue000{len(kept) - 1}\ue001"

    text = _MD_CODE.sub(lambda m: protect(m.group(2).strip()), text)
    text = _MD_ESCAPE.sub(lambda m: protect(m.group(1)), text)
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_AUTOLINK.sub(r"\1", text)
    text = _MD_BREAK_TAG.sub("\n", text)
    text = _MD_TAG.sub("", text)
    text = _MD_STRONG.sub(r"\2", text)
    text = _MD_STRIKE.sub(r"\1", text)
    text = _MD_EM_STAR.sub(r"\1", text)
    text = _MD_EM_UNDER.sub(r"\1", text)
    text = re.sub("\ue000(\\d+)\ue001", lambda m: kept[int(m.group(1))], text)
    return htmllib.unescape(text).strip(EDGE_SPACE)


def markdown_title(paragraphs: Sequence[str]) -> str | None:
    """The first level-1 heading's text, or None."""
    return next((p.lstrip("#").strip() for p in paragraphs if p.startswith("# ")), None)
