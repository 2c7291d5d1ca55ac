"""The chat page's filters: choices from the indexed reports' identities, and the choices made → `Filters`.

Pure. A portal holds a hundred reports and more, so the page filters by place,
genre and year (a flat list of titles stays available, folded away). National
documents have no place; they are offered as one more place, 全国（国务院）,
which stands for the reports of level 国务院.

How the choices combine: values of one filter are alternatives (OR), filters
together narrow (AND) — 江苏省 + 2025 is Jiangsu's reports of 2025. Choosing
全国（国务院） beside provinces means "national or those provinces". `Filters`
ANDs its fields, so that OR across level and place is sent as the ids of the
reports that match it (then still ANDed with the genre, year and report choices).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rag.index.filters import Filters
from rag.text.places import PROVINCES
from rag.types import Document

from .service import DocumentInfo

__all__ = ["NATIONAL", "NATIONAL_LEVEL", "NO_REPORT", "Choices", "filter_choices", "page_filters"]

NATIONAL = "全国（国务院）"
NATIONAL_LEVEL = "国务院"
# Filters stores an empty set as None (no restriction); an id no report has (ids are hex hashes)
# restricts to nothing, for a combination of choices that no report matches.
NO_REPORT = "-"
_PROVINCE_ORDER = {name: i for i, name in enumerate(PROVINCES)}  # the customary order: 北京市, 天津市, 上海市…

Choice = tuple[str, str]  # (label shown, value sent back)


@dataclass(frozen=True, slots=True)
class Choices:
    """What the page's dropdowns offer, each a list of (label, value)."""

    places: list[Choice]
    genres: list[Choice]
    years: list[Choice]
    reports: list[Choice]


def _label(name: str, count: int) -> str:
    return f"{name} · {count}份"


def filter_choices(infos: Sequence[DocumentInfo]) -> Choices:
    """Choices from the reports' identities: 全国（国务院） first, then provinces in the customary
    order and other places by name; genres most reports first; years newest first;
    reports as `ui.service.Service.document_infos` orders them (newest first, then by title).

    >>> from ui.service import DocumentInfo, IDENTITY_FIELDS
    >>> def info(doc_id, **identity):
    ...     fields = dict.fromkeys(IDENTITY_FIELDS) | identity
    ...     return DocumentInfo(doc_id, doc_id, doc_id + ".txt", None, None, chunks=1, **fields)
    >>> c = filter_choices([info("a", level="国务院", genre="意见", year=2019),
    ...                     info("b", place="江苏省", genre="政府工作报告", year=2025),
    ...                     info("c", place="北京市", genre="政府工作报告", year=2026)])
    >>> c.places
    [('全国（国务院） · 1份', '全国（国务院）'), ('北京市 · 1份', '北京市'), ('江苏省 · 1份', '江苏省')]
    >>> c.genres, c.years[0]
    ([('政府工作报告 · 2份', '政府工作报告'), ('意见 · 1份', '意见')], ('2026年 · 1份', '2026'))
    """
    national = sum(1 for i in infos if i.level == NATIONAL_LEVEL)
    places = Counter(i.place for i in infos if i.place and i.level != NATIONAL_LEVEL)
    genres = Counter(i.genre for i in infos if i.genre)
    years = Counter(i.year for i in infos if i.year is not None)
    place_order = sorted(places, key=lambda p: (_PROVINCE_ORDER.get(p, len(_PROVINCE_ORDER)), p))
    return Choices(
        places=([(_label(NATIONAL, national), NATIONAL)] if national else [])
        + [(_label(p, places[p]), p) for p in place_order],
        genres=[(_label(g, n), g) for g, n in sorted(genres.items(), key=lambda t: (-t[1], t[0]))],
        years=[(_label(f"{y}年", years[y]), str(y)) for y in sorted(years, reverse=True)],
        reports=[(f"{i.title}（{i.year}）" if i.year else i.title, i.doc_id) for i in infos],
    )


def page_filters(
    places: Iterable[str] | None,
    genres: Iterable[str] | None,
    years: Iterable[str | int] | None,
    doc_ids: Iterable[str] | None,
    documents: Mapping[str, Document],
) -> Filters | None:
    """The `Filters` for the page's choices (None when nothing is chosen).

    `documents` (the indexed reports) is read only when 全国（国务院） is chosen beside places.
    >>> page_filters([NATIONAL], [], ["2022"], [], {})
    Filters(doc_ids=None, years=frozenset({2022}), publishers=None, places=None, genres=None, levels=frozenset({'国务院'}))
    >>> page_filters(["江苏"], ["政府工作报告"], [], [], {}).places
    frozenset({'江苏省'})
    """
    chosen = set(places or ())
    national = NATIONAL in chosen
    chosen.discard(NATIONAL)
    doc_id_set = set(doc_ids or ())
    place_set: frozenset[str] | None = Filters(places=frozenset(chosen)).places  # full names: 江苏 → 江苏省
    levels = None
    if national and place_set:
        either = {
            d.doc_id for d in documents.values() if d.meta.level == NATIONAL_LEVEL or d.meta.place in place_set
        }
        doc_id_set = (doc_id_set & either if doc_id_set else either) or {NO_REPORT}
        place_set = None
    elif national:
        levels = frozenset({NATIONAL_LEVEL})
    filters = Filters(
        doc_ids=frozenset(doc_id_set),
        years=frozenset(int(y) for y in years or ()),
        places=place_set,
        genres=frozenset(genres or ()),
        levels=levels,
    )
    return None if filters.empty else filters
