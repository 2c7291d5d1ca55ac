"""Raw text out of report files (txt, md, html, pdf, docx), one paragraph per line.

`extract(path)` reads a file and never writes anything; `extract_bytes` does the
same for an upload. Both return `Extracted`: the text with one paragraph per
line and a blank line between paragraphs, plus what the file itself says about
its encoding, title and publication date.

What is removed here is the furniture of each *format*: HTML navigation,
breadcrumbs, scripts, share/print links and site footers; PDF page numbers,
running headers and line wraps; Markdown syntax. Generic cleaning of the text
(width normalisation, "来源:…发布时间:…" lines, signatures) is `rag.clean`'s job.

Headings that the format marks (HTML <h1>-<h6>, DOCX heading styles, Markdown
'#') become their own paragraph; unless the heading already starts with a
Chinese numbering marker (一、 （一） 1. 第X章 …) it gets Markdown '#'s by level,
so the section parser sees it either way.
"""

from __future__ import annotations

import codecs
import copy
import html as htmllib
import io
import re
import statistics
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from .errors import LoadError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_SUFFIXES",
    "Extracted",
    "Format",
    "decode_text",
    "extract",
    "extract_bytes",
]

Format = Literal["txt", "md", "html", "pdf", "docx"]

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

# Zip-bomb guard for DOCX: limits on what the zip directory declares.
_ZIP_MAX_TOTAL = 200 * 2**20
_ZIP_MAX_RATIO = 100
_ZIP_MAX_ENTRIES = 5000


@dataclass(frozen=True, slots=True)
class Extracted:
    """Text of one report file, before cleaning.

    `text` has one paragraph per line, paragraphs separated by a blank line and
    no trailing spaces. `encoding` is the detected encoding of text formats
    (None for PDF/DOCX). `title` and `published` (ISO date) are what the file's
    own metadata says (<title>/<h1>/meta tags, DOCX core properties, PDF info),
    or None.
    """

    text: str
    format: Format
    encoding: str | None = None
    title: str | None = None
    published: str | None = None


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
        return _extract_pdf(data, name)
    if fmt == "docx":
        return _extract_docx(data, name)
    declared = _declared_html_charset(data) if fmt == "html" else None
    text, encoding = decode_text(data, name, declared=declared)
    if not text.strip():
        raise LoadError(name, "file is empty")
    if fmt == "html":
        return _extract_html(text, encoding, name)
    paragraphs = _markdown_paragraphs(text) if fmt == "md" else _plain_paragraphs(text)
    out = _join_paragraphs(paragraphs)
    if not out:
        raise LoadError(name, "file is empty (no text once the markup is removed)")
    title = (
        next((p.lstrip("#").strip() for p in paragraphs if p.startswith("# ")), None) if fmt == "md" else None
    )
    return Extracted(text=out, format=fmt, encoding=encoding, title=title)


def _format_of(filename: str, name: str) -> Format:
    suffix = Path(filename).suffix.lower()
    fmt = _FORMATS.get(suffix)
    if fmt is None:
        shown = f"'{suffix}'" if suffix else "(no extension)"
        raise LoadError(name, f"unsupported file type {shown}; supported: {', '.join(SUPPORTED_SUFFIXES)}")
    return fmt


def _check_size(size: int, max_bytes: int, name: str) -> None:
    if size > max_bytes:
        shown, limit = _human_size(size), _human_size(max_bytes)
        if shown == limit:
            shown = f"{size:,} bytes"
            limit = f"{max_bytes:,} bytes"
        raise LoadError(name, f"file is {shown}; the limit is {limit}")


def _human_size(n: int) -> str:
    for unit, scale in (("MB", 2**20), ("KB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


# ------------------------------------------------------------------ encodings

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


def _declared_html_charset(data: bytes) -> str | None:
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


# ----------------------------------------------------------------- paragraphs

# Chinese numbering at the start of a heading or list paragraph. Numerals must
# form a number (一 … 九十九, 一百…), so that '五一、中秋' is not taken for one.
_CN_NUM = r"(?:[一二三四五六七八九]百(?:零?[一二三四五六七八九]|[一二三四五六七八九]?十[一二三四五六七八九]?)?|[一二三四五六七八九]?十[一二三四五六七八九]?|[一二三四五六七八九])"
_HEADING_MARKER = re.compile(
    rf"""^(?:
        {_CN_NUM}[、．.]                                     # 一、
      | [（(]{_CN_NUM}[）)]                                   # （一）
      | [（(]\d{{1,3}}[）)]                                   # （1）
      | \d{{1,3}}(?:[.．](?![\d.．])|、)                      # 1. 1、  (not 1.5)
      | [①-⑳]                                              # ①
      | 第[一二三四五六七八九十百千零〇\d]+[章节条部分篇编款]  # 第X章 第X条
      | {_CN_NUM}是                                          # 一是
    )""",
    re.X,
)
# A line ending like this ends its paragraph. A closing quote only counts after
# sentence-final punctuation: '“苏科创十八条”' at a line end is mid-sentence.
_ENDS_PARAGRAPH = re.compile(r"(?:[。！？；：!?;:…]|[。！？!?…][”’」』）)])$")
_EDGE_SPACE = " \t\r\n\f\v\u3000\xa0\u200b\ufeff"


def _heading_line(text: str, level: int) -> str:
    """A heading as its own paragraph: '#'s by level unless Chinese numbering already marks it."""
    text = text.strip(_EDGE_SPACE)
    if not text or _HEADING_MARKER.match(text):
        return text
    return "#" * max(1, min(level, 6)) + " " + text


# Markers that start a paragraph even when layout does not show it. List markers
# (1. / 一是) are left to layout in PDFs: a wrapped line can start with them by chance.
_STRONG_HEADING = re.compile(rf"^(?:{_CN_NUM}、|[（(]{_CN_NUM}[）)]|第[一二三四五六七八九十百千零〇\d]+[章节条])")


def _breaks_before(prev: str, nxt: str) -> bool:
    """Whether `nxt` starts a new paragraph after the wrapped line `prev`, by text alone."""
    return bool(_ENDS_PARAGRAPH.search(prev) or _HEADING_MARKER.match(nxt))


def _glue(a: str, b: str) -> str:
    """Join a wrapped line to the next: no space between CJK, one between Latin words."""
    if a and b and a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum():
        return f"{a} {b}"
    return a + b


def _join_paragraphs(paragraphs: Iterable[str]) -> str:
    lines: list[str] = []
    for paragraph in paragraphs:
        for line in paragraph.splitlines():
            line = line.strip(_EDGE_SPACE)
            if line:
                lines.append(line)
    return "\n\n".join(lines)


def _cjk_count(text: str) -> int:
    return sum(1 for c in text if "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf")


# ------------------------------------------------------------ txt and markdown


def _plain_paragraphs(text: str) -> list[str]:
    """A text file's lines are its paragraphs (reports copied from pages are one per line)."""
    return [line for line in text.splitlines() if line.strip(_EDGE_SPACE)]


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


def _markdown_paragraphs(text: str) -> list[str]:
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
    return [p for p in out if p.strip(_EDGE_SPACE)]


def _join_wrapped(lines: Sequence[str]) -> str:
    """Join soft-wrapped lines; a sentence end or a numbering marker starts a new line,
    and so does the line after a short numbered heading ('一、总体情况')."""
    parts: list[str] = []
    for line in lines:
        after_heading = bool(_HEADING_MARKER.match(parts[-1]) and len(parts[-1]) <= 40) if parts else False
        if parts and not after_heading and not _breaks_before(parts[-1], line):
            parts[-1] = _glue(parts[-1], line)
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
    return htmllib.unescape(text).strip(_EDGE_SPACE)


# ----------------------------------------------------------------------- HTML

_HTML_DROP_TAGS = (
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
    "nav", "aside", "footer", "select", "option", "button", "input", "textarea", "label", "map",
)  # fmt: skip
# class/id words of page furniture on Chinese government sites (pinyin included).
_FURNITURE = re.compile(
    r"""^(?:.*[-_])?(?:
        nav|navbar|navigation|menu|submenu|breadcrumbs?|crumbs?|bread|position|location|
        dqwz|weizhi|footer|foot|bottom|copyright|banquan|share|bdshare|fenxiang|
        print|dayin|sidebar|side|related|xgxx|xglj|xgwz|friendlinks?|links|header|
        search|logo|banner|toolbar|pagenav|prevnext|sxp|fontsize|ziti
    )(?:[-_].*)?$""",
    re.X | re.I,
)
_PUBLISHED_META = (
    "pubdate", "publishdate", "publish_date", "publish-date", "publishtime", "firstpublishedtime",
    "article:published_time", "og:published_time", "og:article:published_time", "datepublished",
    "dc.date.issued", "dc.date", "dcterms.issued", "dc.date.created", "date", "releasedate",
)  # fmt: skip
_TITLE_META = ("articletitle", "og:title", "dc.title")
_DATE = re.compile(
    r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})|\b((?:19|20)\d{2})(\d{2})(\d{2})\b"
)

# Lines of page furniture that survive structural cleaning (inline in the article area).
_NAV_LINE = re.compile(r"^(?:您现在的位置|您的位置|当前位置|现在位置|所在位置|位置)\s*[:：]")
_TOOL_LINE = re.compile(
    r"^(?:[\s|｜/【】\[\]（）()>:：·]*(?:分享到|分享|微信|微博|新浪微博|腾讯微博|QQ空间|QQ好友|朋友圈|打印此页|打印本页|打印|"
    r"关闭窗口|关闭本页|关闭|收藏|返回顶部|返回|字体|字号|大|中|小|默认|上一篇|下一篇|扫一扫在手机打开当前页|"
    r"扫一扫|在手机上查看|视力保护色|保护视力色|繁體|简体|无障碍|长者模式)[\s|｜/【】\[\]（）()>:：·]*)+$"
)
_FOOTER_STRONG = re.compile(r"备案号|ICP备|ICP证|网站标识码|公网安备|版权所有|Copyright|©")
_FOOTER_WEAK = re.compile(
    r"主办单位|承办单位|技术支持|维护单位|网站地图|联系我们|网站纠错|建议使用|浏览器|分辨率"
)


def _extract_html(text: str, encoding: str, name: str) -> Extracted:
    import lxml.html

    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        tree = lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)
    except Exception as exc:  # lxml raises several types on hopeless markup
        raise LoadError(name, f"unreadable HTML: {exc}") from exc
    title, published = _html_metadata(tree)
    _drop_furniture(tree)
    lines = _html_body_lines(tree)
    lines = [line for line in lines if not _is_furniture_line(line)]
    out = _join_paragraphs(lines)
    if not out:
        raise LoadError(name, "no report text found in the page (only navigation or scripts)")
    return Extracted(text=out, format="html", encoding=encoding, title=title, published=published)


def _html_metadata(tree) -> tuple[str | None, str | None]:
    metas: dict[str, str] = {}
    for meta in tree.iter("meta"):
        key = (meta.get("name") or meta.get("property") or meta.get("itemprop") or "").strip().lower()
        value = (meta.get("content") or "").strip()
        if key and value and key not in metas:
            metas[key] = value
    published = next((iso for key in _PUBLISHED_META if (iso := _iso_date(metas.get(key, "")))), None)
    title = next((_squash(metas[key]) for key in _TITLE_META if metas.get(key)), None)
    if title is None:
        page_title = _squash(tree.findtext(".//title") or "")
        headings = [_squash(h.text_content()) for h in tree.iter("h1")]
        title = next((h for h in headings if h and (not page_title or h in page_title)), None)
        if title is None and page_title:
            # "报告标题_苏州市科学技术局": the article's title comes first, the site's name after.
            site = metas.get("sitename") or metas.get("og:site_name")
            parts = [p for p in re.split(r"\s*(?:_|\||｜| - | — |--)\s*", page_title) if p and p != site]
            title = parts[0] if parts else None
        if title is None and headings:
            title = headings[0] or None
    return title, published


def _iso_date(value: str) -> str | None:
    m = _DATE.search(value)
    if not m:
        return None
    y, mo, d = (int(g) for g in (m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6)))
    try:
        return date(y, mo, d).isoformat()
    except ValueError:
        return None


def _drop_furniture(tree) -> None:
    """Remove scripts, navigation, sidebars, footers, share/print tools from the tree, in place.

    Class and id words decide, except that an element holding half the page's
    Chinese text outside links is kept whatever its class says: a misleading
    class (id="print_area" around the article) must not cost the body.
    """
    for el in list(tree.iter(*_HTML_DROP_TAGS)):
        _remove(el)
    for el in list(tree.iter("header")):
        if not any(a.tag in ("article", "main") for a in el.iterancestors()):
            _remove(el)
    body = tree.find("body")
    total = _unlinked_cjk(body) if body is not None else 0
    for el in list(tree.iter()):
        if not isinstance(el.tag, str) or el.tag in ("html", "body") or el.getparent() is None:
            continue
        words = (el.get("class") or "").split() + [el.get("id") or ""]
        if any(w and _FURNITURE.match(w) for w in words) and _unlinked_cjk(el) < total / 2:
            _remove(el)


def _unlinked_cjk(el) -> int:
    """Chinese characters under `el` outside links (navigation is mostly links)."""
    return _cjk_count(el.text_content()) - sum(_cjk_count(a.text_content()) for a in el.iter("a"))


def _remove(el) -> None:
    """Remove an element but keep its tail text (which belongs to the parent)."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _is_furniture_line(line: str) -> bool:
    line = line.strip(_EDGE_SPACE)
    if _NAV_LINE.match(line) or _TOOL_LINE.match(line):
        return True
    if len(line) > 150:
        return False
    return bool(_FOOTER_STRONG.search(line)) or len(set(_FOOTER_WEAK.findall(line))) >= 2


def _html_body_lines(tree) -> list[str]:
    """The article's lines: trafilatura's main-content pick, unless the densest
    block of Chinese text holds clearly more text (trafilatura dropped some) or
    many more paragraphs (trafilatura flattened them)."""
    import trafilatura
    from lxml import etree

    dense = _densest_container(tree)
    dense_lines = _render(dense, _HTML_BLOCKS) if dense is not None else []
    xml = trafilatura.extract(
        copy.deepcopy(tree),
        output_format="xml",
        include_tables=True,
        include_comments=False,
        include_images=False,
        include_links=False,
        include_formatting=False,
        deduplicate=False,
        favor_recall=True,
    )
    if xml:
        main = etree.fromstring(xml.encode("utf-8")).find("main")
        traf_lines = _render(main, _TRAF_BLOCKS, xml=True) if main is not None else []
        kept = _cjk_count("".join(line for line in traf_lines if not _is_furniture_line(line)))
        body = _cjk_count("".join(line for line in dense_lines if not _is_furniture_line(line)))
        # On short pages trafilatura falls back to one flat paragraph: keep it only
        # when it kept both the text and the paragraph structure.
        if kept >= 0.9 * body and len(traf_lines) >= 0.5 * len(dense_lines):
            return traf_lines
    return dense_lines


_HTML_BLOCKS = frozenset((
    "p", "div", "section", "article", "main", "blockquote", "pre", "ul", "ol", "dl", "dt", "dd", "li",
    "center", "address", "figure", "figcaption", "caption", "table", "thead", "tbody", "tfoot", "form",
    "fieldset", "header", "footer", "details", "summary", "body", "html",
))  # fmt: skip
_TRAF_BLOCKS = frozenset(("p", "list", "item", "quote", "code", "table", "main", "doc", "div"))
_ROW_TAGS = frozenset(("tr", "row"))
_CELL_TAGS = frozenset(("td", "th", "cell"))
_BREAK_TAGS = frozenset(("br", "lb", "hr"))
_HEADING_TAGS = {f"h{i}": i for i in range(1, 7)}


def _squash(text: str) -> str:
    return re.sub(r"[ \t\r\n\f]+", " ", text).strip(_EDGE_SPACE)


def _render(root, blocks: frozenset[str], xml: bool = False) -> list[str]:
    """Lines of an HTML or trafilatura-XML subtree: blocks and <br> break lines,
    headings stand alone, simple table rows become 'cell | cell | cell'."""
    out: list[str] = []
    buf: list[str] = []

    def brk() -> None:
        line = _squash("".join(buf))
        buf.clear()
        if line:
            out.append(line)

    def walk(el) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        level = _HEADING_TAGS.get(tag) or (_heading_level_of(el) if tag == "head" and xml else None)
        if level:
            brk()
            out.append(_heading_line(_squash(el.xpath("string()")), level))
        elif tag in _ROW_TAGS and _is_simple_row(el):
            brk()
            cells = [_squash(c.xpath("string()")) for c in el if c.tag in _CELL_TAGS]
            out.append(" | ".join(c for c in cells if c))
        elif tag in _BREAK_TAGS:
            brk()
        else:
            block = tag in blocks or tag in _ROW_TAGS or tag in _CELL_TAGS
            if block:
                brk()
            if el.text and tag:
                buf.append(el.text)
            for child in el:
                walk(child)
            if block:
                brk()
        if el.tail:
            buf.append(el.tail)

    walk(root)
    brk()
    return [line for line in out if line]


def _heading_level_of(el) -> int:
    m = re.fullmatch(r"h([1-6])", el.get("rend") or "")
    return int(m.group(1)) if m else 2


def _is_simple_row(row) -> bool:
    """A data row: two or more non-empty cells, none holding paragraphs or tables.
    (Layout tables put a whole article in one cell; those are walked as blocks.)"""
    cells = [c for c in row if c.tag in _CELL_TAGS]
    filled = [c for c in cells if _squash(c.xpath("string()"))]
    if len(filled) < 2:
        return False
    nested = ("p", "div", "table", "br", "ul", "ol", "li", "lb", "list", "head") + tuple(_HEADING_TAGS)
    return not any(d.tag in nested for c in filled for d in c.iterdescendants())


_OWNER_TAGS = _HTML_BLOCKS | _ROW_TAGS | _CELL_TAGS | frozenset(_HEADING_TAGS)


def _densest_container(tree):
    """The element whose paragraphs hold the most Chinese text, link text excluded.

    Text belongs to its nearest block ancestor (a <p>, or a <div> holding
    <br>-separated text); each such block credits its parent fully and its
    grandparent by half, as readability-style extractors do. The best-credited
    element is the article container.
    """
    own: Counter = Counter()
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        owner = el
        while owner is not None and owner.tag not in _OWNER_TAGS:
            owner = owner.getparent()
        if owner is None:
            continue
        in_link = el.tag == "a" or any(a.tag == "a" for a in el.iterancestors())
        n = 0 if in_link else _cjk_count(el.text or "")
        n += sum(_cjk_count(child.tail or "") for child in el)
        if n:
            own[owner] += n
    scores: Counter = Counter()
    for block, n in own.items():
        parent = block.getparent()
        if parent is not None:
            scores[parent] += n
            if parent.getparent() is not None:
                scores[parent.getparent()] += n / 2
    if not scores:
        return tree.find("body")
    return max(scores, key=lambda el: scores[el])


# ------------------------------------------------------------------------ PDF

_PAGE_NUMBER = re.compile(
    r"""^(?:
        [-—–－~\s]*\d{1,4}[-—–－~\s]*                        # 3, - 3 -, —3—
      | 第\s*\d{1,4}\s*页(?:\s*[,，、/]?\s*共\s*\d{1,4}\s*页)?  # 第 3 页, 第3页 共10页
      | 共\s*\d{1,4}\s*页\s*第\s*\d{1,4}\s*页
      | \d{1,4}\s*/\s*\d{1,4}                              # 3/10
      | (?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?    # Page 3 of 10
    )$""",
    re.X | re.I,
)
_CJK_GAP = re.compile(
    r"(?<=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])[ \t]+(?=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])"
)
_PDF_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class _PdfLine:
    text: str
    x: float  # start of the line, page space
    y: float  # baseline
    size: float  # effective font size
    page: int


def _extract_pdf(data: bytes, name: str) -> Extracted:
    if b"%PDF-" not in data[:1024]:
        raise LoadError(name, f"not a PDF file: no '%PDF-' header (it starts with {data[:16]!r})")
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # many PDFs only restrict editing: empty user password
            except DependencyError as exc:
                raise LoadError(name, f"PDF is encrypted with AES and cannot be opened here ({exc})") from exc
            if not opened:
                raise LoadError(
                    name, "PDF is password-protected; open it with its password and save an unprotected copy"
                )
        pages = [_pdf_page_lines(page, number) for number, page in enumerate(reader.pages)]
        title, published = _pdf_metadata(reader)
    except LoadError:
        raise
    except FileNotDecryptedError as exc:
        raise LoadError(name, f"PDF is password-protected: {exc}") from exc
    except Exception as exc:  # pypdf raises many types on malformed files; all mean "corrupt"
        raise LoadError(name, f"corrupt or unreadable PDF: {type(exc).__name__}: {exc}") from exc
    if not any(line.text.strip() for lines in pages for line in lines):
        raise LoadError(
            name,
            f"PDF has no extractable text ({len(pages)} page(s), probably scanned images); "
            "OCR is not supported: supply a text PDF, DOCX or TXT version",
        )
    lines = _drop_running_lines(pages)
    out = _join_paragraphs(_pdf_paragraphs(lines))
    if not out:
        raise LoadError(name, "PDF has no text besides page numbers and running headers")
    return Extracted(text=out, format="pdf", encoding=None, title=title, published=published)


def _pdf_metadata(reader) -> tuple[str | None, str | None]:
    meta = reader.metadata
    if meta is None:
        return None, None
    title = _squash(str(meta.title or "")) or None
    if title:
        # Word's PDF printer names the document after the file.
        title = re.sub(r"^Microsoft Word\s*-\s*", "", title)
        title = re.sub(r"\.(?:docx?|wps|pdf)$", "", title, flags=re.I).strip() or None
    published = None
    try:
        created = meta.creation_date
    except Exception:  # a malformed date string must not make the whole PDF unreadable
        created = None
    if isinstance(created, datetime):
        published = created.date().isoformat()
    return title, published


def _pdf_page_lines(page, number: int) -> list[_PdfLine]:
    """Lines of one page with their position, from pypdf's text visitor.

    pypdf reports each text run with the text matrix of the line it belongs to
    and ends a line with '\n'; a jump in y also ends one.
    """
    lines: list[_PdfLine] = []
    parts: list[str] = []
    sizes: Counter = Counter()  # characters per font size in the open line
    start: tuple[float, float, float] | None = None  # x, y, size of the open line

    def close() -> None:
        nonlocal start
        if start is not None:
            text = _PDF_CONTROLS.sub("", "".join(parts))  # unmapped glyphs come out as NUL
            text = _CJK_GAP.sub("", text).strip(_EDGE_SPACE)  # spacing artefacts between CJK glyphs
            if text:
                # The line's size is that of most of its characters: generators often
                # set the font after emitting an indent or a stray run.
                size = sizes.most_common(1)[0][0] if sizes else start[2]
                lines.append(_PdfLine(text, start[0], start[1], size, number))
        parts.clear()
        sizes.clear()
        start = None

    def visit(text: str, cm, tm, _font, font_size) -> None:
        nonlocal start
        if not text:
            return
        # Position and size in page space: the text matrix times the CTM.
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        a, b = tm[0] * cm[0] + tm[1] * cm[2], tm[0] * cm[1] + tm[1] * cm[3]
        size = float(font_size or 1.0) * ((a * a + b * b) ** 0.5 or 1.0)
        for i, part in enumerate(text.split("\n")):
            if i > 0:
                close()
            if not part:
                continue
            if start is not None and abs(start[1] - y) > 0.6 * max(size, start[2]):
                close()
            if start is None:
                start = (x, y, size)
            parts.append(part)
            sizes[round(size, 1)] += len(part.strip())

    page.extract_text(visitor_text=visit)
    close()
    return lines


def _drop_running_lines(pages: Sequence[list[_PdfLine]]) -> list[_PdfLine]:
    """Remove page numbers and running headers/footers.

    Candidates are the two top-most and two bottom-most lines of each page
    (by position, not content order: many generators draw the footer first).
    A candidate goes if it looks like a page number, or if its text (digits
    ignored) is a candidate on at least two pages and 40% of them.
    """

    def key(text: str) -> str:
        return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))

    edges: list[set[int]] = []
    for lines in pages:
        order = sorted(range(len(lines)), key=lambda i: lines[i].y)
        edges.append(set(order[:2]) | set(order[-2:]))
    seen = Counter(
        k for lines, idx in zip(pages, edges, strict=True) for k in {key(lines[i].text) for i in idx}
    )
    repeated = {k for k, n in seen.items() if n >= 2 and n >= 0.4 * len(pages)}
    kept: list[_PdfLine] = []
    for lines, idx in zip(pages, edges, strict=True):
        for i, line in enumerate(lines):
            if i in idx and (_PAGE_NUMBER.match(line.text) or key(line.text) in repeated):
                continue
            kept.append(line)
    return kept


def _est_width(text: str, size: float) -> float:
    """Rough printed width: wide and ambiguous characters (CJK fonts print “” full width) one em, others half."""
    return size * sum(1.0 if unicodedata.east_asian_width(c) in "WFA" else 0.5 for c in text)


def _pdf_margins(body: Sequence[_PdfLine]) -> dict[int, tuple[float, float]]:
    """Left edge and (estimated) right edge of the text, per page (-1: the whole document).

    Per page because printed documents mirror their margins on odd and even
    pages; pages with few lines use the document-wide values.
    """

    def edges(lines: Sequence[_PdfLine]) -> tuple[float, float]:
        ends = sorted(line.x + _est_width(line.text, line.size) for line in lines)
        return min(line.x for line in lines), ends[int(0.75 * (len(ends) - 1))]

    by_page: dict[int, list[_PdfLine]] = {}
    for line in body:
        by_page.setdefault(line.page, []).append(line)
    margins = {page: edges(lines) for page, lines in by_page.items() if len(lines) >= 5}
    margins[-1] = edges(body)
    return margins


def _pdf_paragraphs(lines: Sequence[_PdfLine]) -> list[str]:
    """Join wrapped lines into paragraphs.

    A line starts a new paragraph when it starts with a heading marker
    (一、 （一） 第X章), the font size
    changes, the vertical gap is clearly larger than the usual line pitch, it is
    indented past the left margin, or the previous line stops well short of the
    right margin.
    """
    if not lines:
        return []
    body_size = statistics.median(line.size for line in lines)
    body = [line for line in lines if abs(line.size - body_size) < 0.5] or list(lines)
    margins = _pdf_margins(body)
    pitches = [
        round(a.y - b.y, 1)
        for a, b in zip(lines, lines[1:], strict=False)
        if a.page == b.page and abs(a.size - b.size) < 0.5 and 0 < a.y - b.y < 3 * a.size
    ]
    pitch = statistics.median(pitches) if pitches else body_size * 1.5

    paragraphs: list[str] = []
    prev: _PdfLine | None = None
    for line in lines:
        if prev is None:
            paragraphs.append(line.text)
        else:
            # Layout decides here: a line can end with 。 or start with 二是 by chance.
            new = (
                bool(_STRONG_HEADING.match(line.text))
                or abs(line.size - prev.size) >= 0.5
                or (
                    line.page == prev.page
                    and (prev.y - line.y > 1.2 * pitch or line.y > prev.y + 0.5 * pitch)
                )
                or line.x > margins.get(line.page, margins[-1])[0] + 0.9 * line.size
                or prev.x + _est_width(prev.text, prev.size)
                < margins.get(prev.page, margins[-1])[1] - 2 * prev.size
            )
            if new:
                paragraphs.append(line.text)
            else:
                paragraphs[-1] = _glue(paragraphs[-1], line.text)
        prev = line
    return paragraphs


# ----------------------------------------------------------------------- DOCX

# python-docx's default template carries this creation time; it says nothing about the report.
_DOCX_TEMPLATE_CREATED = datetime(2013, 12, 23, 23, 15)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _extract_docx(data: bytes, name: str) -> Extracted:
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
        title = _squash(props.title or "") or None
        created = props.created
    except LoadError:
        raise
    except Exception as exc:  # python-docx/zipfile/lxml raise many types on damaged files
        raise LoadError(name, f"corrupt or unreadable DOCX: {type(exc).__name__}: {exc}") from exc
    out = _join_paragraphs(lines)
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
            f"{_human_size(packed)} expanding to {_human_size(total)} (worst ratio {ratio:.0f}:1); "
            f"limits are {_human_size(_ZIP_MAX_TOTAL)}, {_ZIP_MAX_RATIO}:1 and {_ZIP_MAX_ENTRIES} entries",
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
    if not text.strip(_EDGE_SPACE):
        return
    level = _docx_heading_level(paragraph_cls(p, document))
    for line in text.split("\n"):
        if line.strip(_EDGE_SPACE):
            yield _heading_line(line, level) if level else line


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
            yield " | ".join(" ".join(line.strip(_EDGE_SPACE) for line in c) for c in filled)
