"""The rules an answering sentence must pass: the question's key words (its indicator, object and
qualifiers), and the answer's form (a count of the asked thing, a rate for a rate). Pure."""

from __future__ import annotations

import pytest

from rag.answer.evidence import select_evidence
from rag.answer.form import ANSWER_FORM, NUMBER_WITH_UNIT, asked_form, form_score
from rag.answer.terms import holds, key_terms
from rag.retrieve.query import analyze_query
from rag.types import Chunk, Document, DocumentMeta, Hit


@pytest.mark.parametrize(
    ("question", "keys"),
    [
        ("2010年政府工作报告提出的城镇调查失业率目标是多少？", ("城镇", "调查", "失业率")),  # 调查 qualifies it
        ("江苏2025年城镇登记失业率目标是多少？", ("城镇", "登记", "失业率")),
        ("2022年政府工作报告里国防支出预算增长多少？", ("国防",)),  # report, year, place and 目标 are scope
        ("创新券管理办法由哪个部门负责解释？", ("管理",)),  # 哪个部门: the answer's kind, not its content
        ("哪些费用不能用创新券支付？", ()),
        ("太仓2024年引进了多少家德国企业？", ("太仓", "德国企业")),  # one word the thesaurus knows (德资企业)
        ("2019年赤字率定了多少？", ("赤字",)),  # no guessed word 率定
    ],
)
def test_key_terms_are_the_words_naming_what_is_asked(question: str, keys: tuple[str, ...]) -> None:
    assert key_terms(question) == keys


def test_holds_accepts_a_synonym_and_a_reworded_long_term_but_not_a_neighbour() -> None:
    assert holds("全年新增德资企业58家", "德国企业")
    assert holds("自受理申请之日起20日内作出是否颁发专利代理机构执业许可证的决定", "申请专利")
    assert not holds("城镇登记失业率控制在4.6%以内", "调查")


def _evidence(question: str, *sentences: str) -> list[str]:
    text = "\n\n".join(sentences)
    doc = Document("d1", "2025年某省政府工作报告", text, "a.txt", DocumentMeta(genre="政府工作报告", year=2025))
    hits, start = [], 0
    for i, s in enumerate(sentences):
        chunk = Chunk(f"d1-{i}", "d1", s, start, start + len(s), ("二、2025年主要任务",), i)
        hits.append(Hit(chunk, 1.0 - i * 0.1, i + 1, doc.title, doc.source))
        start += len(s) + 2
    found = select_evidence(question, hits, {"d1": doc}, required=key_terms(question))
    return [text[e.start : e.end] for e in found]


def test_a_sentence_about_a_neighbouring_indicator_is_never_evidence() -> None:
    assert _evidence("城镇调查失业率目标是多少？", "城镇登记失业率控制在4.6%以内。") == []
    assert _evidence("城镇调查失业率目标是多少？", "城镇登记失业率控制在4.6%以内。", "城镇调查失业率5.5%左右。") == [
        "城镇调查失业率5.5%左右。"
    ]


def test_a_quoted_clause_holds_the_key_words_itself_or_in_its_lead_in_not_after_it() -> None:
    # the subject named before the clause counts (…工作许可…检查,涉及外国人16人次)
    assert _evidence(
        "外国人来华工作许可的检查涉及多少外国人？",
        "市科技局联合市市场监管局开展了“双随机、一公开”事中事后监管行政执法检查工作,并严格落实行政执法“三项制度”。"
        "一是对吴江区2024年度外国人来华工作许可事项开展了“双随机、一公开”行政执法检查,涉及企业11家,"
        "涉及外国人16人次,检查结果均符合有关规定。",
    )[0].startswith("涉及外国人16人次")
    # a clause about another indicator does not borrow the word that follows it in the sentence
    found = _evidence(
        "粮食产量目标是多少？",
        "城镇新增就业1100万人以上,城镇调查失业率5.5%左右,居民消费价格涨幅3%左右,国际收支基本平衡,粮食产量保持在1.3万亿斤以上。",
    )
    assert found == ["粮食产量保持在1.3万亿斤以上。"]


def _form(question: str, clause: str) -> float:
    return form_score(asked_form(question, analyze_query(question)), clause)


def test_a_count_of_another_thing_a_duration_or_an_amount_does_not_answer() -> None:
    assert _form("试点一共纳入了多少个药品品种？", "选择北京、上海等11个城市") < ANSWER_FORM
    assert _form("一共发放了多少科技创新券？", "创新券自发放之日起12个月内有效") < ANSWER_FORM
    assert _form("2014年的财政赤字率是多少？", "今年拟安排财政赤字13500亿元") < ANSWER_FORM
    assert _form("2014年的财政赤字率是多少？", "赤字率稳定在2.1%") == 1.0
    assert _form("要在多少天内作出决定？", "自受理申请之日起20日内作出决定") == 1.0  # 天 asked, 日 written


def test_a_lone_yi_before_a_measure_word_is_not_a_stated_count() -> None:
    assert not NUMBER_WITH_UNIT.search("走出一条新时期军民团结之路")
    assert NUMBER_WITH_UNIT.search("新增十一家") and NUMBER_WITH_UNIT.search("投资一万元")


def test_an_amount_asked_prefers_the_amount_to_a_growth_rate() -> None:
    found = _evidence("2024年地区生产总值是多少？", "地区生产总值增长5.8%、总量达到60013亿元。")
    assert found and "60013亿元" in found[0]


def test_a_modified_indicator_weighs_less_than_the_asked_one() -> None:
    found = _evidence(
        "2024年地区生产总值达到多少？", "人均地区生产总值达到5.28万元。", "全省地区生产总值2024年达到1.3万亿元。"
    )
    assert "1.3万亿元" in found[0]


def _hits(*texts: str) -> list[Hit]:
    chunks = [Chunk(f"d1-{i}", "d1", t, 0, len(t), (), i) for i, t in enumerate(texts)]
    return [Hit(c, 1.0, i + 1, "某报告", "a.txt") for i, c in enumerate(chunks)]


def test_an_english_questions_key_words_are_the_passages_wording_or_it_is_in_none() -> None:
    from rag.answer.terms import translated_key_terms

    hits = _hits("检查吴江区科技型中小企业入库登记54家。", "开展“双随机、一公开”监管。")
    keys = translated_key_terms("How many SMEs were checked under 'double random, one public'?", hits)
    assert keys is not None and {"中小企业", "检查", "双随机一公开"} <= set(keys)  # written 双随机、一公开
    assert translated_key_terms("What is the unemployment rate target?", hits) is None  # 失业 in no passage
    assert translated_key_terms("What is the target?", hits) == ()  # 目标 is the answer's form, not its subject


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("专项整治行动为期多长时间？", "专项整治行动为期两个半月,覆盖全市。"),  # a duration in Chinese numerals
        ("培训持续多久？", "培训为期3个月。"),
        ("审查期限是多少个工作日？", "审查机关应当在10至20个工作日内完成审查。"),  # a range; 期限 is the form asked
        ("一共开展了多少次督查？", "全年开展督查20多次,发现问题50余个。"),  # an approximate count
        ("居民消费价格涨幅目标是多少？", "居民消费价格涨幅2%左右。"),
        ("财政赤字率目标区间是多少？", "财政赤字率拟按4%—4.5%安排。"),
    ],
)
def test_durations_ranges_and_approximations_answer_like_counts(question: str, sentence: str) -> None:
    assert _evidence(question, sentence, "今年继续推进相关工作。") == [sentence]


def test_an_english_how_many_question_counts_its_noun_in_the_reports_wording() -> None:
    english = "How many enterprises were involved in the inspection of work permits for foreigners?"
    assert asked_form(english, analyze_query(english)).counted == "企业"
    assert _form(english, "涉及企业11家") > _form(english, "涉及外国人16人次")  # 16人次 counts people
    people = "How many people did the training reach?"
    assert asked_form(people, analyze_query(people)).counted is None  # counted by a measure word (人)
