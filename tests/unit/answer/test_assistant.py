"""The Assistant in LLM mode: streamed answers, extractive fallbacks, follow-up rewriting, one client."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel

from rag.answer.assistant import Assistant
from rag.config import Settings
from rag.text.normalize import normalize_width
from rag.types import Answer
from tests.fakes import (
    HISTORY,
    BrokenChatModel,
    FakeIndex,
    ScriptedChatModel,
    assert_exact,
    fake_index,
)

# --- the Assistant around it ---------------------------------------------------------------------------


def _assistant(tmp_path: Path, model: BaseChatModel, index: FakeIndex | None = None) -> Assistant:
    return Assistant(index or fake_index(), Settings(cache_dir=tmp_path, top_k=3), chat_model=model)


def test_assistant_streams_the_llm_answer(tmp_path):
    model = ScriptedChatModel(replies=["苏州市共有在营的科技类校外培训机构78家[1]。"])
    index = fake_index()
    events = list(_assistant(tmp_path, model, index).stream("苏州市共有多少家在营的科技类校外培训机构？"))
    answer = events[-1]
    assert isinstance(answer, Answer) and answer.mode == "llm"
    assert "".join(e for e in events if isinstance(e, str)) == answer.text
    assert answer.citations[0].chunk_id == index.chunks[2].chunk_id  # ranked first by the fake index
    assert_exact(answer, index.documents["suzhou2024test00"])


def test_assistant_falls_back_to_extractive_when_the_model_fails(tmp_path):
    index = fake_index()
    answer = _assistant(tmp_path, BrokenChatModel(), index).ask("苏州市共有多少家在营的科技类校外培训机构？")
    assert answer.mode == "extractive"
    assert answer.notice and "大模型暂不可用" in answer.notice and "无法连接" in answer.notice
    assert "78家" in answer.text
    assert_exact(answer, index.documents["suzhou2024test00"])


def test_assistant_falls_back_when_the_answer_invents_a_number(tmp_path):
    model = ScriptedChatModel(replies=["苏州市共有在营的科技类校外培训机构80家[1]。"])
    answer = _assistant(tmp_path, model).ask("苏州市共有多少家在营的科技类校外培训机构？")
    assert answer.mode == "extractive" and "80" not in answer.text and "78家" in answer.text
    assert "不在所引用的段落中" in (answer.notice or "")


def test_assistant_uses_the_llm_rewrite_for_follow_ups(tmp_path):
    model = ScriptedChatModel(
        replies=["2024年检查的入库登记54家科技型中小企业是哪个区的？", "检查吴江区科技型中小企业入库登记54家[1]。"]
    )
    index = fake_index()
    answer = _assistant(tmp_path, model, index).ask("那54家是哪个区的？", history=HISTORY)
    assert answer.rewritten_query == "2024年检查的入库登记54家科技型中小企业是哪个区的？"
    assert index.queries[-1].startswith(normalize_width(answer.rewritten_query))  # searched, synonyms appended
    assert answer.mode == "llm" and answer.citations[0].chunk_id == index.chunks[1].chunk_id


def test_concurrent_first_questions_build_one_chat_model(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import rag.answer.assistant
    from rag.answer.assistant import Assistant
    from rag.config import Settings

    built: list[object] = []

    def slow_build(settings: Settings) -> object:
        time.sleep(0.05)  # wide enough for every thread to see "not built yet"
        built.append(object())
        return built[-1]

    monkeypatch.setattr(rag.answer.assistant, "build_chat_model", slow_build)
    assistant = Assistant(index=None, settings=Settings(llm_provider="none"))  # type: ignore[arg-type]
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(assistant.chat_model)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and all(model is built[0] for model in seen)


def test_an_llm_answer_citing_a_passage_without_the_asked_indicator_falls_back(tmp_path):
    # the passages speak of 入库登记 checks of 科技型中小企业, never of 外资企业: a cited figure is invented
    model = ScriptedChatModel(replies=["检查外资企业54家[1]。"])
    answer = _assistant(tmp_path, model).ask("2024年检查了多少家外资企业？")
    assert answer.mode != "llm" and "未通过核对" in (answer.notice or "") and "外资企业" in (answer.notice or "")
