"""What retrieval and the Assistant need from an index, and how the configured one is opened.

Two backends implement `SearchBackend`:

- `rag.index.Index`: FAISS + BM25 arrays in an index folder, loaded into one
  process (the default);
- `rag.pg.PgIndex`: PostgreSQL + pgvector, selected by `Settings.database_url`
  (`POLICYQA_DATABASE_URL=postgresql://…`); stateless, so any number of
  PolicyQA processes can serve one database.

Positions are opaque integers that a backend hands out from `dense_search` /
`keyword_search` and resolves with `chunks[position]`: row numbers 0..n-1 for
FAISS, chunk row ids for PostgreSQL. `mask()` returns an `Allowed` the same
backend understands (a boolean array for FAISS, a SQL filter for PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from .config import Settings
    from .embed import Embedder
    from .index import UpdateSummary
    from .retrieve import Filters
    from .types import Chunk, Document, Hit

__all__ = ["Allowed", "ChunkLookup", "SearchBackend", "open_index"]


class Allowed(Protocol):
    """The chunks a metadata filter lets through; only the backend that made it reads it."""

    def any(self) -> bool:
        """Whether at least one chunk passes."""
        ...


class ChunkLookup(Protocol):
    """Chunks by position (a list for FAISS, a cached SQL lookup for PostgreSQL)."""

    def __len__(self) -> int: ...

    def __getitem__(self, position: int) -> Chunk: ...


@runtime_checkable
class SearchBackend(Protocol):
    """The surface `rag.retrieve.search` and `rag.assistant.Assistant` use."""

    @property
    def documents(self) -> Mapping[str, Document]: ...

    @property
    def chunks(self) -> ChunkLookup: ...

    @property
    def embedder(self) -> Embedder: ...

    def mask(
        self,
        doc_ids: set[str] | None = None,
        years: set[int] | None = None,
        publishers: set[str] | None = None,
    ) -> Allowed | None: ...

    def dense_search(
        self, qvec: np.ndarray, k: int, allowed: Allowed | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def keyword_search(
        self, query: str, k: int, allowed: Allowed | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Hit]: ...

    def add(self, paths: Sequence[Path | str], progress: bool = False) -> UpdateSummary: ...

    def remove(self, doc_ids_or_sources: Sequence[str]) -> int: ...


def open_index(
    settings: Settings | None = None,
    *,
    index_dir: Path | str | None = None,
    embedder: Embedder | None = None,
) -> SearchBackend:
    """The configured index: PostgreSQL when `settings.database_url` is set, else the folder index.

    `index_dir` overrides `settings.index_dir` for the folder index.
    """
    from .config import Settings

    settings = settings or Settings.from_env()
    if settings.database_url:
        from .pg import PgIndex

        return PgIndex(settings.database_url, embedder=embedder, settings=settings)
    from .index import load_index

    return load_index(Path(index_dir or settings.index_dir), embedder=embedder, settings=settings)
