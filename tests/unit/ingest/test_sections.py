from rag.ingest.clean import clean_report
from rag.ingest.sections import find_headings, split_sections
from rag.text.markers import HeadingKind

TOP = [
    "一、主要负责人履行推进法治政府建设工作第一责任人职责情况",
    "二、推进法治建设工作的举措成效",
    "三、问题和不足",
    "四、2025年工作打算",
]


def _paths(text):
    return [s.path for s in split_sections(text)]


def test_sample_top_level_sections_are_exact(sample_text):
    text = clean_report(sample_text).text
    top = [h.title for h in find_headings(text) if h.kind is HeadingKind.CN_ENUM]
    assert top == TOP


def test_sample_numbered_items_are_second_level(sample_text):
    paths = _paths(clean_report(sample_text).text)
    second = {}
    for path in paths:
        if len(path) == 2:
            second.setdefault(path[0], []).append(path[1])
    assert [t.split(".")[0] for t in second[TOP[0]]] == ["1", "2", "3"]
    assert [t.split(".")[0] for t in second[TOP[1]]] == [str(i) for i in range(1, 10)]
    assert [t[:2] for t in second[TOP[3]]] == ["一是", "二是", "三是", "四是"]
    assert second[TOP[0]][0] == "1.深入贯彻落实党的二十届三中全会精神"
    assert TOP[2] not in second  # 三、 has no numbered items


def test_heading_sharing_a_line_ends_at_first_sentence():
    [heading] = find_headings("1.深入贯彻落实精神。局主要领导亲自部署。")
    assert heading.title == "1.深入贯彻落实精神"
    assert heading.kind is HeadingKind.ARABIC


def test_inline_yishi_ends_a_run_on_heading():
    [heading] = find_headings("4.加强法治教育培训一是督促学习。二是组织培训。")
    assert heading.title == "4.加强法治教育培训"


def test_mid_paragraph_yishi_is_not_a_heading():
    text = "5.推进改革。根据部署开展检查。一是对企业开展检查。二是落实制度。"
    assert [h.title for h in find_headings(text)] == ["5.推进改革"]


def test_paren_subsections_nest_under_chinese_enumeration():
    text = "一、总体情况\n(一)加强领导。内容。\n(1)细项。内容。\n(二)完善制度\n内容。\n二、问题\n内容。"
    assert _paths(text) == [
        ("一、总体情况",),
        ("一、总体情况", "(一)加强领导"),
        ("一、总体情况", "(一)加强领导", "(1)细项"),
        ("一、总体情况", "(二)完善制度"),
        ("二、问题",),
    ]


def test_chapters_and_articles():
    text = "第一章 总则\n第一条 为了规范管理,制定本办法。\n第二条 本办法适用于全市。\n第二章 职责\n第三条 市局负责。"
    paths = _paths(text)
    assert paths[0] == ("第一章 总则",)
    assert paths[1][0] == "第一章 总则" and paths[1][1].startswith("第一条")
    assert paths[3] == ("第二章 职责",)
    assert paths[4][0] == "第二章 职责" and paths[4][1].startswith("第三条")


def test_markdown_headings():
    text = "## 一、工作成效\n内容。\n### 重点任务\n内容。\n## 下一步打算\n内容。"
    assert _paths(text) == [("一、工作成效",), ("一、工作成效", "重点任务"), ("下一步打算",)]


def test_no_headings_is_one_section():
    text = "今年以来,我们做了很多工作。\n\n明年将继续努力。"
    assert _paths(text) == [()]


def test_numbers_that_are_not_headings():
    text = "1.5亿元用于建设。\n2024年完成任务。\n一、\n"
    assert find_headings(text) == []
