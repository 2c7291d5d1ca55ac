"""KeywordIndex.from_tokens with tuple token lists."""

from __future__ import annotations

from rag.keyword import KeywordIndex


def test_from_tokens_accepts_tuples_of_tokens() -> None:
    # a 2-tuple of tokens once looked like a (term ids, counts) pair carried over from an index
    as_tuples = KeywordIndex.from_tokens([("科技", "企业"), ("科技", "科技", "检查")])
    as_lists = KeywordIndex.from_tokens([["科技", "企业"], ["科技", "科技", "检查"]])
    assert as_tuples.vocab == as_lists.vocab == ["企业", "检查", "科技"]
    assert as_tuples.term_counts(1) == as_lists.term_counts(1)
