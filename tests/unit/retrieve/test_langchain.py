"""PolicyQARetriever: our hybrid search behind LangChain's retriever interface."""

from __future__ import annotations

import subprocess
import sys

import pytest
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever

from rag.errors import QueryError
from rag.index.filters import Filters
from rag.retrieve.langchain import PolicyQARetriever
from tests.conftest import ROOT
from tests.fakes import fake_index


def test_invoke_returns_chunks_with_exact_offsets_and_section_metadata():
    index = fake_index()
    retriever = PolicyQARetriever(index=index, k=2)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("苏州市共有多少家在营的科技类校外培训机构？")
    assert len(docs) == 2 and all(isinstance(d, LCDocument) for d in docs)
    first = docs[0]
    chunk = index.chunks[2]
    report = index.documents[chunk.doc_id]
    assert first.page_content == chunk.text
    meta = first.metadata
    assert meta["doc_id"] == chunk.doc_id and meta["chunk_id"] == chunk.chunk_id
    assert meta["title"] == report.title and meta["source"] == report.source
    assert meta["section"] == list(chunk.section)
    assert meta["section_path"] == "二、推进法治建设工作的举措成效 › 7.督促指导科技类校外培训机构准入审核及管理工作"
    assert report.text[meta["start"] : meta["end"]] == first.page_content
    assert [d.metadata["rank"] for d in docs] == [1, 2]
    assert docs[0].metadata["score"] >= docs[1].metadata["score"]


def test_k_and_filters_limit_the_results():
    index = fake_index()
    question = "  科技企业检查了多少家？ "
    assert len(PolicyQARetriever(index=index, k=1).invoke(question)) == 1
    assert index.queries[-1].startswith("科技企业检查了多少家?")  # cleaned (trimmed, width-normalised) like the Assistant's
    assert len(PolicyQARetriever(index=index, k=3).invoke(question)) == 3
    only_this = Filters(doc_ids=frozenset(index.documents))
    assert len(PolicyQARetriever(index=index, k=3, filters=only_this).invoke(question)) == 3
    only_other = Filters(doc_ids=frozenset({"some-other-report"}))
    assert PolicyQARetriever(index=index, k=3, filters=only_other).invoke(question) == []


def test_empty_query_is_a_query_error():
    with pytest.raises(QueryError):
        PolicyQARetriever(index=fake_index()).invoke("   ")


def test_k_must_be_positive():
    with pytest.raises(ValueError):
        PolicyQARetriever(index=fake_index(), k=0)


def test_importing_rag_does_not_import_langchain():
    code = "import sys, rag, rag.answer.assistant; print(any(m.startswith('langchain') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_a_per_call_k_overrides_the_retrievers_own():
    retriever = PolicyQARetriever(index=fake_index(), k=3)
    assert len(retriever.invoke("科技企业检查了多少家？", k=1)) == 1
    assert len(retriever.invoke("科技企业检查了多少家？")) == 3  # the retriever's own k is unchanged
    with pytest.raises(QueryError):
        retriever.invoke("科技企业检查了多少家？", k=0)
