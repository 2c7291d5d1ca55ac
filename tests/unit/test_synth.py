"""The benchmark's synthetic reports: deterministic, well-formed, and their cached BM25 tokens are exact."""

from __future__ import annotations

import pytest

from benchmarks.synth import (
    BUREAUS,
    CITIES,
    MAX_CHUNK_CHARS,
    YEARS,
    Synthesizer,
    TokenCache,
    _cn_number,
    load_pool,
)
from rag.ingest.load import doc_id_for


@pytest.fixture(scope="module")
def pool():
    return load_pool()


def test_pool_is_cut_from_the_real_reports(pool) -> None:
    assert len(pool.headings) == 4  # 一、… 四、 in every source report
    assert all(pool.headings) and all(pool.sentences) and pool.intros
    assert sum(len(s) for s in pool.sentences) > 300


def test_documents_are_deterministic_and_vary(pool) -> None:
    a, b = Synthesizer(pool, seed=0), Synthesizer(pool, seed=0)
    assert a.document(7).document == b.document(7).document
    assert a.document(7).chunks == b.document(7).chunks
    assert Synthesizer(pool, seed=1).document(7).document != a.document(7).document
    docs = [a.document(i).document for i in range(60)]
    assert len({d.doc_id for d in docs}) == 60
    assert len({d.meta.place for d in docs}) > 10 and len({d.meta.year for d in docs}) > 4
    assert len({d.meta.publisher for d in docs}) > 30


def test_reports_and_chunks_are_well_formed(pool) -> None:
    synth = Synthesizer(pool, seed=3)
    for i in range(40):
        sd = synth.document(i)
        doc = sd.document
        assert doc.doc_id == doc_id_for(doc.text)
        assert doc.meta.place in CITIES and doc.meta.year in YEARS
        assert any(b.full in doc.title for b in BUREAUS) and doc.title.endswith("年度法治政府建设情况报告")
        assert f"{doc.meta.place}市" in doc.meta.publisher
        assert "一、" in doc.text and "四、" in doc.text
        assert [c.ordinal for c in sd.chunks] == list(range(len(sd.chunks)))
        for chunk in sd.chunks:
            assert doc.text[chunk.start : chunk.end] == chunk.text
            assert chunk.chunk_id == f"{doc.doc_id}-{chunk.ordinal:04d}"
            assert chunk.text.strip() == chunk.text and chunk.text
            # a chunk exceeds the budget only by its heading line or by one long sentence
            assert len(chunk.text) <= 2 * MAX_CHUNK_CHARS + 120
        intro = [c for c in sd.chunks if not c.section]  # the introduction, before 一、
        assert intro and sd.chunks[: len(intro)] == tuple(intro)
        assert any(s in doc.text for s in ("\x01", "\x02", "\x03")) is False  # every slot filled


def test_cached_tokens_equal_tokenising_each_passage(pool) -> None:
    synth = Synthesizer(pool, seed=5, tokens=TokenCache())
    for i in range(12):
        sd = synth.document(i)
        assert sd.tokens is not None and len(sd.tokens) == len(sd.chunks)
        assert synth.check_tokens(sd) == []
    assert synth.tokens is not None and synth.tokens.hits > 0


def test_corpus_has_exactly_n_chunks_with_aligned_tokens(pool) -> None:
    corpus = Synthesizer(pool, seed=0, tokens=TokenCache()).corpus(1_234)
    assert len(corpus.chunks) == 1_234 and corpus.tokens is not None and len(corpus.tokens) == 1_234
    docs = {d.doc_id for d in corpus.documents}
    assert {c.doc_id for c in corpus.chunks} == docs
    with pytest.raises(ValueError, match="at least 1"):
        Synthesizer(pool).corpus(0)


def test_questions_ask_about_a_report_in_the_corpus(pool) -> None:
    synth = Synthesizer(pool, seed=0)
    questions = synth.questions(10, n_documents=50)
    assert len(questions) == 10 and len(set(questions)) == 10
    for q in questions:
        assert q.endswith("？") and "多少" in q
        assert any(q.startswith(f"{c}市") for c in CITIES)


def test_chinese_numbers_for_headings() -> None:
    assert [_cn_number(n) for n in (1, 9, 10, 12, 20, 21)] == ["一", "九", "十", "十二", "二十", "二十一"]
