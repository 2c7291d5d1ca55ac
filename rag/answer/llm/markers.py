"""Citation markers in a model's output: [3] [1, 2] 【3】, renumbered as the text streams.

Pure. Markers pointing at passages the model was not given are dropped, the
rest renumbered by first appearance; a prefix of the raw output maps to a
prefix of the result, so renumbered text can be shown as it arrives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MARKER", "Markers", "renumber", "visible_text", "safe_end", "strip_think"]

# [3] [1, 2] [1，2] 【3】: the forms models actually write.
MARKER = re.compile(r"[\[【]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】]")
_PARTIAL_MARKER = re.compile(r"[\[【][\d\s,，、]{0,16}$")
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S)  # reasoning models (Qwen3, DeepSeek-R1) via raw content
_TAGS = ("<think>", "</think>")


def safe_end(raw: str) -> int:
    """How much of the raw output can be shown: not a marker or <think> tag still being written."""
    m = _PARTIAL_MARKER.search(raw)
    end = m.start() if m else len(raw)
    lt = raw.rfind("<", 0, end)
    if lt >= 0 and any(tag.startswith(raw[lt:end]) and len(raw[lt:end]) < len(tag) for tag in _TAGS):
        end = lt
    return end


def strip_think(raw: str) -> str:
    return _THINK.sub("", raw)


@dataclass(frozen=True, slots=True)
class Markers:
    text: str  # markers renumbered, invalid ones removed
    order: tuple[int, ...]  # cited passage numbers; new marker i+1 stands for order[i]
    invalid: tuple[int, ...]  # passage numbers that were not given, in order of appearance


def renumber(raw: str, n_passages: int) -> Markers:
    """Drop markers outside 1..n_passages, renumber the rest by first appearance.

    Prefix-stable (a prefix of the raw output maps to a prefix of the result),
    which is what lets the stream show renumbered text as it arrives.
    """
    order: dict[int, int] = {}
    invalid: list[int] = []

    def replace(m: re.Match[str]) -> str:
        out = []
        for part in re.split(r"\s*[,，、]\s*", m.group(1).strip()):
            n = int(part)
            if 1 <= n <= n_passages:
                new = order.setdefault(n, len(order) + 1)
                if f"[{new}]" not in out:
                    out.append(f"[{new}]")
            elif n not in invalid:
                invalid.append(n)
        return "".join(out)

    text = MARKER.sub(replace, raw)
    return Markers(text=text, order=tuple(order), invalid=tuple(invalid))


def visible_text(raw: str, n_passages: int) -> str:
    # Stripping both ends keeps the stream prefix-stable and equal to the final Answer.text.
    return renumber(strip_think(raw), n_passages).text.strip()
