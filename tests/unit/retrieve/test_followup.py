import pytest

from rag.retrieve.followup import needs_context, rewrite_followup
from rag.types import Turn

# (first question, follow-up, words of the first question the follow-up leaves out)
CONVERSATIONS = [
    ("2024年检查了多少家企业？", "那54家是哪个区的？", "检查了多少家企业"),
    ("苏州市共有多少家在营的科技类校外培训机构？", "其中有多少家已通过审批准入？", "校外培训机构"),
    ("“苏科创十八条”是什么时候发布的？", "它是在哪个大会上发布的？", "苏科创十八条"),
    ("2024年处理了多少件信访投诉案例？", "那依申请公开的呢？", "信访投诉"),
    ("市科技局现有行政权力事项共几项？", "这些事项里行政许可有几项？", "行政权力事项"),
]


@pytest.mark.parametrize(("first", "second", "kept"), CONVERSATIONS)
def test_follow_up_is_searched_with_the_previous_question(first, second, kept):
    assert kept not in second  # else a rewrite that does nothing would pass
    query = rewrite_followup(second, [Turn(first, "…")])
    assert second in query and kept in query


def test_standalone_question_is_left_alone():
    history = [Turn("2024年检查了多少家企业？", "…")]
    assert rewrite_followup("市委第一巡察组什么时候进驻市科技局？", history) == "市委第一巡察组什么时候进驻市科技局？"


def test_no_history_means_no_rewrite():
    assert rewrite_followup("那54家是哪个区的？", []) == "那54家是哪个区的？"


def test_chained_follow_ups_reach_back_to_the_standalone_question():
    history = [Turn("2024年检查了多少家企业？", "…"), Turn("那54家是哪个区的？", "…")]
    assert rewrite_followup("这些企业都合规吗？", history).startswith("2024年检查了多少家企业")


def test_needs_context():
    assert needs_context("其中有多少家已通过审批准入？")
    assert not needs_context("2025年有哪些工作打算？")


@pytest.mark.parametrize(("first", "second", "asked"), [
    ("江苏省2026年地区生产总值增长目标是多少？", "那2025年呢？", "江苏省2025年地区生产总值增长目标是多少？"),
    ("江苏省2026年地区生产总值增长目标是多少？", "浙江省的呢？", "浙江省2026年地区生产总值增长目标是多少？"),
    ("吉林2025年城镇化率是多少？", "那黑龙江呢", "黑龙江省2025年城镇化率是多少？"),
    ("What was Jiangsu's 2026 GDP growth target?", "What about 2025?", "What was Jiangsu's 2025 GDP growth target?"),
])
def test_an_elliptical_follow_up_asks_the_previous_question_of_another_year_or_place(first, second, asked):
    assert rewrite_followup(second, [Turn(first, "…")]) == asked


@pytest.mark.parametrize(("first", "second"), [
    ("江苏省2026年地区生产总值增长目标是多少？", "那2025年的进出口呢？"),  # asks more than another year
    ("2025年和2026年江苏的增长目标各是多少？", "那2024年呢？"),  # two years: which one is replaced is unclear
    ("2024年检查了多少家企业？", "那依申请公开的呢？"),  # no year or place
])
def test_other_follow_ups_are_searched_with_the_previous_question(first, second):
    assert rewrite_followup(second, [Turn(first, "…")]) == f"{first.rstrip('？')} {second}"


def test_chained_elliptical_follow_ups_keep_every_change():
    history = [Turn("江苏省2026年地区生产总值增长目标是多少？", "…"), Turn("浙江呢？", "…")]
    assert rewrite_followup("那2025年呢？", history) == "浙江省2025年地区生产总值增长目标是多少？"
    history = [Turn("江苏省2026年地区生产总值增长目标是多少？", "…"), Turn("那2025年呢？", "…")]
    assert rewrite_followup("浙江呢？", history) == "浙江省2025年地区生产总值增长目标是多少？"


def test_a_figure_is_no_year_to_replace():
    first = "江苏省计划投资2000亿元建设什么？"
    assert rewrite_followup("那2025年呢？", [Turn(first, "…")]) == f"{first.rstrip('？')} 那2025年呢？"
