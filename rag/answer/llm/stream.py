"""Calling the chat model: the answer streamed as it is written, then checked; follow-up rewriting.

Model-client failures (connection refused, timeout, HTTP errors) become
`LLMError` with a short reason. Text deltas are streamed with invalid markers
already dropped and valid ones renumbered, so the streamed text matches the
final `Answer.text` unless the answer is rejected (then the caller replaces it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...errors import LLMError, RagError
from ...types import Answer, Document, Hit, Turn
from ..extractive import not_found_answer
from .grounding import NOT_FOUND_PHRASE, finalize_llm_answer
from .markers import safe_end, strip_think, visible_text
from .prompts import MAX_PASSAGES, answer_messages, rewrite_messages

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["stream_llm_answer", "rewrite_with_llm"]


def stream_llm_answer(
    chat_model: BaseChatModel,
    question: str,
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    history: Sequence[Turn] = (),
    max_chars: int = 8000,
) -> Iterator[str | Answer]:
    """Yield answer text deltas as the model writes them, then the checked final Answer.

    A model still writing after `max_chars` is cut off there (a server may ignore the token
    limit it was sent); what it wrote is checked like any answer.

    Raises LLMError when the model cannot be reached or fails, and its
    subclass AnswerRejected when the answer fails a grounding check; text
    already yielded must then be replaced by the caller's fallback.
    """
    passages = tuple(hits[:MAX_PASSAGES])
    if not passages:
        yield not_found_answer(question, hits)
        return
    messages = answer_messages(question, passages, documents, history)
    raw, shown = "", ""
    try:
        for chunk in chat_model.stream(messages):
            raw += _chunk_text(chunk)
            if len(raw) > max_chars:
                raw = raw[:max_chars]
                break
            visible = visible_text(raw[: safe_end(raw)], len(passages))
            if len(visible) > len(shown) and visible.startswith(shown):
                yield visible[len(shown) :]
                shown = visible
    except RagError:
        raise
    except Exception as exc:  # any client failure: the Assistant falls back, with this reason shown
        raise LLMError(_reason(exc)) from exc
    visible = visible_text(raw, len(passages))
    if len(visible) > len(shown) and visible.startswith(shown):
        yield visible[len(shown) :]
    yield finalize_llm_answer(question, raw, passages, hits, documents)


def rewrite_with_llm(chat_model: BaseChatModel, question: str, history: Sequence[Turn]) -> str:
    """The follow-up question rewritten to stand alone; LLMError if the model fails or rambles."""
    if not history:
        return question
    try:
        reply = chat_model.invoke(rewrite_messages(question, history))
    except Exception as exc:
        raise LLMError(_reason(exc)) from exc
    text = strip_think(_chunk_text(reply))
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    line = re.sub(r"^\s*(?:改写后的问题|独立问题|完整问题|问题)\s*[:：]\s*", "", line)
    line = line.strip().strip("\"'“”‘’「」『』`").strip()
    limit = 3 * (len(question) + len(history[-1].question)) + 20
    if not line:
        raise LLMError("改写结果为空")
    if len(line) > limit:
        raise LLMError(f"改写结果过长（{len(line)} 字）")
    if NOT_FOUND_PHRASE in line:
        raise LLMError("改写结果不是问题")
    return line


def _chunk_text(message: Any) -> str:
    text = getattr(message, "text", None)
    if isinstance(text, str):  # langchain-core >= 1.0: a str property
        return str(text)
    if callable(text):  # langchain-core < 1.0: a method
        text = text()
        if isinstance(text, str):
            return text
    content = getattr(message, "content", "")
    return content if isinstance(content, str) else ""


def _reason(exc: BaseException) -> str:
    """A short, user-presentable reason for a client failure."""
    chain, seen = [], exc
    while seen is not None and len(chain) < 5:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    names = " ".join(type(e).__name__ for e in chain)
    status = next((getattr(e, "status_code", None) for e in chain if getattr(e, "status_code", None)), None)
    if "Timeout" in names or "timed out" in str(exc).lower():
        return f"请求超时（{type(exc).__name__}）"
    if status:
        return f"大模型服务返回 HTTP {status}"
    if "Connect" in names or isinstance(exc, ConnectionError | OSError):
        return f"无法连接大模型服务（{type(exc).__name__}）"
    message = (str(exc).strip().splitlines() or [""])[0][:120]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
