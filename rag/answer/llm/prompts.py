"""The prompts of LLM mode: templates shipped as package data (`rag.prompts`, the repository's
`prompts/` folder), the numbered and delimited passages, the conversation history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from ...errors import ConfigError
from ...types import Document, Hit, Turn
from .markers import MARKER

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_core.prompts import ChatPromptTemplate

__all__ = ["MAX_PASSAGES", "answer_messages", "rewrite_messages", "render_passages", "prompt_text"]

# Passages shown to the model: enough for multi-fact questions, few enough for a small local model.
MAX_PASSAGES = 6
_HISTORY_TURNS = 3
_HISTORY_ANSWER_CHARS = 200
_SECTION_SEP = " › "


@cache
def prompt_text(name: str) -> str:
    """A prompt template's text, from the installed package data.

    >>> "{question}" in prompt_text("rewrite.txt")
    True
    """
    try:
        return resources.files("rag.prompts").joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise ConfigError(
            f"prompt template {name} is missing from the installed package (rag.prompts, shipped from the "
            "repository's prompts/ folder): reinstall PolicyQA (`pip install .` or `make install`)"
        ) from exc


@cache
def _answer_prompt() -> ChatPromptTemplate:
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages(
        [("system", prompt_text("answer_system.txt")), ("human", prompt_text("answer_user.txt"))]
    )
    _expect_variables(prompt, {"passages", "history", "question"}, "answer_system.txt / answer_user.txt")
    return prompt


@cache
def _rewrite_prompt() -> ChatPromptTemplate:
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages([("human", prompt_text("rewrite.txt"))])
    _expect_variables(prompt, {"history", "question"}, "rewrite.txt")
    return prompt


def _expect_variables(prompt: ChatPromptTemplate, expected: set[str], files: str) -> None:
    found = set(prompt.input_variables)
    if found != expected:
        raise ConfigError(
            f"prompts/{files} must use the placeholders {sorted(expected)}, found {sorted(found)}: "
            "write literal braces as {{ }}"
        )


def _neutral(text: str) -> str:
    """Quoted text that cannot close or open our delimiters (<passage>, <history>…).

    Angle brackets become their full-width forms: the text reads the same to
    the model but `</passage>` inside a report can no longer end the passage.
    """
    return text.replace("<", "＜").replace(">", "＞")


def _attr(text: str) -> str:
    return _neutral(text).replace('"', "＂").replace("\n", " ")


def render_passages(passages: Sequence[Hit], documents: Mapping[str, Document]) -> str:
    """The numbered, delimited passages block of the answer prompt (numbering starts at 1)."""
    blocks = []
    for number, hit in enumerate(passages, start=1):
        doc = documents.get(hit.chunk.doc_id)
        attrs = [f'id="{number}"', f'title="{_attr(doc.title if doc else hit.title)}"']
        if hit.chunk.section:
            attrs.append(f'section="{_attr(_SECTION_SEP.join(hit.chunk.section))}"')
        if doc and doc.meta.publisher:
            attrs.append(f'publisher="{_attr(doc.meta.publisher)}"')
        if doc and doc.meta.published:
            attrs.append(f'published="{_attr(doc.meta.published)}"')
        blocks.append(f"<passage {' '.join(attrs)}>\n{_neutral(hit.chunk.text.strip())}\n</passage>")
    return "\n".join(blocks)


def _history_lines(history: Sequence[Turn]) -> str:
    lines = []
    for turn in history[-_HISTORY_TURNS:]:
        answer = MARKER.sub("", turn.answer).strip()
        if len(answer) > _HISTORY_ANSWER_CHARS:
            answer = answer[:_HISTORY_ANSWER_CHARS] + "…"
        lines.append(f"用户：{_neutral(turn.question.strip())}\n助手：{_neutral(answer)}")
    return "\n".join(lines)


def answer_messages(
    question: str, passages: Sequence[Hit], documents: Mapping[str, Document], history: Sequence[Turn] = ()
) -> list[BaseMessage]:
    """System rules + the user message holding the numbered passages, history and question."""
    history_block = f"<history>\n{_history_lines(history)}\n</history>\n" if history else ""
    return _answer_prompt().format_messages(
        passages=render_passages(passages, documents), history=history_block, question=_neutral(question.strip())
    )


def rewrite_messages(question: str, history: Sequence[Turn]) -> list[BaseMessage]:
    """The follow-up rewriting prompt."""
    return _rewrite_prompt().format_messages(history=_history_lines(history), question=_neutral(question.strip()))
