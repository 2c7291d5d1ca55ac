"""Plain text: a text file's lines are its paragraphs (reports copied from pages are one per line)."""

from __future__ import annotations

from .common import EDGE_SPACE

__all__ = ["plain_paragraphs"]


def plain_paragraphs(text: str) -> list[str]:
    """The non-blank lines of `text`.

    >>> plain_paragraphs("一、总体\\n\\n  \\n正文。")
    ['一、总体', '正文。']
    """
    return [line for line in text.splitlines() if line.strip(EDGE_SPACE)]
