"""The whole backend contract: what retrieval reads and what the update pipeline writes.

Two backends implement it: `rag.index.folder.store.FolderIndex` (FAISS + BM25
arrays in an index folder, loaded into one process; the default) and
`rag.index.pg.store.PgIndex` (PostgreSQL + pgvector, selected by
`POLICYQA_DATABASE_URL`; stateless, so any number of processes can serve one
database). A backend supplies primitives only: fusion and ranking are
`rag.retrieve.hybrid`'s, reconciling files with the index is `rag.index.update`'s.

Positions are opaque integers that a backend hands out from `dense_search` /
`keyword_search` and resolves with `chunks[position]`: row numbers 0..n-1 for
FAISS, chunk row ids for PostgreSQL. `mask()` returns an `Allowed` the same
backend understands (a boolean array for FAISS, a SQL filter for PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from ..model.protocol import Embedder
    from ..types import Chunk, Document, DocumentMeta, ReportCard
    from .checkpoints import Checkpoints
    from .filters import Filters

__all__ = [
    "Allowed",
    "ChunkLookup",
    "SearchBackend",
    "Origin",
    "Prepared",
    "Changes",
    "Writer",
    "Store",
]

Origin = tuple[str, str]  # (file name, resolved path or "" for an upload kept nowhere)


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
    """What retrieval and the Assistant read: documents, chunks, and two kinds of search."""

    @property
    def documents(self) -> Mapping[str, Document]: ...

    @property
    def chunks(self) -> ChunkLookup: ...

    @property
    def embedder(self) -> Embedder: ...

    def mask(self, filters: Filters) -> Allowed | None:
        """The chunks `filters` let through; None when it restricts nothing."""
        ...

    def dense_search(self, qvec: np.ndarray, k: int, allowed: Allowed | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Positions and cosine scores of the k nearest chunks, best first."""
        ...

    def keyword_search(self, query: str, k: int, allowed: Allowed | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Positions and BM25 scores (> 0) of the k best keyword matches, best first."""
        ...

    def catalog(self) -> tuple[ReportCard, ...]:
        """Every indexed report without its text, by doc_id (a backend may cache this)."""
        ...


@dataclass(frozen=True)
class Prepared:
    """A new document ready to store: its chunks, their unit vectors and BM25 tokens (row i = chunk i)."""

    document: Document
    chunks: tuple[Chunk, ...]
    vectors: np.ndarray
    tokens: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Changes:
    """What one update writes: new documents, documents to delete, and the origins of every
    document whose files changed (a document's `source` is its first file name)."""

    added: Mapping[str, Prepared] = field(default_factory=dict)
    dropped: frozenset[str] = frozenset()  # deleted before `added` is written (a document may be in both)
    origins: Mapping[str, frozenset[Origin]] = field(default_factory=dict)
    redescribed: Mapping[str, Document] = field(default_factory=dict)  # same text and chunks, new identity

    @property
    def empty(self) -> bool:
        return not (self.added or self.dropped or self.origins or self.redescribed)


class Writer(Protocol):
    """One update's view of a store, inside its lock (or transaction)."""

    def origins(self) -> dict[str, frozenset[Origin]]:
        """Every stored document's origins, as the store holds them now."""
        ...

    def write(self, changes: Changes) -> tuple[int, int]:
        """Apply `changes`; returns (documents, chunks) in the store afterwards."""
        ...


class Store(Protocol):
    """What the update pipeline (`rag.index.update`) needs from a backend."""

    where: str  # names the store in messages: "the index at index/default", "the database index"
    rebuild_hint: str  # how to start over: "rebuild with `policyqa index …`"
    manifest: dict[str, Any]  # model, dim, chunker (see rag.index.manifest)

    @property
    def embedder(self) -> Embedder: ...

    def chunk_settings(self) -> tuple[int, int] | None:
        """(max_tokens, overlap) the configuration asks for, or None to keep the index's own."""
        ...

    def stored(self, doc_ids: Sequence[str]) -> dict[str, tuple[str, DocumentMeta]]:
        """Title and identity of those of `doc_ids` the store holds (read without the writer lock: a hint)."""
        ...

    def writing(self) -> AbstractContextManager[Writer]:
        """Exclusive access for one update (a process lock, or a database transaction)."""
        ...

    @property
    def checkpoints(self) -> Checkpoints:
        """Where an update keeps embedded reports until the store publishes them (resuming a killed run)."""
        ...
