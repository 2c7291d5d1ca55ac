"""LLM answer mode: a LangChain chat model writes the answer, our code checks it.

The model sees the top retrieved passages, numbered and delimited, and must
cite them as [n]. Nothing it writes is trusted as is:

- markers pointing at passages it was not given are removed and reported;
- the remaining markers are renumbered in order of first appearance and each
  becomes a Citation quoting the passage sentence(s) that best support the
  claim it follows, with offsets computed from the chunk's own offsets;
- every number in the answer must occur in a cited passage (or the question,
  or the cited report's title/section/date), else `AnswerRejected` is raised and
  the Assistant shows the extractive answer with a notice: a number the
  reports do not contain is the costly kind of error, and the extractive
  answer is always available;
- "报告中未找到相关信息" becomes a not-found answer.

Model-client failures (connection refused, timeout, HTTP errors) become
`LLMError` with a short reason. Text deltas are streamed with invalid markers
already dropped and valid ones renumbered, so the streamed text matches the
final `Answer.text` unless the answer is rejected (then the caller replaces it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .chunk import sentence_spans
from .compose import not_found_answer
from .config import Settings
from .errors import ConfigError, LLMError, RagError
from .types import Answer, Citation, Document, Hit, Turn

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage
    from langchain_core.prompts import ChatPromptTemplate

__all__ = [
    "AnswerRejected",
    "MAX_PASSAGES",
    "NOT_FOUND_PHRASE",
    "PROMPTS_DIR",
    "build_chat_model",
    "stream_llm_answer",
    "rewrite_with_llm",
    "answer_messages",
    "rewrite_messages",
    "render_passages",
    "finalize_llm_answer",
    "numbers_in",
]

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"
# Passages shown to the model: enough for multi-fact questions, few enough for a small local model.
MAX_PASSAGES = 6
NOT_FOUND_PHRASE = "报告中未找到相关信息"
MAX_ANSWER_TOKENS = 1024
_HISTORY_TURNS = 3
_HISTORY_ANSWER_CHARS = 200
_SECTION_SEP = " › "


class AnswerRejected(LLMError):
    """The model answered, but the answer failed a grounding check (e.g. an unsupported number)."""


# --- chat model construction ---------------------------------------------------------------------------


def build_chat_model(settings: Settings) -> BaseChatModel | None:
    """The LangChain chat model the settings describe, or None for extractive mode.

    Builds the client only (no network call): an unreachable endpoint shows up
    as an `LLMError` on the first question, answered extractively.
    """
    provider = settings.llm_provider
    if provider == "none":
        return None
    if provider == "openai":
        base_url = _require_url(settings, "an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
        model = _require_model(settings, "the served model name, e.g. Qwen2.5-7B-Instruct")
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=base_url,
            model=model,
            # Local servers (vLLM, llama.cpp server) ignore the key but the client insists on one.
            api_key=settings.llm_api_key or "not-needed",
            timeout=settings.llm_timeout,
            max_retries=1,
            temperature=0,
            max_tokens=MAX_ANSWER_TOKENS,
            streaming=True,
        )
    if provider == "ollama":
        # Ollama's own default address; any other one must be set explicitly.
        base_url = settings.llm_base_url or "http://127.0.0.1:11434"
        _check_url(base_url)
        model = _require_model(settings, "a pulled Ollama model, e.g. qwen2.5:7b")
        from langchain_ollama import ChatOllama

        return ChatOllama(
            base_url=base_url,
            model=model,
            temperature=0,
            num_predict=MAX_ANSWER_TOKENS,
            client_kwargs={"timeout": settings.llm_timeout},
        )
    if provider == "llamacpp":
        return _llamacpp(settings)
    raise ConfigError(f"llm_provider must be none, openai, ollama or llamacpp, got {provider!r}")


def _require_model(settings: Settings, example: str) -> str:
    if not settings.llm_model:
        raise ConfigError(
            f"llm_provider={settings.llm_provider!r} needs a model name: set POLICYQA_LLM_MODEL to {example}"
        )
    return settings.llm_model


def _require_url(settings: Settings, example: str) -> str:
    if not settings.llm_base_url:
        raise ConfigError(
            f"llm_provider={settings.llm_provider!r} needs an endpoint: set POLICYQA_LLM_BASE_URL to {example}"
        )
    _check_url(settings.llm_base_url)
    return settings.llm_base_url


def _check_url(url: str) -> None:
    if not re.match(r"https?://[^\s/]+", url):
        raise ConfigError(f"POLICYQA_LLM_BASE_URL must start with http:// or https:// and name a host, got {url!r}")


def _llamacpp(settings: Settings) -> BaseChatModel:
    path = settings.llm_model_path
    if not path:
        raise ConfigError("llm_provider='llamacpp' needs a GGUF file: set POLICYQA_LLM_MODEL_PATH to its path")
    if not Path(path).is_file():
        raise ConfigError(f"POLICYQA_LLM_MODEL_PATH={path!r} is not a file: point it at a downloaded .gguf model")
    try:
        import llama_cpp  # noqa: F401  (checked here so the error names our extra, not the raw package)
    except ImportError as exc:
        raise ConfigError(
            "llm_provider='llamacpp' needs llama-cpp-python, which is not installed: run "
            "CMAKE_ARGS=\"-DGGML_NATIVE=OFF\" pip install 'policyqa[llama]' "
            "(or use llm_provider=openai/ollama with a local server)"
        ) from exc
    from langchain_community.chat_models import ChatLlamaCpp

    try:
        return ChatLlamaCpp(
            model_path=path,
            n_ctx=8192,  # six passages of ~300 tokens plus rules and history
            max_tokens=MAX_ANSWER_TOKENS,
            temperature=0,
            verbose=False,
        )
    except Exception as exc:  # llama.cpp reports a bad file as a bare ValueError
        raise ConfigError(f"cannot load the GGUF model {path!r}: {exc}") from exc


# --- prompts -------------------------------------------------------------------------------------------


@cache
def _prompt_text(name: str) -> str:
    path = PROMPTS_DIR / name
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"prompt file {path} is missing: PolicyQA reads its prompts from the prompts/ folder next to "
            "the rag package; install from a source checkout (pip install -e .) or restore prompts/"
        ) from exc


@cache
def _answer_prompt() -> ChatPromptTemplate:
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages(
        [("system", _prompt_text("answer_system.txt")), ("human", _prompt_text("answer_user.txt"))]
    )
    _expect_variables(prompt, {"passages", "history", "question"}, "answer_system.txt / answer_user.txt")
    return prompt


@cache
def _rewrite_prompt() -> ChatPromptTemplate:
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages([("human", _prompt_text("rewrite.txt"))])
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
        answer = _MARKER.sub("", turn.answer).strip()
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


# --- calling the model ---------------------------------------------------------------------------------


def stream_llm_answer(
    chat_model: BaseChatModel,
    question: str,
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
    history: Sequence[Turn] = (),
) -> Iterator[str | Answer]:
    """Yield answer text deltas as the model writes them, then the checked final Answer.

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
            visible = _visible(raw[: _safe_end(raw)], len(passages))
            if len(visible) > len(shown) and visible.startswith(shown):
                yield visible[len(shown) :]
                shown = visible
    except RagError:
        raise
    except Exception as exc:  # any client failure: the Assistant falls back, with this reason shown
        raise LLMError(_reason(exc)) from exc
    visible = _visible(raw, len(passages))
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
    text = _strip_think(_chunk_text(reply))
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


# --- streaming view of the raw output -------------------------------------------------------------------

# [3] [1, 2] [1，2] 【3】: the forms models actually write.
_MARKER = re.compile(r"[\[【]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】]")
_PARTIAL_MARKER = re.compile(r"[\[【][\d\s,，、]{0,16}$")
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S)  # reasoning models (Qwen3, DeepSeek-R1) via raw content
_TAGS = ("<think>", "</think>")


def _safe_end(raw: str) -> int:
    """How much of the raw output can be shown: not a marker or <think> tag still being written."""
    m = _PARTIAL_MARKER.search(raw)
    end = m.start() if m else len(raw)
    lt = raw.rfind("<", 0, end)
    if lt >= 0 and any(tag.startswith(raw[lt:end]) and len(raw[lt:end]) < len(tag) for tag in _TAGS):
        end = lt
    return end


def _strip_think(raw: str) -> str:
    return _THINK.sub("", raw)


@dataclass(frozen=True, slots=True)
class _Markers:
    text: str  # markers renumbered, invalid ones removed
    order: tuple[int, ...]  # cited passage numbers; new marker i+1 stands for order[i]
    invalid: tuple[int, ...]  # passage numbers that were not given, in order of appearance


def _renumber(raw: str, n_passages: int) -> _Markers:
    """Drop markers outside 1..n_passages, renumber the rest by first appearance.

    Prefix-stable (a prefix of the raw output maps to a prefix of the result),
    which is what lets the stream show renumbered text as it arrives.
    """
    order: dict[int, int] = {}
    invalid: list[int] = []

    def replace(m: re.Match[str]) -> str:
        out = []
        for part in re.split(r"\s*[,，、]\s*", m.group(1).strip()):
            n = int(part)
            if 1 <= n <= n_passages:
                new = order.setdefault(n, len(order) + 1)
                if f"[{new}]" not in out:
                    out.append(f"[{new}]")
            elif n not in invalid:
                invalid.append(n)
        return "".join(out)

    text = _MARKER.sub(replace, raw)
    return _Markers(text=text, order=tuple(order), invalid=tuple(invalid))


def _visible(raw: str, n_passages: int) -> str:
    # Stripping both ends keeps the stream prefix-stable and equal to the final Answer.text.
    return _renumber(_strip_think(raw), n_passages).text.strip()


# --- the checked final answer ---------------------------------------------------------------------------


def finalize_llm_answer(
    question: str,
    raw: str,
    passages: Sequence[Hit],
    hits: Sequence[Hit],
    documents: Mapping[str, Document],
) -> Answer:
    """Validate the model's full output against the passages it was given (pure).

    `passages` are the hits in prompt order (passage n is passages[n-1]);
    `hits` are all retrieved hits, kept on the Answer. Raises LLMError for an
    empty reply and AnswerRejected when the answer cites nothing or states a
    number no cited passage contains.
    """
    markers = _renumber(_strip_think(raw), len(passages))
    text = markers.text.strip()
    notice = None
    if markers.invalid:
        notice = "已删除指向不存在段落的引用 " + "".join(f"[{n}]" for n in markers.invalid)
    if not text:
        raise LLMError("大模型返回了空回答")
    if not markers.order and NOT_FOUND_PHRASE in _compact(text):
        return not_found_answer(question, hits, notice=notice)
    if not markers.order:
        raise AnswerRejected("回答没有引用任何段落")
    cited = [passages[n - 1] for n in markers.order]
    _check_numbers(text, question, cited, documents)
    claims = _claims(text)
    citations = tuple(
        _citation(marker, hit, [c for m, c in claims if m == marker], documents)
        for marker, hit in enumerate(cited, start=1)
    )
    return Answer(question=question, text=text, citations=citations, hits=tuple(hits), mode="llm", notice=notice)


def _compact(text: str) -> str:
    return re.sub(r"[\s。.!！,，:：\"“”]", "", text)


# Answer sentences; markers written after the full stop stay with the sentence they follow.
_ANSWER_SENTENCE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+(?:\s*\[\d+\])*|\n+|$)")
_CLEAN_MARKER = re.compile(r"\[(\d+)\]")
_CONTENT = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")


def _claims(text: str) -> list[tuple[int, str]]:
    """(marker, the claim it follows): the text since the sentence start or the previous marker.

    Adjacent markers ([1][2]) share one claim; a marker with no text before it
    in its sentence takes the whole sentence.
    """
    claims: list[tuple[int, str]] = []
    for m_sentence in _ANSWER_SENTENCE.finditer(text):
        s, e = m_sentence.span()
        sentence = _CLEAN_MARKER.sub("", text[s:e])
        pos, previous = s, None
        for m in _CLEAN_MARKER.finditer(text, s, e):
            before = text[pos : m.start()]
            if _CONTENT.search(before):
                previous = _CLEAN_MARKER.sub("", before)
            elif previous is None:
                previous = sentence
            claims.append((int(m.group(1)), previous))
            pos = m.end()
    return claims


_QUOTE_HULL_MAX = 300  # chars: beyond this, one passage's supporting sentences are too far apart to quote as one
_NARROW_OVER = 80  # chars: longer sentences are cut to the clauses that carry the claim
_CLAUSE_SPLIT = re.compile(r"[^,;:，；：]+[,;:，；：]*")


def _citation(marker: int, hit: Hit, claims: Sequence[str], documents: Mapping[str, Document]) -> Citation:
    """Citation of one passage: the sentence(s) best supporting its claims, with exact offsets.

    Offsets are found within the chunk's own text and shifted by the chunk's
    start, never searched for in the whole document.
    """
    chunk = hit.chunk
    spans: list[tuple[float, int, int]] = []
    for claim in claims:
        spans.extend(_support(chunk.text, claim))
    if not spans:  # no claim text (cannot happen for a marker, kept for safety): quote the first sentence
        first = sentence_spans(chunk.text)[:1] or [(0, len(chunk.text))]
        spans = [(0.0, *first[0])]
    # Several claims may cite one passage; a claim it barely supports must not stretch the quote.
    top = max(score for score, _, _ in spans)
    spans = [t for t in spans if t[0] >= 0.6 * top]
    start, end = min(s for _, s, _ in spans), max(e for _, _, e in spans)
    if end - start > _QUOTE_HULL_MAX:
        _, start, end = max(spans, key=lambda t: t[0])
    doc = documents.get(chunk.doc_id)
    return Citation(
        marker=marker,
        chunk_id=chunk.chunk_id,
        doc_id=chunk.doc_id,
        title=doc.title if doc else hit.title,
        source=doc.source if doc else hit.source,
        section=chunk.section,
        start=chunk.start + start,
        end=chunk.start + end,
        quote=chunk.text[start:end],
    )


def _support(text: str, claim: str) -> list[tuple[float, int, int]]:
    """The passage sentence(s) that best support a claim: (score, start, end) in `text`.

    Character-bigram coverage of the claim, plus a bonus for carrying the
    claim's numbers; a second sentence is added when it covers much the first
    does not (claims that merge two sentences).
    """
    wanted = _bigrams(claim)
    if not wanted:
        return []
    claim_numbers = numbers_in(claim)
    scored = []
    for s, e in sentence_spans(text):
        s, e = _narrow(text, s, e, wanted)
        got = _bigrams(text[s:e]) & wanted
        bonus = 0.3 * len(claim_numbers & numbers_in(text[s:e])) / len(claim_numbers) if claim_numbers else 0.0
        scored.append((len(got) / len(wanted) + bonus, s, e, got))
    if not scored:
        return []
    scored.sort(key=lambda t: (-t[0], t[1]))
    best = scored[0]
    chosen = [best]
    covered = set(best[3])
    for cand in scored[1:3]:
        if len(cand[3] - covered) >= 0.25 * len(wanted):
            chosen.append(cand)
            covered |= cand[3]
    return [(score, s, e) for score, s, e, _ in chosen]


def _narrow(text: str, start: int, end: int, wanted: set[str]) -> tuple[int, int]:
    """Cut a long sentence to the shortest run of clauses holding (nearly) all its claim bigrams."""
    if end - start <= _NARROW_OVER:
        return _trim(text, start, end)
    clauses = [(start + m.start(), start + m.end()) for m in _CLAUSE_SPLIT.finditer(text[start:end])]
    if len(clauses) < 2:
        return _trim(text, start, end)
    sets = [_bigrams(text[s:e]) & wanted for s, e in clauses]
    total = set().union(*sets)
    if not total:
        return _trim(text, start, end)
    best = (start, end)
    for i in range(len(clauses)):
        acc: set[str] = set()
        for j in range(i, len(clauses)):
            acc |= sets[j]
            if len(acc) >= 0.9 * len(total):
                s, e = clauses[i][0], clauses[j][1]
                if e - s < best[1] - best[0]:
                    best = (s, e)
                break
    return _trim(text, *best)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop clause punctuation a quote should not end on (a final 。 stays)."""
    while end > start and text[end - 1] in ",;:，；：、 ":
        end -= 1
    return start, end


def _bigrams(text: str) -> set[str]:
    chars = "".join(_CONTENT.findall(text))
    return {chars[i : i + 2] for i in range(len(chars) - 1)}


# --- number guard --------------------------------------------------------------------------------------

_ARABIC = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?")
_SCALE = {"万": 10_000, "亿": 100_000_000}
_MEASURE = (
    r"(?:多|余)?(?:人次|万元|亿元|小时|分钟|家|件|次|项|期|人|名|所|条|个|批|场|篇|份|户|元|届|年|月|日|天|类|种|支"
    r"|座|位|台|套|处|起|例|部|本|门|轮|倍|成|章|节|款|周|岁|万|亿|%)"
)
_CHINESE = re.compile(r"([零〇一二两三四五六七八九十百千万亿]+)(?=" + _MEASURE + ")")
_DIGIT_CHARS = dict(zip("零〇一二三四五六七八九", "00123456789", strict=True))
# "1. …" list numbering the model adds itself is not a fact.
_LIST_NUMBER = re.compile(r"(?m)^\s*(?:\d{1,2}[.、)）](?!\d)|[(（]\d{1,2}[)）])\s*")


def numbers_in(text: str) -> set[str]:
    """Normalised values of the numbers in a text: digits, decimals, percentages' numbers,
    and Chinese numerals before a measure word (八次 → "8").

    >>> sorted(numbers_in("涉及企业11家,检查率达100%,开展两次检查"))
    ['100', '11', '2']
    """
    values = set()
    for m in _ARABIC.finditer(text):
        number = m.group(0).replace(",", "")
        values.add(_normal(number))
        scale = _SCALE.get(text[m.end() : m.end() + 1])
        if scale:  # 2万 and 两万 must meet: keep the scaled value too
            values.add(_normal(repr(float(number) * scale)))
    for m in _CHINESE.finditer(text):
        value = _chinese_value(m.group(1))
        # A lone 一 (一项/一次/一个) is how Chinese says "a", not a claimed count.
        if value is not None and value != "1":
            values.add(value)
    return values


def _normal(number: str) -> str:
    """One spelling per value: 08 → 8, 3.50 → 3.5, ２４ → 24, 20000.0 → 20000."""
    value = float(number)
    return str(int(value)) if value.is_integer() else repr(value)


def _chinese_value(numeral: str) -> str | None:
    if all(ch in _DIGIT_CHARS for ch in numeral) and len(numeral) > 1:  # 二〇二四
        return _normal("".join(_DIGIT_CHARS[ch] for ch in numeral))
    try:
        import cn2an

        return _normal(str(cn2an.cn2an(numeral, "smart")))
    except Exception:  # cn2an rejects odd strings (e.g. 万万); such text is no claimed number
        return None


def _check_numbers(text: str, question: str, cited: Sequence[Hit], documents: Mapping[str, Document]) -> None:
    claim_text = _LIST_NUMBER.sub("", _CLEAN_MARKER.sub("", text))
    sources = [question]
    for hit in cited:
        # Heading ordinals (5.…) are structure, not facts the answer may borrow.
        sources += [_LIST_NUMBER.sub("", hit.chunk.text), hit.title, *(_LIST_NUMBER.sub("", s) for s in hit.chunk.section)]
        doc = documents.get(hit.chunk.doc_id)
        if doc:
            sources.append(doc.title)
            if doc.meta.published:
                # The date shown in the passage header counts only when quoted as that date:
                # its parts (2, 12…) must not license other numbers.
                claim_text = _date_pattern(doc.meta.published).sub(" ", claim_text)
    claimed = numbers_in(claim_text)
    if not claimed:
        return
    allowed = numbers_in("\n".join(sources))
    missing = sorted(claimed - allowed, key=lambda v: (len(v), v))
    if missing:
        raise AnswerRejected(f"回答中的数字“{'、'.join(missing)}”不在所引用的段落中")


def _date_pattern(iso: str) -> re.Pattern[str]:
    """2025-02-12 written as 2025-02-12, 2025年2月12日, 2025/2/12 or 2025.02.12."""
    year, month, day = (int(part) for part in iso.split("-"))
    return re.compile(rf"{year}\s*[-年/.]\s*0?{month}\s*[-月/.]\s*0?{day}\s*日?")
