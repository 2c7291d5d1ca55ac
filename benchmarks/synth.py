"""Synthetic policy reports for benchmarks: real sentences, recombined and varied.

The pool is cut from real reports (the sample report, tests/data/distractors):
section headings by position (一、 … 四、), sub-headings and body sentences of
each position, introductions. A synthetic report draws a city, a bureau and a
year, then fills four sections with pooled headings and sentences in which the
source's city, bureau and years are replaced and the other numbers varied.
The text reads like a report, keyword statistics follow real vocabulary, and
every fact of the source reports recurs under many cities and years (which is
what a large archive of these reports looks like).

Everything is a pure function of `(seed, document number)`, so document i can
be produced without producing 0..i-1, and each run sees the same corpus.

Chunks are cut by construction (each sub-section paragraph packed into chunks
of at most `MAX_CHUNK_CHARS`, a body-less top heading joining the first chunk
under it, as `rag.chunk` does), with exact offsets: `document.text[c.start:c.end]
== c.text`. The real chunker would take ~20 minutes on 1M chunks on two cores.

BM25 tokens come from a cache keyed by sentence: every chunk is a
concatenation of units (heading lines, sentences) that end at a jieba block
boundary (。!?; or a line break), so `tokenize(passage)` equals the
concatenation of the units' tokens (checked in tests/unit/test_synth.py);
tokenising the few hundred thousand distinct units replaces tokenising every
chunk (jieba does ~1,300 chunks/s per core here).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.index.passages import passage_text
from rag.ingest.load import doc_id_for, load_documents
from rag.ingest.sections import split_sections
from rag.text.markers import HeadingKind
from rag.text.sentences import sentence_spans
from rag.types import Chunk, Document, DocumentMeta

__all__ = [
    "SYNTH_VERSION",
    "MAX_CHUNK_CHARS",
    "CITIES",
    "BUREAUS",
    "YEARS",
    "Bureau",
    "Pool",
    "SynthDoc",
    "SynthCorpus",
    "TokenCache",
    "Synthesizer",
    "default_sources",
    "load_pool",
    "pool_from_documents",
]

SYNTH_VERSION = 1  # bump when generated text changes: cached benchmark indexes become stale
MAX_CHUNK_CHARS = 260  # ~ the real chunker's 300 cl100k tokens; real chunks average ~145 characters

CITIES = (
    "苏州", "南京", "无锡", "常州", "南通", "扬州", "镇江", "泰州", "徐州", "盐城",
    "淮安", "连云港", "宿迁", "杭州", "宁波", "温州", "嘉兴", "合肥", "芜湖", "济南",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Bureau:
    full: str  # 科学技术局
    short: str  # 科技局


BUREAUS = (
    Bureau("科学技术局", "科技局"),
    Bureau("市场监督管理局", "市场监管局"),
    Bureau("司法局", "司法局"),
    Bureau("教育局", "教育局"),
    Bureau("生态环境局", "生态环境局"),
    Bureau("交通运输局", "交通运输局"),
    Bureau("人力资源和社会保障局", "人社局"),
    Bureau("工业和信息化局", "工信局"),
    Bureau("商务局", "商务局"),
    Bureau("住房和城乡建设局", "住建局"),
)
YEARS = tuple(range(2019, 2026))

# Slots in a template: the source city, the bureau's full and short names.
_CITY, _FULL, _SHORT = "\x01", "\x02", "\x03"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SENTENCE_END = "。!?;"
_CN = "一二三四五六七八九十"
_MEASURE = "个家次件项条名人位期场批篇份种类所"


@dataclass(frozen=True, slots=True)
class _Template:
    """A sentence or heading with slots; `source_year` anchors the years in it."""

    text: str
    source_year: int
    has_city: bool
    has_bureau: bool
    has_year: bool
    has_number: bool


@dataclass(frozen=True)
class Pool:
    """Material cut from real reports, by top-level section position (0 = 一、)."""

    intros: tuple[_Template, ...]
    headings: tuple[tuple[_Template, ...], ...]  # headings[k]: phrases seen as the (k+1)-th top heading
    subheadings: tuple[tuple[_Template, ...], ...]  # subheadings[k]: sub-heading phrases under position k
    sentences: tuple[tuple[_Template, ...], ...]  # sentences[k]: body sentences under position k

    def __post_init__(self) -> None:
        if not self.intros or not self.headings or any(not s for s in self.sentences):
            raise ValueError(
                "the pool needs introductions, top-level headings and body sentences for every heading "
                "position; give it real reports with 一、… sections (the sample report, tests/data/distractors)"
            )


@dataclass(frozen=True, slots=True)
class SynthDoc:
    """One synthetic report, its chunks and (optionally) each chunk's BM25 tokens."""

    number: int
    document: Document
    chunks: tuple[Chunk, ...]
    tokens: tuple[tuple[str, ...], ...] | None  # tokens[i] = tokenize(passage_text(title, chunks[i]))
    question: str | None  # a question this report answers (a number asked about), if one was drawn


@dataclass
class SynthCorpus:
    """Exactly `n_chunks` chunks (the last report may be cut short)."""

    documents: list[Document] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    tokens: list[tuple[str, ...]] | None = None
    questions: list[str] = field(default_factory=list)


def default_sources() -> list[Path]:
    """The real reports the pool is cut from."""
    root = Path(__file__).resolve().parents[1]
    return [root / "data" / "reports" / "suzhou-kjj-2024-fzzf.txt", root / "tests" / "data" / "distractors"]


def load_pool(paths: Sequence[Path | str] | None = None) -> Pool:
    """Load real reports (default: `default_sources()`) and cut the pool from them."""
    documents, errors = load_documents(list(paths or default_sources()))
    if errors and not documents:
        raise ValueError(f"no source report could be loaded: {'; '.join(map(str, errors))}")
    return pool_from_documents(documents)


def pool_from_documents(documents: Sequence[Document]) -> Pool:
    """Cut headings, sub-headings and sentences out of cleaned reports (pure)."""
    intros: list[_Template] = []
    headings: dict[int, list[_Template]] = {}
    subs: dict[int, list[_Template]] = {}
    sentences: dict[int, list[_Template]] = {}
    for doc in sorted(documents, key=lambda d: d.doc_id):
        city = doc.meta.place or ""
        bureau = next((b for b in BUREAUS if b.full in (doc.meta.publisher or doc.title)), None)
        year = doc.meta.year or 2024

        def template(text: str, *, _city: str = city, _bureau: Bureau | None = bureau, _year: int = year) -> _Template:
            return _make_template(text, _city, _bureau, _year)

        position = -1
        for section in split_sections(doc.text):
            heading = section.heading
            body_start = heading.end if heading is not None else section.start
            if heading is not None and heading.kind == HeadingKind.CN_ENUM and len(section.path) == 1:
                position += 1
                headings.setdefault(position, []).append(template(_strip_marker(heading.title)))
            elif heading is not None and len(section.path) == 2:
                title = _strip_marker(heading.title)
                phrase = re.split(f"[{_SENTENCE_END}]", title, maxsplit=1)[0]
                if 2 <= len(phrase) <= 40:
                    subs.setdefault(max(position, 0), []).append(template(phrase))
            for s, e in sentence_spans(doc.text, body_start, section.end):
                sentence = doc.text[s:e]
                if not 8 <= len(sentence) <= 220 or not re.search(r"[\u4e00-\u9fff]{4}", sentence):
                    continue
                if sentence[-1] not in _SENTENCE_END:
                    sentence += "。"
                if position < 0:
                    intros.append(template(sentence))
                else:
                    sentences.setdefault(position, []).append(template(sentence))
    positions = sorted(headings)
    return Pool(
        intros=tuple(intros),
        headings=tuple(tuple(headings[k]) for k in positions),
        subheadings=tuple(tuple(subs.get(k, ())) for k in positions),
        sentences=tuple(tuple(sentences.get(k, ()) or sentences[positions[0]]) for k in positions),
    )


def _strip_marker(title: str) -> str:
    """Heading text without its numbering: 一、… (一)… 1.… 一是…"""
    return re.sub(rf"^(?:[{_CN}]+、|\([{_CN}]+\)|\d{{1,2}}[.、]|[{_CN}]{{1,3}}是)\s*", "", title).strip()


def _make_template(text: str, city: str, bureau: Bureau | None, year: int) -> _Template:
    has_bureau = False
    if bureau is not None:
        for name, slot in ((bureau.full, _FULL), (bureau.short, _SHORT)):
            if name in text:
                text = text.replace(name, slot)
                has_bureau = True
    has_city = bool(city) and city in text
    if has_city:
        text = text.replace(city, _CITY)
    numbers = _NUMBER.findall(text)
    return _Template(
        text=text,
        source_year=year,
        has_city=has_city,
        has_bureau=has_bureau,
        has_year=any(_is_year(n) for n in numbers),
        has_number=any(not _is_year(n) for n in numbers),
    )


def _is_year(number: str) -> bool:
    return len(number) == 4 and number.isdigit() and 2000 <= int(number) <= 2035


def _render(t: _Template, city: str, bureau: Bureau, year: int, variant: int, salt: int) -> str:
    """Fill a template's slots; `variant` > 0 changes its numbers deterministically."""
    text = t.text.replace(_CITY, city).replace(_FULL, bureau.full).replace(_SHORT, bureau.short)
    if not (t.has_year or t.has_number):
        return text
    counter = iter(range(1_000))

    def number(m: re.Match[str]) -> str:
        raw = m.group(0)
        i = next(counter)
        if _is_year(raw):
            return str(year + int(raw) - t.source_year)
        if variant == 0 or "." in raw:
            return raw
        value = int(raw)
        rng = random.Random(salt * 1_000_003 + variant * 1_009 + i)
        varied = rng.randint(max(1, value // 2), value * 2 + 1)
        end = m.end()
        if end < len(text) and text[end] == "%":
            varied = min(varied, 100)
        return str(varied)

    return _NUMBER.sub(number, text)


class TokenCache:
    """`rag.keyword.tokenize` memoised per unit (sentence or heading line)."""

    def __init__(
        self,
        tokenize: Callable[[str], list[str]] | None = None,
        known: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        if tokenize is None:
            from rag.text.tokenize import tokenize as default

            tokenize = default
        self._tokenize = tokenize
        self._cache: dict[str, tuple[str, ...]] = dict(known or {})
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._cache)

    def snapshot(self) -> dict[str, tuple[str, ...]]:
        """Every unit tokenised so far (to persist and pass back as `known`)."""
        return dict(self._cache)

    def __call__(self, unit: str) -> tuple[str, ...]:
        tokens = self._cache.get(unit)
        if tokens is None:
            self.misses += 1
            tokens = self._cache[unit] = tuple(self._tokenize(unit))
        else:
            self.hits += 1
        return tokens


class Synthesizer:
    """Synthetic reports from a pool: `document(i)` is a pure function of (seed, i)."""

    def __init__(self, pool: Pool, seed: int = 0, tokens: TokenCache | None = None) -> None:
        self.pool = pool
        self.seed = seed
        self.tokens = tokens
        self._rendered: dict[tuple[int, str, int, int, int], str] = {}
        self._ids = {id(t): i for i, t in enumerate(self._all_templates())}

    def _all_templates(self) -> Iterator[_Template]:
        yield from self.pool.intros
        for group in (*self.pool.headings, *self.pool.subheadings, *self.pool.sentences):
            yield from group

    def documents(self, start: int = 0) -> Iterator[SynthDoc]:
        """Reports start, start+1, … without end."""
        i = start
        while True:
            yield self.document(i)
            i += 1

    def corpus(self, n_chunks: int) -> SynthCorpus:
        """The first reports, holding exactly `n_chunks` chunks in all (with tokens if a cache is set)."""
        if n_chunks < 1:
            raise ValueError(f"n_chunks must be at least 1, got {n_chunks}")
        out = SynthCorpus(tokens=[] if self.tokens is not None else None)
        for synth in self.documents():
            room = n_chunks - len(out.chunks)
            out.documents.append(synth.document)
            out.chunks.extend(synth.chunks[:room])
            if out.tokens is not None and synth.tokens is not None:
                out.tokens.extend(synth.tokens[:room])
            if synth.question:
                out.questions.append(synth.question)
            if len(out.chunks) >= n_chunks:
                return out
        raise AssertionError("unreachable")

    def questions(self, n: int, n_documents: int | None = None) -> list[str]:
        """`n` questions about numbers stated in the first `n_documents` reports (spread over them)."""
        found: list[str] = []
        limit = n_documents if n_documents is not None else 40 * n
        step = max(1, limit // max(n, 1))
        i = 0
        while len(found) < n and i < 10 * limit:
            question = self.document(i).question
            if question:
                found.append(question)
            i += step
        return found

    # -- one report -------------------------------------------------------------------

    def document(self, number: int) -> SynthDoc:
        rng = random.Random(f"{self.seed}:{number}")
        city = rng.choice(CITIES)
        bureau = rng.choice(BUREAUS)
        year = rng.choice(YEARS)
        title = f"{city}市{bureau.full}{year}年度法治政府建设情况报告"

        def say(t: _Template) -> str:
            variant = rng.randrange(3) if t.has_number else 0
            key = (
                self._ids[id(t)],
                city if t.has_city else "",
                BUREAUS.index(bureau) if t.has_bureau else -1,
                year if t.has_year else 0,
                variant,
            )
            text = self._rendered.get(key)
            if text is None:
                text = self._rendered[key] = _render(t, city, bureau, year, variant, key[0])
            return text

        parts: list[str] = []
        offset = 0
        # (start, end, section, units) per chunk; units are the pieces whose tokens make the chunk's
        chunk_specs: list[tuple[int, int, tuple[str, ...], list[str]]] = []
        facts: list[str] = []

        def emit(text: str) -> tuple[int, int]:
            nonlocal offset
            if parts:
                parts.append("\n\n")
                offset += 2
            parts.append(text)
            start = offset
            offset += len(text)
            return start, offset

        def paragraph(units: list[str], section: tuple[str, ...], lead: tuple[int, str] | None) -> None:
            """Write units as one paragraph and pack it into chunks; `lead` is a heading to prepend."""
            nonlocal offset
            start = emit("".join(units))[0]
            pos = start
            chunk_start = lead[0] if lead else start
            chunk_units = [lead[1]] if lead else []
            size = 0
            for unit in units:
                if size and size + len(unit) > MAX_CHUNK_CHARS:
                    chunk_specs.append((chunk_start, pos, section, chunk_units))
                    chunk_start, chunk_units, size = pos, [], 0
                chunk_units.append(unit)
                size += len(unit)
                pos += len(unit)
            chunk_specs.append((chunk_start, pos, section, chunk_units))

        intro = [say(t) for t in rng.sample(self.pool.intros, min(len(self.pool.intros), rng.randint(1, 3)))]
        paragraph(intro, (), None)
        facts.extend(intro)
        n_positions = len(self.pool.headings)
        for k in range(n_positions):
            top = f"{_CN[k]}、{say(rng.choice(self.pool.headings[k]))}"
            top_span = emit(top)
            lead: tuple[int, str] | None = (top_span[0], top)
            subs = self.pool.subheadings[k]
            n_subs = rng.randint(2, 7) if subs and k != n_positions - 2 else 0
            style = rng.choice(("arabic", "paren", "ordinal")) if k == n_positions - 1 else rng.choice(("arabic", "paren"))
            if n_subs == 0:  # e.g. 三、问题和不足: sentences right under the heading
                body = [say(rng.choice(self.pool.sentences[k])) for _ in range(rng.randint(2, 4))]
                paragraph(body, (top,), lead)
                continue
            for j in range(n_subs):
                marker = {"arabic": f"{j + 1}.", "paren": f"({_cn_number(j + 1)})", "ordinal": f"{_cn_number(j + 1)}是"}[style]
                sub = f"{marker}{say(rng.choice(subs))}。"
                body = [say(rng.choice(self.pool.sentences[k])) for _ in range(rng.randint(1, 5))]
                facts.extend(body)
                paragraph([sub, *body], (top, sub[:-1]), lead)
                lead = None
        text = "".join(parts)
        doc_id = doc_id_for(text)
        meta = DocumentMeta(
            publisher=f"{city}市{bureau.full}",
            published=f"{year + 1}-{rng.randint(1, 3):02d}-{rng.randint(1, 28):02d}",
            year=year,
            place=city,
            format="txt",
            encoding="utf-8",
        )
        document = Document(doc_id=doc_id, title=title, text=text, source=f"synth-{number:07d}.txt", meta=meta)
        chunks = tuple(
            Chunk(f"{doc_id}-{i:04d}", doc_id, text[s:e], s, e, section, i)
            for i, (s, e, section, _) in enumerate(chunk_specs)
        )
        tokens = None
        if self.tokens is not None:
            cache = self.tokens
            head = cache(title)
            tokens = tuple(
                head
                + (cache(" > ".join(section)) if section else ())
                + tuple(tok for unit in units for tok in cache(unit))
                for (_, _, section, units) in chunk_specs
            )
        return SynthDoc(number, document, chunks, tokens, _question(rng, facts, city, bureau, year))

    def check_tokens(self, synth: SynthDoc) -> list[int]:
        """Chunks whose cached tokens differ from tokenising the passage (should be none)."""
        from collections import Counter

        from rag.text.tokenize import tokenize

        assert synth.tokens is not None
        return [
            i
            for i, chunk in enumerate(synth.chunks)
            if Counter(synth.tokens[i]) != Counter(tokenize(passage_text(synth.document.title, chunk)))
        ]


def _cn_number(n: int) -> str:
    """1..99 in Chinese: 1 → 一, 10 → 十, 12 → 十二, 21 → 二十一."""
    if n < 10:
        return _CN[n - 1]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN[tens - 1]) + "十" + (_CN[ones - 1] if ones else "")


def _question(rng: random.Random, facts: Sequence[str], city: str, bureau: Bureau, year: int) -> str | None:
    """A question about a number in one of the report's sentences: 苏州市科技局2024年…多少家？"""
    candidates = []
    for sentence in facts:
        for m in re.finditer(rf"([\u4e00-\u9fff]{{4,16}})(\d+)([{_MEASURE}])", sentence):
            if not _is_year(m.group(2)):
                candidates.append((m.group(1), m.group(3)))
    if not candidates:
        return None
    clause, unit = rng.choice(candidates)
    return f"{city}市{bureau.short}{year}年{clause}多少{unit}？"
