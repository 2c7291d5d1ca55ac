"""The OpenAI-compatible endpoint, driven by the clients users have: the official `openai`
package and LangChain's `ChatOpenAI`, over the in-process app (the small fake assistant of
test_api.py answers with the real extractive composer)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import openai
import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI

from rag.index.filters import Filters
from rag.types import Answer, Turn
from tests.unit.ui.test_api import FakeAssistant, FakeIndex, _client
from ui.chat_completions import SOURCES_HEADING, strip_sources

QUESTION = "2024年检查了多少家企业？"


@pytest.fixture(scope="module")
def index() -> FakeIndex:
    from tests.conftest import SAMPLE

    return FakeIndex([SAMPLE])


def _openai(client: TestClient, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{client.base_url}/v1", api_key=key, http_client=client, max_retries=0)


def test_openai_client_gets_a_cited_answer_with_references(tmp_path: Path, index: FakeIndex) -> None:
    client, _ = _client(tmp_path, index)
    completion = _openai(client).chat.completions.create(model="policyqa", messages=[{"role": "user", "content": QUESTION}])
    content = completion.choices[0].message.content or ""
    assert "11家[1]" in content and "54家,均符合有关要求[2]" in content
    assert f"\n\n---\n{SOURCES_HEADING}\n[1] [《" in content  # a front end showing only content shows the sources
    references = completion.model_extra["references"]
    assert [r["marker"] for r in references] == [1, 2]
    first = references[0]
    assert "11家" in first["quote"] and first["section"][0].startswith("二、")
    assert first["url"].endswith(f"/report/{first['doc_id']}?start={first['start']}&end={first['end']}#c-{first['start']}")
    assert first["report"]["issuer"] == "苏州市科学技术局"
    assert completion.model_extra["mode"] == "extractive" and completion.usage.total_tokens > 0


def test_openai_client_streams_the_same_answer_and_references(tmp_path: Path, index: FakeIndex) -> None:
    client, _ = _client(tmp_path, index)
    whole = _openai(client).chat.completions.create(model="policyqa", messages=[{"role": "user", "content": QUESTION}])
    stream = _openai(client).chat.completions.create(
        model="policyqa", messages=[{"role": "user", "content": QUESTION}], stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 3  # sent in pieces
    last = next(c for c in chunks if c.choices and c.choices[0].finish_reason == "stop")
    assert [r["marker"] for r in last.model_extra["references"]] == [1, 2]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_a_follow_up_gets_the_earlier_turns_without_the_sources_block(tmp_path: Path, index: FakeIndex) -> None:
    client, assistant = _client(tmp_path, index)
    first = _openai(client).chat.completions.create(model="policyqa", messages=[{"role": "user", "content": QUESTION}])
    shown = first.choices[0].message.content or ""
    _openai(client).chat.completions.create(model="policyqa", messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": shown},
        {"role": "user", "content": [{"type": "text", "text": "其中入库登记的有多少家？"}]},
    ])
    assert assistant.histories[-1] == (Turn(QUESTION, strip_sources(shown)),)
    assert SOURCES_HEADING not in assistant.histories[-1][0].answer and "11家[1]" in assistant.histories[-1][0].answer


def test_an_unanswerable_question_says_not_found_with_the_closest_passages(tmp_path: Path, index: FakeIndex) -> None:
    client, _ = _client(tmp_path, index)
    completion = _openai(client).chat.completions.create(
        model="policyqa", messages=[{"role": "user", "content": "2024年火星上检查了多少家企业？"}])
    content = completion.choices[0].message.content or ""
    assert content.startswith("报告中未找到") and "最接近的段落" in content
    assert completion.model_extra["mode"] == "not_found"
    references = completion.model_extra["references"]
    assert references and all(r["marker"] is None and r["quote"] for r in references)


def test_langchain_chat_openai_pointed_at_policyqa(tmp_path: Path, index: FakeIndex) -> None:
    client, assistant = _client(tmp_path, index)
    chat = ChatOpenAI(model="policyqa", base_url=f"{client.base_url}/v1", api_key="unused", http_client=client,
                      max_retries=0)
    reply = chat.invoke([HumanMessage(QUESTION)])
    assert "11家[1]" in str(reply.content)
    streamed = "".join(str(chunk.content) for chunk in chat.stream([HumanMessage(QUESTION)]))
    assert streamed == reply.content
    chat.invoke([HumanMessage(QUESTION), AIMessage(str(reply.content)), HumanMessage("入库登记的有多少家？")])
    assert assistant.histories[-1][0].question == QUESTION


def test_api_key_and_rate_limit_are_the_apis(tmp_path: Path, index: FakeIndex) -> None:
    client, _ = _client(tmp_path, index, api_key="s3cret", rate_limit_per_minute=2)
    with pytest.raises(openai.AuthenticationError, match="API key"):
        _openai(client, key="wrong").chat.completions.create(model="policyqa", messages=[{"role": "user", "content": QUESTION}])
    good = _openai(client, key="s3cret")
    assert good.models.list().data[0].id == "policyqa"
    good.chat.completions.create(model="policyqa", messages=[{"role": "user", "content": QUESTION}])
    assert client.post("/api/ask", json={"question": QUESTION}, headers={"X-API-Key": "s3cret"}).status_code == 200
    with pytest.raises(openai.RateLimitError) as caught:  # one budget per client across /api/ask and /v1
        good.chat.completions.create(model="policyqa", messages=[{"role": "user", "content": QUESTION}])
    assert int(caught.value.response.headers["retry-after"]) >= 1


@pytest.mark.parametrize(("body", "needle"), [
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": QUESTION}]}, "policyqa"),
    ({"model": "policyqa", "messages": []}, "messages"),
    ({"model": "policyqa", "messages": [{"role": "system", "content": "hi"}]}, "user message"),
    ({"model": "policyqa", "messages": [{"role": "user", "content": "  "}]}, "empty"),
    ({"model": "policyqa", "messages": [{"role": "user", "content": "问" * 501}]}, "limit"),
    ({"model": "policyqa", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
     "messages"),
    ({"model": "policyqa", "n": 2, "messages": [{"role": "user", "content": QUESTION}]}, "n"),
    ({"model": "policyqa", "response_format": {"type": "json_object"}, "messages": [{"role": "user", "content": QUESTION}]},
     "response_format"),
    ({"model": "policyqa", "tool_choice": "required", "messages": [{"role": "user", "content": QUESTION}]}, "tool_choice"),
])
def test_bad_requests_are_400_in_openais_error_shape(tmp_path: Path, index: FakeIndex, body: dict, needle: str) -> None:
    client, _ = _client(tmp_path, index)
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error" and needle in error["message"]
    streamed = client.post("/v1/chat/completions", json={**body, "stream": True})
    assert streamed.status_code == 400  # refused before the stream begins


class DraftingAssistant(FakeAssistant):
    """An LLM-mode assistant whose draft is rejected by verification: the draft states 99家."""

    def stream(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None,
               k: int | None = None) -> Iterator[str | Answer]:
        yield "共检查企业99家"
        *_, answer = super().stream(question, history, filters, k)
        assert isinstance(answer, Answer)
        yield replace(answer, notice="大模型的回答未通过核对，以下为原文摘录")


def test_an_unverified_draft_never_reaches_the_stream(tmp_path: Path, index: FakeIndex) -> None:
    client, assistant = _client(tmp_path, index)
    client.app.state.service._assistant = DraftingAssistant(assistant.index, assistant.settings)
    chunks = list(_openai(client).chat.completions.create(
        model="policyqa", messages=[{"role": "user", "content": QUESTION}], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "99家" not in text and "11家[1]" in text
    assert chunks[-1].model_extra["notice"].startswith("大模型的回答未通过核对")


def test_earlier_turns_may_hold_parts_this_server_does_not_read(tmp_path: Path, index: FakeIndex) -> None:
    client, assistant = _client(tmp_path, index)
    r = client.post("/v1/chat/completions", json={"model": "policyqa", "messages": [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "…"}, {"type": "text", "text": "11家[1]"}]},
        {"role": "user", "content": "其中入库登记的有多少家？"},
    ]})
    assert r.status_code == 200, r.text
    assert assistant.histories[-1] == (Turn(QUESTION, "11家[1]"),)


def test_report_links_use_the_public_url_when_set(tmp_path: Path, index: FakeIndex) -> None:
    client, _ = _client(tmp_path, index, public_url="https://portal.example/policyqa/")
    r = client.post("/v1/chat/completions", json={"model": "policyqa", "messages": [{"role": "user", "content": QUESTION}]},
                    headers={"Host": "evil.example"})
    assert all(ref["url"].startswith("https://portal.example/policyqa/report/") for ref in r.json()["references"])
    assert "evil.example" not in r.json()["choices"][0]["message"]["content"]


def test_an_unknown_v1_path_is_openais_404(tmp_path: Path, index: FakeIndex) -> None:
    client, _ = _client(tmp_path, index)
    r = client.get("/v1/embeddings")
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"


@pytest.mark.parametrize("api_key", [None, "s3cret"])
def test_the_schema_declares_v1_security_exactly_when_a_key_is_set(tmp_path: Path, index: FakeIndex, api_key) -> None:
    client, _ = _client(tmp_path, index, api_key=api_key)
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/chat/completions", "/v1/models"):
        for op in paths[path].values():
            assert ("security" in op) is bool(api_key) and ("401" in op["responses"]) is bool(api_key)
            assert op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("OpenAIErrorBody")
