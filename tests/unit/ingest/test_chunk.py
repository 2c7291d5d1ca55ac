import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.ingest.chunk import chunk_document
from rag.ingest.clean import clean_report
from rag.text.sentences import sentence_spans
from rag.text.token_count import count_tokens
from rag.types import Document


def _doc(text: str) -> Document:
    return Document(doc_id="d" * 16, title="t", text=text, source="t.txt")


def _sample_doc(sample_text: str) -> Document:
    return _doc(clean_report(sample_text).text)


def _assert_invariants(doc: Document, chunks, max_tokens: int) -> None:
    covered = [False] * len(doc.text)
    for i, chunk in enumerate(chunks):
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        assert chunk.ordinal == i and chunk.doc_id == doc.doc_id
        for j in range(chunk.start, chunk.end):
            covered[j] = True
    gaps = "".join(ch for ch, c in zip(doc.text, covered, strict=True) if not c)
    assert gaps.strip() == "", f"uncovered text: {gaps.strip()[:50]!r}"
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)


def test_sample_chunks_hold_offsets_and_cover_text(sample_text):
    doc = _sample_doc(sample_text)
    chunks = chunk_document(doc)
    _assert_invariants(doc, chunks, 300)
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_chunks_never_straddle_top_level_sections(sample_text):
    doc = _sample_doc(sample_text)
    tops = [m.start() for m in re.finditer(r"(?m)^[一二三四]、", doc.text)]
    for chunk in chunk_document(doc):
        inside = [t for t in tops if chunk.start < t < chunk.end]
        assert not inside, chunk.text[:40]
        if chunk.start >= tops[0]:
            assert chunk.section and chunk.section[0][:2] in ("一、", "二、", "三、", "四、")


def test_chunks_carry_full_heading_path(sample_text):
    doc = _sample_doc(sample_text)
    by_text = {c.text[:12]: c.section for c in chunk_document(doc)}
    section = next(s for t, s in by_text.items() if t.startswith("5.积极推进"))
    assert section == ("二、推进法治建设工作的举措成效", "5.积极推进“综合查一次”改革")


def test_bodyless_heading_joins_its_first_subsection(sample_text):
    doc = _sample_doc(sample_text)
    chunks = chunk_document(doc)
    first = next(c for c in chunks if c.text.startswith("一、"))
    assert "1.深入贯彻落实" in first.text
    assert first.section[-1].startswith("1.")


def test_chunk_budget_is_respected(sample_text):
    doc = _sample_doc(sample_text)
    for max_tokens in (80, 150, 300):
        chunks = chunk_document(doc, max_tokens=max_tokens, overlap=20)
        _assert_invariants(doc, chunks, max_tokens)
        heading_slack = 60  # a body-less parent heading carried into its first child
        assert all(count_tokens(c.text) <= max_tokens + heading_slack for c in chunks)


def test_overlap_repeats_a_short_sentence():
    text = "一、总体\n" + "".join(f"第{i}句内容较长的一句话用于测试切分效果。短句{i}。" for i in range(30))
    chunks = chunk_document(_doc(text), max_tokens=100, overlap=30)
    assert len(chunks) > 3
    assert any(a.end > b.start for a, b in zip(chunks, chunks[1:], strict=False))


def test_sentence_spans_keep_closing_quotes():
    text = "他说:“完成了。”然后离开;最后!"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["他说:“完成了。”", "然后离开;", "最后!"]


_ALPHABET = list("一二、(一)1.。!?;,测试行政执法检查企业\n ") + ["二、", "\n1.", "\n(1)", "\n一是", "\n## "]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_ALPHABET), max_size=120), st.integers(min_value=50, max_value=200))
def test_offset_and_coverage_properties(parts, max_tokens):
    text = clean_report("".join(parts)).text
    doc = _doc(text)
    _assert_invariants(doc, chunk_document(doc, max_tokens=max_tokens, overlap=10), max_tokens)


def test_check_chunker_names_the_index_and_the_fix():
    from rag.errors import IndexMismatchError
    from rag.index.manifest import check_chunker
    from rag.ingest.chunk import CHUNKER_VERSION

    recorded = {"max_tokens": 300, "overlap": 40, "chunker_version": CHUNKER_VERSION}
    check_chunker(recorded, 300, 40, "the database index", "re-index")
    check_chunker(recorded, None, None, "the database index", "re-index")  # version only
    with pytest.raises(IndexMismatchError, match=r"the database index was chunked by chunker version 0.*: re-index$"):
        check_chunker({**recorded, "chunker_version": 0}, None, None, "the database index", "re-index")
    with pytest.raises(IndexMismatchError, match=r"max_tokens=300.*ask for max_tokens=200.*re-index or set POLICYQA"):
        check_chunker(recorded, 200, 40, "the database index", "re-index")
