"""BM25 for the folder index: bm25s's Lucene score matrix over stored term counts.

`KeywordIndex` keeps, besides the bm25s score matrix, each chunk's term counts,
so an index can be re-derived for an edited corpus (`derive`) without
re-tokenising the chunks that did not change. Tokens come from
`rag.text.tokenize`, the same for chunks and queries (and the same as the
PostgreSQL backend's).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import IndexCorruptError, IndexMismatchError
from ...text.tokenize import DEFAULT_MODE, TOKENIZER_VERSION, tokenize, tokenizer_fingerprint
from ..passages import BM25_B, BM25_K1

__all__ = ["KeywordIndex", "KEYWORD_FORMAT_VERSION", "top_k"]

KEYWORD_FORMAT_VERSION = 1

_META = "keyword.json"
_INDPTR, _TERMS, _TFS = "doc_indptr.npy", "doc_terms.npy", "doc_tfs.npy"


class KeywordIndex:
    """BM25 over a fixed list of texts; position i is text i.

    Scores of 0 mean "no query term occurs" and are never returned as hits.
    """

    def __init__(
        self,
        vocab: list[str],
        indptr: np.ndarray,
        terms: np.ndarray,
        tfs: np.ndarray,
        *,
        fingerprint: str,
        k1: float = BM25_K1,
        b: float = BM25_B,
        bm25: Any = None,
    ) -> None:
        self.vocab = vocab
        self._ids = {t: i for i, t in enumerate(vocab)}
        self._indptr = indptr
        self._terms = terms
        self._tfs = tfs
        self.fingerprint = fingerprint
        self.k1 = k1
        self.b = b
        self._bm25 = bm25 if bm25 is not None else self._score_matrix()

    # -- building -----------------------------------------------------------

    @classmethod
    def build(cls, texts: Sequence[str], *, k1: float = BM25_K1, b: float = BM25_B) -> KeywordIndex:
        """Tokenise `texts` and index them."""
        return cls._assemble({}, (tokenize(t) for t in texts), k1=k1, b=b)

    @classmethod
    def from_tokens(
        cls, token_lists: Sequence[Sequence[str]], *, k1: float = BM25_K1, b: float = BM25_B
    ) -> KeywordIndex:
        """Index already-tokenised texts (tokens must come from `tokenize`)."""
        return cls._assemble({}, iter(token_lists), k1=k1, b=b)

    def derive(self, rows: Sequence[int | str | Sequence[str]]) -> KeywordIndex:
        """A new index whose row i is this index's row `rows[i]` (an int), a new text (a str,
        tokenised here) or a new text's tokens (from `tokenize`).

        Unchanged chunks keep their stored term counts: only new texts are tokenised.
        """

        def items() -> Iterator[Sequence[str] | tuple[np.ndarray, np.ndarray]]:
            for row in rows:
                if isinstance(row, str):
                    yield tokenize(row)
                elif isinstance(row, int | np.integer):
                    lo, hi = int(self._indptr[row]), int(self._indptr[row + 1])
                    yield (np.asarray(self._terms[lo:hi]), np.asarray(self._tfs[lo:hi]))
                else:
                    yield list(row)

        return self._assemble({t: i for i, t in enumerate(self.vocab)}, items(), k1=self.k1, b=self.b)

    def term_counts(self, position: int) -> Counter[str]:
        """The stored tokens of one text, as counts."""
        lo, hi = int(self._indptr[position]), int(self._indptr[position + 1])
        return Counter(
            {self.vocab[int(t)]: int(c) for t, c in zip(self._terms[lo:hi], self._tfs[lo:hi], strict=True)}
        )

    @classmethod
    def _assemble(
        cls,
        known: dict[str, int],
        items: Iterator[Sequence[str] | tuple[np.ndarray, np.ndarray]],
        *,
        k1: float,
        b: float,
    ) -> KeywordIndex:
        """Term-count rows → an index over a sorted vocabulary of the terms that occur.

        `items` are token lists, or (term ids into `known`, counts) pairs for rows
        carried over from an existing index; new tokens extend `known` (mutated).
        """
        term_rows: list[np.ndarray] = []
        tf_rows: list[np.ndarray] = []
        for item in items:
            if isinstance(item, tuple) and item and isinstance(item[0], np.ndarray):  # not a tuple of tokens
                terms, tfs = item
            else:
                ids = np.fromiter(
                    (known.setdefault(t, len(known)) for t in item), dtype=np.int64, count=len(item)
                )
                terms, tfs = np.unique(ids, return_counts=True)
            term_rows.append(terms.astype(np.int64))
            tf_rows.append(tfs.astype(np.int32))
        lengths = np.fromiter((len(r) for r in term_rows), dtype=np.int64, count=len(term_rows))
        terms = np.concatenate(term_rows) if term_rows else np.zeros(0, np.int64)
        tfs = np.concatenate(tf_rows) if tf_rows else np.zeros(0, np.int32)
        # Sorted vocabulary of the terms still in use: same corpus, same ids, same bytes
        # (an incremental update equals a fresh build).
        used = np.bincount(terms, minlength=len(known)) > 0
        by_id = sorted(known, key=known.__getitem__)
        vocab = sorted(t for t, u in zip(by_id, used, strict=True) if u)
        remap = np.full(len(known), -1, dtype=np.int64)
        for new_id, token in enumerate(vocab):
            remap[known[token]] = new_id
        terms = remap[terms]
        docs = np.repeat(np.arange(len(lengths)), lengths)
        order = np.lexsort((terms, docs))
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        return cls(
            vocab,
            indptr,
            terms[order].astype(np.int32),
            tfs[order],
            fingerprint=tokenizer_fingerprint(),
            k1=k1,
            b=b,
        )

    def _score_matrix(self) -> Any:
        """bm25s's Lucene BM25 matrix, computed with numpy from the stored term counts.

        Same formula as `bm25s.BM25(method="lucene").index(...)` (checked in the tests),
        without its per-document Python loops and token lists, which dominate time and
        memory on 100k chunks.
        """
        if len(self) == 0 or not self.vocab:
            return None
        import bm25s

        n_docs, n_vocab = len(self), len(self.vocab)
        lengths = np.diff(self._indptr)
        docs = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        terms = np.asarray(self._terms, dtype=np.int64)
        tf = np.asarray(self._tfs, dtype=np.float32)
        doc_len = np.bincount(docs, weights=tf, minlength=n_docs)  # tokens per document
        avg_len = float(doc_len.mean())
        df = np.bincount(terms, minlength=n_vocab).astype(np.float64)
        idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = (self.k1 * ((1 - self.b) + self.b * doc_len / avg_len)).astype(np.float32)
        scores = idf[terms] * (tf / (norm[docs] + tf))
        order = np.lexsort((docs, terms))  # column-major: by term, then document
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=n_vocab), out=indptr[1:])
        bm25 = bm25s.BM25(k1=self.k1, b=self.b, method="lucene", backend="numpy", csc_backend="numpy")
        bm25.scores = {
            "data": scores[order].astype(np.float32),
            "indices": docs[order].astype(np.int32),
            "indptr": indptr,
            "num_docs": n_docs,
        }
        bm25.vocab_dict = dict(self._ids)
        bm25.unique_token_ids_set = set(self._ids.values())
        bm25.nonoccurrence_array = None
        return bm25

    # -- searching ----------------------------------------------------------

    def __len__(self) -> int:
        return len(self._indptr) - 1

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every position for `query` (float32, zeros where nothing matches)."""
        return self._dense_scores(self._query_ids(query))

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top `k` positions (int64) and scores (float32), best first; ties by position.

        `allowed` is a boolean mask over positions; masked-out positions never appear.
        """
        if allowed is not None:
            allowed = np.asarray(allowed)
            if allowed.shape != (len(self),) or allowed.dtype != np.bool_:
                raise ValueError(
                    f"allowed must be a boolean mask of shape ({len(self)},), "
                    f"got {allowed.dtype} {allowed.shape}"
                )
        scores = self._dense_scores(self._query_ids(query))
        if allowed is not None:
            scores = np.where(allowed, scores, np.float32(0))
        return top_k(scores, k)

    def _query_ids(self, query: str) -> np.ndarray:
        if self._bm25 is None:
            return np.zeros(0, np.int64)
        return np.asarray(sorted({self._ids[t] for t in tokenize(query) if t in self._ids}), dtype=np.int64)

    def _postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions (ascending) and BM25 contributions of one term: a column of the CSC matrix."""
        matrix = self._bm25.scores
        lo, hi = int(matrix["indptr"][term]), int(matrix["indptr"][term + 1])
        return matrix["indices"][lo:hi], matrix["data"][lo:hi]

    def _dense_scores(self, ids: np.ndarray) -> np.ndarray:
        """Scores of every position: all postings of the terms added up by one `bincount`.

        (bm25s adds term by term with `np.add.at`, several times slower; the sums are
        float64 here, so scores may differ from bm25s's in the last float32 bit.)
        """
        if ids.size == 0:
            return np.zeros(len(self), dtype=np.float32)
        postings = [self._postings(int(t)) for t in ids]
        rows = np.concatenate([p[0] for p in postings])
        values = np.concatenate([p[1] for p in postings])
        return np.bincount(rows, weights=values, minlength=len(self)).astype(np.float32)

    # -- persistence --------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write the index into `directory` (created if needed); deterministic bytes."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "format_version": KEYWORD_FORMAT_VERSION,
            "tokenizer_version": TOKENIZER_VERSION,
            "tokenizer_fingerprint": self.fingerprint,
            "mode": DEFAULT_MODE,
            "k1": self.k1,
            "b": self.b,
            "num_docs": len(self),
            "vocab_size": len(self.vocab),
            "bm25s": self._bm25 is not None,
        }
        np.save(directory / _INDPTR, self._indptr, allow_pickle=False)
        np.save(directory / _TERMS, self._terms, allow_pickle=False)
        np.save(directory / _TFS, self._tfs, allow_pickle=False)
        if self._bm25 is not None:
            self._bm25.save(str(directory), show_progress=False)
        else:
            (directory / "vocab.index.json").write_text("{}", encoding="utf-8")
        (directory / _META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, mmap: bool = False) -> KeywordIndex:
        """Read an index written by `save`.

        Raises IndexCorruptError for missing or damaged files and IndexMismatchError
        when it was built by another tokenizer (the caller may re-derive it from text).
        """
        directory = Path(directory)
        meta_path = directory / _META
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            num_docs = int(meta["num_docs"])
            fingerprint = str(meta["tokenizer_fingerprint"])
            has_bm25 = bool(meta["bm25s"])
        except FileNotFoundError:
            raise _corrupt(meta_path, "is missing") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _corrupt(meta_path, f"cannot be parsed ({exc})") from exc
        if meta.get("format_version") != KEYWORD_FORMAT_VERSION:
            raise IndexMismatchError(
                f"{meta_path} has keyword format {meta.get('format_version')!r}, "
                f"this version reads {KEYWORD_FORMAT_VERSION}"
            )
        if fingerprint != tokenizer_fingerprint():
            raise IndexMismatchError(
                f"{directory} was tokenised by another tokenizer (fingerprint {fingerprint}, "
                f"current {tokenizer_fingerprint()}): re-derive it from the chunk texts"
            )
        mode = "r" if mmap else None
        arrays = {}
        for name in (_INDPTR, _TERMS, _TFS):
            try:
                arrays[name] = np.load(directory / name, mmap_mode=mode, allow_pickle=False)
            except FileNotFoundError:
                raise _corrupt(directory / name, "is missing") from None
            except (OSError, ValueError, EOFError) as exc:
                raise _corrupt(directory / name, f"cannot be read ({exc})") from exc
        indptr, terms, tfs = arrays[_INDPTR], arrays[_TERMS], arrays[_TFS]
        if indptr.shape != (num_docs + 1,) or terms.shape != tfs.shape or int(indptr[-1]) != len(terms):
            raise _corrupt(directory, "term-count arrays disagree with each other or with keyword.json")
        bm25 = None
        vocab_path = directory / "vocab.index.json"
        try:
            if has_bm25:
                import bm25s

                bm25 = bm25s.BM25.load(str(directory), mmap=mmap, show_progress=False)
                vocab_map: dict[str, int] = bm25.vocab_dict
            else:
                vocab_map = json.loads(vocab_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise _corrupt(Path(exc.filename or vocab_path), "is missing") from None
        except (OSError, ValueError, EOFError, KeyError, TypeError) as exc:
            raise _corrupt(directory, f"BM25 files cannot be read ({exc})") from exc
        vocab = [t for t, _ in sorted(vocab_map.items(), key=lambda kv: kv[1])]
        if len(vocab) != int(meta["vocab_size"]) or (
            bm25 is not None and bm25.scores["num_docs"] != num_docs
        ):
            raise _corrupt(directory, "vocabulary or document count disagrees with keyword.json")
        if bm25 is not None and len(bm25.scores["indptr"]) != len(vocab) + 1:
            raise _corrupt(directory, "BM25 score matrix does not match the vocabulary")
        return cls(
            vocab,
            indptr,
            terms,
            tfs,
            fingerprint=fingerprint,
            k1=float(meta["k1"]),
            b=float(meta["b"]),
            bm25=bm25,
        )


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions and values of the `k` largest positive scores, best first, ties by position.

    >>> top_k(np.array([0.0, 2.0, 1.0, 2.0], dtype=np.float32), 2)
    (array([1, 3]), array([2., 2.], dtype=float32))
    """
    hits = np.flatnonzero(scores > 0)
    if k <= 0 or hits.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    values = scores[hits]
    if hits.size > k:
        # keep every position tied with the k-th score, so the tie-break below is by position
        kth = np.partition(values, hits.size - k)[hits.size - k]
        keep = values >= kth
        hits, values = hits[keep], values[keep]
    order = np.lexsort((hits, -values))[:k]
    return hits[order].astype(np.int64), values[order].astype(np.float32)


def _corrupt(path: Path, problem: str) -> IndexCorruptError:
    return IndexCorruptError(
        f"keyword index file {path} {problem}: rebuild the index with "
        "`policyqa index <paths> --index <index dir> --rebuild`"
    )
