"""PolicyQA: cited answers over Chinese government policy reports, offline.

    from rag import Assistant, build_index
    index = build_index(["data/reports"], "index/default")
    answer = Assistant(index).ask("2024年检查了多少家企业？")
    print(answer.text, answer.citations)

The data flows through four stages, one subpackage each: `rag.ingest` (files →
documents → chunks), `rag.index` (vectors and BM25, in a folder or PostgreSQL),
`rag.retrieve` (hybrid search) and `rag.answer` (extractive or LLM answers with
citations); `rag.text` holds the Chinese text rules they share, `rag.model` the
embedding models.
"""

from .answer.assistant import Assistant, ask
from .config import Settings
from .errors import (
    ConfigError,
    IndexCorruptError,
    IndexMismatchError,
    LLMError,
    LoadError,
    ModelError,
    QueryError,
    RagError,
)
from .index.filters import Filters
from .index.folder.persist import build_index, load_index
from .index.folder.store import FolderIndex
from .index.open import open_index
from .ingest.chunk import chunk_document
from .ingest.load import load_document, load_documents
from .retrieve.hybrid import RetrievalConfig, search
from .types import Answer, Chunk, Citation, Document, DocumentMeta, Hit, Turn

__all__ = [
    "Answer",
    "Assistant",
    "Chunk",
    "Citation",
    "ConfigError",
    "Document",
    "DocumentMeta",
    "Filters",
    "FolderIndex",
    "Hit",
    "IndexCorruptError",
    "IndexMismatchError",
    "LLMError",
    "LoadError",
    "ModelError",
    "QueryError",
    "RagError",
    "RetrievalConfig",
    "Settings",
    "Turn",
    "ask",
    "build_index",
    "chunk_document",
    "load_document",
    "load_documents",
    "load_index",
    "open_index",
    "search",
]


def __getattr__(name: str):
    # The LangChain adapter is exported lazily: `import rag` does not import LangChain.
    if name == "PolicyQARetriever":
        from .retrieve.langchain import PolicyQARetriever

        return PolicyQARetriever
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
