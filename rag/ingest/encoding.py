"""Bytes of a text file → text: byte-order marks, UTF-16 without BOM, UTF-8, GB18030, HTML charsets.

Binary files renamed to .txt/.html (images, archives, executables, PDFs) are
refused with what they look like.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from ..errors import LoadError

__all__ = ["decode_text", "declared_html_charset"]

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Magic numbers of binary formats people rename to .txt/.html by mistake.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document; give it a .pdf extension"),
    (b"PK\x03\x04", "a zip archive (DOCX/XLSX are zips); give it its real extension"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Office file (.doc/.xls); save it as .docx"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "an executable"),
    (b"MZ", "a Windows executable"),
)

_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v")


def decode_text(data: bytes, name: str, declared: str | None = None) -> tuple[str, str]:
    """Decode a text file's bytes; returns (text, encoding name).

    Order: BOM; UTF-16 without BOM (NULs on one byte parity); strict UTF-8;
    the `declared` charset (HTML meta); GB18030 (a superset of GBK/GB2312);
    charset-normalizer. Text with NULs or many control characters is binary.
    Raises LoadError(name, "binary file, not text (…)") when nothing fits.
    """
    for magic, what in _MAGIC:
        if data.startswith(magic) and not (magic == b"MZ" and _looks_textual(data[:512])):
            raise LoadError(name, f"binary file, not text (it looks like {what})")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(data[len(bom) :].decode(encoding.replace("-sig", "")), name), encoding
            except UnicodeDecodeError:
                raise LoadError(
                    name,
                    f"binary file, not text (it starts with a {encoding} byte-order mark but is not {encoding})",
                ) from None
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return _checked(utf16[0], name), utf16[1]
    candidates = ["utf-8"]
    if declared:
        candidates.append(declared)
    candidates.append("gb18030")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        return _checked(text, name), encoding
    from charset_normalizer import from_bytes  # only for the rare file nothing above fits

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise LoadError(name, "binary file, not text (no known text encoding fits its bytes)")
    return _checked(str(best), name), best.encoding


def _looks_textual(head: bytes) -> bool:
    return b"\x00" not in head


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """UTF-16 text without a BOM has its ASCII characters' NUL bytes all on one parity."""
    if len(data) < 4:
        return None
    even, odd = data[0::2].count(0), data[1::2].count(0)
    pairs = len(data) // 2
    for nuls, other, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        # '一' (U+4E00) and friends put a NUL on the other parity, so allow some there.
        if nuls >= max(2, pairs // 200) and other <= nuls // 4:
            try:
                text = data[: pairs * 2].decode(encoding)
            except UnicodeDecodeError:
                continue
            if "\x00" not in text and _controls(text) <= 0.01 * len(text):
                return text, encoding
    return None


def _controls(text: str) -> int:
    """Control characters other than tab and line/page breaks: rare in text, common in binary."""
    return sum(1 for c in text if c not in _ALLOWED_CONTROLS and unicodedata.category(c) == "Cc")


def _checked(text: str, name: str) -> str:
    if "\x00" in text:
        raise LoadError(name, "binary file, not text (it contains NUL bytes)")
    bad = _controls(text)
    if bad >= 3 and bad > 0.01 * len(text):
        raise LoadError(name, f"binary file, not text ({bad} control characters in {len(text)})")
    return text


_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""", re.I)


def declared_html_charset(data: bytes) -> str | None:
    """The charset a page declares in <meta charset>/http-equiv or an XML prolog, as a codec name."""
    head = data[:4096]
    match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    if not match:
        return None
    label = match.group(1).decode("ascii").lower()
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        return None
    # Pages labelled gb2312/gbk routinely use characters outside them (browsers decode
    # them as GBK); GB18030 is the superset. Latin-1 labels mean windows-1252 (WHATWG).
    if codec in ("gb2312", "gbk", "hz"):
        return "gb18030"
    if codec in ("latin-1", "iso8859-1", "ascii"):
        return "cp1252"
    if codec.startswith(("utf-16", "utf-32")):
        return None  # a byte-oriented page cannot really be UTF-16 (WHATWG treats it as UTF-8)
    return codec
