"""Government web pages: the article's text without navigation, breadcrumbs, scripts,
share/print tools and site footers.

trafilatura picks the main content; a content-density pick (the element whose
paragraphs hold the most Chinese text outside links) checks it, and wins when
trafilatura dropped text or flattened the paragraphs. The page's <title>, <h1>
and meta tags give the title and publication date.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from datetime import date

from ...errors import LoadError
from ..chrome import is_chrome_line
from .common import Extracted, cjk_count, heading_line, join_paragraphs, squash

__all__ = ["extract_html"]

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

def extract_html(text: str, encoding: str, name: str) -> Extracted:
    import lxml.html

    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        tree = lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)
    except Exception as exc:  # lxml raises several types on hopeless markup
        raise LoadError(name, f"unreadable HTML: {exc}") from exc
    title, published = _html_metadata(tree)
    _drop_furniture(tree)
    lines = _html_body_lines(tree)
    lines = [line for line in lines if not is_chrome_line(line)]
    out = join_paragraphs(lines)
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
    title = next((squash(metas[key]) for key in _TITLE_META if metas.get(key)), None)
    if title is None:
        page_title = squash(tree.findtext(".//title") or "")
        headings = [squash(h.text_content()) for h in tree.iter("h1")]
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
    return cjk_count(el.text_content()) - sum(cjk_count(a.text_content()) for a in el.iter("a"))


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
        kept = cjk_count("".join(line for line in traf_lines if not is_chrome_line(line)))
        body = cjk_count("".join(line for line in dense_lines if not is_chrome_line(line)))
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



def _render(root, blocks: frozenset[str], xml: bool = False) -> list[str]:
    """Lines of an HTML or trafilatura-XML subtree: blocks and <br> break lines,
    headings stand alone, simple table rows become 'cell | cell | cell'."""
    out: list[str] = []
    buf: list[str] = []

    def brk() -> None:
        line = squash("".join(buf))
        buf.clear()
        if line:
            out.append(line)

    def walk(el) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        level = _HEADING_TAGS.get(tag) or (_heading_level_of(el) if tag == "head" and xml else None)
        if level:
            brk()
            out.append(heading_line(squash(el.xpath("string()")), level))
        elif tag in _ROW_TAGS and _is_simple_row(el):
            brk()
            cells = [squash(c.xpath("string()")) for c in el if c.tag in _CELL_TAGS]
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
    filled = [c for c in cells if squash(c.xpath("string()"))]
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
        n = 0 if in_link else cjk_count(el.text or "")
        n += sum(cjk_count(child.tail or "") for child in el)
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
