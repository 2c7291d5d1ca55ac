"""Keyword search: BM25 (bm25s) over jieba tokens, with numerals normalised.

`tokenize` is applied identically to chunks and queries:

1. NFKC (full-width Latin, digits and ＋ become ASCII), lower case, and terms
   written with 、 (双随机、一公开) are joined (双随机一公开);
2. jieba's precise cut, with the domain dictionary `rag/data/userdict.txt`;
3. numerals: a Chinese number, alone or before a measure word, becomes Arabic
   (五十 → 50, 十八条 → 18 条, 两家 → 2 家), so 五十多次 and 50多次 match; words
   that merely contain a numeral (统一, 一是, 三中全会, 十四五) are left alone;
4. search mode adds the dictionary words inside long tokens (法治政府建设 →
   法治, 政府, 建设), as `jieba.cut_for_search` does, but after step 3 so that
   十八条 does not also yield a spurious 八条 → 8;
5. punctuation and the stopwords of `rag/data/stopwords.txt` are dropped.

`KeywordIndex` keeps, besides the bm25s score matrix, each chunk's term
counts, so an index can be re-derived for an edited corpus (`derive`) without
re-tokenising the chunks that did not change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .errors import IndexCorruptError, IndexMismatchError

__all__ = [
    "KeywordIndex",
    "tokenize",
    "word_tokenize",
    "tokenizer_fingerprint",
    "ChineseTokenizer",
    "TokenizeMode",
    "TOKENIZER_VERSION",
    "KEYWORD_FORMAT_VERSION",
]

TokenizeMode = Literal["precise", "search"]

TOKENIZER_VERSION = 1  # bump when the token pipeline changes: stored token counts become stale
KEYWORD_FORMAT_VERSION = 1
DEFAULT_MODE: TokenizeMode = "search"

_DATA = Path(__file__).parent / "data"
USERDICT_PATH = _DATA / "userdict.txt"
STOPWORDS_PATH = _DATA / "stopwords.txt"

_DIGITS = "零〇一二两三四五六七八九"
_UNITS = "十百千万亿"
_DIGIT_VALUE = {ch: i for i, ch in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
# 二〇二四: jieba cuts it into single characters, so it is converted before cutting
_ZERO_NUMBER = re.compile("[零〇一二三四五六七八九]*〇[零〇一二三四五六七八九]*")
_NUMERAL_RUN = re.compile(f"[{_DIGITS}{_UNITS}]+")
_NUMERAL_TOKEN = re.compile(f"^(第?)([{_DIGITS}{_UNITS}]+)(.*)$")
# What may follow a number inside one jieba token for it to count as a quantity:
# 十八条, 两家, 一次, 五十多, 十余人, 十人次. 分 is left out on purpose (十分 = very).
_MEASURE = "个家次件项条名人位届期场批篇份种类所年月日天周倍轮章节款号部本台套户间座处门支堂课元岁亿万千百"
_QUANTITY_REST = re.compile(f"^[多余]?(?:[{_MEASURE}]|人次|批次|万元|亿元)?$")
_DIGIT_RUN = re.compile(r"\d+(?:\.\d+)?")
_WORD_CHAR = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CONTAINS_DIGIT = re.compile(r"[0-9]")


def tokenize(text: str) -> list[str]:
    """Tokens for BM25 with the shared default tokenizer (search mode).

    >>> tokenize("赴科技型企业开展调研工作五十多次") == tokenize("赴科技型企业开展调研工作50多次")
    True
    """
    return _default_tokenizer().tokenize(text)


def word_tokenize(text: str) -> list[str]:
    """Precise-mode words (no overlapping sub-words): the question's words, for answer
    composition and query expansion, where a word must not be counted twice.

    >>> word_tokenize("苏州市科技局局长是谁")
    ['苏州市', '科技局', '局长']
    """
    return _default_tokenizer("precise").tokenize(text)


def tokenizer_fingerprint() -> str:
    """Hash of everything that decides the tokens (code version, mode, dictionaries)."""
    return _default_tokenizer().fingerprint


class ChineseTokenizer:
    """jieba with the domain dictionary, numeral normalisation and stopwords.

    Holds a private `jieba.Tokenizer` (the global one is left untouched), built
    on first use under a lock; after that, tokenising is read-only and safe to
    call from several threads.
    """

    def __init__(
        self,
        mode: TokenizeMode = DEFAULT_MODE,
        userdict: Path = USERDICT_PATH,
        stopwords: Path = STOPWORDS_PATH,
    ) -> None:
        if mode not in ("precise", "search"):
            raise ValueError(f"mode must be 'precise' or 'search', got {mode!r}")
        self.mode: TokenizeMode = mode
        self._userdict_path = Path(userdict)
        self._stopwords_path = Path(stopwords)
        self._lock = threading.Lock()
        self._jieba: Any = None
        self._canon: dict[str, str] = {}
        self._joins: re.Pattern[str] | None = None
        self._join_map: dict[str, str] = {}
        self._stop: frozenset[str] = frozenset()
        self._long_terms: tuple[str, ...] = ()

    @cached_property
    def fingerprint(self) -> str:
        import jieba

        payload = {
            "tokenizer_version": TOKENIZER_VERSION,
            "mode": self.mode,
            "jieba": jieba.__version__,
            "userdict": self._userdict_path.read_text(encoding="utf-8"),
            "stopwords": self._stopwords_path.read_text(encoding="utf-8"),
        }
        blob = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()[:16]

    def tokenize(self, text: str) -> list[str]:
        """Normalised tokens of `text`, in text order (search-mode sub-words follow their word)."""
        jb = self._ensure()
        text = unicodedata.normalize("NFKC", text).lower()
        text = _ZERO_NUMBER.sub(lambda m: "".join(str(_DIGIT_VALUE[ch]) for ch in m.group(0)), text)
        if self._joins is not None:
            text = self._joins.sub(lambda m: self._join_map[_squash(m.group(0))], text)
        out: list[str] = []
        for raw in jb.cut(text, HMM=True):
            for tok in self._normalise(raw):
                if tok in self._stop or not _WORD_CHAR.search(tok):
                    continue
                out.append(tok)
        return out

    def _normalise(self, tok: str) -> Iterator[str]:
        if tok in self._canon:  # a dictionary term, in its canonical (Arabic-numeral) spelling
            yield self._canon[tok]
            if self.mode == "search":
                yield from self._subwords(tok)
            return
        m = _NUMERAL_TOKEN.match(tok)
        if m:
            number, rest = m.group(2), m.group(3)
            if _QUANTITY_REST.match(rest):
                value = _numeral_value(number)
                if value is not None:
                    yield from value
                    if rest:
                        yield rest
                    return
        if tok in ("万元", "亿元"):  # 50万元 is cut 50/万元, 五十万元 is cut 五十万/元
            yield tok[0]
            yield tok[1]
            return
        if _CONTAINS_DIGIT.search(tok) and not _DIGIT_RUN.fullmatch(tok):
            # jieba glues digits to Latin letters or symbols (5g, 50%): split at the numbers
            yield from (p for p in re.split(r"(\d+(?:\.\d+)?)", tok) if p)
            return
        yield tok
        if self.mode == "search":
            yield from self._subwords(tok)

    def _subwords(self, tok: str) -> Iterator[str]:
        # jieba.cut_for_search's rule (dictionary 2- and 3-grams of longer words), plus any
        # longer domain term inside (行政规范性文件 → 规范性文件), which that rule would miss.
        freq = self._jieba.FREQ
        for n in (2, 3):
            if len(tok) > n:
                for i in range(len(tok) - n + 1):
                    gram = tok[i : i + n]
                    if freq.get(gram) and not _NUMERAL_RUN.search(gram):
                        yield gram
        if len(tok) > 4:
            for term in self._long_terms:
                if len(term) < len(tok) and term in tok:
                    yield self._canon[term]

    def _ensure(self) -> Any:
        if self._jieba is not None:
            return self._jieba
        with self._lock:
            if self._jieba is None:
                self._jieba = self._build()
        return self._jieba

    def _build(self) -> Any:
        import jieba

        from .config import default_cache_dir

        tk = jieba.Tokenizer()
        cache = default_cache_dir() / "jieba"
        with contextlib.suppress(OSError):
            cache.mkdir(parents=True, exist_ok=True)
            tk.tmp_dir = str(cache)  # not the shared /tmp/jieba.cache
        with _quiet_jieba():
            tk.initialize()
            canon: dict[str, str] = {}
            joins: dict[str, str] = {}
            for term in _read_terms(self._userdict_path):
                joined = _squash(term)
                if joined != term.lower():
                    joins[joined] = joined
                arabic = _arabic_term(joined)
                for spelling in dict.fromkeys((joined, arabic)):
                    # A floor on the frequency: with jieba's bare suggestion, rare dictionary
                    # entries still win (科技局局长 → 科技/局局长 instead of 科技局/局长).
                    tk.add_word(spelling, freq=max(tk.suggest_freq(spelling), _TERM_FREQ_FLOOR))
                    canon[spelling] = arabic
        self._canon = canon
        self._long_terms = tuple(sorted(t for t in canon if len(t) >= 4))
        self._join_map = joins
        if joins:
            # 双随机、一公开 / 双随机,一公开 / 双随机 一公开 → 双随机一公开, before jieba splits at the 、
            alternatives = sorted(joins, key=len, reverse=True)
            pattern = "|".join(_separated(t) for t in alternatives)
            self._joins = re.compile(pattern)
        self._stop = frozenset(_read_terms(self._stopwords_path))
        return tk


_SEPARATORS = "、,，;；/ \t"
_TERM_FREQ_FLOOR = 1000


def _squash(term: str) -> str:
    """A term without separators, lower case: 双随机、一公开 → 双随机一公开."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", term).lower() if ch not in _SEPARATORS)


def _separated(term: str) -> str:
    sep = f"[{re.escape(_SEPARATORS)}]*"
    return sep.join(re.escape(ch) for ch in term)


def _read_terms(path: Path) -> list[str]:
    terms = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            terms.append(line.split()[0])
    return terms


def _numeral_value(numeral: str) -> list[str] | None:
    """Arabic form of a Chinese number as tokens, or None if it is not one.

    >>> _numeral_value("五十"), _numeral_value("两"), _numeral_value("五十万"), _numeral_value("十四五")
    (['50'], ['2'], ['50', '万'], None)
    """
    import cn2an

    if all(ch in _DIGITS for ch in numeral):
        if len(numeral) == 1:
            return [str(_DIGIT_VALUE[numeral])]
        if "两" not in numeral:  # 二〇二四 → 2024
            return ["".join(str(_DIGIT_VALUE[ch]) for ch in numeral)]
        return None
    unit: list[str] = []
    if len(numeral) > 1 and numeral[-1] in "万亿":
        numeral, unit = numeral[:-1], [numeral[-1]]  # 五十万 → 50 万, as jieba cuts 50万
    if not any(ch in _DIGITS for ch in numeral) and numeral != "十":
        return None  # 百, 千, 万 alone are words (百姓, 千方百计), not numbers
    try:
        value = cn2an.cn2an(numeral, "normal")
    except (ValueError, KeyError, IndexError):
        return None
    if not isinstance(value, int) and not (isinstance(value, float) and value.is_integer()):
        return None
    return [str(int(value)), *unit]


def _arabic_term(term: str) -> str:
    """A dictionary term with its counted numbers in Arabic: 苏科创十八条 → 苏科创18条.

    Only runs with a unit character (十百千万亿) are converted; 八五普法 and 一网通办 stay.
    """

    def convert(m: re.Match[str]) -> str:
        run = m.group(0)
        if not any(ch in _UNITS for ch in run):
            return run
        value = _numeral_value(run)
        return "".join(value) if value else run

    return _NUMERAL_RUN.sub(convert, term)


@contextlib.contextmanager
def _quiet_jieba() -> Iterator[None]:
    # jieba logs "Building prefix dict…" at DEBUG on its own stderr handler; hide it
    # while we initialise, then give the logger back as we found it.
    logger = logging.getLogger("jieba")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


_default: dict[TokenizeMode, ChineseTokenizer] = {}
_default_lock = threading.Lock()


def _default_tokenizer(mode: TokenizeMode = DEFAULT_MODE) -> ChineseTokenizer:
    tok = _default.get(mode)
    if tok is None:
        with _default_lock:
            tok = _default.setdefault(mode, ChineseTokenizer(mode))
    return tok


# ---------------------------------------------------------------------------
# The index


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
        k1: float = 1.5,
        b: float = 0.75,
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
    def build(cls, texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> KeywordIndex:
        """Tokenise `texts` and index them."""
        return cls._assemble({}, (tokenize(t) for t in texts), k1=k1, b=b)

    @classmethod
    def from_tokens(
        cls, token_lists: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75
    ) -> KeywordIndex:
        """Index already-tokenised texts (tokens must come from `tokenize`)."""
        return cls._assemble({}, iter(token_lists), k1=k1, b=b)

    def derive(self, rows: Sequence[int | str]) -> KeywordIndex:
        """A new index whose row i is this index's row `rows[i]` (an int) or a new text (a str).

        Unchanged chunks keep their stored term counts: only the new texts are tokenised.
        """

        def items() -> Iterator[Sequence[str] | tuple[np.ndarray, np.ndarray]]:
            for row in rows:
                if isinstance(row, str):
                    yield tokenize(row)
                else:
                    lo, hi = int(self._indptr[row]), int(self._indptr[row + 1])
                    yield (np.asarray(self._terms[lo:hi]), np.asarray(self._tfs[lo:hi]))

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
