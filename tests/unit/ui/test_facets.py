"""ui.facets: the page's filter choices from report identities, and the choices made → Filters."""

from __future__ import annotations

from rag.index.filters import Filters
from rag.index.folder.masks import DocTable
from rag.types import Document, DocumentMeta
from ui.facets import NATIONAL, NO_REPORT, filter_choices, page_filters
from ui.service import DocumentInfo


def _doc(doc_id: str, **meta: object) -> Document:
    return Document(doc_id, f"报告{doc_id}", "正文。", f"{doc_id}.txt", DocumentMeta(**meta))  # type: ignore[arg-type]


DOCS = {
    d.doc_id: d
    for d in (
        _doc("n21", issuer="国务院", level="国务院", genre="政府工作报告", year=2021),
        _doc("n22", issuer="国务院", level="国务院", genre="政府工作报告", year=2022),
        _doc("p19", issuer="国务院", level="国务院", genre="意见", year=2019),
        _doc("js25", issuer="江苏省人民政府", level="省", place="江苏省", genre="政府工作报告", year=2025),
        _doc("js26", issuer="江苏省人民政府", level="省", place="江苏省", genre="政府工作报告", year=2026),
        _doc("bj26", issuer="北京市人民政府", level="省", place="北京市", genre="政府工作报告", year=2026),
        _doc("nx26", level="省", place="宁夏回族自治区", genre="政府工作报告", year=2026),
        _doc("sz24", issuer="苏州市科学技术局", level="部门", place="苏州市", genre="法治政府建设报告", year=2024),
        _doc("x", format="txt"),  # nothing known
    )
}
INFOS = [DocumentInfo.of(d, 1) for d in DOCS.values()]


def _matching(filters: Filters | None) -> set[str]:
    """The reports the folder index's own filter evaluation lets through."""
    if filters is None:
        return set(DOCS)
    table = DocTable.of(DOCS)
    return {d for d, ok in zip(table.ordered, table.passing(filters), strict=True) if ok}


def test_places_national_first_then_provinces_in_order_then_cities() -> None:
    places = filter_choices(INFOS).places
    assert [v for _, v in places] == [NATIONAL, "北京市", "江苏省", "宁夏回族自治区", "苏州市"]
    assert places[0] == ("全国（国务院） · 3份", NATIONAL) and places[2] == ("江苏省 · 2份", "江苏省")


def test_genres_by_count_years_newest_first() -> None:
    c = filter_choices(INFOS)
    assert [v for _, v in c.genres] == ["政府工作报告", "意见", "法治政府建设报告"]
    assert c.genres[0] == ("政府工作报告 · 6份", "政府工作报告")
    assert [v for _, v in c.years] == ["2026", "2025", "2024", "2022", "2021", "2019"]
    assert c.years[0] == ("2026年 · 3份", "2026")
    assert len(c.reports) == len(DOCS) and ("报告js25（2025）", "js25") in c.reports
    assert "None" not in repr(c)


def test_no_national_choice_without_a_state_council_document() -> None:
    local = [i for i in INFOS if i.level != "国务院"]
    assert NATIONAL not in [v for _, v in filter_choices(local).places]
    assert filter_choices([]).places == filter_choices([]).genres == []


def test_nothing_chosen_is_no_filter() -> None:
    assert page_filters([], [], [], [], DOCS) is None
    assert page_filters(None, None, None, None, DOCS) is None


def test_national_is_the_state_council_level() -> None:
    filters = page_filters([NATIONAL], [], [], [], DOCS)
    assert filters == Filters(levels=frozenset({"国务院"}))
    assert _matching(filters) == {"n21", "n22", "p19"}


def test_provinces_genres_and_years_narrow_together() -> None:
    filters = page_filters(["江苏"], ["政府工作报告"], ["2025"], [], DOCS)
    assert filters == Filters(places=frozenset({"江苏省"}), genres=frozenset({"政府工作报告"}), years=frozenset({2025}))
    assert _matching(filters) == {"js25"}
    assert _matching(page_filters(["江苏省", "北京市"], [], ["2026"], [], DOCS)) == {"js26", "bj26"}
    assert _matching(page_filters([], ["意见", "法治政府建设报告"], [], [], DOCS)) == {"p19", "sz24"}


def test_national_beside_provinces_means_either() -> None:
    filters = page_filters([NATIONAL, "江苏省"], [], [], [], DOCS)
    assert filters is not None and filters.places is None and filters.levels is None
    assert _matching(filters) == {"n21", "n22", "p19", "js25", "js26"}
    # still narrowed by genre and year
    assert _matching(page_filters([NATIONAL, "江苏省"], ["政府工作报告"], ["2022", "2026"], [], DOCS)) == {"n22", "js26"}


def test_chosen_reports_narrow_the_places() -> None:
    assert _matching(page_filters([NATIONAL, "北京市"], [], [], ["n21", "js25"], DOCS)) == {"n21"}
    nothing = page_filters([NATIONAL, "北京市"], [], [], ["js25"], DOCS)
    assert nothing == Filters(doc_ids=frozenset({NO_REPORT})) and _matching(nothing) == set()
    assert _matching(page_filters(["江苏省"], [], [], ["js25", "n21"], DOCS)) == {"js25"}


def test_every_choice_offered_selects_its_reports() -> None:
    """What the dropdowns offer, sent back, finds the reports it counted."""
    c = filter_choices(INFOS)
    for label, value in c.places:
        found = _matching(page_filters([value], [], [], [], DOCS))
        assert len(found) == int(label.rsplit(" · ", 1)[1].removesuffix("份")), label
    for label, value in c.genres + c.years:
        genre_or_year = ([value], []) if (label, value) in c.genres else ([], [value])
        found = _matching(page_filters([], *genre_or_year, [], DOCS))
        assert len(found) == int(label.rsplit(" · ", 1)[1].removesuffix("份")), label
    assert all(_matching(page_filters([], [], [], [v], DOCS)) == {v} for _, v in c.reports)
