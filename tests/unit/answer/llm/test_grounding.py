"""The model's answer checked: markers renumbered, quotes with exact offsets, the number guard, refusals."""

from __future__ import annotations

import pytest

from rag.answer.llm.grounding import finalize_llm_answer
from rag.errors import AnswerRejected, LLMError
from rag.text.numerals import numbers_in
from tests.fakes import (
    TITLE,
    ScriptedChatModel,
    assert_exact,
    corpus,
    hits_of,
    run,
)

# --- streaming and citations ---------------------------------------------------------------------------


@pytest.mark.parametrize("piece", [1, 2, 5, 1000])
def test_stream_yields_deltas_then_one_answer_with_exact_citation(piece):
    doc, chunks = corpus()
    hits = hits_of(chunks, doc)
    reply = "截至2024年12月,苏州市共有在营的科技类校外培训机构78家[3],其中已通过审批准入的35家[3]。"
    deltas, answer = run(ScriptedChatModel(replies=[reply], piece=piece), "有多少家培训机构？", hits, doc)
    assert len(deltas) >= (2 if piece < len(reply) else 1)
    assert "".join(deltas) == answer.text  # streamed text already renumbered: no jump at the end
    assert answer.mode == "llm" and answer.notice is None
    assert answer.text.count("[1]") == 2 and "[3]" not in answer.text
    (citation,) = answer.citations
    assert citation.marker == 1 and citation.chunk_id == chunks[2].chunk_id
    assert citation.section == chunks[2].section and citation.title == TITLE
    # The supporting clauses of a long sentence, not the whole sentence or passage.
    assert citation.quote == "截至2024年12月,苏州市共有在营的科技类校外培训机构78家,目前已通过审批准入的35家"
    assert_exact(answer, doc)


def test_markers_renumbered_by_first_appearance_each_quoting_its_own_support():
    doc, chunks = corpus()
    hits = hits_of(chunks, doc)
    reply = "对吴江区外国人来华工作许可事项的检查涉及企业11家【2】;局党组书记先后8次召集专题会议[1, 2]。"
    _, answer = run(ScriptedChatModel(replies=[reply]), "检查了多少家企业？", hits, doc)
    assert answer.text == "对吴江区外国人来华工作许可事项的检查涉及企业11家[1];局党组书记先后8次召集专题会议[2][1]。"
    first, second = answer.citations
    assert (first.marker, first.chunk_id) == (1, chunks[1].chunk_id)
    assert (second.marker, second.chunk_id) == (2, chunks[0].chunk_id)
    assert "涉及企业11家" in first.quote
    assert "先后8次召集专题会议" in second.quote
    assert_exact(answer, doc)


def test_quote_offsets_are_right_when_the_phrase_repeats_in_the_document():
    # The 35家 phrase occurs twice in the training passage; the quote must be the supporting one.
    doc, chunks = corpus()
    hits = hits_of(chunks, doc)
    reply = "目前35家科技类校外培训机构的资金监管均已纳入“国平台”[3]。"
    _, answer = run(ScriptedChatModel(replies=[reply]), "预收费资金监管情况如何？", hits, doc)
    (citation,) = answer.citations
    assert "资金监管均已纳入" in citation.quote
    assert_exact(answer, doc)


def test_marker_to_a_passage_not_given_is_dropped_and_flagged():
    doc, chunks = corpus()
    hits = hits_of(chunks, doc)
    reply = "苏州市共有在营的科技类校外培训机构78家[3][9]。"
    deltas, answer = run(ScriptedChatModel(replies=[reply], piece=1), "有多少家培训机构？", hits, doc)
    assert "[9]" not in answer.text and not any("9" in d for d in deltas)
    assert answer.text == "苏州市共有在营的科技类校外培训机构78家[1]。"
    assert answer.notice == "已删除指向不存在段落的引用 [9]"
    assert [c.chunk_id for c in answer.citations] == [chunks[2].chunk_id]


def test_only_invalid_markers_leaves_an_uncited_answer_which_is_rejected():
    doc, chunks = corpus()
    with pytest.raises(AnswerRejected, match="没有引用"):
        run(ScriptedChatModel(replies=["苏州市共有在营的科技类校外培训机构78家[7]。"]), "q", hits_of(chunks, doc), doc)


@pytest.mark.parametrize(
    "reply",
    [
        "苏州市共有在营的科技类校外培训机构80家[3]。",  # invented
        "苏州市共有在营的科技类校外培训机构八十家[3]。",  # invented, in Chinese numerals
        "2024年对吴江区的检查涉及企业11家[3]。",  # true, but 11 is in passage 2, which is not cited
        "GDP是100万亿[1]。",
        "2024年共检查企业两批[2]。",  # 两 = 2: no digit 2 in the passage (nor may the header date lend one)
        "第5批检查涉及企业11家[2]。",  # the heading ordinal 5. is no fact
        "在营机构78家、已准入35家[3],合计78 + 35 = 123家。",  # a computation shown, but wrong (113)
        "在营机构78家[3],未准入78 − 35 = 43家,另有50家。",  # a right computation licenses 43, not 50
    ],
)
def test_number_not_in_cited_passages_is_rejected(reply):
    doc, chunks = corpus()
    with pytest.raises(LLMError, match="数字"):
        run(ScriptedChatModel(replies=[reply]), "有多少家？", hits_of(chunks, doc), doc)


@pytest.mark.parametrize(
    "reply",
    [
        "苏州市共有在营的科技类校外培训机构七十八家[3]。",  # same value, other spelling
        "1. 在营机构78家[3]\n2. 已准入35家[3]",  # list numbering is not a claim
        "苏州市科技局2024年度报告显示,在营机构78家[3]。",  # the year is in the cited report's title
        "报告于2025年2月12日发布[3]。",  # the publication date the passage header shows
        "报告发布于2025-02-12[1]。",
        "在营机构78家、已准入35家[3],尚未准入的有78 − 35 = 43家。",  # a computation of cited numbers, shown
    ],
)
def test_numbers_found_in_cited_passages_pass(reply):
    doc, chunks = corpus()
    _, answer = run(ScriptedChatModel(replies=[reply]), "有多少家？", hits_of(chunks, doc), doc)
    assert answer.mode == "llm"
    assert_exact(answer, doc)


def test_refusal_becomes_not_found_with_hits():
    doc, chunks = corpus()
    hits = hits_of(chunks, doc)
    deltas, answer = run(ScriptedChatModel(replies=["报告中未找到相关信息。"]), "GDP是多少？", hits, doc)
    assert "".join(deltas) == "报告中未找到相关信息。"
    assert answer.mode == "not_found" and answer.citations == ()
    assert answer.text.startswith("报告中未找到相关信息") and answer.hits == tuple(hits)


def test_reasoning_block_is_neither_streamed_nor_checked():
    doc, chunks = corpus()
    reply = "<think>大概是100家?再看看</think>\n在营机构78家[3]。\n\n"
    deltas, answer = run(ScriptedChatModel(replies=[reply], piece=2), "有多少家？", hits_of(chunks, doc), doc)
    assert answer.text == "在营机构78家[1]。" and "".join(deltas) == answer.text


def test_empty_reply_is_an_llm_error():
    doc, chunks = corpus()
    with pytest.raises(LLMError, match="空"):
        finalize_llm_answer("q", "  ", hits_of(chunks, doc), hits_of(chunks, doc), {doc.doc_id: doc})


def test_numbers_in():
    assert numbers_in("涉及企业11家,检查率达100%,开展两次检查,一项制度") == {"11", "100", "2"}
    assert numbers_in("2万元") >= {"20000"} and numbers_in("两万元") == {"20000"}
