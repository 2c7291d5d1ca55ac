"""Computations over stated numbers: a change stated by its two ends, a total or difference of
cited figures, and the cases where nothing may be computed. Pure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rag.answer.arithmetic import (
    asked_operation,
    asks_change,
    compute,
    operand_count,
    operands,
    shown_results,
    stated_change,
)


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("城乡居民医保财政补助标准提高了多少元？", True),
        ("专利代理机构比上年多了几家？", True),
        ("至少几名合伙人才能设立？", False),  # a bound, not a change
        ("最多多少个工作日办结？", False),
    ],
)
def test_a_change_is_asked_by_a_verb_of_change(question: str, asks: bool) -> None:
    assert asks_change(question) is asks


def test_a_change_between_numbers_with_thousands_separators() -> None:
    change = stated_change("人均补助标准由1,250元提高到1,480元。")
    assert change is not None and (change.before, change.after, change.unit) == (Decimal(1250), Decimal(1480), "元")


@pytest.mark.parametrize(
    ("question", "operation"),
    [
        ("两类检查一共检查了多少户商户？", "sum"),
        ("甲区和乙区的绿地面积合计多少公顷？", "sum"),
        ("甲市和乙市的增长目标相差多少？", "difference"),
        ("甲市比乙市多建了多少所学校？", "difference"),
        ("今年比上年多建了多少所学校？", None),  # a change the report states, not two figures
        ("城镇化率比2020年提高多少个百分点？", None),  # against a baseline year: a change
        ("研发投入比重比全国平均水平高多少？", None),  # 比重 is no 比; 全国 a baseline the report states
        ("全年新增就业人数比目标多多少？", None),
        ("科技型中小企业总数是多少？", None),  # 总数: a level the report states
        ("城乡差距和区域差距分别是多少？", None),  # 差距 is the thing asked about
        ("新建了多少所学校？", None),
    ],
)
def test_a_total_or_difference_is_asked_by_its_own_words(question: str, operation: str | None) -> None:
    assert asked_operation(question) == operation


def test_the_operands_are_counted_before_the_operation() -> None:
    assert operand_count("三次专项行动一共查处多少起案件？") == 3
    assert operand_count("14个地市一共有多少家企业？") == 14  # the whole number, not its last digit
    assert operand_count("一共查处多少起案件？") is None


def _worked(operation: str, *quotes: str, unit: str | None = None, subtrahend_first: bool | None = None) -> str | None:
    figures = operands(unit, quotes)
    computed = compute(operation, figures, subtrahend_first) if figures else None  # type: ignore[arg-type]
    return computed.text() if computed else None


def test_figures_of_one_unit_are_added_and_subtracted() -> None:
    assert _worked("sum", "查处无证经营12起", "查处超范围经营七起", unit="起") == "12起 + 七起 = 19起"
    assert _worked("sum", "新增绿地35公顷", "改造绿地17.5公顷", unit="公顷") == "35 + 17.5 = 52.5公顷"
    assert _worked("difference", "培训3200人次", "培训4100人次", unit="人次") == "4100 − 3200 = 900人次"
    assert _worked("difference", "甲市增长7.5%", "乙市增长6%", unit="个百分点", subtrahend_first=False) == "7.5% − 6% = 1.5个百分点"


def test_the_order_of_a_difference_follows_the_question_and_a_falling_figure_keeps_its_sign() -> None:
    # A比B少多少: B − A; the order the question gives never yields a negative figure
    assert _worked("difference", "涉及企业11家", "入库登记54家", unit="家", subtrahend_first=True) == "54 − 11 = 43家"
    assert _worked("difference", "涉及企业11家", "入库登记54家", unit="家", subtrahend_first=False) is None
    assert _worked("difference", "地区生产总值增长5%", "工业增加值下降2%", subtrahend_first=False) == "5% − (−2%) = 7个百分点"


def test_scales_of_one_unit_meet_and_the_result_takes_the_largest() -> None:
    assert _worked("sum", "投入资金1.2亿元", "另筹资金8000万元", unit="元") == "1.2亿元 + 8000万元 = 2亿元"
    assert _worked("sum", "新增就业21万人", "帮扶就业45万人", unit="万人") == "21 + 45 = 66万人"


def test_bounds_and_approximations_qualify_a_sum_and_bounds_forbid_a_difference() -> None:
    assert _worked("sum", "粮食产量500亿斤以上", "粮食产量300亿斤") == "500 + 300 = 800亿斤以上"
    assert _worked("sum", "检查近20家", "检查54家", unit="家") == "20 + 54 = 约74家"
    assert _worked("difference", "增长5%左右", "增长4.5%左右") == "5% − 4.5% = 约0.5个百分点"
    assert _worked("difference", "粮食产量500亿斤以上", "粮食产量300亿斤以上") is None


@pytest.mark.parametrize(
    ("quotes", "unit"),
    [
        (("检查企业11家", "检查外国人16人次"), None),  # 家 and 人次: different things, never added
        (("检查企业11家", "检查企业20多家"), "家"),  # 20多家: a bound, not a figure
        (("检查企业11家,其中整改3家", "检查企业5家"), "家"),  # two figures of the unit: which one is unsure
        (("全市共有在营的科技类校外培训机构78家", "检查企业11家"), "家"),  # the clause states a total
        (("已通过审批准入的35家", "其中已通过审批的35家"), "家"),  # a part of a total
        (("检查企业11家",), "家"),  # one figure: nothing to compute
        (("检查企业11家", "检查企业"), "家"),  # a part without a figure
        (("新增就业10至20万人", "新增就业5万人"), "万人"),  # the end of a range is no figure
        (("地区生产总值增长4.5-5%", "增长5%"), None),
        (("地区生产总值增长5%", "增长5.5%"), None),  # rates do not add up
        (("第二批示范区5个", "第三批示范区12个"), "批"),  # ordinals are no figures
        (("装机500万千瓦", "装机20万人"), "万千瓦"),
    ],
)
def test_no_computation_when_units_differ_or_a_figure_is_unsure(quotes: tuple[str, ...], unit: str | None) -> None:
    assert _worked("sum", *quotes, unit=unit) is None


def test_a_figure_relative_to_another_is_not_a_level() -> None:
    assert _worked("sum", "拟安排赤字1.5万亿元,比去年增加2000亿元", "拟安排赤字1.8万亿元") == "1.5 + 1.8 = 3.3万亿元"


@pytest.mark.parametrize(
    ("text", "licensed"),
    [
        ("在营78家、准入35家,未准入78 − 35 = 43家", [("78", "35")]),
        ("新增21万人和45万人,合计21 + 45 = 66万人", [("21", "45")]),  # the prompt's own format, with a scale
        ("10亿元 + 5000万元 = 10.5亿元", [("10", "5000")]),
        ("合计78 + 35 = 123家", []),  # wrong
        ("10亿元 + 5000万元 = 5010", []),  # wrong once scaled
        ("3万人 + 5人 = 8万人", []),
        ("2024-11-12=2001", []),  # a date is no computation
        ("11家 + 16人次 = 27家", []),  # units differ
    ],
)
def test_a_computation_an_answer_shows_licenses_its_result_only_when_right(text: str, licensed: list) -> None:
    assert [terms for terms, _ in shown_results(text)] == licensed


def test_a_stated_change_is_read_with_the_same_figures_rules() -> None:
    change = stated_change("平均受教育年限由10.23年提高到10.8年")  # a duration in years, not a calendar year
    assert change is not None and change.sum_text() == "10.8年 − 10.23年 = 0.57年"
    assert stated_change("由20多家增加到30家") is None  # 20多家 is no figure to subtract
    assert stated_change("从2020年增加到2025年") is None


@pytest.mark.parametrize(
    "sentence",
    [
        "由20家增加到50多家，其中新增高新技术企业15家",  # 50多家 is no figure: 15家 is not the other end
        "医保覆盖由1000万人扩大到全省，新增参保200万人",  # the verb's object is no figure
        "由24项增加到历史新高，全年完成30项",
        "由近20家增加到超过800家",  # between bounds the change is not known
        "由2020年的1.2万亿元增长到2024年的1.5万亿元左右",
    ],
)
def test_no_change_is_read_across_clauses_or_between_bounds(sentence: str) -> None:
    assert stated_change(sentence) is None


def test_a_change_of_a_rate_is_in_points_and_keeps_a_negative_start() -> None:
    assert stated_change("城镇化率由50%提高到60%").sum_text() == "60% − 50% = 10个百分点"  # type: ignore[union-attr]
    assert stated_change("增速由-2.5%提高到3.1%").sum_text() == "3.1% − (−2.5%) = 5.6个百分点"  # type: ignore[union-attr]


def test_an_upper_bound_is_read_before_a_lower_one_it_contains() -> None:
    from rag.answer.figures import quantities

    assert [q.bound for q in quantities("不超过3%,超过800家,不低于80%")] == ["upper", "lower", "lower"]
    assert [q.written for q in quantities("提高0.3个百分点")] == ["0.3个百分点"]
