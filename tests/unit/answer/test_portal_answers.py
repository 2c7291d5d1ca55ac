"""Answers over a small portal of real reports (tests/conftest.py `portal`): scope, comparisons,
open questions, questions about a report itself, verification refusals, computed changes and
answers read off a report's structure. Each answer is checked for its facts, the report each
citation comes from, and exact offsets."""

from __future__ import annotations

import pytest

from rag.answer.assistant import Assistant
from rag.types import Answer


def ask(portal: Assistant, question: str) -> Answer:
    answer = portal.ask(question)
    for c in answer.citations:  # every quote is the report's own text at its offsets (or page metadata)
        if c.end > c.start:
            assert portal.index.documents[c.doc_id].text[c.start : c.end] == c.quote
    return answer


def titles(answer: Answer) -> list[str]:
    return [c.title for c in answer.citations]


# ------------------------------------------------------------------ scope


def test_a_named_place_and_year_answer_from_that_report_only(portal: Assistant) -> None:
    answer = ask(portal, "江苏2026年地区生产总值增长目标是多少？")
    assert answer.mode == "extractive" and set(titles(answer)) == {"2026年江苏省政府工作报告"}


def test_relative_years_resolve_against_the_named_places_newest_report(portal: Assistant) -> None:
    answer = ask(portal, "江苏今年的地区生产总值增长目标是多少？")
    assert set(titles(answer)) == {"2026年江苏省政府工作报告"} and "5%" in answer.text


def test_a_report_not_in_the_index_is_said_to_be_missing_with_the_nearest_ones_named(portal: Assistant) -> None:
    answer = ask(portal, "江苏2024年统计公报里GDP是多少？")
    assert answer.mode == "not_found" and not answer.citations
    assert answer.text.startswith("报告中未找到江苏省2024年统计公报")
    assert "《2026年江苏省政府工作报告》、《2025年江苏省政府工作报告》" in answer.text  # newest first
    assert all(h.title.startswith(("2025年江苏", "2026年江苏")) for h in answer.hits)  # closest passages: those reports'


def test_a_place_with_no_report_is_not_answered_from_another_place(portal: Assistant) -> None:
    answer = ask(portal, "浙江2025年粮食产量目标是多少？")
    assert answer.mode == "not_found" and "浙江省" in answer.text


# ------------------------------------------------------------------ comparisons and parts


def test_a_comparison_of_two_places_answers_each_from_its_own_report(portal: Assistant) -> None:
    answer = ask(portal, "吉林和黑龙江2025年的粮食产量目标各是多少？")
    assert "880亿斤" in answer.text and "1600亿斤" in answer.text
    assert answer.text.index("吉林") < answer.text.index("880") < answer.text.index("黑龙江") < answer.text.index("1600")
    assert titles(answer) == ["2025年吉林省政府工作报告", "2025年黑龙江省政府工作报告"]


def test_a_comparison_of_two_report_years(portal: Assistant) -> None:
    answer = ask(portal, "2015年和2016年政府工作报告安排的财政赤字分别是多少？")
    assert "1.62万亿元" in answer.text and "2.18万亿元" in answer.text
    assert titles(answer) == ["2015年国务院政府工作报告", "2016年国务院政府工作报告"]


def test_two_named_documents_each_give_their_own_date(portal: Assistant) -> None:
    answer = ask(portal, "个人所得税法实施条例和专利代理条例分别从哪天起施行？")
    assert "2019年1月1日" in answer.text and "2019年3月1日" in answer.text
    by_title = {c.title: c.quote for c in answer.citations}
    assert "2019年3月1日" in by_title["专利代理条例"]


# ------------------------------------------------------------------ open questions (ambiguity)


def test_an_open_question_answered_differently_by_reports_gives_each_newest_first(portal: Assistant) -> None:
    answer = ask(portal, "粮食产量目标是多少？")
    assert answer.text.startswith("问题没有指明是哪份报告")
    years = [portal.index.documents[c.doc_id].meta.year or 0 for c in answer.citations]
    assert len(set(titles(answer))) >= 2 and years == sorted(years, reverse=True)
    for c in answer.citations:  # each figure is labelled with its own report
        assert f"《{c.title}》" in answer.text.split(f"[{c.marker}]")[0].rsplit("\n", 1)[-1]


def test_this_report_in_a_many_report_index_is_left_open_with_the_latest_reports(portal: Assistant) -> None:
    answer = ask(portal, "这份报告是什么时候发布的？")
    assert answer.text.startswith("问题没有指明是哪份报告（已索引12份）")
    assert answer.text.count("发布时间：") == 3


# ------------------------------------------------------------------ questions about a report itself


def test_delivery_date_and_meeting_quote_the_reports_own_header_line(portal: Assistant) -> None:
    answer = ask(portal, "2022年的政府工作报告是哪天、在哪次会议上作的？")
    assert "2022年3月5日" in answer.text and "第十三届全国人民代表大会第五次会议" in answer.text
    [cited] = answer.citations
    assert cited.quote == "2022年3月5日在第十三届全国人民代表大会第五次会议上" and cited.title == "2022年国务院政府工作报告"


def test_document_number_and_date_written_of_a_policy_page(portal: Assistant) -> None:
    answer = ask(portal, "“双随机、一公开”监管意见的发文字号和成文日期是什么？")
    assert "国发〔2019〕5号" in answer.text and "2019年01月27日" in answer.text


def test_when_a_thing_the_report_mentions_was_published_is_a_content_question(portal: Assistant) -> None:
    answer = ask(portal, "“苏科创十八条”是什么时候发布的？")
    assert "9月26日" in answer.text and "发布时间：" not in answer.text


# ------------------------------------------------------------------ verification refusals


@pytest.mark.parametrize(
    "question",
    [
        "2022年政府工作报告里国防支出预算增长多少？",  # only 国防和军队建设 is said, no figure
        "江苏2025年城镇登记失业率目标是多少？",  # the report sets the 调查 rate, not a 登记 one
        "2016年政府工作报告安排的国防预算是多少亿元？",
    ],
)
def test_a_neighbouring_indicator_or_a_figure_never_stated_is_refused(portal: Assistant, question: str) -> None:
    answer = ask(portal, question)
    assert answer.mode == "not_found" and not answer.citations
    assert answer.text.startswith("报告中未找到")
    assert answer.hits  # the closest passages are shown as such


def test_a_refusal_shows_passages_of_the_named_report_only(portal: Assistant) -> None:
    answer = ask(portal, "2022年政府工作报告里国防支出预算增长多少？")
    assert {h.title for h in answer.hits} == {"2022年国务院政府工作报告"}


# ------------------------------------------------------------------ computed and structural answers


def test_a_change_stated_by_its_two_ends_is_computed_beside_the_quote(portal: Assistant) -> None:
    answer = ask(portal, "2018年调整后的督查激励措施比2016年实施的多了几项？")
    assert "30项 − 24项 = 6项" in answer.text and "24项" in answer.citations[0].quote


def test_a_total_of_figures_stated_apart_is_worked_out_with_both_cited(portal: Assistant) -> None:
    answer = ask(portal, "两项检查一共涉及多少家企业？")
    assert answer.calculation is not None and answer.calculation.expression == "11 + 54 = 65家"
    assert "11 + 54 = 65家[1][2]" in answer.text
    assert [("11家" in c.quote, "54家" in c.quote) for c in answer.citations] == [(True, False), (False, True)]


def test_a_difference_between_two_places_is_worked_out_from_each_report(portal: Assistant) -> None:
    answer = ask(portal, "吉林比黑龙江2025年的地区生产总值增长目标高多少？")
    assert answer.calculation is not None and answer.calculation.expression == "5.5% − 5% = 约0.5个百分点"
    assert titles(answer) == ["2025年吉林省政府工作报告", "2025年黑龙江省政府工作报告"]
    assert [p.label for p in answer.parts] == titles(answer) and answer.calculation.markers == (1, 2)


def test_a_comparison_is_returned_part_by_part(portal: Assistant) -> None:
    answer = ask(portal, "2015年和2016年政府工作报告安排的财政赤字分别是多少？")
    assert [(p.label, p.found) for p in answer.parts] == [("2015年国务院政府工作报告", True), ("2016年国务院政府工作报告", True)]
    assert "1.62万亿元" in answer.parts[0].text and "2.18万亿元" in answer.parts[1].text
    assert answer.calculation is None  # 分别: each figure asked, nothing to work out


def test_the_title_of_a_numbered_part(portal: Assistant) -> None:
    answer = ask(portal, "2022年政府工作报告第三部分的标题是什么？")
    [cited] = answer.citations
    assert cited.quote.startswith("三、") and cited.title == "2022年国务院政府工作报告"


def test_an_announced_list_is_answered_with_its_points(portal: Assistant) -> None:
    answer = ask(portal, "黑龙江2025年政府工作报告说做好政府工作要把握好哪五个方面？")
    for point in ("坚定发展信心", "遵循经济规律", "把握政策取向", "强化改革创新", "聚力真抓实干"):
        assert point in answer.text
    assert answer.citations[2].quote.startswith("二是遵循经济规律")  # each point cited with its marker
