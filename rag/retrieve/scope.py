"""Which reports a question is about: the places, years, genres and titles it names, matched
against the indexed reports' identities.

Pure (the catalog and today's date are arguments). A portal holds the State
Council's 政府工作报告 of many years and every province's: "四川2024年经济总量" is
about Sichuan's report that reviews 2024 (delivered 2025), "2013年政府工作报告里…" about
the report delivered in 2013, "上一年" about the year before the report named, and
a named scope no report matches is said to match nothing (the answer then names
the nearest indexed reports instead of quoting another report's figure).

Years: a government work report delivered in year N reviews N−1 and sets N's
targets, so a year a question is *about* matches the periodic reports that cover
it (delivered, reviewed or named that year); a year that names the report itself
("2025年江苏省政府工作报告") matches the report's own year. Documents that are not
periodic (意见, 条例, 通知…) are not excluded by a year: "到2025年" is a target
inside a 2018 opinion.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from ..ingest.identity import PERIODIC_GENRES
from ..text.places import place_aliases, places_in
from ..types import ReportCard

__all__ = ["Scope", "Intent", "resolve_scope", "PERIODIC_GENRES", "YEAR_MENTION", "covers_year", "title_overlap"]

Intent = Literal["target", "actual", "any"]
# Genre words a question may use to name a document (common words like 决定/计划/报告 alone are left out).
_GENRE_NAMES: tuple[tuple[str, str], ...] = (
    ("政府工作报告", "政府工作报告"), ("法治政府建设", "法治政府建设报告"), ("统计公报", "统计公报"),
    ("实施条例", "条例"), ("条例", "条例"), ("指导意见", "意见"), ("意见", "意见"), ("通知", "通知"),
    ("方案", "方案"), ("办法", "办法"), ("预案", "预案"), ("批复", "批复"), ("规划", "规划"), ("通报", "通报"),
    ("工作总结", "工作总结"), ("工作要点", "工作要点"), ("工作规则", "规则"),
)  # fmt: skip
# a year as a question names it (2025年, 2025), not 2000亿元 or 2025.5; group 1 is its digits
YEAR_MENTION = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:\s*年|(?![\d\u4e00-\u9fff%.]))")
# A genre word names a document when it ends a noun phrase (…预案把…, …意见的…, …条例和…), not in 规划面积.
_NAMING_END = r"(?=[里中的,，。?？、和与及说是从把对第分哪要有所在给由]|提出|规定|要求|明确|指出|$)"
_DEADLINE = re.compile(r"(?:到|至|截至到)\s*$")
_SHORT_YEAR = re.compile(r"(?:^|(?<=[^\d.]))(0\d)年")  # 09年 (a leading zero is never a duration)
_RELATIVE = {"今年": 0, "当年": 0, "本年": 0, "去年": -1, "上一年": -1, "上年": -1, "前年": -2, "明年": 1, "下一年": 1}
_RELATIVE_WORDS = re.compile("|".join(sorted(_RELATIVE, key=len, reverse=True)))
_REPORT_NOUN = re.compile(
    r"政府工作报告|工作报告|法治政府建设[^,，。?？]{0,8}报告|统计公报|工作总结|工作要点|报告|government work report", re.I
)
# "2015年和2016年政府工作报告": years joined to the one that names a report name reports too.
_MORE_YEARS = re.compile(r"^\s*(?:年)?\s*(?:和|与|、|及|以及|,|，|and)\s*(?:19|20)\d{2}\s*年?")
# Between a year and the report it names: a place, 的, 年度, 全国/国务院, spaces.
_YEAR_TO_REPORT = re.compile(r"^(?:年度|年)?(?:的)?\s*([\u4e00-\u9fff]{0,9}?)(?:的)?\s*$")
_NATIONAL = re.compile(r"全国|国务院|中央|国家级|\bnational\b|State Council|China's", re.I)
_TARGET = re.compile(r"目标|预期|计划|要(?!求)|拟|将|力争|准备|打算|安排(?!了)|定了|定的|确定|target|plan|aim", re.I)
_ACTUAL = re.compile(r"达到|完成|实现了|增加了|增长了|提高了|下降了|突破|共有|一共|累计|reached|was\b|were\b", re.I)
_TITLE_NOISE = re.compile(r"^(?:国务院办公厅|国务院|[\u4e00-\u9fff]{2,12}?(?:人民政府|办公厅|局|厅|委|部))?(?:转发|关于)?(?:印发)?|的?(?:通知|意见|函|复函|批复|通报)$")
_GENERIC_WORDS = re.compile(r"人民政府|政府工作报告|工作报告|国务院办公厅|国务院|办公厅|情况报告|年度报告|法治政府建设")
_UNQUOTED = re.compile(r"[“”\"'《》()（）\s]")
_GRAMS: dict[int, tuple[tuple[ReportCard, ...], dict[str, frozenset[str]]]] = {}
_TITLE_GRAM = 4  # a common run of this many characters names a title
_TITLE_SHARED_BY = 3  # a run in more titles than this says nothing about which one


@dataclass(frozen=True)
class Scope:
    """What a question names of the reports it is about, and which indexed reports match."""

    places: tuple[str, ...] = ()  # full names, in order of mention
    years: tuple[int, ...] = ()  # the years it is about (relative years resolved)
    report_years: tuple[int, ...] = ()  # years it gives as the report's own ("2025年政府工作报告")
    genres: tuple[str, ...] = ()
    national: bool = False  # 全国 / 国务院 / 中央
    titled: frozenset[str] = frozenset()  # reports whose title it names
    intent: Intent = "any"  # a target (目标, 要, 计划) or an actual figure (达到, 完成), or either
    doc_ids: frozenset[str] | None = None  # the reports in scope; None: it names none
    named: str = ""  # how it names its scope, for messages, e.g. "江苏省2024年统计公报"
    nearest: tuple[ReportCard, ...] = field(default=())  # when nothing matches: the closest reports

    @property
    def unmatched(self) -> bool:
        """The question names a scope and no indexed report matches it."""
        return self.doc_ids is not None and not self.doc_ids

    @property
    def years_about(self) -> tuple[int, ...]:
        """Every year a passage should speak of: the years it is about, else the reports' own."""
        return self.years or self.report_years


def covers_year(card: ReportCard, year: int) -> bool:
    """Whether a periodic report speaks of `year` (delivered, reviewed or named that year).

    >>> from rag.types import DocumentMeta
    >>> card = ReportCard("d", "2025年江苏省政府工作报告", "a.docx", DocumentMeta(year=2025, reports_on=2024, issued=2025))
    >>> covers_year(card, 2024), covers_year(card, 2025), covers_year(card, 2026)
    (True, True, False)
    """
    m = card.meta
    return year in {m.year, m.reports_on, m.issued}


def resolve_scope(question: str, catalog: Sequence[ReportCard], today: date | None = None) -> Scope:
    """The scope `question` names and the reports of `catalog` that match it.

    >>> from rag.types import DocumentMeta
    >>> cards = [ReportCard(f"sc{y}", f"{y}年四川省政府工作报告", "x", DocumentMeta(place="四川省", genre="政府工作报告",
    ...          year=y, reports_on=y - 1, issued=y)) for y in (2025, 2026)]
    >>> sorted(resolve_scope("四川2024年经济总量是多少？", cards).doc_ids)
    ['sc2025']
    >>> resolve_scope("江苏2024年统计公报里GDP是多少？", cards).unmatched
    True
    """
    places = tuple(places_in(question, frozenset(c.meta.place for c in catalog if c.meta.place)))
    genres = tuple(dict.fromkeys(genre for word, genre in _GENRE_NAMES if re.search(word + _NAMING_END, question)))
    national = not places and bool(_NATIONAL.search(question))
    titled = _titled(question, tuple(catalog))
    if genres and titled and not any(c.doc_id in titled and c.meta.genre in genres for c in catalog):
        titled = frozenset()  # 政府工作报告里怎么说双随机一公开监管: the genre named wins over a title's words
    intent: Intent = "target" if _TARGET.search(question) else "actual" if _ACTUAL.search(question) else "any"
    scope = Scope(places, (), (), genres, national, titled, intent)
    this_year = _newest_year(scope, catalog) or (today or date.today()).year
    report_years, about = _years(question, places, this_year)
    scope = _with(scope, years=about, report_years=report_years)
    if not (places or about or report_years or genres or national or titled):
        return scope
    matching = frozenset(c.doc_id for c in catalog if _matches(c, scope))
    if not matching and titled:  # a title's words beside a place or year it does not have: a topic, not a title
        scope = _with(scope, titled=frozenset())
        if not (places or about or report_years or genres or national):
            return scope
        matching = frozenset(c.doc_id for c in catalog if _matches(c, scope))
    if matching or not catalog:
        return _with(scope, doc_ids=matching)
    return _with(scope, doc_ids=frozenset(), named=_describe(scope), nearest=_nearest(scope, catalog))


def _with(scope: Scope, **changes: object) -> Scope:
    from dataclasses import replace

    return replace(scope, **changes)  # type: ignore[arg-type]


def _newest_year(scope: Scope, catalog: Sequence[ReportCard]) -> int | None:
    """The year of the newest periodic report the question's place, genre or title names: what
    "今年/去年" mean in it ("太仓去年的GDP" asks the newest 太仓 report's 去年). None: it names none."""
    if not (scope.places or scope.genres or scope.national or scope.titled):
        return None
    years = [c.meta.year or c.meta.issued for c in catalog if c.meta.genre in PERIODIC_GENRES and _matches(c, scope)]
    return max((y for y in years if y), default=None)


def _years(question: str, places: tuple[str, ...], this_year: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(years naming a report, years the question is about), relative years resolved against a
    report year it names, else `this_year`."""
    report_years: list[int] = []
    about: list[int] = []
    for m in [*YEAR_MENTION.finditer(question), *_SHORT_YEAR.finditer(question)]:
        if _DEADLINE.search(question[: m.start()]):
            continue  # 到2035年: a target's deadline inside some report, not the year it is about
        year = int(m.group(1)) if len(m.group(1)) == 4 else 2000 + int(m.group(1))
        (report_years if _names_a_report(question, m.end(), places) else about).append(year)
    anchor = (report_years or about or [None])[0]
    for m in _RELATIVE_WORDS.finditer(question):
        if re.match(r"\s*[(（]\s*(?:19|20)\d{2}", question[m.end() :]):
            continue  # 今年（2026年）: the year is written out
        base = report_years[0] if report_years else (anchor if m.group(0) == "当年" and anchor else this_year)
        about.append(base + _RELATIVE[m.group(0)])
    return tuple(dict.fromkeys(report_years)), tuple(dict.fromkeys(about))


def _names_a_report(question: str, year_end: int, places: tuple[str, ...]) -> bool:
    """Whether the year just read ends a phrase naming a report: 2025年(江苏省)(的)政府工作报告."""
    while m := _MORE_YEARS.match(question[year_end:]):
        year_end += m.end()
    rest = question[year_end : year_end + 32]  # room for "2021 government work report"
    noun = _REPORT_NOUN.search(rest)
    if noun is None:
        return False
    between = _YEAR_TO_REPORT.match(rest[: noun.start()])
    if between is None:
        return False
    words = between.group(1)
    aliases = {a for p in places for a in place_aliases(p)} | {"全国", "国务院", "省", "市", "自治区", ""}
    return not words or any(words.startswith(a) and len(words) - len(a) <= 2 for a in aliases)


def _matches(card: ReportCard, scope: Scope) -> bool:
    m = card.meta
    if scope.titled and card.doc_id not in scope.titled:
        return False
    if scope.places and m.place not in scope.places:
        return False
    if scope.national and m.level != "国务院":
        return False
    if scope.genres and not scope.titled and m.genre not in scope.genres and not any(g in card.title for g in scope.genres):
        return False
    if scope.report_years and m.year not in scope.report_years:
        return False
    if scope.report_years or scope.titled:
        return True  # the report is named: the years it is asked about weigh its passages, not whether it is one
    dated = m.genre in PERIODIC_GENRES and (m.year or m.reports_on or m.issued)  # an undated one cannot be told
    return not (scope.years and dated and not any(covers_year(card, y) for y in scope.years))


def _describe(scope: Scope) -> str:
    """The named scope in words: 江苏省2024年统计公报."""
    years = "、".join(f"{y}年" for y in (scope.report_years or scope.years))
    where = "、".join(scope.places) or ("国务院" if scope.national else "")
    what = "、".join(scope.genres) or "报告"
    return f"{where}{years}{what}"


def _nearest(scope: Scope, catalog: Sequence[ReportCard], limit: int = 5) -> tuple[ReportCard, ...]:
    """The closest indexed reports: the named place's (or genre's) reports, newest first."""
    for relaxed in (
        _with(scope, years=(), report_years=()),
        _with(scope, years=(), report_years=(), genres=()),
        _with(scope, years=(), report_years=(), titled=frozenset()),
    ):
        found = [c for c in catalog if _matches(c, relaxed)]
        if found:
            return tuple(sorted(found, key=lambda c: (-(c.meta.year or 0), c.title))[:limit])
    return ()


def _titled(question: str, catalog: tuple[ReportCard, ...]) -> frozenset[str]:
    """Reports whose title the question names by a distinctive run of characters."""
    if not catalog:
        return frozenset()
    grams = _title_grams(catalog)
    text = _UNQUOTED.sub("", question)
    found: set[str] = set()
    for i in range(len(text) - _TITLE_GRAM + 1):
        owners = grams.get(text[i : i + _TITLE_GRAM])
        if owners and len(owners) <= _TITLE_SHARED_BY:
            found |= owners
    return frozenset(found)


def title_overlap(text: str, title: str) -> int:
    """How many runs of three characters of `title` `text` shares (which title a phrase names).

    >>> title_overlap("专利代理条例", "专利代理条例"), title_overlap("专利代理条例", "中华人民共和国个人所得税法实施条例")
    (4, 0)
    """
    text, title = _UNQUOTED.sub("", text), _UNQUOTED.sub("", title)
    return sum(1 for i in range(len(title) - 2) if title[i : i + 3] in text)


def _core_title(card: ReportCard) -> str:
    """A title's subject: without its year, place, issuer and genre words (2025年江苏省政府工作报告 → "")."""
    title = _UNQUOTED.sub("", card.title)
    title = re.sub(r"(?:19|20)\d{2}\s*年(?:度)?|[(（]?(?:19|20)\d{2}[—\-－至](?:19|20)\d{2}年?[)）]?", "", title)
    for alias in sorted(place_aliases(card.meta.place) if card.meta.place else (), key=len, reverse=True):
        title = title.replace(alias, "")
    title = _TITLE_NOISE.sub("", title)
    return _GENERIC_WORDS.sub("", title)


def _title_grams(catalog: tuple[ReportCard, ...]) -> dict[str, frozenset[str]]:
    """Runs of characters of each report's core title (its subject, without issuer and genre),
    computed once per catalog object (backends keep theirs until the reports change)."""
    cached = _GRAMS.get(id(catalog))
    if cached is not None and cached[0] is catalog:
        return cached[1]
    owners: dict[str, set[str]] = {}
    for card in catalog:
        core = _core_title(card)
        for i in range(len(core) - _TITLE_GRAM + 1):
            gram = core[i : i + _TITLE_GRAM]
            if not re.search(r"\d", gram):  # years and numbers say nothing about which title
                owners.setdefault(gram, set()).add(card.doc_id)
    grams = {gram: frozenset(ids) for gram, ids in owners.items()}
    _GRAMS.clear()  # one catalog at a time: the index's current one
    _GRAMS[id(catalog)] = (catalog, grams)
    return grams
