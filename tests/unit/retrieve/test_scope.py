"""Scope resolution: which indexed reports a question names (place, year, genre, title, national),
relative years, and questions whose named scope no report matches."""

from __future__ import annotations

from datetime import date

import pytest

from rag.retrieve.scope import Scope, resolve_scope
from rag.types import DocumentMeta, ReportCard

TODAY = date(2026, 12, 1)


def work_report(place: str | None, year: int) -> ReportCard:
    level = "国务院" if place is None else "省"
    who = place or "国务院"
    meta = DocumentMeta(
        place=place, genre="政府工作报告", year=year, reports_on=year - 1, issued=year, level=level,
        issuer=f"{who}人民政府" if place else "国务院",
    )  # fmt: skip
    return ReportCard(f"{who}-{year}", f"{year}年{who}政府工作报告", f"{who}-{year}.txt", meta)


def opinion(title: str, issued: int) -> ReportCard:
    meta = DocumentMeta(genre="意见", issuer="国务院", level="国务院", issued=issued, year=issued)
    return ReportCard(title, title, f"{issued}.html", meta)


CATALOG = (
    work_report(None, 2013), work_report(None, 2021), work_report(None, 2022),
    work_report("江苏省", 2025), work_report("江苏省", 2026), work_report("四川省", 2025), work_report("四川省", 2026),
    opinion("国务院关于加快发展银发经济增进老年人福祉的意见", 2024),
    opinion("国务院关于深化电力体制改革加快构建新型电力系统的指导意见", 2025),
    ReportCard(
        "kjj", "苏州市科技局2024年度法治政府建设情况报告", "kjj.txt",
        DocumentMeta(place="苏州市", genre="法治政府建设报告", year=2024, reports_on=2024, issued=2025, level="部门"),
    ),
)  # fmt: skip


def scope(question: str) -> Scope:
    return resolve_scope(question, CATALOG, today=TODAY)


def ids(question: str) -> set[str]:
    found = scope(question).doc_ids
    assert found is not None, f"{question!r} names no scope"
    return set(found)


def test_a_question_naming_nothing_has_no_scope() -> None:
    s = scope("地区生产总值增长了多少？")
    assert s.doc_ids is None and not s.unmatched


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("江苏2026年的地区生产总值预期增长多少？", {"江苏省-2026"}),  # the year 2026's targets: the 2026 report
        ("四川省2024年经济总量是多少？", {"四川省-2025"}),  # the year 2024 is reviewed by the 2025 report
        ("Jiangsu's 2025 GDP growth target?", {"江苏省-2025", "江苏省-2026"}),  # English place names
    ],
)
def test_a_named_place_and_year_keep_that_places_reports_that_cover_the_year(question: str, expected: set[str]) -> None:
    assert ids(question) == expected


def test_a_year_naming_the_report_is_the_reports_own_year() -> None:
    s = scope("2022年政府工作报告提出的GDP增长目标是多少？")
    assert s.report_years == (2022,) and ids("2022年政府工作报告提出的GDP增长目标是多少？") == {"国务院-2022"}


def test_two_report_years_joined_name_both_reports() -> None:
    assert ids("2021年和2022年政府工作报告的增长目标有何不同？") == {"国务院-2021", "国务院-2022"}


def test_national_words_keep_the_state_councils_reports() -> None:
    assert ids("国务院2013年政府工作报告说了什么？") == {"国务院-2013"}
    assert "江苏省-2025" not in ids("全国2021年粮食产量是多少？")


def test_relative_years_resolve_against_the_report_named() -> None:
    s = scope("2022年政府工作报告中去年的经济增速是多少？")
    assert s.report_years == (2022,) and s.years == (2021,)


def test_relative_years_without_a_named_report_resolve_against_today() -> None:
    assert scope("今年江苏的增长目标是多少？").years == (2026,)
    assert scope("去年四川粮食产量是多少？").years == (2025,)


def test_a_genre_word_ending_a_noun_phrase_names_the_genre() -> None:
    assert scope("银发经济的意见提出了哪些措施？").genres == ("意见",)
    assert scope("规划面积有多大？").genres == ()  # 规划 as a verb-like noun, not a document


def test_a_distinctive_run_of_a_title_names_that_report() -> None:
    assert ids("《关于加快发展银发经济增进老年人福祉的意见》提出了什么？") == {
        "国务院关于加快发展银发经济增进老年人福祉的意见"
    }


def test_a_titles_words_beside_a_place_it_does_not_have_are_a_topic() -> None:
    assert ids("新型电力系统建设有哪些举措？") == {"国务院关于深化电力体制改革加快构建新型电力系统的指导意见"}
    assert ids("江苏2026年新型电力系统建设有哪些举措？") == {"江苏省-2026"}  # not "no such report"


def test_a_year_does_not_exclude_documents_that_are_not_periodic() -> None:
    # "到2025年" inside a 2024 opinion: an opinion is not a report on one year
    assert "国务院关于加快发展银发经济增进老年人福祉的意见" in ids("到2027年银发经济要达到什么目标？")


def test_a_named_scope_no_report_matches_names_the_nearest_reports() -> None:
    s = scope("江苏2024年统计公报里地区生产总值是多少？")
    assert s.unmatched and s.named == "江苏省2024年统计公报"
    assert [c.doc_id for c in s.nearest] == ["江苏省-2026", "江苏省-2025"]  # the place's reports, newest first


def test_a_place_with_no_report_is_unmatched() -> None:
    s = scope("浙江省2025年的增长目标是多少？")
    assert s.unmatched and "浙江省" in s.named


def test_an_intent_tells_a_target_from_an_actual_figure() -> None:
    assert scope("2026年江苏的增长目标是多少？").intent == "target"
    assert scope("2025年江苏地区生产总值达到多少？").intent == "actual"
    assert scope("江苏的地区生产总值是多少？").intent == "any"


def test_an_undated_periodic_report_is_not_excluded_by_a_year() -> None:
    undated = ReportCard("u", "某市统计局国民经济运行情况报告", "u.txt", DocumentMeta(genre="报告"))
    assert resolve_scope("2024年地区生产总值是多少？", (undated,), today=TODAY).doc_ids == {"u"}


def test_a_deadline_year_is_not_the_year_a_question_is_about() -> None:
    # 到2035年 is a target's horizon inside some report, not a report year nor a year it reviews
    s = scope("江苏到2035年要达到什么目标？")
    assert s.years == () and s.report_years == ()
    assert ids("江苏到2035年要达到什么目标？") == {"江苏省-2025", "江苏省-2026"}


def test_a_named_genre_wins_over_a_title_of_another_genre() -> None:
    # the words 银发经济 are in an opinion's title, but the question asks the work reports
    assert scope("政府工作报告里怎么说银发经济？").titled == frozenset()
