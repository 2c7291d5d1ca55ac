"""The Assistant: question → retrieved passages → cited answer.

Extractive by default; an LLM writes the answer when one is configured
(`rag.answer.llm`), and its failure falls back to the extractive answer with a
visible notice. One Assistant serves many threads: the index and model are
loaded once and only read while answering.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import AnswerRejected, LLMError, QueryError
from ..index.filters import Filters
from ..index.open import open_index
from ..retrieve.followup import rewrite_followup
from ..retrieve.hybrid import RetrievalConfig, search
from ..retrieve.query import clean_query
from ..retrieve.scope import Scope, resolve_scope
from ..text.normalize import CJK_CHAR
from ..types import Answer, Hit, Turn
from .extractive import compose_extractive, not_found_answer
from .llm.providers import build_chat_model
from .llm.stream import rewrite_with_llm, stream_llm_answer
from .metadata import asked_facts
from .parts import Part, combine_answers, split_question
from .terms import key_terms, missing_terms

if TYPE_CHECKING:
    from ..index.protocol import SearchBackend

__all__ = ["Assistant", "ask"]

# Passages handed to answer composition (more than shown: a fact may sit in the 6th).
ANSWER_POOL = 8


class Assistant:
    """Answers questions over one index."""

    def __init__(self, index: SearchBackend, settings: Settings | None = None, chat_model: Any | None = None) -> None:
        self.index = index
        self.settings = settings or Settings.from_env()
        self.retrieval = RetrievalConfig.from_settings(self.settings)
        self._chat_model = chat_model
        self._chat_model_built = chat_model is not None
        self._chat_model_lock = threading.Lock()  # concurrent first questions build one client

    @classmethod
    def open(cls, index_dir: Path | str | None = None, settings: Settings | None = None) -> Assistant:
        """Open the configured index: PostgreSQL when `settings.database_url` is set, else the
        folder index at `index_dir` (default: settings.index_dir)."""
        settings = settings or Settings.from_env()
        return cls(open_index(settings, index_dir=index_dir), settings)

    @property
    def chat_model(self) -> Any | None:
        """The configured LangChain chat model, or None (extractive mode)."""
        if not self._chat_model_built:
            with self._chat_model_lock:
                if not self._chat_model_built:
                    self._chat_model = build_chat_model(self.settings)
                    self._chat_model_built = True
        return self._chat_model

    @property
    def mode(self) -> str:
        """The answer mode: "llm" when a chat model is configured, else "extractive"."""
        return "llm" if self.chat_model is not None else "extractive"

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        """The passages retrieved for `query`, best first, from the reports it names (the nearest
        indexed ones when it names reports the index does not hold); QueryError for an unusable
        query or k."""
        text = clean_query(query, self.settings.max_question_chars)
        _check_k(k)
        scope = resolve_scope(text, self.index.catalog())
        return search(self.index, text, k=k or self.settings.top_k, filters=_in_scope(filters, scope), config=self.retrieval)

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        k: int | None = None,
    ) -> Answer:
        """A short answer with numbered citations, or a clear not-found."""
        answer: Answer | None = None
        for event in self.stream(question, history, filters, k):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        k: int | None = None,
    ) -> Iterator[str | Answer]:
        """Yield answer text as it is written (LLM mode), then the final Answer."""
        text = clean_query(question, self.settings.max_question_chars)
        history = _checked_history(history)
        _check_k(k)
        query = self._rewrite(text, history)
        pool = max(k or self.settings.top_k, ANSWER_POOL)
        catalog = self.index.catalog()
        scope = resolve_scope(query, catalog)
        if scope.unmatched:  # the question names reports the index does not hold: say so, show the nearest
            near = _in_scope(filters, scope)
            closest = search(self.index, query, k=k or self.settings.top_k, filters=near, config=self.retrieval)
            yield _with_query(not_found_answer(text, tuple(closest), scope=scope), query, text)
            return
        # a question about reports' dates or speakers is answered for all its reports at once
        parts = [Part(query)] if asked_facts(query) else split_question(query, scope, catalog)
        answered = [(part, self._part_hits(part, scope, filters, pool)) for part in parts]
        hits = _interleaved([h for _, h in answered], pool)
        shown = tuple(hits[: k or self.settings.top_k])
        if not hits:
            yield _with_query(not_found_answer(text, shown), query, text)
            return

        # The question the passages must answer: the follow-up's own words when it was searched
        # beside the previous question (那54家是哪个区的: 区 picks the sentence), the rewrite when it
        # replaces the follow-up (那2025年呢 → 江苏省2025年…预期目标是多少).
        asked = text if text in query else query

        def extractive() -> Answer:
            # composed only when shown: with an LLM configured, only when the LLM answer is not
            if len(parts) == 1:
                return self._extractive(asked, hits, scope)
            answers = [self._extractive(p.question, h, _narrowed(scope, p)) for p, h in answered]
            return combine_answers(text, parts, answers, hits, self.index.documents)

        if self.chat_model is None:
            yield _with_query(replace(extractive(), hits=shown), query, text)
            return
        try:
            final: Answer | None = None
            # a token is at most a few characters: four a token bounds a server that ignores max_tokens
            max_chars = 4 * self.settings.llm_max_tokens
            for event in stream_llm_answer(self.chat_model, text, hits, self.index.documents, history, max_chars):
                if isinstance(event, Answer):
                    final = event
                else:
                    yield event
            assert final is not None
            _check_key_words(text, final)
            yield _with_query(replace(final, hits=shown), query, text)
        except AnswerRejected as exc:
            notice = f"大模型回答未通过核对（{exc}），以下为原文摘录答案。"
            yield _with_query(replace(extractive(), hits=shown, notice=notice), query, text)
        except LLMError as exc:
            notice = f"大模型暂不可用（{exc}），以下为原文摘录答案。"
            yield _with_query(replace(extractive(), hits=shown, notice=notice), query, text)

    def _part_hits(self, part: Part, scope: Scope, filters: Filters | None, pool: int) -> list[Hit]:
        """The passages for one part of a question, from its own reports."""
        return search(self.index, part.question, k=pool, filters=within(filters, _narrowed(scope, part)), config=self.retrieval)

    def _extractive(self, question: str, hits: Sequence[Hit], scope: Scope) -> Answer:
        embedder = getattr(self.index, "embedder", None)
        return compose_extractive(question, hits, self.index.documents, embedder=embedder, scope=scope)

    def _rewrite(self, question: str, history: Sequence[Turn]) -> str:
        if history and self.chat_model is not None:
            try:
                return rewrite_with_llm(self.chat_model, question, history)
            except LLMError:
                pass  # the heuristic below still resolves most follow-ups
        return rewrite_followup(question, history)


def _in_scope(filters: Filters | None, scope: Scope) -> Filters | None:
    """The user's filters narrowed to the question's reports, or to the nearest indexed ones when
    none matches (their passages are the closest there are)."""
    if scope.unmatched:
        return within(filters, dataclasses.replace(scope, doc_ids=frozenset(c.doc_id for c in scope.nearest))) if scope.nearest else filters
    return within(filters, scope)


def within(filters: Filters | None, scope: Scope) -> Filters | None:
    """The user's filters narrowed to the reports the question is about."""
    if scope.doc_ids is None:
        return filters
    if filters is None:
        return Filters(doc_ids=scope.doc_ids)
    ids = scope.doc_ids if filters.doc_ids is None else scope.doc_ids & filters.doc_ids
    return dataclasses.replace(filters, doc_ids=ids or frozenset({"<none>"}))  # no overlap: nothing passes


def _check_key_words(question: str, answer: Answer) -> None:
    """The LLM's cited passages (with their headings and report titles) must hold the question's key
    words, as an extractive answer's sentence must: else AnswerRejected (the figure of a neighbouring
    indicator, 登记 for 调查失业率, is an invented answer however well it is cited)."""
    if answer.mode != "llm" or not answer.citations or not CJK_CHAR.search(question):
        return
    cited = [t for c in answer.citations for t in (c.quote, *c.section, c.title)]
    missing = missing_terms(key_terms(question), *cited)
    if missing:
        raise AnswerRejected(f"引用的段落没有问题中的“{'、'.join(missing)}”")


def _narrowed(scope: Scope, part: Part) -> Scope:
    """The question's scope, narrowed to one part's reports."""
    return scope if part.doc_ids is None else dataclasses.replace(scope, doc_ids=part.doc_ids)


def _interleaved(groups: Sequence[Sequence[Hit]], limit: int) -> list[Hit]:
    """Each part's passages in turn (the best of each first), once each, ranks renumbered."""
    seen: set[str] = set()
    merged: list[Hit] = []
    for rank in range(max((len(g) for g in groups), default=0)):
        for group in groups:
            if rank < len(group) and group[rank].chunk.chunk_id not in seen:
                seen.add(group[rank].chunk.chunk_id)
                merged.append(group[rank])
    return [replace(h, rank=i) for i, h in enumerate(merged[:limit], start=1)]


def _check_k(k: object) -> None:
    # k=0 would silently mean "the default" and k=-1 "all but the last" (hits[:k])
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise QueryError(f"k (passages to return) must be a whole number of at least 1, got {k!r}")


def _checked_history(history: object) -> tuple[Turn, ...]:
    """The conversation as Turns, or a QueryError saying what a history looks like."""
    if isinstance(history, str | bytes) or not isinstance(history, Sequence):
        raise QueryError(f"history must be a list of Turn(question, answer), oldest first; got {type(history).__name__}")
    for turn in history:
        if not (isinstance(turn, Turn) and isinstance(turn.question, str) and isinstance(turn.answer, str)):
            raise QueryError(f"history must hold Turn(question, answer) items with text; got {turn!r:.80}")
    return tuple(history)


def _with_query(answer: Answer, query: str, question: str) -> Answer:
    return replace(answer, question=question, rewritten_query=query if query != question else None)


def ask(question: str, index_dir: Path | str | None = None, history: Sequence[Turn] = ()) -> Answer:
    """One-shot convenience: open the index and answer one question."""
    return Assistant.open(index_dir).ask(question, history)
