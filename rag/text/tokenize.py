"""The word tokenizer: jieba with the domain dictionary, numerals normalised.

`tokenize` is applied identically to chunks and queries (BM25 in every backend):

1. NFKC (full-width Latin, digits and ＋ become ASCII), lower case, and terms
   written with 、 (双随机、一公开) are joined (双随机一公开);
2. jieba's precise cut, with the domain dictionary `rag/text/data/userdict.txt`;
3. numerals: a Chinese number, alone or before a measure word, becomes Arabic
   (五十 → 50, 十八条 → 18 条, 两家 → 2 家), so 五十多次 and 50多次 match; words
   that merely contain a numeral (统一, 一是, 三中全会, 十四五) are left alone;
4. search mode adds the dictionary words inside long tokens (法治政府建设 →
   法治, 政府, 建设), as `jieba.cut_for_search` does, but after step 3 so that
   十八条 does not also yield a spurious 八条 → 8;
5. punctuation and the stopwords of `rag/text/data/stopwords.txt` are dropped.

`word_tokenize` is the precise mode (no overlapping sub-words), for answer
composition and query expansion, where a word must not be counted twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import threading
import unicodedata
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from .numerals import COUNT_COMPOUNDS, COUNT_WORDS, DIGIT_CHARS, MAGNITUDE_CHARS, NUMERAL_CHARS, chinese_value

__all__ = [
    "tokenize",
    "word_tokenize",
    "tagged_words",
    "tokenizer_fingerprint",
    "ChineseTokenizer",
    "TokenizeMode",
    "TOKENIZER_VERSION",
]

TokenizeMode = Literal["precise", "search"]

TOKENIZER_VERSION = 2  # bump when the token pipeline changes: stored token counts become stale
DEFAULT_MODE: TokenizeMode = "search"

_DATA = Path(__file__).parent / "data"
USERDICT_PATH = _DATA / "userdict.txt"
STOPWORDS_PATH = _DATA / "stopwords.txt"

# 二〇二四: jieba cuts it into single characters, so it is converted before cutting
_ZERO_NUMBER = re.compile("[零〇一二三四五六七八九]*〇[零〇一二三四五六七八九]*")
_NUMERAL_RUN = re.compile(f"[{NUMERAL_CHARS}]+")
_NUMERAL_TOKEN = re.compile(f"^(第?)([{NUMERAL_CHARS}]+)(.*)$")
# What may follow a number inside one jieba token for it to count as a quantity:
# 十八条, 两家, 一次, 五十多, 十余人, 十人次, 五年, 三万元. 分 is left out on purpose (十分 = very).
_QUANTITY_REST = re.compile(
    f"^[多余]?(?:[{COUNT_WORDS}年月日天周元岁亿万千百]|{'|'.join(COUNT_COMPOUNDS)}|万元|亿元)?$"
)
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


def tagged_words(text: str) -> list[tuple[str, str]]:
    """(word, part of speech) pairs in jieba's tag set (n noun, vn verbal noun, v verb, ns place…);
    a domain-dictionary word carries "x" (it has no tag of its own).

    >>> tagged_words("国防支出预算")[0]
    ('国防', 'n')
    """
    return _default_tokenizer("precise").tagged(text)


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
        self._tagger: Any = None

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
        text = _ZERO_NUMBER.sub(lambda m: str(chinese_value(m.group(0))), text)
        if self._joins is not None:
            text = self._joins.sub(lambda m: self._join_map[_squash(m.group(0))], text)
        out: list[str] = []
        for raw in jb.cut(text, HMM=True):
            for tok in self._normalise(raw):
                if tok in self._stop or not _WORD_CHAR.search(tok):
                    continue
                out.append(tok)
        return out

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """Words of `text` with their parts of speech (normalised as `tokenize`, stopwords kept)."""
        with self._lock:  # the tagger is built once, beside the tokenizer it shares
            if self._tagger is None:
                import jieba.posseg

                self._tagger = jieba.posseg.POSTokenizer(self._ensure_unlocked())
        text = unicodedata.normalize("NFKC", text).lower()
        if self._joins is not None:
            text = self._joins.sub(lambda m: self._join_map[_squash(m.group(0))], text)
        # without jieba's guessed new words (HMM): a question's 赤字率定了 is not a word 率定
        return [(p.word, p.flag) for p in self._tagger.cut(text, HMM=False) if _WORD_CHAR.search(p.word)]

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
            return self._ensure_unlocked()

    def _ensure_unlocked(self) -> Any:
        if self._jieba is None:
            self._jieba = self._build()
        return self._jieba

    def _build(self) -> Any:
        import jieba

        from ..config import default_cache_dir

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
    """A Chinese number as tokens, its magnitude split off as jieba cuts 50万; None if no number.

    >>> _numeral_value("五十"), _numeral_value("两"), _numeral_value("五十万"), _numeral_value("十四五")
    (['50'], ['2'], ['50', '万'], None)
    """
    unit: list[str] = []
    if len(numeral) > 1 and numeral[-1] in "万亿" and not all(ch in DIGIT_CHARS for ch in numeral):
        numeral, unit = numeral[:-1], [numeral[-1]]
    value = chinese_value(numeral)
    return None if value is None else [str(value), *unit]


def _arabic_term(term: str) -> str:
    """A dictionary term with its counted numbers in Arabic: 苏科创十八条 → 苏科创18条.

    Only runs with a unit character (十百千万亿) are converted; 八五普法 and 一网通办 stay.
    """

    def convert(m: re.Match[str]) -> str:
        run = m.group(0)
        if not any(ch in MAGNITUDE_CHARS for ch in run):
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
