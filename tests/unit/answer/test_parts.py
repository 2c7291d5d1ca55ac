"""Questions of several parts: how they are split, and how the parts' answers are put together. Pure."""

from __future__ import annotations

from rag.answer.parts import Part, combine_answers, split_question
from rag.retrieve.scope import Scope
from rag.types import Answer, Chunk, Citation, Document, DocumentMeta, Hit, ReportCard


def card(doc_id: str, title: str, **meta: object) -> ReportCard:
    return ReportCard(doc_id, title, f"{doc_id}.txt", DocumentMeta(**meta))  # type: ignore[arg-type]


CARDS = (
    card("jl", "2025年吉林省政府工作报告", place="吉林省", year=2025),
    card("hlj", "2025年黑龙江省政府工作报告", place="黑龙江省", year=2025),
    card("n15", "2015年国务院政府工作报告", year=2015, level="国务院"),
    card("n16", "2016年国务院政府工作报告", year=2016, level="国务院"),
    card("iit", "中华人民共和国个人所得税法实施条例", genre="条例"),
    card("pat", "专利代理条例", genre="条例"),
)


def questions(question: str, scope: Scope) -> list[str]:
    return [p.question for p in split_question(question, scope, CARDS)]


def test_two_places_are_two_parts_each_with_its_own_reports() -> None:
    scope = Scope(places=("吉林省", "黑龙江省"), doc_ids=frozenset({"jl", "hlj"}))
    parts = split_question("吉林和黑龙江2025年的粮食产量目标各是多少？", scope, CARDS)
    assert [(p.label, p.doc_ids) for p in parts] == [("吉林省", frozenset({"jl"})), ("黑龙江省", frozenset({"hlj"}))]
    assert parts[1].question == "黑龙江2025年的粮食产量目标是多少？"


def test_two_report_years_are_two_parts() -> None:
    scope = Scope(report_years=(2015, 2016), doc_ids=frozenset({"n15", "n16"}))
    parts = split_question("2015年和2016年政府工作报告安排的财政赤字分别是多少？", scope, CARDS)
    assert [p.doc_ids for p in parts] == [frozenset({"n15"}), frozenset({"n16"})]
    assert parts[0].question == "2015年政府工作报告安排的财政赤字是多少？"


def test_two_named_documents_go_to_the_title_each_names() -> None:
    scope = Scope(titled=frozenset({"iit", "pat"}), doc_ids=frozenset({"iit", "pat"}))
    parts = split_question("个人所得税法实施条例和专利代理条例分别从哪天起施行？", scope, CARDS)
    assert [(p.question, p.doc_ids) for p in parts] == [
        ("个人所得税法实施条例从哪天起施行？", frozenset({"iit"})),
        ("专利代理条例从哪天起施行？", frozenset({"pat"})),
    ]


def test_items_with_one_predicate_and_asked_clauses() -> None:
    assert questions("新能源产业产值和装备制造业增加值分别要增长多少？", Scope()) == [
        "新能源产业产值要增长多少？",
        "装备制造业增加值要增长多少？",
    ]
    assert questions("宁夏2025年计划实施多少个项目、完成多少年度投资？", Scope()) == [
        "宁夏2025年计划实施多少个项目？",
        "完成多少年度投资？",
    ]
    assert questions("应急救援专用汽车号牌有几位字符？规格多大？", Scope()) == ["应急救援专用汽车号牌有几位字符？", "规格多大？"]


def test_short_words_sharing_one_noun_are_one_item() -> None:
    # 一产、二产、三产增加值 / 城镇和农村居民收入 are answered by one sentence
    assert questions("宁夏2025年一产、二产、三产增加值目标分别是多少？", Scope()) == ["宁夏2025年一产、二产、三产增加值目标分别是多少？"]
    assert len(questions("海南2025年城镇和农村常住居民人均可支配收入分别计划增长多少？", Scope())) == 1


def test_a_single_question_is_one_part() -> None:
    assert questions("2024年检查了多少家企业？", Scope()) == ["2024年检查了多少家企业？"]


TARGETS = "新能源产业产值增长8%以上,装备制造业增加值增长10%左右。"


def _doc(text: str = TARGETS) -> Document:
    return Document("d", "2026年吉林省政府工作报告", text, "d.txt", DocumentMeta())


def _answer(question: str, start: int, end: int, text: str = TARGETS) -> Answer:
    doc = _doc(text)
    quote = doc.text[start:end]
    hit = Hit(Chunk("d-0", "d", doc.text, 0, len(doc.text), (), 0), 1.0, 1, doc.title, doc.source)
    citation = Citation(1, "d-0", "d", doc.title, doc.source, (), start, end, quote)
    return Answer(question, f"{quote}[1]。", (citation,), (hit,), "extractive")


def test_neighbouring_clauses_of_one_sentence_are_cited_once() -> None:
    doc = _doc()
    parts = [Part("新能源产业产值要增长多少？"), Part("装备制造业增加值要增长多少？")]
    answers = [_answer(parts[0].question, 0, 13), _answer(parts[1].question, 14, len(doc.text) - 1)]
    combined = combine_answers("…分别要增长多少？", parts, answers, answers[0].hits, {"d": doc})
    [cited] = combined.citations
    assert cited.quote == doc.text[cited.start : cited.end] == "新能源产业产值增长8%以上,装备制造业增加值增长10%左右"
    assert combined.text == "新能源产业产值增长8%以上[1]；装备制造业增加值增长10%左右[1]。"


def test_a_part_nothing_answers_is_said_to_be_missing_and_the_rest_still_answer() -> None:
    doc = _doc()
    parts = [Part("新能源产业产值要增长多少？"), Part("钢铁产量要增长多少？", "钢铁")]
    missing = Answer(parts[1].question, "报告中未找到相关信息。", (), (), "not_found")
    combined = combine_answers("…", parts, [_answer(parts[0].question, 0, 13), missing], (), {"d": doc})
    assert combined.mode == "extractive" and combined.text.endswith("钢铁：报告中未找到。")


def test_a_place_no_report_is_of_makes_no_comparison() -> None:
    # one report that mentions another place (吉林的报告说黑龙江…) is one question, not two parts
    scope = Scope(places=("吉林省", "辽宁省"), doc_ids=frozenset({"jl"}))
    assert len(split_question("吉林和辽宁2025年的粮食产量目标各是多少？", scope, CARDS)) <= 1


def test_a_total_or_difference_of_named_things_is_asked_part_by_part_plainly() -> None:
    assert questions("专项检查和日常检查一共检查了多少户商户？", Scope()) == ["专项检查检查了多少户商户？", "日常检查检查了多少户商户？"]
    assert questions("甲街道比乙街道多建了多少个驿站？", Scope()) == ["甲街道建了多少个驿站？", "乙街道建了多少个驿站？"]
    scope = Scope(places=("吉林省", "黑龙江省"), doc_ids=frozenset({"jl", "hlj"}))
    assert questions("吉林比黑龙江2025年的粮食产量目标高多少？", scope) == [
        "吉林2025年的粮食产量目标是多少？",
        "黑龙江2025年的粮食产量目标是多少？",
    ]


def test_the_parts_figures_are_worked_out_with_both_citations_and_each_part_is_a_row() -> None:
    text = "新能源产业产值增长8%,装备制造业增加值增长10%左右。"
    doc = _doc(text)
    parts = [Part("新能源产业产值要增长多少？", "甲"), Part("装备制造业增加值要增长多少？", "乙")]
    answers = [_answer(parts[0].question, 0, 11, text), _answer(parts[1].question, 12, len(text) - 1, text)]
    combined = combine_answers("甲和乙的增长目标相差多少？", parts, answers, answers[0].hits, {"d": doc})
    assert combined.calculation is not None and combined.calculation.expression == "10% − 8% = 约2个百分点"
    assert combined.text.endswith("；按报告数字计算：10% − 8% = 约2个百分点[1]。")  # one sentence, cited once
    # a labelled part's row is named by the report that answers it
    assert [(p.label, p.markers, p.found) for p in combined.parts] == [(doc.title, (1,), True), (doc.title, (1,), True)]


def test_no_figure_is_worked_out_from_one_quote_answering_two_parts_or_from_bounds() -> None:
    doc = _doc()
    parts = [Part("新能源产业产值要增长多少？", "甲"), Part("新能源产值要增长多少？", "乙")]
    same = [_answer(parts[0].question, 0, 13), _answer(parts[1].question, 0, 13)]
    assert combine_answers("甲和乙相差多少？", parts, same, (), {"d": doc}).calculation is None
    bounds = [_answer(parts[0].question, 0, 13), _answer(parts[1].question, 14, len(doc.text) - 1)]  # 8%以上, 10%左右
    assert combine_answers("甲和乙相差多少？", parts, bounds, (), {"d": doc}).calculation is None


def test_no_figure_is_worked_out_when_a_part_is_missing() -> None:
    doc = _doc()
    parts = [Part("新能源产业产值要增长多少？", "甲"), Part("钢铁产量要增长多少？", "乙")]
    missing = Answer(parts[1].question, "报告中未找到相关信息。", (), (), "not_found")
    combined = combine_answers("甲和乙一共增长多少？", parts, [_answer(parts[0].question, 0, 13), missing], (), {"d": doc})
    assert combined.calculation is None and "计算" not in combined.text
    assert [p.found for p in combined.parts] == [True, False]
