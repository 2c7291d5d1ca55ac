"""What the index and retrieval need from an embedding model: the `Embedder` protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

__all__ = ["Embedder", "check_texts"]


class Embedder(Protocol):
    """What the index and retriever need from an embedding model."""

    @property
    def name(self) -> str:
        """Model identifier recorded in index manifests."""
        ...

    @property
    def dim(self) -> int:
        """Length of every vector this embedder returns."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Shape (len(texts), dim), float32, rows L2-normalised; (0, dim) for no texts."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Shape (dim,), float32, L2-normalised."""
        ...


def check_texts(texts: Sequence[str]) -> list[str]:
    """The texts as a list of str, or TypeError saying what `embed_passages` takes."""
    if isinstance(texts, str):
        raise TypeError(
            "embed_passages expects a sequence of strings, got one str; use embed_query or wrap it in a list"
        )
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"embed_passages expects strings; item {i} is {type(text).__name__}")
    return texts
