"""PolicyQA's hybrid search as a LangChain retriever, for portal developers' chains.

    from rag import load_index
    from rag.retrieve.langchain import PolicyQARetriever

    retriever = PolicyQARetriever(index=load_index("index/default"), k=5)
    docs = retriever.invoke("2024年检查了多少家企业？")
    docs[0].metadata["section_path"], docs[0].metadata["start"]

Each LangChain Document is one chunk; `metadata["start"]`/`["end"]` are its
exact offsets into the report's cleaned text, as everywhere in PolicyQA.
Importing this module imports langchain-core; `rag` itself does not.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from ..index.filters import Filters
from ..types import Hit
from .hybrid import RetrievalConfig, search
from .query import clean_query

__all__ = ["PolicyQARetriever", "hit_to_document"]

SECTION_SEP = " › "


class PolicyQARetriever(BaseRetriever):
    """A LangChain `BaseRetriever` over a PolicyQA index.

    `index` is a search backend (`rag.index.protocol.SearchBackend`: a folder or
    database index); `filters` restricts every search to some documents, years or
    publishers; `config` is how dense and keyword results are fused.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Any
    k: int = Field(default=5, ge=1)
    filters: Filters | None = None
    config: RetrievalConfig | None = None
    max_query_chars: int = Field(default=500, ge=1)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None, **_: Any
    ) -> list[LCDocument]:
        """`k` given to `invoke(query, k=3)` overrides the retriever's own for that call, as
        LangChain retrievers accept (other keyword arguments are ignored)."""
        text = clean_query(query, self.max_query_chars)
        hits = search(self.index, text, k=self.k if k is None else k, filters=self.filters, config=self.config)
        return [hit_to_document(hit) for hit in hits]


def hit_to_document(hit: Hit) -> LCDocument:
    """One retrieved chunk as a LangChain Document with PolicyQA's facts in metadata."""
    chunk = hit.chunk
    return LCDocument(
        page_content=chunk.text,
        id=chunk.chunk_id,
        metadata={
            "doc_id": chunk.doc_id,
            "chunk_id": chunk.chunk_id,
            "title": hit.title,
            "source": hit.source,
            "section": list(chunk.section),
            "section_path": SECTION_SEP.join(chunk.section),
            "start": chunk.start,
            "end": chunk.end,
            "score": hit.score,
            "rank": hit.rank,
        },
    )
