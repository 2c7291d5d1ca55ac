"""Calling the model: client failures become LLMError, unreachable endpoints fail fast, follow-up rewriting."""

from __future__ import annotations

import time

import pytest

from rag.answer.llm.providers import build_chat_model
from rag.answer.llm.stream import rewrite_with_llm
from rag.config import Settings
from rag.errors import LLMError
from tests.fakes import (
    HISTORY,
    BrokenChatModel,
    ScriptedChatModel,
    corpus,
    hits_of,
    run,
)

# --- failures of the model client ----------------------------------------------------------------------


def test_client_exception_becomes_llm_error():
    doc, chunks = corpus()
    with pytest.raises(LLMError, match="无法连接"):
        run(BrokenChatModel(), "q", hits_of(chunks, doc), doc)


def test_unreachable_openai_endpoint_fails_fast(tmp_path):
    settings = Settings(
        cache_dir=tmp_path, llm_provider="openai", llm_base_url="http://127.0.0.1:9/v1", llm_model="qwen", llm_timeout=2.0
    )
    model = build_chat_model(settings)
    doc, chunks = corpus()
    started = time.monotonic()
    with pytest.raises(LLMError) as caught:
        run(model, "有多少家培训机构？", hits_of(chunks, doc), doc)
    assert time.monotonic() - started < 10
    assert "无法连接" in str(caught.value) or "超时" in str(caught.value)



# --- follow-up rewriting -------------------------------------------------------------------------------



def test_rewrite_returns_the_standalone_question():
    model = ScriptedChatModel(replies=["“2024年检查的入库登记54家科技型中小企业是哪个区的？”\n"])
    assert rewrite_with_llm(model, "那54家是哪个区的？", HISTORY) == "2024年检查的入库登记54家科技型中小企业是哪个区的？"
    (message,) = model.received[0]
    assert "2024年检查了多少家企业？" in message.content and "新问题：那54家是哪个区的？" in message.content


@pytest.mark.parametrize("reply", ["", "   \n", "这是一个非常长的回答" * 30, "报告中未找到相关信息"])
def test_rewrite_rejects_empty_or_rambling_output(reply):
    with pytest.raises(LLMError):
        rewrite_with_llm(ScriptedChatModel(replies=[reply]), "那54家是哪个区的？", HISTORY)


def test_rewrite_client_failure_is_llm_error():
    with pytest.raises(LLMError):
        rewrite_with_llm(BrokenChatModel(), "那54家是哪个区的？", HISTORY)


def test_a_model_that_never_stops_is_cut_off():
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from rag.answer.llm.stream import stream_llm_answer
    from rag.types import Answer, Chunk, Document, Hit

    doc = Document(doc_id="d", title="t", text="本年共检查企业11家。", source="s")
    hit = Hit(Chunk("d-0", "d", doc.text, 0, len(doc.text), ("一、",), 0), 1.0, 1, "t", "s")
    rambling = GenericFakeChatModel(messages=iter([AIMessage(content="检查企业11家[1]。 " + "废话 " * 100_000)]))
    started = time.perf_counter()
    *deltas, answer = stream_llm_answer(rambling, "检查了多少家企业？", [hit], {"d": doc}, max_chars=400)
    assert isinstance(answer, Answer) and time.perf_counter() - started < 5
    assert sum(len(d) for d in deltas if isinstance(d, str)) <= 400
