"""Domain thesaurus: equivalent wordings of government reports (rag/text/data/synonyms.txt).

Pure lookups over a small shipped file, loaded once on first use.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["synonyms_of", "SYNONYMS_PATH"]

SYNONYMS_PATH = Path(__file__).parent / "data" / "synonyms.txt"


@cache
def _groups() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for line in SYNONYMS_PATH.read_text(encoding="utf-8").splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 2:
            continue
        for word in words:
            table.setdefault(word.lower(), set()).update(w.lower() for w in words)
    return {word: frozenset(group - {word}) for word, group in table.items()}


def synonyms_of(term: str) -> frozenset[str]:
    """Other wordings of `term` (empty when the thesaurus has none).

    >>> sorted(synonyms_of("启用"))
    ['启动运行', '开通', '投入使用', '投用', '正式运行']
    """
    return _groups().get(term.lower(), frozenset())
