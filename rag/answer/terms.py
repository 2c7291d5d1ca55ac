"""The question's content words, and how much of them a text holds.

Pure. Shared by evidence selection (which sentence answers) and verification
(does any passage hold the question's key content at all).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from ..ingest.identity import GENRES
from ..text.glossary import english_terms
from ..text.places import canonical_place
from ..text.synonyms import synonyms_of
from ..text.tokenize import tagged_words, word_tokenize
from ..types import Document, Hit

__all__ = [
    "QUESTION_WORDS", "YEAR_TOKEN", "tokenize", "token_set", "question_terms", "matched", "coverage", "key_terms", "holds",
    "translated_terms", "translated_key_terms", "missing_terms",
]  # fmt: skip

# Words that say what kind of answer is wanted but never appear in the answer.
QUESTION_WORDS = frozenset(
    ["多少", "几", "几次", "几件", "几项", "几家", "几期", "几个", "哪些", "什么", "什么时候", "何时", "哪天", "哪个", "哪位", "谁", "是", "了", "的", "有", "共", "吗", "呢", "么", "如何", "怎么", "怎样", "是否", "请问", "这份", "该", "本", "报告", "共有", "一共", "总共", "现有", "情况", "多少次", "多少家", "多少件", "多少个", "多久", "多长", "多长时间", "多少时间", "多少天", "哪年", "年", "月", "日", "还", "都", "the", "a", "an", "of", "how", "many", "much", "what", "when", "who", "which", "is", "are", "was", "were", "did", "do", "does", "in", "on", "for", "to"]
)

YEAR_TOKEN = re.compile(r"(?:19|20)\d{2}")

tokenize = word_tokenize  # precise mode: a term's weight is never counted twice


@lru_cache(maxsize=4096)
def token_set(text: str) -> frozenset[str]:
    """The words of `text`, as a set (cached)."""
    # The same headings, titles and clauses are matched against for every candidate
    # sentence of a question (and again by later questions): tokenise each once.
    return frozenset(tokenize(text))


def question_terms(question: str) -> dict[str, float]:
    """Content terms of the question with weights (longer terms weigh more; years little,
    since the year mostly selects the report, not the sentence)."""
    weights: dict[str, float] = {}
    for token in tokenize(question):
        if token in QUESTION_WORDS or len(token) == 1 and not token.isdigit():
            continue
        if YEAR_TOKEN.fullmatch(token):
            weight = 0.5
        elif token.isdigit():
            weight = 2.0
        else:
            weight = min(len(token), 4) * (1.5 if token.isascii() else 1.0)
        weights[token] = max(weights.get(token, 0.0), weight)
    return weights


def translated_terms(question: str, hits: Sequence[Hit], documents: Mapping[str, Document]) -> dict[str, float]:
    """Content terms of a question in English, in Chinese: for each glossary word or phrase, the
    wording the retrieved passages use (VAT threshold → 增值税, 起征点), weighted as Chinese terms."""
    said = "".join(h.chunk.text for h in hits)
    weights: dict[str, float] = {}
    for _, wordings in english_terms(question):
        wording = next((w for w in wordings if w in said), None)
        if wording is not None and wording not in _FORM_WORDS:
            weights[wording] = max(weights.get(wording, 0.0), float(min(len(wording), 4)))
    for year in YEAR_TOKEN.findall(question):
        weights[year] = 0.5
    return weights


def translated_key_terms(question: str, hits: Sequence[Hit]) -> tuple[str, ...] | None:
    """The key words of a question in English, in the wording the retrieved passages use: for each
    glossary entry naming what is asked (unemployment → 失业, work permit → 工作许可), not its form
    (target, rate), the first wording a passage holds. None when no passage holds any wording of
    one: the thing asked about is in none of them (the English twin of `key_terms`)."""
    said = "".join(h.chunk.text for h in hits)
    keys: list[str] = []
    for _, wordings in english_terms(question):
        if not all(len(w) >= 2 and _is_subject_word(w) for w in wordings):
            continue  # a form word (目标) or a character that says little alone (月, 率)
        wording = next((w for w in wordings if w in said), None) or next((w for w in wordings if holds(said, w)), None)
        if wording is None:  # (holds: 双随机一公开 is written 双随机、一公开)
            return None
        keys.append(wording)
    return tuple(dict.fromkeys(keys))


def matched(terms: Mapping[str, float], text: str) -> dict[str, float]:
    """Matched terms with the share of their weight earned: whole token (or a synonym) 1,
    substring ½."""
    if not terms:
        return {}
    present = token_set(text)
    lowered = text.lower()
    out = {}
    for t in terms:
        wordings = (t, *synonyms_of(t))
        if any(w in present for w in wordings):
            out[t] = 1.0
        elif any(w.lower() in lowered for w in wordings):
            out[t] = 0.5
    return out


def coverage(terms: Mapping[str, float], matched: Mapping[str, float]) -> float:
    total = sum(terms.values())
    return sum(terms[t] * share for t, share in matched.items()) / total if total else 0.0


# Nouns that say what form the answer takes or which document holds it, never what it is about:
# 多少钱, 什么数字, 标题是什么, 2025年政府工作报告, 该意见. (A target or an actual figure, 目标 vs 完成,
# is the question's intent, judged by `rag.answer.timeframe`, not a word the sentence must repeat.)
_FORM_WORDS = frozenset(
    ["钱", "数字", "数额", "数值", "数量", "金额", "比例", "比重", "占比", "百分比", "比率", "日期", "时间", "时候", "时期", "期间", "期限", "时限", "时长", "区间", "标题", "名称", "名字", "内容", "部分", "方面", "情况", "问题", "具体", "总共", "目标", "预期", "计划", "打算", "安排", "指标", "年度", "本年度", "全年", "政府", "工作", "报告", "文件", "全文", "本文", "国务院", "全国", "全省", "全市", "全区", "地方", "中央", "里面"]
) | {word for word, _ in GENRES}
# Parts of speech of the words that name what a question asks about: nouns (n, ns, nr, nt, nz),
# verbal nouns (调查 in 城镇调查失业率), idioms and abbreviations (l, j: 人均, 研发), Latin words,
# and domain-dictionary terms (x).
_CONTENT_TAGS = ("n", "vn", "l", "j", "eng", "x")


def key_terms(question: str) -> tuple[str, ...]:
    """The words naming what the question asks about: its indicator, object and qualifiers.
    An answering sentence (with its headings and report title) must hold every one.

    The noun phrase after 哪个/哪些/什么 names the kind of the answer, not its content (哪个部门 is
    answered by 市科技局); two words the thesaurus knows together count as one (德国企业: 德资企业).

    >>> key_terms("2010年政府工作报告提出的城镇调查失业率目标是多少？")
    ('城镇', '调查', '失业率')
    >>> key_terms("2022年政府工作报告里国防支出预算增长多少？")
    ('国防',)
    >>> key_terms("创新券管理办法由哪个部门负责解释？")
    ('管理',)
    """
    keys: list[str] = []
    answer_kind = False  # inside the noun phrase after 哪个/什么
    previous = ""
    tagged = tagged_words(question)
    for i, (word, tag) in enumerate(tagged):
        if tag == "v" and i + 1 < len(tagged) and _is_indicator(*tagged[i + 1]):
            tag = "vn"  # 登记失业率, 调查失业率: a verb qualifying the indicator after it is part of its name
        if tag == "r" and word.startswith(("哪", "什么", "啥")):
            answer_kind, previous = True, ""
            continue
        content = tag.startswith(_CONTENT_TAGS) and tag != "ng"
        if answer_kind and (content or tag in ("m", "q", "uj") or word in "“”\"'"):
            continue
        answer_kind = False
        if previous and content and synonyms_of(previous + word):  # 德国 + 企业 → 德国企业, 入 + 企业 → 入企业
            if keys and keys[-1] == previous:
                keys.pop()
            keys.append(previous + word)
            previous = ""
            continue
        previous = word
        if content and len(word) >= 2 and word not in QUESTION_WORDS and _is_subject_word(word):
            keys.append(word)
    return tuple(dict.fromkeys(keys))


# Nouns naming a measured quantity: the indicator a question asks about (失业率, 收入额, 产量, 总值).
_INDICATOR_END = ("率", "额", "量", "值", "数", "费", "价", "金", "款")


def _is_indicator(word: str, tag: str) -> bool:
    return tag.startswith("n") and len(word) >= 2 and word.endswith(_INDICATOR_END)


def _is_subject_word(word: str) -> bool:
    return not (word in _FORM_WORDS or "目标" in word or YEAR_TOKEN.fullmatch(word) or canonical_place(word))


def missing_terms(required: Sequence[str], *said: str) -> list[str]:
    """The required words none of the texts (a quote, its headings, its report's title) holds."""
    text = "".join(said)
    return [term for term in required if not holds(text, term)]


def holds(text: str, term: str) -> bool:
    """Whether `text` says `term`: the term or a synonym, or (a term of three characters or more)
    two thirds of its character pairs (reports word things differently: 申请专利 / 受理申请…专利).

    >>> holds("城镇登记失业率控制在4.6%以内", "调查"), holds("自受理申请之日起20日内颁发专利代理机构执业许可证", "申请专利")
    (False, True)
    """
    lowered = text.lower()
    if any(w in lowered for w in (term, *synonyms_of(term))):
        return True
    if len(term) < 3:
        return False
    pairs = [term[i : i + 2] for i in range(len(term) - 1)]
    return sum(1 for p in pairs if p in lowered) * 3 >= 2 * len(pairs)
