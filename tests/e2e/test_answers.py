"""End to end with the real model: retrieval quality, answers, citations, follow-ups."""

import json
import re

import pytest

from rag import Assistant, Turn
from rag.retrieve.hybrid import search
from rag.text.normalize import normalize_width
from tests.conftest import DEV_GOLD

pytestmark = pytest.mark.slow

GOLD = [json.loads(line) for line in DEV_GOLD.read_text(encoding="utf-8").splitlines()]
ANSWERABLE = [g for g in GOLD if g["evidence"]]


def _has_evidence(item, text, source):
    return source == item["doc"] and any(normalize_width(e) in text for e in item["evidence"])


def _first_hit_rank(index, item, k=5):
    for hit in search(index, item["question"], k=k):
        if _has_evidence(item, hit.chunk.text, hit.source):
            return hit.rank
    return None


def test_retrieval_finds_the_evidence_on_the_sample(real_index):
    ranks = [_first_hit_rank(real_index, item) for item in ANSWERABLE]
    hit1 = sum(r == 1 for r in ranks) / len(ranks)
    hit5 = sum(r is not None for r in ranks) / len(ranks)
    assert hit1 >= 0.8 and hit5 >= 0.95, (hit1, hit5)


def test_retrieval_among_same_genre_reports(distractor_index):
    """Six other bureaus' reports repeat the stock phrases and numbers.

    Several seed questions name no bureau or year, so other reports answer them
    too; the sample's passage must still be among the first five (22 of 23 with
    results diversified across reports: "2025年有哪些工作打算？" is answered by
    the same section of five 2024 reports).
    """
    ranks = [_first_hit_rank(distractor_index, item) for item in ANSWERABLE]
    hit5 = sum(r is not None for r in ranks) / len(ranks)
    assert hit5 >= 0.95, hit5


@pytest.fixture(scope="module")
def assistant(real_index):
    return Assistant(real_index)


def test_dev_answers_contain_the_facts(assistant):
    answerable = [g for g in GOLD if g["kind"] != "unanswerable"]
    correct = sum(all(f in assistant.ask(g["question"]).text for f in g["answer_facts"]) for g in answerable)
    assert correct / len(answerable) >= 0.85


def test_citations_quote_the_document_exactly(assistant):
    for item in ANSWERABLE:
        answer = assistant.ask(item["question"])
        for c in answer.citations:
            doc = assistant.index.documents[c.doc_id]
            assert doc.text[c.start : c.end] == c.quote
            assert f"[{c.marker}]" in answer.text


def test_unanswerable_questions_are_not_found(assistant):
    unrelated = ("苏州市2024年的GDP是多少？", "市科技局2024年的财政预算是多少亿元？", "苏州地铁一共有几条线路？", "How tall is Mount Everest?")
    for question in unrelated:
        answer = assistant.ask(question)
        assert answer.mode == "not_found", (question, answer.text)
        assert answer.text.startswith("报告中未找到")


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def test_no_number_absent_from_the_citations(assistant):
    for item in GOLD:
        answer = assistant.ask(item["question"])
        shown = " ".join(c.quote + "".join(c.section) + c.title for c in answer.citations)
        for number in _NUMBER.findall(re.sub(r"\[\d+\]", "", answer.text)):
            assert number in shown, (item["question"], number, answer.text)


ENGLISH_QUESTIONS = [
    "How many enterprises were involved in the inspection of work permits for foreigners?",
    "How many technology training institutions are operating in Suzhou?",
    "When was this report published?",
]


@pytest.mark.parametrize("question", ENGLISH_QUESTIONS)
def test_an_english_question_gets_an_english_lead_in_then_the_cited_chinese_quote(assistant, question):
    answer = assistant.ask(question)
    assert answer.mode == "extractive" and answer.citations
    lead, _, quoted = answer.text.partition("\n")
    assert lead.startswith("The report") and not re.search(r"[\u4e00-\u9fff]", re.sub(r"\d+[^\s,;\[]*", "", lead))
    assert re.search(r"[\u4e00-\u9fff]", quoted) and "[1]" in quoted
    quotes = " ".join(c.quote for c in answer.citations)
    for number in _NUMBER.findall(re.sub(r"\[\d+\]", "", lead)):
        assert number in quotes, (question, number, answer.text)  # the lead-in says no number the quotes do not


CONVERSATIONS = [
    ("2024年检查了多少家企业？", "那54家是哪个区的？", "吴江区"),
    ("苏州市共有多少家在营的科技类校外培训机构？", "其中有多少家已通过审批准入？", "35"),
    ("“苏科创十八条”是什么时候发布的？", "它是在哪个大会上发布的？", "科创大会"),
    ("2024年处理了多少件信访投诉案例？", "那依申请公开政府信息案例呢？", "2件"),
    ("市科技局现有行政权力事项共几项？", "这些事项里行政处罚有几项？", "行政处罚5项"),
]


@pytest.mark.parametrize(("first", "second", "expected"), CONVERSATIONS)
def test_follow_up_questions_resolve_against_the_previous_turn(assistant, first, second, expected):
    previous = assistant.ask(first)
    answer = assistant.ask(second, history=[Turn(first, previous.text)])
    assert expected in answer.text, answer.text
    assert answer.rewritten_query and first.rstrip("？") in answer.rewritten_query
