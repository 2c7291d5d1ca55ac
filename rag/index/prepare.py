"""New reports made ready for a store: chunk → embed → BM25 tokens, in batches of reports.

Each finished batch's vectors are kept on disk (`Checkpoints`) until the store publishes
them, so a killed update resumes where it stopped. Within a batch, passages are embedded
longest first (batches of similar length pad little), and a passage text met before in the
same update is embedded once.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import IndexMismatchError
from ..ingest.chunk import chunk_document
from ..model.protocol import Embedder
from ..stages import stage
from ..text.tokenize import tokenize
from ..types import Document
from .passages import passage_text
from .protocol import Prepared, Store

__all__ = ["Preparation", "prepare", "embed_in_batches", "vector_identity", "REPORT_BATCH_PASSAGES", "EMBED_STEP"]

log = logging.getLogger(__name__)

REPORT_BATCH_PASSAGES = 512  # passages per batch of reports: what a kill can lose (~1-2 min on 2 cores)
EMBED_STEP = 128  # passages per embed_passages call (a progress step)


@dataclass(frozen=True)
class Preparation:
    """Prepared reports by doc_id, and how many of them came from an interrupted update's checkpoints."""

    prepared: dict[str, Prepared]
    resumed: int = 0
    embedded: int = 0  # passage texts embedded by this call (duplicates once)


def vector_identity(embedder: Embedder) -> str:
    """What a report's vectors depend on besides its passages: model and its exact weights (a model
    retrained in place under the same name), precision (and int8 recipe), dimension."""
    weights = getattr(embedder, "weights_key", "")
    return f"{embedder.name}|{weights}|{getattr(embedder, 'precision', 'fp32')}|{embedder.dim}"


def prepare(store: Store, documents: Sequence[Document], progress: bool = False) -> Preparation:
    """Chunks, unit vectors and BM25 tokens of new documents, as the store's manifest cuts them."""
    chunker = store.manifest["chunker"]
    dim = int(store.manifest["dim"])
    with stage("chunk"):
        chunks = {
            doc.doc_id: chunk_document(doc, int(chunker["max_tokens"]), int(chunker["overlap"]))
            for doc in sorted(documents, key=lambda d: d.doc_id)
        }
        by_id = {doc.doc_id: doc for doc in documents}
        texts = {d: [passage_text(by_id[d].title, c) for c in cs] for d, cs in chunks.items()}
    vectors = _resume(store, texts, dim, progress)
    resumed = len(vectors)
    embedded = _embed_missing(store, texts, vectors, dim, progress)
    with stage("bm25"):
        tokens = _tokens(texts)
    prepared = {
        d: Prepared(by_id[d], tuple(chunks[d]), vectors[d], tuple(tokens[t] for t in texts[d])) for d in chunks
    }
    return Preparation(prepared, resumed, embedded)


def _resume(store: Store, texts: dict[str, list[str]], dim: int, progress: bool) -> dict[str, np.ndarray]:
    """Vectors an interrupted update already made for these reports."""
    if not texts or store.checkpoints.kept() == 0:
        return {}
    found = {}
    for doc_id, passages in texts.items():
        vectors = store.checkpoints.load(doc_id, passages, dim)
        if vectors is not None:
            found[doc_id] = vectors
    if found:
        message = f"resuming: {len(found)} of {len(texts)} reports already embedded"
        log.info("%s (%s)", message, store.where)
        if progress:
            print(message, file=sys.stderr, flush=True)
    return found


def _embed_missing(
    store: Store, texts: dict[str, list[str]], vectors: dict[str, np.ndarray], dim: int, progress: bool
) -> int:
    """Embed the reports not in `vectors` batch by batch, keeping each batch as a checkpoint."""
    todo = [d for d in texts if d not in vectors]
    if not todo:  # nothing to embed: do not load the model
        return 0
    known: dict[str, np.ndarray] = {}
    bar = _bar(sum(len(texts[d]) for d in todo)) if progress else None
    try:
        for batch in _report_batches(todo, texts):
            fresh = list(dict.fromkeys(t for d in batch for t in texts[d] if t not in known))
            got = embed_in_batches(store.embedder, fresh, dim, store.where, bar.update if bar else None)
            known.update(zip(fresh, got, strict=True))
            for doc_id in batch:
                vectors[doc_id] = np.stack([known[t] for t in texts[doc_id]]) if texts[doc_id] else np.zeros((0, dim), np.float32)
                store.checkpoints.save(doc_id, texts[doc_id], vectors[doc_id])
            if bar is not None:
                bar.update(sum(len(texts[d]) for d in batch) - len(fresh))  # duplicates: done without embedding
    finally:
        if bar is not None:
            bar.close()
    return len(known)


def _report_batches(doc_ids: Sequence[str], texts: dict[str, list[str]]) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for doc_id in doc_ids:
        batch.append(doc_id)
        size += len(texts[doc_id])
        if size >= REPORT_BATCH_PASSAGES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _tokens(texts: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    """BM25 tokens of every distinct passage text."""
    out: dict[str, tuple[str, ...]] = {}
    for passages in texts.values():
        for text in passages:
            if text not in out:
                out[text] = tuple(tokenize(text))
    return out


def _bar(total: int):  # noqa: ANN202 - tqdm's type is not worth importing eagerly
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="embedding", unit="chunk")


def embed_in_batches(
    embedder: Embedder,
    texts: Sequence[str],
    dim: int,
    where: str,
    on_batch: Callable[[int], object] | None = None,
) -> np.ndarray:
    """Unit vectors for an index's passages, (len(texts), dim) float32, embedded EMBED_STEP at a time,
    longest first (the embedder's batches then pad little).

    Refuses vectors of another shape or with non-finite values (IndexMismatchError naming
    `where`, e.g. "the index at index/default"); `on_batch(n)` is told after each n texts.
    """
    out = np.empty((len(texts), dim), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    for lo in range(0, len(texts), EMBED_STEP):
        rows = order[lo : lo + EMBED_STEP]
        vectors = np.asarray(embedder.embed_passages([texts[i] for i in rows]), dtype=np.float32)
        if vectors.shape != (len(rows), dim):
            raise IndexMismatchError(
                f"embedder {embedder.name} returned shape {vectors.shape} for {len(rows)} texts; "
                f"{where} expects dim {dim}"
            )
        out[rows] = vectors
        if on_batch is not None:
            on_batch(len(rows))
    if not np.isfinite(out).all():
        raise IndexMismatchError(f"embedder {embedder.name} returned non-finite values")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    if np.abs(norms - 1).max(initial=0) > 1e-3:  # the protocol promises unit vectors; be sure
        out /= np.maximum(norms, 1e-12)
    return out
