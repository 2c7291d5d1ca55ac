"""Bulk builders for the benchmark: our index and the LangChain baseline over one synthetic corpus.

`build_ours` produces the same index `rag.build_index` would for the
same chunks (canonical order by doc_id then ordinal, same passage text, same
manifest and files), but it takes the chunks and BM25 tokens from the
synthesiser instead of re-running the chunker and jieba per chunk, and embeds
in large batches; each phase is timed on its own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.index.folder.bm25 import KeywordIndex
from rag.index.folder.dense import build_dense, choose_index_type, default_params
from rag.index.folder.store import FolderIndex
from rag.index.passages import passage_text
from rag.model.protocol import Embedder
from rag.types import Chunk, Document

from .synth import SynthCorpus

__all__ = ["BuildTimes", "build_ours", "build_baseline", "embed_all", "EMBED_BATCH"]

EMBED_BATCH = 8192


@dataclass(frozen=True)
class BuildTimes:
    """Seconds per phase of building our index (the corpus itself is not counted)."""

    embed: float
    keyword: float
    dense: float
    save: float
    index_type: str
    index_params: dict[str, int]

    @property
    def total(self) -> float:
        return self.embed + self.keyword + self.dense + self.save


def embed_all(embedder: Embedder, texts: Sequence[str], batch: int = EMBED_BATCH) -> np.ndarray:
    """(len(texts), dim) float32 unit rows, embedded in batches."""
    out = np.empty((len(texts), int(embedder.dim)), dtype=np.float32)
    for lo in range(0, len(texts), batch):
        out[lo : lo + batch] = embedder.embed_passages(list(texts[lo : lo + batch]))
    return out


def build_ours(
    corpus: SynthCorpus,
    index_dir: Path,
    embedder: Embedder,
    *,
    settings: Settings | None = None,
    hnsw: dict[str, int] | None = None,
) -> tuple[FolderIndex, BuildTimes]:
    """Build and save our index over `corpus` (which must carry BM25 tokens)."""
    if corpus.tokens is None or len(corpus.tokens) != len(corpus.chunks):
        raise ValueError("the corpus must be synthesised with a TokenCache so every chunk has its BM25 tokens")
    documents = {d.doc_id: d for d in corpus.documents}
    # canonical layout, as FolderIndex lays chunks out: by doc_id, then ordinal
    order = sorted(range(len(corpus.chunks)), key=lambda i: (corpus.chunks[i].doc_id, corpus.chunks[i].ordinal))
    chunks: list[Chunk] = [corpus.chunks[i] for i in order]
    used = {c.doc_id for c in chunks}
    documents = {d: documents[d] for d in sorted(used)}

    t0 = time.perf_counter()
    passages = [passage_text(documents[c.doc_id].title, c) for c in chunks]
    vectors = embed_all(embedder, passages)
    del passages
    t1 = time.perf_counter()
    keyword = KeywordIndex.from_tokens([list(corpus.tokens[i]) for i in order])
    corpus.tokens = None  # the biggest structure of the corpus; not needed any more
    t2 = time.perf_counter()
    kind = choose_index_type(len(chunks))
    params = default_params(kind, len(chunks))
    if kind == "hnsw" and hnsw:
        params.update(hnsw)
    dense = build_dense(vectors, kind, params)
    t3 = time.perf_counter()

    settings = settings or Settings.from_env(model=embedder.name, index_dir=index_dir)
    index = FolderIndex.create(index_dir, settings=settings, embedder=embedder)
    manifest = dict(index.manifest)
    manifest["index_type"] = kind
    manifest["index_params"] = params
    index = FolderIndex(
        index_dir,
        manifest,
        documents,
        chunks,
        vectors,
        # synthetic reports have a file name and no path, like an upload
        origins={d.doc_id: frozenset({(d.source, "")}) for d in documents.values()},
        dense=dense,
        keyword=keyword,
        embedder=embedder,
        settings=settings,
    )
    index.save()
    t4 = time.perf_counter()
    return index, BuildTimes(t1 - t0, t2 - t1, t3 - t2, t4 - t3, kind, params)


def build_baseline(
    documents: Sequence[Document], embedder: Embedder, k: int = 5, batch_documents: int | None = None
) -> Any:
    """The LangChain baseline (evals/baseline.py) over `documents`.

    Without `batch_documents`, exactly as the evaluation builds it (one
    `FAISS.from_documents`). With it, the same splitter and store filled batch by
    batch (`from_documents` then `add_documents`), as one would load a large
    corpus: `from_documents` holds every vector as a Python list of floats at
    once (~5 GB for 400k chunks), which would not fit beside everything else.
    """
    from evals.baseline import LangChainBaseline

    baseline = LangChainBaseline(embedder, k=k)
    documents = list(documents)
    if batch_documents is None or len(documents) <= batch_documents:
        baseline.build(documents)
        return baseline
    # same components as LangChainBaseline.build, fed in batches
    first = LangChainBaseline(embedder, k=k)
    first.build(documents[:batch_documents])
    store = first._store
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from evals.baseline import CHINESE_SEPARATORS

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=first.chunk_size,
        chunk_overlap=first.chunk_overlap,
        separators=CHINESE_SEPARATORS,
        add_start_index=True,
    )
    count = first.chunk_count
    for lo in range(batch_documents, len(documents), batch_documents):
        batch = documents[lo : lo + batch_documents]
        chunks = splitter.create_documents(
            [d.text for d in batch],
            metadatas=[{"source": d.source, "title": d.title, "doc_id": d.doc_id} for d in batch],
        )
        store.add_documents(chunks)
        count += len(chunks)
    baseline._store = store
    baseline.chunk_count = count
    return baseline
