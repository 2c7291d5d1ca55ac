"""A plain LangChain RAG pipeline, as a user would write it: the baseline PolicyQA is measured against.

RecursiveCharacterTextSplitter (500 characters, 50 overlap, Chinese separators,
`add_start_index=True`) → FAISS (`from_documents`, default L2 index) →
`similarity_search(question, k=5)` → the top passage is the answer and its one
citation. It never refuses.

It sees the same cleaned text (`rag.load`) and the same embedding model with the
same "query: " / "passage: " prompts as PolicyQA (through a small LangChain
`Embeddings` adapter), so differences in quality come from chunking, retrieval and
answer composition, not from the inputs. The model runs the way a LangChain user
runs it (`PlainSentenceTransformer`: sentence-transformers on PyTorch, as
`HuggingFaceEmbeddings` does), so latency differences include PolicyQA's own
embedding runtime (ONNX Runtime, `rag.onnx_encoder`).

Offsets are LangChain's own: `start_index` is found with `str.find` after
splitting, which is how LangChain does it (and can point at an earlier copy of a
repeated passage; the evaluation measures the consequence, it does not fix it).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rag.model.protocol import Embedder
    from rag.types import Document

__all__ = ["LangChainBaseline", "PlainSentenceTransformer", "baseline_embedder", "CHINESE_SEPARATORS", "SYSTEM_NAME"]

SYSTEM_NAME = "langchain-baseline"
CHINESE_SEPARATORS = ["\n\n", "\n", "。", "！", "？", "，", " ", ""]


class PlainSentenceTransformer:
    """The model as `langchain_huggingface.HuggingFaceEmbeddings` runs it: `SentenceTransformer.encode`
    on PyTorch with its defaults (every core, no query cache), with the model's prompts.

    (That package itself pins huggingface-hub < 2, which this project's lock cannot take; and
    sentence-transformers' own `backend="onnx"` needs optimum-onnx, which pins transformers < 4.58.)
    Loaded on first use, like `rag.embed.SentenceTransformerEmbedder`.
    """

    def __init__(self, model: str, cache_dir: Path | None = None) -> None:
        from rag.model.embedder import select_prompts

        self.name = model
        self._cache_dir = cache_dir
        self._prompts = select_prompts(model)
        self._model: Any = None

    @property
    def dim(self) -> int:
        return int(self.warm_up().get_embedding_dimension() or 0)

    def warm_up(self) -> Any:
        """Load the model (once) and return it."""
        if self._model is None:
            from rag.config import DEFAULT_MODEL, default_cache_dir

            source = self.name
            if self.name == DEFAULT_MODEL:  # the bundled model's folder, as a user would have downloaded it
                from rag.model.offline_e5 import ensure_e5_small

                source = str(ensure_e5_small(self._cache_dir or default_cache_dir()))
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            bar = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()  # no "Loading weights" bar in eval and benchmark output
            try:
                model = SentenceTransformer(source, local_files_only=True)
            finally:
                if bar:
                    hf_logging.enable_progress_bar()
            self._model = model.float()  # the published checkpoint is float32; ours is stored as float16
        return self._model

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(list(texts), self._prompts.passage)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], self._prompts.query)[0]

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        vectors = self.warm_up().encode(texts, prompt=prompt, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)


def baseline_embedder(ours: Embedder, cache_dir: Path | None = None) -> Embedder:
    """The baseline's embeddings: our model run plainly (`PlainSentenceTransformer`); model-free
    embedders (the tests' and benchmarks' hash embedder) are shared as they are."""
    from rag.model.embedder import SentenceTransformerEmbedder

    if isinstance(ours, SentenceTransformerEmbedder):
        return PlainSentenceTransformer(ours.name, cache_dir)
    return ours


def _embeddings_adapter(embedder: Embedder) -> Any:
    """Our Embedder as a LangChain `Embeddings` (built lazily: langchain imports are slow)."""
    from langchain_core.embeddings import Embeddings

    class EmbedderEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_passages(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text).tolist()

    return EmbedderEmbeddings()


class LangChainBaseline:
    """Split → embed → FAISS → top passage. Call `build(documents)` before `search`/`ask`."""

    name = SYSTEM_NAME

    def __init__(self, embedder: Embedder, chunk_size: int = 500, chunk_overlap: int = 50, k: int = 5) -> None:
        if chunk_size < 1 or not 0 <= chunk_overlap < chunk_size:
            raise ValueError(
                f"need chunk_size >= 1 and 0 <= chunk_overlap < chunk_size, got {chunk_size} and {chunk_overlap}"
            )
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        self.embedder = embedder
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.k = k
        self._store: Any | None = None
        self.chunk_count = 0

    def build(self, documents: Sequence[Document]) -> None:
        """Split and embed the documents' cleaned text into a fresh FAISS store."""
        if not documents:
            raise ValueError("no documents to index; load at least one report")
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        with warnings.catch_warnings():
            # langchain-community announces its sunset on import; FAISS from it is still what users write.
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*langchain-community.*")
            from langchain_community.vectorstores import FAISS

        splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.chunk_size,
            chunk_overlap=self.chunk_overlap,
            separators=CHINESE_SEPARATORS,
            add_start_index=True,
        )
        chunks = splitter.create_documents(
            [d.text for d in documents],
            metadatas=[{"source": d.source, "title": d.title, "doc_id": d.doc_id} for d in documents],
        )
        self._store = FAISS.from_documents(chunks, _embeddings_adapter(self.embedder))
        self.chunk_count = len(chunks)

    def _search(self, question: str, k: int) -> list[tuple[Any, float]]:
        if self._store is None:
            raise RuntimeError("LangChainBaseline.build(documents) must be called before searching")
        return self._store.similarity_search_with_score(question, k=k)

    def search(self, question: str, k: int = 5) -> list[tuple[str, str, float]]:
        """(passage text, report file name, cosine similarity), best first.

        FAISS returns squared L2 distances; for the unit vectors the embedder
        gives, cosine = 1 - d/2, which is comparable across questions.
        """
        return [(doc.page_content, doc.metadata["source"], 1.0 - float(d) / 2) for doc, d in self._search(question, k)]

    def ask(self, question: str) -> dict[str, Any]:
        """{"answer", "mode", "citations"}: the top passage, cited with LangChain's start_index."""
        found = self._search(question, self.k)
        if not found:  # only possible with an empty store, which build() refuses
            return {"answer": "", "mode": "extractive", "citations": []}
        top = found[0][0]
        start = int(top.metadata["start_index"])
        citation = {
            "doc": top.metadata["source"],
            "title": top.metadata["title"],
            "section": [],
            "quote": top.page_content,
            "start": start,
            "end": start + len(top.page_content),
        }
        return {"answer": top.page_content, "mode": "extractive", "citations": [citation]}
