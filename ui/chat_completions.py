"""PolicyQA behind the OpenAI chat-completions protocol: `POST /v1/chat/completions`, `GET /v1/models`.

Chat front ends (Open WebUI, LobeChat, Chatbox, a portal's widget) and SDKs (`openai`,
LangChain's `ChatOpenAI`) reach the assistant with their own client: the last user message
is the question, the user/assistant pairs before it the follow-up history, system messages
are not instructions (the assistant answers from the reports only). The answer text keeps its
[n] markers and ends with a sources block, so a front end that shows only `content` still shows
where each fact comes from; the same citations come as structured `references` (title,
section, quote, offsets, a link to the highlighted report) in the response and in the last
streamed chunk.

Streaming sends the answer only once it is verified: a front end cannot take back text it
has shown, so an LLM draft whose numbers or markers fail the checks never reaches it (the
extractive answer with its notice is sent instead).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from rag.config import Settings
from rag.errors import QueryError
from rag.retrieve.query import clean_query
from rag.text.token_count import count_tokens
from rag.types import Answer, Turn

from .api import ASK_BODY_LIMIT, MAX_HISTORY_TURNS, FiltersIn, PassageCount, identity_of, parse_filters
from .guards import Guards
from .render import report_href
from .schema import ReportIdentity
from .service import Service
from .telemetry import Telemetry

__all__ = ["MODEL_ID", "ChatCompletionChunk", "chat_router", "references_of", "sources_block", "strip_sources"]

MODEL_ID = "policyqa"
SOURCES_HEADING = "来源："
CLOSEST_HEADING = "最接近的段落（仅供参考）："
_SOURCES_RULE = "\n\n---\n"
STREAM_PIECE_CHARS = 24  # a verified answer is sent in pieces of about this many characters
QUOTE_CHARS = 120  # of a closest passage, in the sources block

log = logging.getLogger(__name__)


class TextPart(BaseModel):
    model_config = ConfigDict(strict=True)

    type: Literal["text"]
    text: str


class QuestionPart(TextPart):
    """A user message's text, as one part (images and files are not read)."""


class UserMessage(BaseModel):
    """A question (the last one is answered; the rules of `/api/ask`'s question apply to each)."""

    model_config = ConfigDict(extra="allow", strict=True)

    role: Literal["user"]
    content: str | Annotated[list[QuestionPart], Field(min_length=1, max_length=1)]


class ContentPart(BaseModel):
    """A part of an earlier message: text, or a kind this server does not read (refusal, image…)."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str
    text: str | None = None


class OtherMessage(BaseModel):
    """An earlier answer (assistant), or a message PolicyQA does not take instructions from."""

    model_config = ConfigDict(extra="allow", strict=True)

    role: Literal["system", "developer", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    type: Literal["text"]


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; parameters that shape a language model's sampling (temperature, top_p,
    max_tokens…) are accepted and have no effect on answers taken from the reports."""

    model_config = ConfigDict(extra="allow", strict=True)

    model: Literal["policyqa"] = Field(description="the one model this server offers (GET /v1/models)")
    messages: list[UserMessage | OtherMessage] = Field(
        min_length=1, description="the conversation, oldest first; it must hold a user message"
    )
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: Literal[1] = Field(default=1, description="one answer per question (the reports give one)")
    response_format: ResponseFormat | None = Field(default=None, description="text only: answers are cited prose")
    tool_choice: Literal["none", "auto"] | None = Field(
        default=None, description="PolicyQA calls no tools; a required tool call cannot be met")
    filters: FiltersIn | None = Field(default=None, description="PolicyQA: restrict to reports, as in /api/ask")
    k: PassageCount | None = Field(default=None, description="PolicyQA: passages retrieved")


class Reference(BaseModel):
    """Where a fact comes from: the quoted sentence in its report, with a link to it highlighted."""

    marker: int | None = Field(description="the [n] in the text; null for a closest passage of a not-found answer")
    doc_id: str
    title: str
    section: list[str] = Field(description="heading path, outermost first")
    quote: str
    start: int = Field(description="offset of the quote in the report text")
    end: int
    url: str = Field(description="the report with the quote highlighted")
    report: ReportIdentity | None


class ResponseMessage(BaseModel):
    role: Literal["assistant"]
    content: str


class Choice(BaseModel):
    index: int
    message: ResponseMessage
    finish_reason: Literal["stop"]


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    """OpenAI's response plus `references` and PolicyQA's answer `mode` and `notice`."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    references: list[Reference]
    mode: Literal["extractive", "llm", "not_found"]
    notice: str | None


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int
    delta: ChunkDelta
    finish_reason: Literal["stop"] | None


class ChatCompletionChunk(BaseModel):
    """One server-sent event of a streamed answer; the last one with a choice has `finish_reason`
    "stop", `references`, `mode` and `notice`; with `stream_options.include_usage`, one more
    follows with no choices and the `usage`. The stream ends with `data: [DONE]`."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoice]
    references: list[Reference] | None = None
    mode: Literal["extractive", "llm", "not_found"] | None = None
    notice: str | None = None
    usage: Usage | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelCard]


def chat_router(service: Service, settings: Settings, guards: Guards, telemetry: Telemetry) -> APIRouter:
    """/v1/chat/completions and /v1/models, bound to one service, behind the API's guards."""
    router = APIRouter(prefix="/v1", dependencies=[Depends(guards.require_key)], tags=["openai"])
    started = int(time.time())

    @router.get("/models", response_model=None, responses={200: {"model": ModelList}})
    def models() -> dict[str, Any]:
        """The models this server offers: one, PolicyQA itself."""
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": started, "owned_by": "policyqa"}]}

    @router.post(
        "/chat/completions",
        dependencies=[Depends(guards.rate_limited)],
        max_body_size=ASK_BODY_LIMIT,
        response_model=None,
        responses={200: {"model": ChatCompletion, "content": {"text/event-stream": {}},
                         "description": "the answer; with `stream: true`, server-sent chunks ending in [DONE]"}},
    )
    def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
        """Answer the conversation's last user message, citing the reports (OpenAI's protocol)."""
        question, history = conversation(body.messages, settings.max_question_chars)
        filters = parse_filters(body.filters)
        base = settings.public_url.rstrip("/") + "/" if settings.public_url else str(request.base_url)
        reply = _Reply(body, question, history, filters, base, service, telemetry, guards.client_of(request))
        if body.stream:
            return StreamingResponse(reply.chunks(), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return reply.completion()

    @router.api_route("/{path:path}", methods=["GET", "POST"], include_in_schema=False)
    def unknown(path: str) -> None:
        """OpenAI's 404 for paths this server does not have (else the page mounted at / answers)."""
        raise HTTPException(404, f"no such endpoint: /v1/{path}; this server has /v1/chat/completions and /v1/models")

    return router


def conversation(messages: list[UserMessage | OtherMessage], max_chars: int) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the turns before it, each a question and its answer.

    >>> conversation([UserMessage(role="user", content="2024年检查了多少家企业？")], 500)
    ('2024年检查了多少家企业？', [])
    """
    turns: list[Turn] = []
    pending: str | None = None
    question: str | None = None
    for position, message in enumerate(messages):
        text = _text(message.content)
        if isinstance(message, UserMessage):
            try:
                clean_query(text, max_chars)
            except QueryError as exc:
                raise QueryError(f"messages.{position}: {exc}") from None
            pending = question = text
        elif message.role == "assistant" and pending is not None:
            turns.append(Turn(pending, strip_sources(text)))
            pending = None
    if question is None:
        raise QueryError("messages must hold a user message: its text is the question")
    if turns and pending is None:  # the conversation ends with an answer: answer its last question again
        turns.pop()
    return question, turns[-MAX_HISTORY_TURNS:]


def _text(content: str | list[TextPart] | list[ContentPart] | None) -> str:
    if content is None:
        return ""
    return content if isinstance(content, str) else "\n".join(part.text for part in content if part.text)


def strip_sources(text: str) -> str:
    """An earlier answer without the sources block this endpoint appended (front ends send it back)."""
    head, rule, tail = text.partition(_SOURCES_RULE)
    return head if rule and tail.startswith((SOURCES_HEADING, CLOSEST_HEADING)) else text


def references_of(answer: Answer, service: Service, base: str) -> list[dict[str, Any]]:
    """The citations (or, for a not-found answer, the closest passages) as `Reference` objects."""
    if answer.citations:
        return [
            _reference(c.marker, c.doc_id, c.title, c.section, c.quote, c.start, c.end, service, base)
            for c in answer.citations
        ]
    if answer.mode != "not_found":
        return []
    return [
        _reference(None, h.chunk.doc_id, h.title, h.chunk.section, h.chunk.text, h.chunk.start, h.chunk.end, service, base)
        for h in answer.hits[:3]
    ]


def _reference(marker: int | None, doc_id: str, title: str, section: Any, quote: str, start: int, end: int,
               service: Service, base: str) -> dict[str, Any]:
    return {
        "marker": marker, "doc_id": doc_id, "title": title, "section": list(section), "quote": quote,
        "start": start, "end": end, "url": base + report_href(doc_id, start, end),
        "report": identity_of(service.document(doc_id)),
    }


def sources_block(references: list[dict[str, Any]]) -> str:
    """Markdown the front end shows under the answer: each reference's title, section and quote."""
    if not references:
        return ""
    closest = references[0]["marker"] is None
    lines = [CLOSEST_HEADING if closest else SOURCES_HEADING]
    for ref in references:
        where = " > ".join(ref["section"])
        quote = ref["quote"] if not closest else ref["quote"][:QUOTE_CHARS] + ("…" if len(ref["quote"]) > QUOTE_CHARS else "")
        label = "-" if closest else f"[{ref['marker']}]"
        lines.append(f"{label} [《{ref['title']}》]({ref['url']}){' ' + where if where else ''}：“{quote}”")
    return _SOURCES_RULE + "\n".join(lines)


class _Reply:
    """One request's answer, as a whole completion or as server-sent chunks."""

    def __init__(self, body: ChatCompletionRequest, question: str, history: list[Turn], filters: Any,
                 base: str, service: Service, telemetry: Telemetry, client: str) -> None:
        self.body, self.question, self.history, self.filters = body, question, history, filters
        self.base, self.service, self.telemetry, self.client = base, service, telemetry, client
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def _answer(self) -> Answer:
        started = time.perf_counter()
        answer: Answer | None = None
        for event in self.service.assistant.stream(self.question, history=self.history, filters=self.filters,
                                                   k=self.body.k):
            if isinstance(event, Answer):
                answer = event  # the drafts before it are unverified: never sent
        if answer is None:
            raise RuntimeError("the assistant ended without an answer")
        self.telemetry.answered("v1", self.question, answer, self.client, time.perf_counter() - started)
        return answer

    def _content(self, answer: Answer) -> tuple[str, list[dict[str, Any]]]:
        references = references_of(answer, self.service, self.base)
        return answer.text + sources_block(references), references

    def _usage(self, content: str) -> dict[str, int]:
        prompt = sum(count_tokens(_text(m.content)) for m in self.body.messages)
        completion = count_tokens(content)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def completion(self) -> dict[str, Any]:
        answer = self._answer()
        content, references = self._content(answer)
        return {
            "id": self.id, "object": "chat.completion", "created": self.created, "model": MODEL_ID,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": self._usage(content), "references": references, "mode": answer.mode, "notice": answer.notice,
        }

    def _chunk(self, delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        return _event({"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": MODEL_ID,
                       "choices": choices, **extra})

    def chunks(self) -> Iterator[str]:
        yield self._chunk({"role": "assistant", "content": ""})
        try:
            answer = self._answer()
        except Exception as exc:  # the stream has begun: the error travels in it, as OpenAI's does
            if isinstance(exc, QueryError):
                message, kind = str(exc), "invalid_request_error"
            else:
                log.exception("a streamed answer (question of %d characters) failed", len(self.question))
                message, kind = "the answer failed; the server log has details", "server_error"
            yield _event({"error": {"message": message, "type": kind, "code": None, "param": None}})
            yield "data: [DONE]\n\n"
            return
        content, references = self._content(answer)
        for start in range(0, len(content), STREAM_PIECE_CHARS):
            yield self._chunk({"content": content[start : start + STREAM_PIECE_CHARS]})
        yield self._chunk({}, "stop", references=references, mode=answer.mode, notice=answer.notice)
        if self.body.stream_options is not None and self.body.stream_options.include_usage:
            yield self._chunk(None, usage=self._usage(content))
        yield "data: [DONE]\n\n"


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"
