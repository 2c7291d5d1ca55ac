"""The form an answer must take, read off the question: a count of the asked thing (多少家企业), a
rate (赤字率), an amount (经济总量), a date, a name, a list of so many items; and how well a clause
has it.

Pure. Evidence selection weighs clauses by it; a count or date question whose best clause lacks it
is not answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..retrieve.query import QueryInfo, QuestionKind
from ..text.glossary import english_terms
from ..text.numerals import COUNT_WORDS, UNITS, UNITS_OF_SIZE_AND_TIME, chinese_value

__all__ = ["AnswerForm", "asked_form", "form_score", "rates_only", "fact_of", "NUMBER_WITH_UNIT", "DATE", "ANSWER_FORM"]

ANSWER_FORM = 0.7  # a clause's form below this does not give a count or date of the asked kind
# A lone 一 before a measure word is Chinese for "a" (走出一条…之路), not a stated count.
_NUMBER = r"(?<![第零〇一二三四五六七八九十百千万两\d.])(?:\d+(?:\.\d+)?|(?!一(?![一二三四五六七八九十百千万两]))[一二三四五六七八九十百千万两]+)"
# Units of measure beyond counts and money (29微克/立方米, 480毫米, 20日内, 10.8年); a year (2024年) or
# 过去一年 is not a duration given as an answer.
_MEASURES = "|".join(sorted((u for u in (*UNITS, *UNITS_OF_SIZE_AND_TIME) if u not in ("年", "月", "%")), key=len, reverse=True))
_NOT_A_YEAR = r"(?<!19\d\d年)(?<!20\d\d年)"
_UNIT_AFTER_ASK = re.compile(rf"(?:多少|几)(?:个)?({_MEASURES}|[{COUNT_WORDS}元亿万%年])")
NUMBER_WITH_UNIT = re.compile(_NUMBER + rf"\s*(?:多|余|余个)?\s*({_MEASURES}|[{COUNT_WORDS}元亿万%]|(?<=\d)年{_NOT_A_YEAR})")
# 哪五个中心 / 哪3项: how many answers a list question expects.
_LIST_COUNT = re.compile(r"哪([二三四五六七八九十两]|\d{1,2})(?:个|项|条|种|类|大|方面|点)")
# The same unit asked one way and written another: 多少天 / 20日内.
_SAME_UNIT = {"天": "日", "日": "天"}
# The thing a count question counts: 多少个药品品种 → 药品品种 (a count of cities does not answer it).
_COUNTED = re.compile(
    rf"(?:多少|几)[{COUNT_WORDS}]?(?![天日年月周元亿万千百倍小分公平立吨])([^\W\d的]{{2,8}}?)(?=[?？,，。]|$)"
)
# Units that measure time or size, never count things: 12个月 does not say how many 创新券.
_NOT_COUNTS = frozenset((*UNITS_OF_SIZE_AND_TIME, "%"))
_ANY_NUMBER = re.compile(rf"\d+(?:\.\d+)?%?(?!\d|年)|[一二三四五六七八九十百千万两]+(?=[{COUNT_WORDS}])")
_SHARE_ASK = re.compile(r"比例|百分|占比|比重|[^效]率|percent|rate\b", re.I)
# A question about a change or a share: a percentage may answer it.
_CHANGE_ASK = re.compile(r"增长|增速|增幅|提高|提升|下降|降低|减少|增加|上涨|涨|降|幅|率|比例|占比|比重|百分|growth|increase|rise|fall|rate|share", re.I)
DATE = re.compile(r"(?:\d{4}年)?\d{1,2}月(?:\d{1,2}日|底|初|上旬|中旬|下旬)?|\d{4}-\d{2}-\d{2}|(?:上|下)半年|年底|年初")
_ZERO = re.compile(r"无[^,。;]{0,8}(?:案件|情况|事件)|没有|未发生|零")
_ENTITY_HINT = re.compile(r"(?:局长|主任|书记|部长|厅长|市长|区长|主席|负责人|组长)|(?:局|委|办|中心|院|所|部门|单位|政府)")
_ROLE = re.compile(r"局长|副局长|主任|书记|部长|厅长|市长|区长|主席|组长|负责人")


@dataclass(frozen=True, slots=True)
class AnswerForm:
    """What the answer's form must be, read off the question."""

    kind: QuestionKind
    unit: str | None = None  # 家 in 多少家, % for a share
    counted: str | None = None  # 品种 in 多少个药品品种
    role: str | None = None  # 局长 in 局长是谁
    level: bool = False  # an amount (经济总量是多少), not a change or a share
    count: int | None = None  # 5 in 哪五个中心: a list of that many answers


def asked_form(question: str, info: QueryInfo) -> AnswerForm:
    m = _UNIT_AFTER_ASK.search(question)
    unit = m.group(1) if m else "%" if _SHARE_ASK.search(question) else None
    counted = _COUNTED.search(question)
    noun = counted.group(1)[-2:] if counted else _counted_in_english(question)
    level = info.kind is QuestionKind.NUMBER and unit != "%" and not _CHANGE_ASK.search(question)
    many = _LIST_COUNT.search(question)
    count = chinese_value(many.group(1)) if many and not many.group(1).isdigit() else int(many.group(1)) if many else None
    return AnswerForm(info.kind, unit, noun, _asked_role(question), level, count)


# "How many technology SMEs were checked": the counted thing is the noun phrase before the verb.
_HOW_MANY = re.compile(r"\bhow many ((?:[\w'-]+ ){0,4}?[\w'-]+) (?:were|was|are|is|did|do|does|have|has|had|will|can)\b", re.I)


def _counted_in_english(question: str) -> str | None:
    """What an English question counts, in the reports' Chinese (SMEs → 企业, documents → 文件):
    the glossary's first wording of the last word it knows in the noun phrase after "how many"."""
    m = _HOW_MANY.search(question)
    if m is None or m.group(1).split()[-1].lower() in _COUNTED_BY_MEASURE:
        return None
    terms = english_terms(m.group(1))
    return terms[-1][1][0][-2:] if terms else None


# How many people / times: counted by a measure word (16人次, 8次), not a noun the clause names.
_COUNTED_BY_MEASURE = frozenset({"people", "person", "persons", "time", "times"})


def form_score(asked: AnswerForm, clause: str) -> float:
    """How well a clause has the form of the asked answer (0..1)."""
    kind, unit, role = asked.kind, asked.unit, asked.role
    if kind is QuestionKind.NUMBER:
        units = [m.group(1) for m in NUMBER_WITH_UNIT.finditer(clause)]
        if asked.counted and units and (asked.counted not in clause or all(u in _NOT_COUNTS for u in units)):
            return 0.5  # a count of something else (11个城市 for 多少个药品品种), or no count (12个月)
        same = (unit, _SAME_UNIT.get(unit)) if unit else ()
        if unit and (any(u.startswith(w) or u.endswith(w) for u in units for w in same if w) or (unit == "%" and "%" in clause)):
            return 1.0
        if unit == "%" and units:
            return 0.5  # a rate asked (赤字率是多少), an amount given (财政赤字13500亿元)
        if units or _ZERO.search(clause):
            return 0.7
        return 0.3 if _ANY_NUMBER.search(clause) else 0.0
    if kind is QuestionKind.DATE:
        return 1.0 if DATE.search(clause) else 0.0
    if kind is QuestionKind.ENTITY:
        if role and re.search(re.escape(role) + r"[\u4e00-\u9fff]{2,3}", clause):
            return 1.0
        return 0.5 if _ENTITY_HINT.search(clause) else 0.1
    if kind is QuestionKind.LIST:
        if asked.count and "、" in clause:
            return 1.0 if clause.count("、") + 1 == asked.count else 0.6  # 哪五个中心: five of them
        items = clause.count("、") + clause.count("“") + clause.count("《") + len(NUMBER_WITH_UNIT.findall(clause))
        return 1.0 if items >= 2 else 0.6 if items == 1 else 0.3
    return 0.5


def rates_only(text: str) -> bool:
    units = [m.group(1) for m in NUMBER_WITH_UNIT.finditer(text)]
    return bool(units) and all(u == "%" for u in units)


def _asked_role(question: str) -> str | None:
    m = _ROLE.search(question)
    return m.group(0) if m else None


def fact_of(quote: str, kind: QuestionKind) -> str | None:
    pattern = DATE if kind is QuestionKind.DATE else NUMBER_WITH_UNIT
    m = pattern.search(quote)
    return m.group(0) if m else None
