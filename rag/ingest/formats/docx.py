"""DOCX: paragraphs and table rows in document order, heading styles as headings,
the core properties' title and creation date; zip bombs and legacy .doc refused.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from datetime import datetime

from ...errors import LoadError
from .common import EDGE_SPACE, Extracted, heading_line, human_size, join_paragraphs, squash

__all__ = ["extract_docx"]

# Zip-bomb guard: limits on what the zip directory declares.
_ZIP_MAX_TOTAL = 200 * 2**20
_ZIP_MAX_RATIO = 100
_ZIP_MAX_ENTRIES = 5000

# python-docx's default template carries this creation time; it says nothing about the report.
_DOCX_TEMPLATE_CREATED = datetime(2013, 12, 23, 23, 15)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def extract_docx(data: bytes, name: str) -> Extracted:
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise LoadError(
            name,
            "not a DOCX (zip) file but an OLE compound file: a legacy Word .doc, or a "
            "password-protected document; save it as an unprotected .docx",
        )
    _check_zip(data, name)
    import docx
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
        lines = list(_docx_blocks(document.element.body, document, Paragraph))
        props = document.core_properties
        title = squash(props.title or "") or None
        created = props.created
    except LoadError:
        raise
    except Exception as exc:  # python-docx/zipfile/lxml raise many types on damaged files
        raise LoadError(name, f"corrupt or unreadable DOCX: {type(exc).__name__}: {exc}") from exc
    out = join_paragraphs(lines)
    if not out:
        raise LoadError(name, "file is empty (the document has no text)")
    if title is None:
        title = next((line.lstrip("#").strip() for line in lines if line.startswith("# ")), None)
    published = None
    if isinstance(created, datetime) and created.replace(tzinfo=None) != _DOCX_TEMPLATE_CREATED:
        published = created.date().isoformat()
    return Extracted(text=out, format="docx", encoding=None, title=title, published=published)


def _check_zip(data: bytes, name: str) -> None:
    """Refuse zip bombs and non-Word zips by reading only the zip directory."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise LoadError(name, f"corrupt or truncated DOCX (not a readable zip archive: {exc})") from exc
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    # Small parts (styles, XML boilerplate) compress well legitimately; only big ones count.
    inflated = [
        i for i in infos if i.file_size > 2**20 and i.file_size > _ZIP_MAX_RATIO * max(1, i.compress_size)
    ]
    if len(infos) > _ZIP_MAX_ENTRIES or total > _ZIP_MAX_TOTAL or inflated:
        ratio = max((i.file_size / max(1, i.compress_size) for i in infos), default=0.0)
        raise LoadError(
            name,
            f"suspicious compressed file (a possible zip bomb): {len(infos)} entries, "
            f"{human_size(packed)} expanding to {human_size(total)} (worst ratio {ratio:.0f}:1); "
            f"limits are {human_size(_ZIP_MAX_TOTAL)}, {_ZIP_MAX_RATIO}:1 and {_ZIP_MAX_ENTRIES} entries",
        )
    if "word/document.xml" not in {i.filename for i in infos}:
        raise LoadError(
            name, "not a Word document: the zip has no word/document.xml (is it .xlsx/.pptx/.zip?)"
        )


def _docx_blocks(container, document, paragraph_cls) -> Iterator[str]:
    """Paragraphs and table rows of a body or table cell, in document order."""
    for child in container.iterchildren():
        tag = child.tag
        if tag == f"{_W}p":
            yield from _docx_paragraph(child, document, paragraph_cls)
        elif tag == f"{_W}tbl":
            yield from _docx_table(child, document, paragraph_cls)
        elif tag in (f"{_W}sdt", f"{_W}customXml", f"{_W}ins"):  # content controls and wrappers
            content = child.find(f"{_W}sdtContent")
            yield from _docx_blocks(content if content is not None else child, document, paragraph_cls)


def _docx_paragraph(p, document, paragraph_cls) -> Iterator[str]:
    parts: list[str] = []
    # Runs anywhere in the paragraph (hyperlinks, insertions, fields), but not text boxes.
    for el in p.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr", f"{_W}noBreakHyphen"):
        if el.getparent().tag != f"{_W}r" or any(a.tag == f"{_W}txbxContent" for a in el.iterancestors()):
            continue
        if el.tag == f"{_W}t":
            parts.append(el.text or "")
        elif el.tag == f"{_W}tab":
            parts.append("\t")
        elif el.tag == f"{_W}noBreakHyphen":
            parts.append("-")
        else:
            parts.append("\n")
    text = "".join(parts)
    if not text.strip(EDGE_SPACE):
        return
    level = _docx_heading_level(paragraph_cls(p, document))
    for line in text.split("\n"):
        if line.strip(EDGE_SPACE):
            yield heading_line(line, level) if level else line


def _docx_heading_level(paragraph) -> int | None:
    """Heading level from the style name (Heading N, 标题 N, Title) or an outline level."""
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if m := re.fullmatch(r"(?:Heading|heading|标题)\s*([1-9])", name):
        return int(m.group(1))
    if name in ("Title", "标题"):
        return 1
    for el in (paragraph._p, *(_style_chain(style))):
        lvl = el.find(f"{_W}pPr/{_W}outlineLvl")
        if lvl is not None:
            value = int(lvl.get(f"{_W}val", "9"))
            return value + 1 if value < 9 else None
    return None


def _style_chain(style) -> Iterator:
    seen = 0
    while style is not None and seen < 10:  # basedOn chains are short; cycles are not impossible
        yield style.element
        style = style.base_style
        seen += 1


def _docx_table(tbl, document, paragraph_cls) -> Iterator[str]:
    """Data rows as 'cell | cell'; layout rows (one filled cell, or cells of running
    text) as their paragraphs, so a report laid out in a table keeps its structure."""
    for tr in tbl.iterchildren(f"{_W}tr"):
        cells = [
            tc for tc in tr.iter(f"{_W}tc") if tc.getparent() is tr or tc.getparent().tag == f"{_W}sdtContent"
        ]
        filled = [c for c in (list(_docx_blocks(tc, document, paragraph_cls)) for tc in cells) if c]
        if len(filled) == 1 or any(len(c) > 3 or any(len(line) > 150 for line in c) for c in filled):
            for content in filled:
                yield from content
        elif filled:
            yield " | ".join(" ".join(line.strip(EDGE_SPACE) for line in c) for c in filled)
