"""A deterministic, model-free embedder (feature hashing), for tests and large synthetic benchmarks."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ModelError
from .protocol import check_texts

__all__ = ["HashEmbedder"]


_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_BIGRAM_TAG = np.uint64(1 << 42)  # keeps bigram keys apart from unigram keys (code points < 2**21)
_UNIGRAM_WEIGHT = 0.5  # a Chinese bigram says more than a single character
_BIGRAM_WEIGHT = 1.0


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A well-mixed 64-bit hash of each element (uint64 arithmetic wraps, as intended)."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return (x ^ (x >> np.uint64(31))) & _MASK64


def _normalise_for_hashing(text: str) -> str:
    """NFKC + casefold, whitespace runs to one space: 'Ａ  b' and 'a b' hash alike."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@dataclass(frozen=True)
class HashEmbedder:
    """Deterministic, model-free embedder: signed hashing of character unigrams and bigrams.

    Texts sharing characters and character pairs get similar vectors, which is
    enough to exercise indexing and retrieval without a neural model.
    >>> HashEmbedder(256).embed_query("科技创新").shape
    (256,)
    """

    dim: int = 256

    def __post_init__(self) -> None:
        if isinstance(self.dim, bool) or not isinstance(self.dim, int) or self.dim < 8:
            raise ModelError(f"HashEmbedder dim must be an integer of at least 8, got {self.dim!r}")

    @property
    def name(self) -> str:
        return f"hash-ngram-{self.dim}"

    def warm_up(self) -> None:
        """Nothing to load; present so callers can treat every embedder alike."""

    def embed_query(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            raise TypeError(f"embed_query expects a str, got {type(text).__name__}")
        return self.embed_passages([text])[0]

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts)
        n = len(texts)
        if n == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        normalised = [_normalise_for_hashing(t) for t in texts]
        lengths = np.fromiter((len(t) for t in normalised), dtype=np.int64, count=n)
        # All texts' code points in one array; row ids say which text each belongs to.
        cps = np.frombuffer("".join(normalised).encode("utf-32-le"), dtype="<u4").astype(np.uint64)
        row = np.repeat(np.arange(n, dtype=np.int64), lengths)
        is_char = cps != ord(" ")

        # Bigrams: adjacent pairs inside one text, neither a space.
        pair_ok = (row[:-1] == row[1:]) & is_char[:-1] & is_char[1:]
        bigram_keys = ((cps[:-1][pair_ok] << np.uint64(21)) | cps[1:][pair_ok]) | _BIGRAM_TAG

        # Empty texts get one fixed feature so every row can be normalised.
        empty_rows = np.flatnonzero(lengths == 0)
        keys = np.concatenate(
            [cps[is_char], bigram_keys, np.full(len(empty_rows), _BIGRAM_TAG - np.uint64(1))]
        )
        rows = np.concatenate([row[is_char], row[:-1][pair_ok], empty_rows])
        weights = np.concatenate(
            [
                np.full(int(is_char.sum()), _UNIGRAM_WEIGHT),
                np.full(int(pair_ok.sum()), _BIGRAM_WEIGHT),
                np.ones(len(empty_rows)),
            ]
        )
        # Whitespace-only texts normalise to "" too, so they are covered by empty_rows.
        hashed = _splitmix64(keys)
        bucket = (hashed % np.uint64(self.dim)).astype(np.int64)
        sign = np.where((hashed >> np.uint64(63)) == 1, -1.0, 1.0)
        flat = np.bincount(rows * self.dim + bucket, weights=weights * sign, minlength=n * self.dim)
        vectors = flat.reshape(n, self.dim)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        # A text whose features cancel exactly would have norm 0; give it the empty-text vector.
        zero = norms[:, 0] == 0
        if zero.any():
            vectors[zero] = self.embed_passages([""])[0]
            norms[zero] = 1.0
        return (vectors / norms).astype(np.float32)
