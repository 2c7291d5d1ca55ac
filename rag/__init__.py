"""PolicyQA: cited answers over Chinese government policy reports, offline.

    from rag import Assistant, build_index
    index = build_index(["data/reports"], "index/default")
    answer = Assistant(index).ask("2024年检查了多少家企业？")
    print(answer.text, answer.citations)
"""

from .assistant import Assistant, ask
from .chunk import chunk_document
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
from .index import Index, build_index, load_index
from .load import load_document, load_documents
from .retrieve import Filters
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
    "Hit",
    "Index",
    "IndexCorruptError",
    "IndexMismatchError",
    "LLMError",
    "LoadError",
    "ModelError",
    "QueryError",
    "RagError",
    "Settings",
    "Turn",
    "ask",
    "build_index",
    "chunk_document",
    "load_document",
    "load_documents",
    "load_index",
]


def __getattr__(name: str):
    # The LangChain adapter is exported lazily: `import rag` does not import LangChain.
    if name == "PolicyQARetriever":
        from .lc_retriever import PolicyQARetriever

        return PolicyQARetriever
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
