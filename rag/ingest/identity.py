"""Report identity: who issued a report, what it is, when and where, read off its own text.

Pure. The facts come from the report's header lines and structure, the way a
reader finds them: the title line and its genre word (…政府工作报告, …的意见,
…条例), the delivery line (——2025年1月20日在四川省第十四届人民代表大会第四次会议上),
the speaker line (省长 许昆林, 国务院总理 李克强), a web page's metadata table
(发文机关 | 成文日期 | 发文字号), "我代表…人民政府向大会报告工作", a review section's
year (一、2024年工作回顾), "本条例自2019年1月1日起施行". Each fact found in the text
keeps its offsets (`FactSpan`), so an answer can quote the line it comes from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..text.dates import dates_in, parse_date
from ..text.places import PROVINCES, canonical_place, is_province, places_in
from ..types import FactSpan, Level

__all__ = ["Identity", "read_identity", "GENRES", "PERIODIC_GENRES"]

HEADER_CHARS = 1500  # header facts (delivery, meeting, speaker, metadata table) stand before this

# Genre words by the way titles end, longest first; variants map to the genre a user filters by.
GENRES: tuple[tuple[str, str], ...] = (
    ("政府工作报告", "政府工作报告"), ("法治政府建设情况报告", "法治政府建设报告"),
    ("法治政府建设年度报告", "法治政府建设报告"), ("法治政府建设报告", "法治政府建设报告"),
    ("统计公报", "统计公报"), ("工作总结", "工作总结"), ("工作要点", "工作要点"), ("工作规则", "规则"),
    ("实施条例", "条例"), ("条例", "条例"), ("实施细则", "细则"), ("细则", "细则"), ("办法", "办法"),
    ("规定", "规定"), ("指导意见", "意见"), ("实施意见", "意见"), ("意见", "意见"), ("措施", "措施"),
    ("方案", "方案"), ("规划", "规划"), ("纲要", "纲要"), ("计划", "计划"), ("预案", "预案"),
    ("决定", "决定"), ("批复", "批复"), ("复函", "函"), ("函", "函"), ("通报", "通报"), ("通知", "通知"),
    ("公告", "公告"), ("工作报告", "工作报告"), ("报告", "报告"),
)  # fmt: skip
# Genres written once a period (year) about it: a year in their title is the year reported on.
PERIODIC_GENRES = frozenset({"政府工作报告", "法治政府建设报告", "工作总结", "工作要点", "统计公报", "工作报告", "报告"})
_GENRE_WORDS = "|".join(re.escape(word) for word, _ in GENRES)
_TITLE_GENRE = re.compile(rf"(?:{_GENRE_WORDS})(?=[》”\"）)]*$)")
# A joined title names its genre first: 2024年工作总结和2025年工作思路, …报告及附件.
_JOINED_TITLE_GENRE = re.compile(rf"(?:{_GENRE_WORDS})(?=(?:和|及|与|暨)[^和及与暨]{{2,20}}$)")
_GOVERNMENT_REPORT_BODY = re.compile(r"向大会(?:作政府工作报告|报告[^\n,，。]{0,12}?工作)|作政府工作报告")

_CN = "一二三四五六七八九十"
_MEETING = re.compile(
    rf"在\s*((?:[\u4e00-\u9fff]{{2,12}}?)?第?[{_CN}]+届\s*(?:全国)?人民代表大会\s*第[{_CN}]+次会议)\s*(?:上|的)"
)
# A role, after its place and government if given (北京市市长, 四川省人民政府省长, 自治区人民政府主席), starting
# a line or right after a date or "…会议上" (so no earlier words are taken into it).
_ROLE = (
    r"(?:(?<=[上日—\s。,，])|^)(?:[\u4e00-\u9fff]{0,9}?(?:省|市|自治区|区|县))?(?:人民政府)?"
    r"(?:国务院总理|代理省长|代省长|省长|代理市长|代市长|市长|代理主席|主席|区长|县长|局长|主任)"
)
_NAME = r"[\u4e00-\u9fff]{2,4}?(?:·[\u4e00-\u9fff]{2,8}?)?"
_NAME_END = r"(?=同志|作|在|代表|向|的|\s|$|[,，。:：])"
# 省长 许昆林 / 国务院总理\n\n李克强 / 北京市市长 殷勇同志作…
_ROLE_THEN_NAME = re.compile(rf"({_ROLE})[ \t]*\n*[ \t]*({_NAME}){_NAME_END}", re.M)
# 龚正市长在… (after a date or at a line start)
_NAME_THEN_ROLE = re.compile(rf"(?:(?<=日)|(?<=\n)|^)({_NAME})((?:代理|代)?(?:省长|市长|主席|区长|县长))(?=在|作)")
# 艾尔肯·吐尼亚孜代表自治区人民政府，向大会作政府工作报告
_NAME_REPRESENTS = re.compile(rf"(?:^|(?<=\n))({_NAME})代表[^\n,，。]{{0,16}}人民政府[,，]?\s*向大会作政府工作报告", re.M)
_REPRESENTS = re.compile(r"我代表((?:[\u4e00-\u9fff]{0,12}?)(?:国务院|人民政府|省政府|市政府|区政府|县政府))")
_PUBLISHER_FIELD = re.compile(r"(?:来源|信息来源)[:：]\s*([^\s|]+?)(?=发布时间|发布日期|\s|\||$)")
_PUBLISHED_FIELD = re.compile(r"(?:发布时间|发布日期|时间)[:：]\s*\|?\s*((?:19|20)\d{2}[-年/.]\d{1,2}[-月/.]\d{1,2}日?)")
_ISSUER_FIELD = re.compile(r"发文机关[:：]\s*\|?\s*([^\s|]+)")
_DATE_FIELD = re.compile(r"成文日期[:：]\s*\|?\s*([^\s|]+)")
_NUMBER_FIELD = re.compile(r"发文字号[:：]\s*\|?\s*([^\s|]+号)")
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,8}〔\d{4}〕\d+号|国令第\d+号")
_EFFECTIVE = re.compile(r"自\s*((?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*起(?:施行|实施|执行)")
_REVIEW_YEAR = re.compile(r"^[一二三四五六七八九十]+、[^\n]{0,12}?((?:19|20)\d{2})\s*年[^\n]{0,6}?工作回顾", re.M)
_TITLE_ISSUER = re.compile(r"^([\u4e00-\u9fff]{2,20}?(?:国务院办公厅|国务院|人民政府|政府|办公厅|委员会|局|厅|委|部|办|院|署))关于")
_LEADING_YEAR = re.compile(r"^((?:19|20)\d{2})\s*年")
# A year in a title that is not a deadline or a span's end (到2025年, 2021—2025年).
_TITLE_YEAR = re.compile(r"(?<![到至—\-－~])((?:19|20)\d{2})\s*年(?!\s*[—\-－至到~])")
_YEARLY = re.compile(r"((?:19|20)\d{2})\s*年度")
_ORG = re.compile(r"(?:国务院|人民政府|政府|办公厅|委员会|局|厅|委|办公室|办|院|署|中心)$")
_PLACE_UNIT = re.compile(r"([\u4e00-\u9fff]{2,4}?(?:市|区|县))")
_GENERIC_GOVERNMENTS = frozenset({"人民政府", "省人民政府", "市人民政府", "自治区人民政府", "区人民政府", "县人民政府"})
_YEAR_IN_NAME = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_ANY_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_NEWSPAPER = re.compile(r"日报|晚报|新闻|新华社|报社|客户端|网$|^.{0,6}报$|电视台|广播")


@dataclass(frozen=True)
class Identity:
    """The identity fields of `rag.types.DocumentMeta`, as read from one report."""

    title: str | None = None
    issuer: str | None = None
    level: Level | None = None
    place: str | None = None
    genre: str | None = None
    year: int | None = None
    reports_on: int | None = None
    issued: int | None = None
    delivered: str | None = None
    meeting: str | None = None
    speaker: str | None = None
    speaker_role: str | None = None
    doc_number: str | None = None
    effective: str | None = None
    published: str | None = None  # ISO date of a 发布时间 header line (a page's own metadata may give it instead)
    spans: tuple[FactSpan, ...] = field(default=())


def read_identity(
    text: str,
    title: str | None,
    *,
    publisher: str | None = None,
    published: str | None = None,
    signature: str | None = None,
    source: str = "",
) -> Identity:
    """Everything the report says about itself. `title` is the title line (or the file's own
    metadata title), `publisher` the page's 来源, `signature` a closing signature line.

    >>> text = "——2025年1月19日在江苏省第十四届人民代表大会第三次会议上\\n\\n省长 许昆林\\n\\n各位代表:\\n\\n一、2024年工作回顾"
    >>> i = read_identity(text, "2025年江苏省政府工作报告")
    >>> i.genre, i.place, i.issuer, i.level, i.year, i.reports_on, i.issued, i.delivered, i.speaker
    ('政府工作报告', '江苏省', '江苏省人民政府', '省', 2025, 2024, 2025, '2025-01-19', '许昆林')
    """
    header = text[:HEADER_CHARS]
    spans: list[FactSpan] = []

    def keep(name: str, m: re.Match[str] | None, group: int = 1) -> str | None:
        if m is None:
            return None
        spans.append(FactSpan(name, m.start(group), m.end(group)))
        return re.sub(r"\s+", "", m.group(group))

    genre = _genre(title, text)
    keep("publisher", _PUBLISHER_FIELD.search(header))
    published = published or parse_date(keep("published", _PUBLISHED_FIELD.search(header)) or "")
    meeting = keep("meeting", _MEETING.search(header))
    delivered = _delivered(header, spans)
    speaker, role = _speaker(header, spans)
    doc_number = keep("doc_number", _NUMBER_FIELD.search(header)) or keep("doc_number", _DOC_NUMBER.search(header), 0)
    effective_match = _last(_EFFECTIVE, text)
    effective = parse_date(keep("effective", effective_match) or "")
    issuer = _issuer(title, header, genre, meeting, role, publisher, signature, spans)
    if issuer in _GENERIC_GOVERNMENTS:  # 我代表省人民政府: which province the title or meeting says
        place = _place(None, title, meeting, role)
        issuer = f"{place}人民政府" if place else None
    else:
        place = _place(issuer, title, meeting, role)
    if issuer is None and genre == "政府工作报告" and place:  # a work report is its place's government's
        issuer = f"{place}人民政府"
    issued, reports_on, year = _years(title, text, genre, delivered, published, source)
    return Identity(
        title=_clean_title(title, genre, year, place, issuer),
        issuer=issuer,
        level=_level(issuer, place),
        place=place,
        genre=genre,
        year=year,
        reports_on=reports_on,
        issued=issued,
        delivered=delivered,
        meeting=meeting,
        speaker=speaker,
        speaker_role=role,
        doc_number=doc_number,
        effective=effective,
        published=published,
        spans=tuple(spans),
    )


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    found = None
    for found in pattern.finditer(text):  # noqa: B007  (the last one is wanted)
        pass
    return found


def _genre(title: str | None, text: str) -> str | None:
    if title:
        m = _TITLE_GENRE.search(title.strip()) or _JOINED_TITLE_GENRE.search(title.strip())
        if m:
            return dict(GENRES)[m.group(0)]
    if _GOVERNMENT_REPORT_BODY.search(text[:HEADER_CHARS]):
        return "政府工作报告"
    return None


def _delivered(header: str, spans: list[FactSpan]) -> str | None:
    """The date the report was delivered (the delivery line) or the document signed (成文日期)."""
    m = _DATE_FIELD.search(header)
    if m and (iso := parse_date(m.group(1))):
        spans.append(FactSpan("delivered", m.start(1), m.end(1)))
        return iso
    meeting = _MEETING.search(header)
    if meeting:  # the date on the delivery line, just before "在…会议上"
        line_start = header.rfind("\n", 0, meeting.start()) + 1
        found = [d for d in dates_in(header[line_start : meeting.end()]) if d[0] + line_start <= meeting.start()]
        if found:
            start, end, iso = found[-1]
            spans.append(FactSpan("delivered", line_start + start, line_start + end))
            return iso
    return None


def _speaker(header: str, spans: list[FactSpan]) -> tuple[str | None, str | None]:
    """Who delivered the report and in which capacity (only around the delivery of a report)."""
    body = _GOVERNMENT_REPORT_BODY.search(header) or re.search(r"各位代表", header)
    if body is None and not _MEETING.search(header):
        return None, None
    window = header[: body.end() if body else len(header)]
    for pattern, name_group, role_group in ((_ROLE_THEN_NAME, 2, 1), (_NAME_THEN_ROLE, 1, 2), (_NAME_REPRESENTS, 1, None)):
        m = pattern.search(window)
        if m:
            spans.append(FactSpan("speaker", m.start(name_group), m.end(name_group)))
            role = None
            if role_group is not None:
                spans.append(FactSpan("speaker_role", m.start(role_group), m.end(role_group)))
                role = re.sub(r"\s+", "", m.group(role_group))
            return m.group(name_group), role
    return None, None


def _issuer(
    title: str | None,
    header: str,
    genre: str | None,
    meeting: str | None,
    role: str | None,
    publisher: str | None,
    signature: str | None,
    spans: list[FactSpan],
) -> str | None:
    m = _ISSUER_FIELD.search(header)
    if m:
        spans.append(FactSpan("issuer", m.start(1), m.end(1)))
        return m.group(1)
    m = _TITLE_ISSUER.match(title or "")
    if m:
        return m.group(1)
    if genre == "政府工作报告":
        m = _REPRESENTS.search(header)
        if (m and m.group(1).endswith("国务院")) or (meeting and "全国人民代表大会" in meeting):
            return "国务院"
        if m:
            return m.group(1).replace("省政府", "省人民政府").replace("市政府", "市人民政府")
    for name in (signature, publisher):
        if name and _ORG.search(name) and not _NEWSPAPER.search(name):
            return name
    return None


def _place(issuer: str | None, title: str | None, meeting: str | None, role: str | None) -> str | None:
    """The place the issuer governs (full name); None for national documents."""
    if issuer and issuer.startswith("国务院"):
        return None
    for text in (issuer, title, meeting, role):
        if not text:
            continue
        provinces = places_in(text)
        if provinces:
            local = _local_place(text, provinces[0])
            return local or provinces[0]
        local = _local_place(text, None)
        if local:
            return local
    return None


def _local_place(text: str, province: str | None) -> str | None:
    """The most specific city, district or county named at the start of `text`, after its
    province if any (苏州市吴江区司法局 → 吴江区)."""
    rest = text
    if province:
        for alias in sorted({province, PROVINCES[province]}, key=len, reverse=True):
            at = rest.find(alias)
            if at >= 0:
                rest = rest[at + len(alias) :]
                break
    rest = re.sub(r"^(?:19|20)\d{2}年(?:度)?", "", rest)
    found = None
    while m := _PLACE_UNIT.match(rest):
        if not canonical_place(m.group(1)) or m.group(1).endswith(("省市", "城市")):
            break
        found, rest = m.group(1), rest[m.end() :]
    return found


def _level(issuer: str | None, place: str | None) -> Level | None:
    if issuer is None:
        return None
    if issuer.startswith("国务院"):
        return "国务院"
    if not issuer.endswith(("人民政府", "政府")):
        return "部门"
    if place is None:
        return None
    if is_province(place):
        return "省"
    return "区县" if place.endswith(("区", "县")) else "市"


def _years(
    title: str | None, text: str, genre: str | None, delivered: str | None, published: str | None, source: str
) -> tuple[int | None, int | None, int | None]:
    """(issued, reports_on, year in the report's name)."""
    title = title or ""
    named = _LEADING_YEAR.match(title) or (_TITLE_YEAR.search(title) if genre in PERIODIC_GENRES else None)
    yearly = _YEARLY.search(title)
    issued = int(delivered[:4]) if delivered else None
    if genre == "政府工作报告":
        # the header's date, the title's year, the year the review section looks back on, the file's name
        issued = issued or (int(named.group(1)) if named else None) or _reviewed_year_after(text)
        if issued is None and (m := _YEAR_IN_NAME.search(Path(source).stem)):
            issued = int(m.group(1))
        return issued, issued - 1 if issued else None, issued
    if yearly:  # 2024年度…报告: reports on that year, issued after it
        reports_on = int(yearly.group(1))
        issued = issued or (int(published[:4]) if published else None)
        return issued, reports_on, reports_on
    if issued is None and published:
        issued = int(published[:4])
    year = int(named.group(1)) if named else issued
    return issued, int(named.group(1)) if named else None, year


def _reviewed_year_after(text: str) -> int | None:
    """A government work report's year from its review section: the year after the one it looks
    back on (一、2024年工作回顾 → 2025; a review of "过去五年" counts its most mentioned year)."""
    review = _REVIEW_YEAR.search(text)
    if review:
        return int(review.group(1)) + 1
    first = re.search(r"^一、[^\n]*回顾[^\n]*$", text, re.M)
    if first is None:
        return None
    second = re.search(r"^二、", text[first.end() :], re.M)
    section = text[first.end() : first.end() + second.start()] if second else text[first.end() :]
    years = [int(y) for y in _ANY_YEAR.findall(section)]
    if not years:
        return None
    counts: dict[int, int] = {}
    for y in years:
        counts[y] = counts.get(y, 0) + 1
    return max(counts, key=lambda y: (counts[y], y)) + 1


def _clean_title(
    title: str | None, genre: str | None, year: int | None, place: str | None, issuer: str | None
) -> str | None:
    """The title as the report gives it; composed from its identity when it gives none or only a
    genre word (政府工作报告), never a bare file name."""
    generic = not title or not re.search(r"[\u4e00-\u9fff]", title) or title == genre
    if not generic:
        return title
    if genre == "政府工作报告" and year:
        who = place or ("国务院" if issuer and issuer.startswith("国务院") else "")
        return f"{year}年{who}政府工作报告"
    if genre and issuer:
        return f"{issuer}{genre}" + (f"（{year}年）" if year else "")
    return title

