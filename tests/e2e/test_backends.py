"""The same retrieval assertions on both backends: the FAISS folder index and PostgreSQL + pgvector.

A real PostgreSQL 16 with pgvector (the `pgserver` package) is started once per
session on a Unix socket in a temporary folder; every test gets its own schema.
Both backends index the same small corpus (the sample report and two
distractors) with `HashEmbedder(384)`: deterministic and model-free, so the
hybrid search's dense half is a character n-gram similarity and its BM25 half
(the same jieba tokenizer and BM25 on both) carries the Chinese questions.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.answer.assistant import Assistant
from rag.config import Settings
from rag.errors import IndexMismatchError
from rag.index.filters import Filters
from rag.index.folder.persist import build_index, load_index
from rag.index.open import open_index
from rag.index.protocol import SearchBackend
from rag.model.hashing import HashEmbedder
from rag.retrieve.hybrid import search
from tests.conftest import DEV_GOLD, ROOT, SAMPLE

pytestmark = pytest.mark.slow

pgserver = pytest.importorskip("pgserver")

DIM = 384
DISTRACTORS = ("nanjing-kjj-2024-fzzf.txt", "suzhou-kjj-2023-fzzf.txt")
# Dev questions whose evidence both backends must put in the top 5.
DEV_IDS = ("d01", "d02", "d03", "d04", "d05", "d06", "d07", "d08", "d09", "d10", "d11", "d12", "d13", "d14", "d15", "d21", "d22")
_schemas = itertools.count()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    for name in DISTRACTORS:
        shutil.copy(ROOT / "tests" / "data" / "distractors" / name, folder / name)
    return folder


def _settings(**changes: object) -> Settings:
    return Settings.from_env(environ={}, model=f"hash-ngram-{DIM}", llm_provider="none").with_(**changes)


class Backend:
    """Builds, reopens and names one backend kind over a temporary location."""

    def __init__(self, kind: str, tmp_path: Path, pg_url: str | None) -> None:
        self.kind = kind
        self.index_dir = tmp_path / "index"
        self.url = pg_url
        self.schema = f"t{next(_schemas)}"

    def build(self, paths: list[Path]) -> SearchBackend:
        if self.kind == "faiss":
            return build_index(paths, self.index_dir, settings=_settings(), embedder=HashEmbedder(DIM))
        from rag.index.pg.store import PgIndex

        index = PgIndex(self.url, embedder=HashEmbedder(DIM), settings=_settings(), schema=self.schema)
        index.add(paths)
        return index

    def reopen(self, embedder: HashEmbedder) -> SearchBackend:
        """What another process serving the same index would open."""
        if self.kind == "faiss":
            return load_index(self.index_dir, embedder=embedder, settings=_settings())
        from rag.index.pg.store import PgIndex

        return PgIndex(self.url, embedder=embedder, settings=_settings(), schema=self.schema, create=False)

    def update(self, index: SearchBackend, paths: list[Path]) -> object:
        summary = index.add(paths)
        if self.kind == "faiss":
            index.save()  # type: ignore[attr-defined]
        return summary


@pytest.fixture(params=["faiss", "pg"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    url = request.getfixturevalue("pg_url") if request.param == "pg" else None
    yield Backend(request.param, tmp_path, url)


@pytest.fixture
def index(backend: Backend, corpus: Path) -> Iterator[SearchBackend]:
    built = backend.build([corpus])
    yield built
    close = getattr(built, "close", None)
    if close is not None:
        close()


def _dev() -> dict[str, dict]:
    items = (json.loads(line) for line in DEV_GOLD.read_text(encoding="utf-8").splitlines() if line.strip())
    return {item["id"]: item for item in items}


def _squash(text: str) -> str:
    return "".join(text.split())


def test_both_backends_implement_the_protocol(index: SearchBackend) -> None:
    assert isinstance(index, SearchBackend)
    assert len(index.documents) == 3
    assert len(index.chunks) > 50
    assert {c.meta.place for c in index.catalog()} == {"苏州市", "南京市"}  # places in full (rag.text.places)


@pytest.mark.parametrize("item_id", DEV_IDS)
def test_search_puts_the_evidence_in_the_top_five(index: SearchBackend, item_id: str) -> None:
    item = _dev()[item_id]
    hits = search(index, item["question"], k=5)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    found = [h for h in hits if any(_squash(e) in _squash(h.chunk.text) for e in item["evidence"])]
    assert found, f"{item['question']}: top 5 were {[h.chunk.text[:30] for h in hits]}"
    assert all(h.source == SAMPLE.name for h in found)
    for hit in hits:  # offsets point into the stored document text
        document = index.documents[hit.chunk.doc_id]
        assert document.text[hit.chunk.start : hit.chunk.end] == hit.chunk.text


def test_filters_restrict_by_year_document_and_publisher(index: SearchBackend) -> None:
    by_source = {d.source: d for d in index.documents.values()}
    question = "科技类社会组织年检"
    hits = search(index, question, k=5, filters=Filters(years=frozenset({2023})))
    assert hits and {h.source for h in hits} == {"suzhou-kjj-2023-fzzf.txt"}
    nanjing = by_source["nanjing-kjj-2024-fzzf.txt"].doc_id
    hits = search(index, question, k=5, filters=Filters(doc_ids=frozenset({nanjing})))
    assert hits and {h.chunk.doc_id for h in hits} == {nanjing}
    hits = search(index, question, k=5, filters=Filters(publishers=frozenset({"南京"})))
    assert hits and {h.source for h in hits} == {"nanjing-kjj-2024-fzzf.txt"}
    assert search(index, question, k=5, filters=Filters(years=frozenset({1999}))) == []
    assert search(index, question, k=5, filters=Filters(years=frozenset({10**30}))) == []  # hostile input


def test_assistant_answers_with_a_citation(index: SearchBackend) -> None:
    answer = Assistant(index, _settings()).ask("苏州市共有多少家在营的科技类校外培训机构？")
    assert answer.mode == "extractive"
    assert "78" in answer.text
    assert any(c.source == SAMPLE.name and "78" in c.quote for c in answer.citations)


def test_incremental_add_skips_unchanged_and_updates_edited(backend: Backend, index: SearchBackend, corpus: Path) -> None:
    chunks_before = len(index.chunks)
    summary = backend.update(index, [corpus])
    assert (summary.added, summary.updated, summary.removed, summary.skipped, summary.chunks) == (0, 0, 0, 3, 0)
    assert len(index.chunks) == chunks_before

    edited = corpus / DISTRACTORS[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "\n全年开展无人机航拍巡查17次，发现问题3处。\n", encoding="utf-8")
    summary = backend.update(index, [corpus])
    assert (summary.added, summary.updated, summary.removed, summary.skipped) == (0, 1, 0, 2)
    assert 0 < summary.chunks < chunks_before
    assert len(index.documents) == 3
    hits = search(index, "无人机航拍巡查开展了多少次？", k=3)
    assert any("无人机航拍巡查17次" in h.chunk.text for h in hits)

    (corpus / DISTRACTORS[1]).unlink()  # a report gone from a re-indexed folder is removed
    summary = backend.update(index, [corpus])
    assert (summary.removed, summary.skipped) == (1, 2)
    assert {d.source for d in index.documents.values()} == {SAMPLE.name, DISTRACTORS[0]}


def test_remove_by_source_name(index: SearchBackend) -> None:
    assert index.remove(["nanjing-kjj-2024-fzzf.txt"]) == 1
    assert len(index.documents) == 2
    assert all(h.source != "nanjing-kjj-2024-fzzf.txt" for h in search(index, "南京市科学技术局政策直通车座谈会", k=10))
    assert index.remove(["nanjing-kjj-2024-fzzf.txt"]) == 0


def test_another_process_sees_the_same_index(backend: Backend, index: SearchBackend) -> None:
    other = backend.reopen(HashEmbedder(DIM))
    try:
        question = _dev()["d02"]["question"]
        assert [h.chunk.chunk_id for h in search(other, question, k=5)] == [
            h.chunk.chunk_id for h in search(index, question, k=5)
        ]
    finally:
        getattr(other, "close", lambda: None)()


def test_model_mismatch_raises(backend: Backend, index: SearchBackend) -> None:
    with pytest.raises(IndexMismatchError, match="hash-ngram-384"):
        backend.reopen(HashEmbedder(256))


def test_pg_and_faiss_rank_alike(pg_url: str, corpus: Path, tmp_path: Path) -> None:
    """Same corpus, same BM25 and (on this small corpus, exact) dense scores: the same top hits."""
    faiss_index = Backend("faiss", tmp_path / "f", None).build([corpus])
    pg_index = Backend("pg", tmp_path / "p", pg_url).build([corpus])
    try:
        assert len(faiss_index.chunks) == len(pg_index.chunks)
        dev = _dev()
        for item_id in DEV_IDS:
            question = dev[item_id]["question"]
            ours = [h.chunk.chunk_id for h in search(faiss_index, question, k=5)]
            theirs = [h.chunk.chunk_id for h in search(pg_index, question, k=5)]
            assert ours[0] == theirs[0], question
            assert len(set(ours) & set(theirs)) >= 4, question
            # keyword scores agree to float precision, chunk for chunk
            f_pos, f_scores = faiss_index.keyword_search(question, 10)
            p_pos, p_scores = pg_index.keyword_search(question, 10)
            f = {faiss_index.chunks[int(p)].chunk_id: float(s) for p, s in zip(f_pos, f_scores, strict=True)}
            p = {pg_index.chunks[int(q)].chunk_id: float(s) for q, s in zip(p_pos, p_scores, strict=True)}
            assert list(f)[:5] == list(p)[:5], question
            for chunk_id in set(f) & set(p):
                assert p[chunk_id] == pytest.approx(f[chunk_id], rel=1e-4)
    finally:
        pg_index.close()  # type: ignore[attr-defined]


def test_open_index_selects_postgres_from_settings(pg_url: str, corpus: Path, tmp_path: Path) -> None:
    backend = Backend("pg", tmp_path, pg_url)
    backend.build([corpus]).close()  # type: ignore[attr-defined]
    from rag.index.pg.store import PgIndex

    settings = _settings(database_url=pg_url)
    # the schema is not a setting; open_index uses the default one, so create it there
    with PgIndex(pg_url, embedder=HashEmbedder(DIM), settings=settings) as default:
        if len(default.documents) == 0:
            default.add([corpus])
    opened = open_index(settings, embedder=HashEmbedder(DIM))
    assistant = Assistant.open(settings=settings)  # what `policyqa serve/ask` do
    try:
        assert isinstance(opened, PgIndex)
        assert len(opened.documents) == 3
        assert search(opened, _dev()["d04"]["question"], k=5)
        assert isinstance(assistant.index, PgIndex)
        assert "78" in assistant.ask(_dev()["d02"]["question"]).text
    finally:
        opened.close()
        assistant.index.close()  # type: ignore[attr-defined]
    folder = open_index(_settings(), index_dir=Backend("faiss", tmp_path / "f", None).build([corpus]).index_dir,
                        embedder=HashEmbedder(DIM))  # fmt: skip
    assert type(folder).__name__ == "FolderIndex"


def test_pg_keyword_candidates_come_from_the_rarest_terms(pg_url: str, corpus: Path) -> None:
    """With a candidate budget smaller than any posting list, only chunks holding the rarest term are scored."""
    import psycopg

    from rag.index.pg.store import PgIndex
    from rag.text.tokenize import tokenize

    schema = f"t{next(_schemas)}"
    with PgIndex(pg_url, embedder=HashEmbedder(DIM), settings=_settings(), schema=schema) as full:
        full.add([corpus])
        question = _dev()["d13"]["question"]
        with psycopg.connect(pg_url) as conn:
            rarest_id = conn.execute(
                f"SELECT id FROM {schema}.terms WHERE term = ANY(%s) AND df > 0 ORDER BY df, term LIMIT 1",
                (sorted(set(tokenize(question))),),
            ).fetchone()[0]
            holding = {
                r[0] for r in conn.execute(f"SELECT id FROM {schema}.chunk_terms WHERE %s = ANY(term_ids)", (rarest_id,))
            }
        with PgIndex(
            pg_url, embedder=HashEmbedder(DIM), settings=_settings(), schema=schema, candidate_budget=1
        ) as pruned:
            positions, scores = pruned.keyword_search(question, 10)
        assert len(positions) and (scores > 0).all()
        assert set(positions.tolist()) <= holding
        # the pruned scores are the full BM25 scores of those chunks
        everything = dict(zip(*(a.tolist() for a in full.keyword_search(question, 10_000)), strict=True))
        for position, value in zip(positions.tolist(), scores.tolist(), strict=True):
            assert value == pytest.approx(everything[position], rel=1e-6)


def test_cli_indexes_into_and_answers_from_the_database(
    pg_url: str, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import psycopg

    from cli import main

    with psycopg.connect(pg_url, autocommit=True) as conn:  # the default schema, fresh
        conn.execute("DROP SCHEMA IF EXISTS policyqa CASCADE")
    monkeypatch.setenv("POLICYQA_DATABASE_URL", pg_url)
    monkeypatch.setenv("POLICYQA_MODEL", f"hash-ngram-{DIM}")
    monkeypatch.setenv("POLICYQA_LLM_PROVIDER", "none")
    monkeypatch.chdir(tmp_path)  # a folder index would appear here
    assert main(["index", str(corpus)]) == 0
    assert "indexed into the database: 3 added" in capsys.readouterr().out
    assert main(["index", str(corpus)]) == 0
    assert "0 added, 0 updated, 0 removed, 3 unchanged" in capsys.readouterr().out
    assert main(["ask", _dev()["d02"]["question"]]) == 0
    assert "78" in capsys.readouterr().out
    assert main(["index", str(corpus), "--rebuild"]) == 2
    assert "--rebuild" in capsys.readouterr().err
    assert not (tmp_path / "index").exists()
