"""Raw text out of report files (txt, md, html, pdf, docx), one paragraph per line.

`extract(path)` reads a file and never writes anything; `extract_bytes` does the
same for an upload. Both return `Extracted`: the text with one paragraph per
line and a blank line between paragraphs, plus what the file itself says about
its encoding, title and publication date.

What the format readers (`rag.ingest.formats`) remove is the furniture of each
*format*: HTML navigation, breadcrumbs, scripts, share/print links and site
footers; PDF page numbers, running headers and line wraps; Markdown syntax.
Generic cleaning of the text (width normalisation, "来源:…发布时间:…" lines,
signatures) is `rag.ingest.clean`'s job.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import LoadError
from .encoding import declared_html_charset, decode_text
from .formats import docx, html, markdown, pdf, text
from .formats.common import Extracted, Format, human_size, join_paragraphs

__all__ = ["DEFAULT_MAX_BYTES", "SUPPORTED_SUFFIXES", "Extracted", "Format", "extract", "extract_bytes", "sniffed_suffix"]

_FORMATS: dict[str, Format] = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_FORMATS)
DEFAULT_MAX_BYTES = 20 * 2**20


def extract(path: Path | str, max_bytes: int = DEFAULT_MAX_BYTES) -> Extracted:
    """Read `path` (opened read-only) and extract its text; the extension picks the format.

    Raises LoadError naming the file for unsupported types, missing, empty,
    oversize, binary, corrupt, encrypted or scanned (image-only) files.
    Example: `extract("data/reports/suzhou-kjj-2024-fzzf.txt").encoding == "utf-8"`.
    """
    path = Path(path)
    name = str(path)
    fmt = _format_of(path.name, name)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise LoadError(name, "not a regular file")
        _check_size(size, max_bytes, name)
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise LoadError(name, "file not found") from None
    except PermissionError:
        raise LoadError(name, "permission denied (the file is not readable)") from None
    except IsADirectoryError:
        raise LoadError(name, "not a regular file") from None
    except OSError as exc:
        raise LoadError(name, f"cannot read the file: {exc.strerror or exc}") from exc
    _check_size(len(data), max_bytes, name)  # it may have grown since stat()
    return _extract(data, fmt, name)


def extract_bytes(data: bytes, filename: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Extracted:
    """Extract an upload's text; `filename`'s extension picks the format and names it in errors."""
    fmt = _format_of(filename, filename)
    _check_size(len(data), max_bytes, filename)
    return _extract(bytes(data), fmt, filename)


def _extract(data: bytes, fmt: Format, name: str) -> Extracted:
    if not data.strip():
        raise LoadError(name, "file is empty")
    if fmt == "pdf":
        return pdf.extract_pdf(data, name)
    if fmt == "docx":
        return docx.extract_docx(data, name)
    declared = declared_html_charset(data) if fmt == "html" else None
    decoded, encoding = decode_text(data, name, declared=declared)
    if not decoded.strip():
        raise LoadError(name, "file is empty")
    if fmt == "html":
        return html.extract_html(decoded, encoding, name)
    paragraphs = markdown.markdown_paragraphs(decoded) if fmt == "md" else text.plain_paragraphs(decoded)
    out = join_paragraphs(paragraphs)
    if not out:
        raise LoadError(name, "file is empty (no text once the markup is removed)")
    title = markdown.markdown_title(paragraphs) if fmt == "md" else None
    return Extracted(text=out, format=fmt, encoding=encoding, title=title)


def sniffed_suffix(data: bytes) -> str:
    """The suffix for bytes sent without one (a script's upload named `blob`), from how they begin.

    A zip is taken for a DOCX (its reader says so when it holds no document); anything not
    PDF, zip or HTML is text (its decoder says so when it is not).
    >>> sniffed_suffix(b"%PDF-1.7 ..."), sniffed_suffix(b"<!DOCTYPE html><html>"), sniffed_suffix("报告".encode())
    ('.pdf', '.html', '.txt')
    """
    head = data[:1024].removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"%PDF-"):
        return ".pdf"
    if head.startswith(b"PK\x03\x04"):
        return ".docx"
    if head[:15].lower().startswith((b"<!doctype html", b"<html")) or b"<html" in head.lower():
        return ".html"
    return ".txt"


def _format_of(filename: str, name: str) -> Format:
    suffix = Path(filename).suffix.lower()
    fmt = _FORMATS.get(suffix)
    if fmt is None:
        shown = f"'{suffix}'" if suffix else "(no extension)"
        raise LoadError(name, f"unsupported file type {shown}; supported: {', '.join(SUPPORTED_SUFFIXES)}")
    return fmt


def _check_size(size: int, max_bytes: int, name: str) -> None:
    if size > max_bytes:
        shown, limit = human_size(size), human_size(max_bytes)
        if shown == limit:
            shown = f"{size:,} bytes"
            limit = f"{max_bytes:,} bytes"
        raise LoadError(name, f"file is {shown}; the limit is {limit}")

