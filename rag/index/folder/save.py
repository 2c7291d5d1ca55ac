"""Write a folder index's state as the next generation of its directory (atomic, deterministic)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import IndexCorruptError, IndexMismatchError
from ...text.tokenize import tokenizer_fingerprint
from ...types import Chunk, Document
from ..protocol import Origin
from . import files, layout
from .bm25 import KeywordIndex
from .dense import write_dense

if TYPE_CHECKING:
    import faiss

__all__ = ["write_generation"]


def write_generation(
    index_dir: Path,
    loaded_from: str | None,
    manifest: dict[str, Any],
    documents: Mapping[str, Document],
    origins: Mapping[str, frozenset[Origin]],
    chunks: Sequence[Chunk],
    embeddings: np.ndarray,
    dense: faiss.Index,
    keyword: KeywordIndex,
) -> tuple[str, dict[str, Any]]:
    """Publish the state as a new generation (the caller holds the writer lock); its name and manifest.

    `loaded_from` is the generation the state was read from: if another writer has
    published since, the state is stale and IndexMismatchError says to reload.
    """
    if loaded_from is not None:
        try:
            live = layout.current_generation(index_dir).name
        except IndexCorruptError:
            live = None
        if live != loaded_from:
            raise IndexMismatchError(
                f"the index at {index_dir} was changed by another writer since it was loaded "
                f"({loaded_from} → {live}): load it again and repeat the change"
            )
    manifest = _manifest_for_save(manifest, documents, origins, chunks)
    with layout.new_generation(index_dir) as tmp:
        files.write_jsonl(tmp / layout.DOCUMENTS, (files.document_to_record(documents[d]) for d in sorted(documents)))
        files.write_jsonl(tmp / layout.CHUNKS, (files.chunk_to_record(c) for c in chunks))
        files.write_npy(tmp / layout.EMBEDDINGS, embeddings)
        write_dense(dense, tmp / layout.VECTORS)
        keyword.save(tmp / layout.KEYWORD)
        manifest["files"] = files.describe_files(tmp)
        files.write_json(tmp / layout.MANIFEST, manifest)
    return layout.current_generation(index_dir).name, manifest


def _manifest_for_save(
    manifest: dict[str, Any],
    documents: Mapping[str, Document],
    origins: Mapping[str, frozenset[Origin]],
    chunks: Sequence[Chunk],
) -> dict[str, Any]:
    m = dict(manifest)
    m["created_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
    m["chunk_count"] = len(chunks)
    m["document_count"] = len(documents)
    m["keyword"] = {"tokenizer_fingerprint": tokenizer_fingerprint()}
    counts: dict[str, int] = {}
    for c in chunks:
        counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
    m["documents"] = {
        doc_id: {
            "title": doc.title,
            "source": doc.source,
            "sources": sorted({source for source, _ in origins[doc_id]}),
            "origins": [{"source": src, "path": path or None} for src, path in sorted(origins[doc_id])],
            "text_sha256": hashlib.sha256(doc.text.encode("utf-8")).hexdigest(),
            "chunk_count": counts.get(doc_id, 0),
            "meta": dataclasses.asdict(doc.meta),
        }
        for doc_id, doc in sorted(documents.items())
    }
    return m
