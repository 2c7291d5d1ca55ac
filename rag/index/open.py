"""Open the configured index: PostgreSQL when a database URL is set, else the folder index."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Settings
from .folder.persist import load_index
from .pg.store import PgIndex

if TYPE_CHECKING:
    from ..model.protocol import Embedder
    from .protocol import SearchBackend

__all__ = ["open_index"]


def open_index(
    settings: Settings | None = None,
    *,
    index_dir: Path | str | None = None,
    embedder: Embedder | None = None,
) -> SearchBackend:
    """The configured index: `PgIndex` when `settings.database_url` is set, else the folder
    index at `index_dir` (default: `settings.index_dir`). psycopg loads only for a database."""
    settings = settings or Settings.from_env()
    if settings.database_url:
        return PgIndex(settings.database_url, embedder=embedder, settings=settings)
    return load_index(Path(index_dir or settings.index_dir), embedder=embedder, settings=settings)
