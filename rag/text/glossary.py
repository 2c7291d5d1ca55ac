"""English words of a question, in the Chinese the reports use (rag/text/data/glossary_en.txt).

Pure lookups over a shipped file, loaded once. A question in English shares no words
with Chinese reports: BM25 cannot match it and word overlap cannot pick its answering
sentence. The glossary gives each English word or phrase its usual Chinese wordings
("VAT threshold" → 增值税, 起征点), so keyword search and sentence choice work again,
beside the multilingual model's similarity. Longest phrase first; plurals, -ed and
-ing are reduced before lookup.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

__all__ = ["GLOSSARY_PATH", "english_terms"]

GLOSSARY_PATH = Path(__file__).parent / "data" / "glossary_en.txt"
_WORD = re.compile(r"[a-z0-9](?:[a-z0-9&+-]|\.(?=[a-z0-9]))*(?:'s)?", re.I)  # pm2.5, r&d; not "threshold."
_LONGEST = 5  # words in the longest phrase


@cache
def _entries() -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for line in GLOSSARY_PATH.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            english, chinese = re.split(r"\t|\s{2,}", line, maxsplit=1)
            table[_key(english)] = tuple(chinese.split())
    return table


def _key(phrase: str) -> str:
    """A phrase as looked up: lower case, words only ("double random, one public" → "double random one public")."""
    return " ".join(m.group(0).lower().removesuffix("'s") for m in _WORD.finditer(phrase))


def english_terms(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """(English word or phrase, its Chinese wordings) for each glossary entry the text holds, in order.

    >>> english_terms("the monthly VAT threshold for small-scale taxpayers")[:3]
    [('monthly', ('月', '每月')), ('vat', ('增值税',)), ('threshold', ('起征点', '门槛', '标准'))]
    """
    words = [m.group(0).lower().removesuffix("'s") for m in _WORD.finditer(text)]
    table = _entries()
    found: list[tuple[str, tuple[str, ...]]] = []
    i = 0
    while i < len(words):
        for n in range(min(_LONGEST, len(words) - i), 0, -1):
            phrase = _lookup(words[i : i + n], table)
            if phrase is not None:
                found.append(phrase)
                i += n
                break
        else:
            i += 1
    return found


def _lookup(words: list[str], table: dict[str, tuple[str, ...]]) -> tuple[str, tuple[str, ...]] | None:
    for last in _forms(words[-1]):
        key = " ".join([*words[:-1], last])
        if key in table:
            return key, table[key]
    return None


_SUFFIXES = (("ies", "y"), ("sses", "ss"), ("es", "e"), ("es", ""), ("s", ""), ("ied", "y"), ("ed", "e"), ("ed", ""), ("ing", ""), ("ing", "e"))


def _forms(word: str) -> list[str]:
    """The word and its possible lemmas: documents → document, policies → policy, raised → raise."""
    forms = [word]
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            forms.append(word[: -len(suffix)] + replacement)
    return forms
