"""The OpenAI-compatible endpoint of a real `policyqa serve` (the default model, the bundled
reports), driven by the official `openai` client and LangChain's `ChatOpenAI` over HTTP:
streamed and whole answers, a follow-up, an unanswerable question. Questions written here."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI

from benchmarks.load import server_env, start_server
from rag.config import Settings
from rag.index.folder.persist import build_index
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

KEY = "e2e-key"
TARGET = "江苏省2026年地区生产总值增长的预期目标是多少？"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("openai")
    shutil.copytree(ROOT / "data" / "reports", root / "reports")
    index_dir = root / "index" / "default"
    model = Settings().model
    build_index([root / "reports"], index_dir, settings=Settings(index_dir=index_dir))
    env = server_env(model, POLICYQA_API_KEY=KEY, POLICYQA_RATE_LIMIT_PER_MINUTE="0")  # the session's model cache
    with start_server(index_dir, model, env=env) as server:
        yield f"{server.url}/v1"


@pytest.fixture(scope="module")
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0, timeout=120)


def test_a_streamed_answer_arrives_in_pieces_with_its_references(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="policyqa", messages=[{"role": "user", "content": TARGET}], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "5%" in text and "[1]" in text and "来源：" in text
    last = next(c for c in chunks if c.choices and c.choices[0].finish_reason == "stop")
    reference = last.model_extra["references"][0]
    assert reference["title"] == "2026年江苏省政府工作报告" and "5%" in reference["quote"]
    assert reference["report"]["place"] == "江苏省" and reference["url"].startswith("http://127.0.0.1:")


def test_a_follow_up_asks_the_same_of_another_year(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="policyqa", messages=[{"role": "user", "content": TARGET}])
    follow = client.chat.completions.create(model="policyqa", messages=[
        {"role": "user", "content": TARGET},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "那2025年呢？"},
    ])
    assert "5%以上" in (follow.choices[0].message.content or "")
    assert follow.model_extra["references"][0]["title"] == "2025年江苏省政府工作报告"


def test_an_unanswerable_question_is_refused_with_the_closest_passages(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="policyqa", messages=[{"role": "user", "content": "苏州市科技局2024年办理了多少件火星移民申请？"}])
    assert (reply.choices[0].message.content or "").startswith("报告中未找到")
    assert reply.model_extra["mode"] == "not_found" and reply.model_extra["references"]


def test_a_wrong_key_is_refused(base_url: str) -> None:
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=base_url, api_key="wrong", max_retries=0).models.list()


def test_langchain_chat_openai(base_url: str) -> None:
    chat = ChatOpenAI(model="policyqa", base_url=base_url, api_key=KEY, max_retries=0, timeout=120)
    reply = chat.invoke([HumanMessage(TARGET)])
    assert "5%" in str(reply.content)
    again = chat.invoke([HumanMessage(TARGET), AIMessage(str(reply.content)), HumanMessage("那2025年呢？")])
    assert "5%以上" in str(again.content)
