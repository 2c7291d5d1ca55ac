"""What a question asks for: its kind, and the years and places it names.

Pure functions; used by retrieval (soft boosts) and by answer composition
(which sentence answers a count, a date, a list…).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ..errors import QueryError
from ..text.normalize import normalize_width

__all__ = ["QuestionKind", "QueryInfo", "analyze_query", "clean_query", "MAX_QUERY_CHARS", "USABLE_CHARACTER"]

MAX_QUERY_CHARS = 500


class QuestionKind(StrEnum):
    """The form of answer a question asks for (decides which clause answers it)."""

    NUMBER = "number"  # 多少 / 几 / 比例
    DATE = "date"  # 什么时候 / 何时
    ENTITY = "entity"  # 谁 / 哪个部门
    LIST = "list"  # 哪些
    SECTION = "section"  # 存在哪些问题 / 工作打算: a section's points
    OTHER = "other"


_KIND_PATTERNS: tuple[tuple[QuestionKind, re.Pattern[str]], ...] = (
    (QuestionKind.NUMBER, re.compile(r"多少|(?<!哪)几[个件次家项期人名条所位]|几$|几\?|数量|数字|数值|数额|比例|比率|百分之|占比|多久|多长时间|多大|多高|how (many|much|often|long|large|big|high)|what (share|proportion|percentage)|number of|percentage", re.I)),
    (
        QuestionKind.SECTION,
        re.compile(
            r"(存在|有|面临)(哪些|什么)(问题|不足|困难|短板|挑战|风险)|问题和不足|不足之处|(工作|下一步|明年|今后|\d{4}年)(的)?(工作)?(打算|计划|安排|思路|重点)"
            r"|主要(做法|成效|举措)|(哪些|什么)(举措|措施|成效)|概括|总结一下|summar"
        ),
    ),
    (QuestionKind.DATE, re.compile(r"什么时候|何时|哪天|哪一天|几月|哪个月|哪年|日期|时间是|when\b|what date", re.I)),
    (QuestionKind.ENTITY, re.compile(r"谁|哪位|哪个(部门|单位|机构|区)|哪家|名字|名称|是什么(机构|部门)|who\b|which (department|agency)", re.I)),
    (QuestionKind.LIST, re.compile(r"哪些|哪几|哪[二三四五六七八九十两\d]+[个项条种类大方面点]|包括什么|有什么|都有|which|what (are|were)", re.I)),
)
# A year is 19xx/20xx followed by 年, or standing alone ("in 2024?"): "2000家" is a count.
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:\s*年|(?![\d\u4e00-\u9fff%.]))")
# Control characters, and unpaired UTF-16 surrogates ("\ud800" in JSON): no encoder or tokenizer takes those.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# A question must hold one character that is neither white space nor control. Spelt out, not \s:
# the API schema states it as a pattern, and ECMA-262's \s (JSON Schema's) is not Python's.
USABLE_CHARACTER = r"[^\x00-\x20\x7f-\x9f\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
_USABLE = re.compile(USABLE_CHARACTER)


@dataclass(frozen=True, slots=True)
class QueryInfo:
    """A question with its kind and the years it names, in order of mention."""

    text: str
    kind: QuestionKind
    years: tuple[int, ...]


def clean_query(question: str, max_chars: int = MAX_QUERY_CHARS) -> str:
    """Validated, width-normalised question text; raises QueryError when unusable."""
    if not isinstance(question, str):
        raise QueryError(f"the question must be text, got {type(question).__name__}")
    # The limit counts the characters as sent (what the API schema's maxLength states), not as
    # normalised: NFKC can lengthen some (ﷺ is 18 characters).
    if len(question) > max_chars:
        raise QueryError(f"the question is {len(question)} characters long; the limit is {max_chars}: shorten it")
    text = _CONTROL.sub(" ", normalize_width(question)).strip()
    if not _USABLE.search(question) or not text:
        raise QueryError("the question is empty: type a question, e.g. 2024年检查了多少家企业？")
    return text


def analyze_query(question: str) -> QueryInfo:
    """Kind and named years of a (cleaned) question.

    >>> analyze_query("2024年检查了多少家企业?").kind.value
    'number'
    """
    kind = next((k for k, p in _KIND_PATTERNS if p.search(question)), QuestionKind.OTHER)
    years = tuple(dict.fromkeys(int(y) for y in _YEAR.findall(question)))
    return QueryInfo(text=question, kind=kind, years=years)
