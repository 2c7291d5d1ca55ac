"""The facts an index records about how it was built, and the checks made against them.

Every backend records the embedding model and its dimension, the chunker and its
settings, and the passage-text version; an update or a reader that would mix
incompatible vectors or chunks is refused with a message that says how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..config import Settings
from ..errors import IndexMismatchError
from ..ingest.chunk import CHUNKER_VERSION

__all__ = ["chunker_entry", "check_chunker", "check_model", "model_mismatch"]


def chunker_entry(settings: Settings) -> dict[str, int]:
    """The manifest's record of how chunks are cut with these settings.

    >>> chunker_entry(Settings(chunk_tokens=300, chunk_overlap=40))
    {'max_tokens': 300, 'overlap': 40, 'chunker_version': 1}
    """
    return {"max_tokens": settings.chunk_tokens, "overlap": settings.chunk_overlap, "chunker_version": CHUNKER_VERSION}


def check_chunker(
    recorded: Mapping[str, int], max_tokens: int | None, overlap: int | None, where: str, rebuild: str
) -> None:
    """IndexMismatchError unless new chunks would match the ones an index holds (`recorded`:
    its manifest's chunker entry). `max_tokens=None` checks the chunker version only;
    `where` names the index ("the database index"), `rebuild` says how to start over."""
    if recorded.get("chunker_version") != CHUNKER_VERSION:
        raise IndexMismatchError(
            f"{where} was chunked by chunker version {recorded.get('chunker_version')}, "
            f"this PolicyQA chunks with version {CHUNKER_VERSION}: {rebuild}"
        )
    if max_tokens is not None and (max_tokens, overlap) != (recorded["max_tokens"], recorded["overlap"]):
        raise IndexMismatchError(
            f"{where} was chunked with max_tokens={recorded['max_tokens']}, overlap={recorded['overlap']}; "
            f"the settings ask for max_tokens={max_tokens}, overlap={overlap}: {rebuild} or set "
            f"POLICYQA_CHUNK_TOKENS={recorded['max_tokens']} POLICYQA_CHUNK_OVERLAP={recorded['overlap']}"
        )


def model_mismatch(where: str, manifest: Mapping[str, Any], model: str, dim: int | None, rebuild: str) -> str:
    """The message for an index built with another model than the configured one.

    >>> model_mismatch("index at x", {"model": "a", "dim": 4}, "b", 8, "rebuild")
    'index at x was built with model a (dim 4); the configured model is b (dim 8): rebuild or set POLICYQA_MODEL=a'
    """
    configured = f"{model} (dim {dim})" if dim is not None else model
    return (
        f"{where} was built with model {manifest['model']} (dim {manifest['dim']}); "
        f"the configured model is {configured}: {rebuild} or set POLICYQA_MODEL={manifest['model']}"
    )


def check_model(where: str, manifest: Mapping[str, Any], model: str, dim: int | None, rebuild: str) -> None:
    """IndexMismatchError when `model` (and `dim`, if known) differ from the index's."""
    if model != manifest["model"] or (dim is not None and int(dim) != int(manifest["dim"])):
        raise IndexMismatchError(model_mismatch(where, manifest, model, dim, rebuild))
