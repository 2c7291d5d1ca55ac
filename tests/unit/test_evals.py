"""Evaluation metrics, gold parsing, the gate and the report on hand-made results (no model)."""

from __future__ import annotations

import json

import pytest

from evals.gate import check, load_thresholds
from evals.metrics import (
    CitedQuote,
    GoldError,
    GoldItem,
    Retrieved,
    SystemResult,
    aggregate,
    citation_matches,
    evaluate,
    evidence_covered,
    facts_correct,
    first_relevant_rank,
    normalize,
    parse_gold,
    percentile,
    score_item,
)
from evals.report import render_report

DOC = "suzhou-kjj-2024-fzzf.txt"
OTHER = "wuxi-kjj-2024-fzzf.txt"

NUMBER = GoldItem("d01", "2024年检查了多少家企业？", ("11", "54"), ("涉及企业11家", "入库登记54家"), DOC, "二、", "number")
NONE = GoldItem("d25", "苏州市2024年的GDP是多少？", (), (), None, None, "unanswerable")
META = GoldItem("d19", "这份报告是什么时候发布的？", ("2025-02-12",), (), None, None, "metadata")


def passage(text: str, doc: str = DOC) -> Retrieved:
    return Retrieved(doc, ("二、",), text, 0.5)


def quote(text: str, doc: str = DOC) -> CitedQuote:
    return CitedQuote(doc, "报告", ("二、",), text, 0, len(text))


def result(item: GoldItem, answer: str, mode: str = "extractive", citations=(), retrieved=(), latency: float = 10.0):
    return SystemResult(item.id, "ours", item.question, answer, mode, tuple(citations), tuple(retrieved), latency)


# ------------------------------------------------------------------------------ normalisation


def test_normalize_removes_width_and_whitespace() -> None:
    assert normalize("入库登记 ５４ 家，\n基金会１家") == "入库登记54家,基金会1家"


# ---------------------------------------------------------------------------------- retrieval


def test_first_relevant_rank_needs_evidence_in_the_right_report() -> None:
    retrieved = [passage("无关内容"), passage("入库登记54家", doc=OTHER), passage("开展检查,入库登记５４家。")]
    assert first_relevant_rank(NUMBER, retrieved) == 3


def test_first_relevant_rank_is_none_when_no_passage_holds_evidence() -> None:
    assert first_relevant_rank(NUMBER, [passage("入库登记"), passage("54家")]) is None


def test_hit_at_k_and_mrr_from_ranks() -> None:
    items = [
        GoldItem(f"q{i}", "问题", ("x",), ("证据",), DOC, None, "number") for i in range(4)
    ]
    # Evidence at rank 1, 3, 6 and nowhere.
    depth = [1, 3, 6, None]
    scores = []
    for item, rank in zip(items, depth, strict=True):
        retrieved = [passage("别的") for _ in range(10)]
        if rank is not None:
            retrieved[rank - 1] = passage("这是证据所在")
        scores.append(score_item(item, result(item, "x", retrieved=retrieved)))
    overall = aggregate(scores)
    assert overall["hit@1"] == pytest.approx(1 / 4)
    assert overall["hit@3"] == pytest.approx(2 / 4)
    assert overall["hit@5"] == pytest.approx(2 / 4)
    assert overall["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 6) / 4)


def test_items_without_evidence_are_left_out_of_retrieval() -> None:
    scores = [score_item(META, result(META, "2025-02-12")), score_item(NONE, result(NONE, "未找到", "not_found"))]
    overall = aggregate(scores)
    assert overall["n_retrieval"] == 0
    assert overall["hit@1"] is None and overall["mrr"] is None
    assert overall["citation_precision"] is None


# ---------------------------------------------------------------------------------- answers


def test_fact_accuracy_needs_every_fact() -> None:
    assert facts_correct(NUMBER, "涉及企业11家；入库登记54家。", "extractive")
    assert facts_correct(NUMBER, "涉及企业１１家，入库登记 54 家", "llm")
    assert not facts_correct(NUMBER, "涉及企业11家。", "extractive")


def test_a_refusal_is_never_a_correct_answer() -> None:
    assert not facts_correct(NUMBER, "报告中未找到相关信息。11 54", "not_found")


def test_unanswerable_is_correct_only_when_refused() -> None:
    assert facts_correct(NONE, "报告中未找到相关信息。", "not_found")
    assert not facts_correct(NONE, "GDP为2.67万亿元", "extractive")


# -------------------------------------------------------------------------------- citations


def test_citation_precision_counts_quotes_holding_evidence_from_the_right_report() -> None:
    citations = [quote("检查涉及企业１１家。"), quote("其他内容"), quote("入库登记54家", doc=OTHER)]
    assert citation_matches(NUMBER, citations) == (1, 3)


def test_evidence_coverage_counts_evidence_strings_quoted() -> None:
    assert evidence_covered(NUMBER, [quote("涉及企业11家,涉及外国人16人次")]) == (1, 2)
    assert evidence_covered(NUMBER, [quote("涉及企业11家"), quote("入库登记54家")]) == (2, 2)
    assert evidence_covered(NUMBER, []) == (0, 2)


def test_citation_rates_are_micro_averaged() -> None:
    other = GoldItem("d02", "有多少家？", ("78",), ("机构78家",), DOC, None, "number")
    scores = [
        score_item(NUMBER, result(NUMBER, "11 54", citations=[quote("涉及企业11家"), quote("别的")])),
        score_item(other, result(other, "78", citations=[quote("机构78家")])),
    ]
    overall = aggregate(scores)
    assert overall["citation_precision"] == pytest.approx(2 / 3)
    assert overall["evidence_coverage"] == pytest.approx(2 / 3)  # 1 of 2 + 1 of 1


# ---------------------------------------------------------------------------------- refusal


def test_refusal_accuracy_and_false_refusal_rate() -> None:
    second = GoldItem("d26", "上海的人口？", (), (), None, None, "unanswerable")
    scores = [
        score_item(NONE, result(NONE, "未找到", "not_found")),
        score_item(second, result(second, "答非所问", "extractive")),
        score_item(NUMBER, result(NUMBER, "未找到", "not_found")),
        score_item(META, result(META, "2025-02-12")),
    ]
    overall = aggregate(scores)
    assert overall["refusal_accuracy"] == pytest.approx(0.5)
    assert overall["false_refusal_rate"] == pytest.approx(0.5)
    assert overall["answer_accuracy"] == pytest.approx(2 / 4)


def test_refusal_rates_are_none_without_eligible_items() -> None:
    overall = aggregate([score_item(META, result(META, "2025-02-12"))])
    assert overall["refusal_accuracy"] is None
    assert overall["false_refusal_rate"] == 0.0


# ---------------------------------------------------------------------------------- latency


def test_percentile_interpolates_like_numpy() -> None:
    values = [30.0, 10.0, 20.0, 40.0, 1000.0]
    assert percentile(values, 50) == 30.0
    assert percentile(values, 95) == pytest.approx(40 + 0.8 * 960)
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile(values, 120)


# ---------------------------------------------------------------------------------- evaluate


def test_evaluate_groups_by_kind_and_requires_every_result() -> None:
    results = [result(NUMBER, "11和54"), result(NONE, "未找到", "not_found"), result(META, "不知道")]
    report = evaluate([NUMBER, NONE, META], results)
    assert report["overall"]["answer_accuracy"] == pytest.approx(2 / 3)
    assert report["per_kind"]["metadata"]["answer_accuracy"] == 0.0
    assert report["per_kind"]["unanswerable"]["refusal_accuracy"] == 1.0
    with pytest.raises(ValueError, match="d19"):
        evaluate([NUMBER, NONE, META], results[:2])


def test_results_round_trip_through_json() -> None:
    row = result(NUMBER, "11", citations=[quote("涉及企业11家")], retrieved=[passage("涉及企业11家")])
    assert SystemResult.from_json(json.loads(json.dumps(row.to_json(), ensure_ascii=False))) == row


# -------------------------------------------------------------------------------------- gold


def test_parse_gold_reads_the_seed_schema() -> None:
    line = json.dumps(
        {"id": "d02", "question": "多少家？", "answer_facts": ["78"], "evidence": ["机构78家"], "doc": DOC,
         "section": "二、", "kind": "number", "note": ""},
        ensure_ascii=False,
    )
    [item] = parse_gold([line, ""])
    assert item.answer_facts == ("78",) and item.has_evidence and not item.unanswerable


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"id": "a", "question": "q", "kind": "number", "answer_facts": []}', "no answer_facts"),
        ('{"id": "a", "question": "q", "kind": "number", "answer_facts": "78"}', "list of non-empty strings"),
        ('{"id": "a", "question": "q", "kind": "number", "answer_facts": ["1"], "evidence": ["e"]}', "no 'doc'"),
        ('{"question": "q", "kind": "number"}', "'id'"),
    ],
)
def test_parse_gold_rejects_bad_lines_with_the_line_number(line: str, message: str) -> None:
    with pytest.raises(GoldError, match=message) as info:
        parse_gold(["", line], where="g.jsonl")
    assert "g.jsonl:2" in str(info.value)


def test_parse_gold_rejects_duplicate_ids() -> None:
    line = '{"id": "a", "question": "q", "kind": "unanswerable"}'
    with pytest.raises(GoldError, match="duplicate"):
        parse_gold([line, line])


# -------------------------------------------------------------------------------------- gate


def _metrics(**overall: float | None) -> dict:
    return {"systems": {"ours": {"overall": overall}}}


def test_gate_passes_at_or_above_thresholds() -> None:
    thresholds = {"system": "ours", "minimums": {"answer_accuracy": 0.8, "hit@5": 0.9}}
    assert check(_metrics(answer_accuracy=0.8, **{"hit@5": 1.0}), thresholds) == []


def test_gate_names_each_metric_below_its_threshold() -> None:
    thresholds = {"system": "ours", "minimums": {"answer_accuracy": 0.8, "hit@5": 0.9, "refusal_accuracy": 1.0}}
    failures = check(_metrics(answer_accuracy=0.5, refusal_accuracy=None, **{"hit@5": 0.95}), thresholds)
    assert len(failures) == 2
    assert "answer_accuracy = 0.500 is below the threshold 0.800" in failures[0]
    assert "refusal_accuracy was not measured" in failures[1]


def test_gate_fails_when_the_system_is_missing() -> None:
    assert "no results for system 'ours'" in check({"systems": {}}, {"minimums": {"hit@5": 0.5}})[0]


def test_thresholds_file_is_validated(tmp_path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"minimums": {"hit@5": 0}}')
    with pytest.raises(ValueError, match="in \\(0, 1\\]"):
        load_thresholds(path)
    path.write_text('{"hit@5": 0.5}')
    with pytest.raises(ValueError, match="minimums"):
        load_thresholds(path)


def test_repository_thresholds_are_valid_and_never_zero() -> None:
    from tests.conftest import ROOT

    thresholds = load_thresholds(ROOT / "evals" / "thresholds.json")
    assert {"answer_accuracy", "hit@5", "refusal_accuracy"} <= set(thresholds["minimums"])


# ------------------------------------------------------------------------------------ report


def test_report_lists_our_failed_questions_and_counts_the_baselines() -> None:
    gold = [NUMBER, NONE]
    ours = [result(NUMBER, "涉及企业11家", citations=[quote("涉及企业11家")]), result(NONE, "未找到", "not_found")]
    base = [result(NUMBER, "x"), result(NONE, "GDP很高")]
    metrics = {
        "gold": "g.jsonl", "corpus": {"docs": ["data/reports"]}, "n_questions": 2, "model": "m", "llm_provider": "none",
        "k": 5, "created": "now", "model_load_s": 1.0, "wall_s": 2.0,
        "systems": {
            name: {"build": {"seconds": 1.0, "documents": 1, "chunks": 3}, **evaluate(gold, rows)}
            for name, rows in (("ours", ours), ("langchain-baseline", base))
        },
    }
    text = render_report(metrics, {"ours": ours, "langchain-baseline": base}, gold)
    assert "| metric | ours | langchain-baseline |" in text
    assert "| answer_accuracy | 50.0% | 0.0% |" in text
    assert "## Failed questions (ours): 1 of 2" in text
    assert "| d01 | number |" in text and "11 + 54" in text
    assert "## langchain-baseline: 2 of 2 questions failed" in text
    assert "![metrics per system](metrics.png)" in text


# ---------------------------------------------------------------------------------- baseline


def test_langchain_baseline_answers_with_the_top_passage_and_its_offsets() -> None:
    from evals.baseline import LangChainBaseline
    from rag.model.hashing import HashEmbedder
    from rag.types import Document

    paragraphs = [f"第{i}段:本段讲述事项{i},涉及企业{i * 7}家,完成检查{i * 3}次。" * 6 for i in range(1, 9)]
    text = "\n\n".join(paragraphs)
    doc = Document(doc_id="abc", title="测试报告", text=text, source="test.txt")
    baseline = LangChainBaseline(HashEmbedder(256), chunk_size=120, chunk_overlap=10)
    baseline.build([doc])
    assert baseline.chunk_count > len(paragraphs)  # every paragraph is longer than a chunk

    results = baseline.search("第5段:本段讲述事项5,涉及企业35家", k=3)
    assert len(results) == 3 and all(source == "test.txt" for _, source, _ in results)
    assert "事项5" in results[0][0]
    assert results[0][2] >= results[1][2] >= results[2][2]

    reply = baseline.ask("第5段:本段讲述事项5,涉及企业35家")
    [citation] = reply["citations"]
    assert reply["answer"] == citation["quote"] == results[0][0]
    assert text[citation["start"] : citation["end"]] == citation["quote"]
    assert reply["mode"] == "extractive"  # it never refuses


def test_langchain_baseline_must_be_built_first() -> None:
    from evals.baseline import LangChainBaseline
    from rag.model.hashing import HashEmbedder

    with pytest.raises(RuntimeError, match="build"):
        LangChainBaseline(HashEmbedder(64)).search("问题")
    with pytest.raises(ValueError, match="no documents"):
        LangChainBaseline(HashEmbedder(64)).build([])


@pytest.mark.parametrize(
    ("fact", "text", "found"),
    [
        ("5", "处理信访投诉案例5件", True),
        ("5", "2025年", False),
        ("5", "增长5.5%", False),
        ("5.5%", "增长５.５%左右", True),
        ("11", "涉及企业11家", True),
        ("50", "调研工作50多次", True),
        ("1812.4亿元", "生产总值1812.4亿元", True),
        ("国平台", "纳入“国平台”", True),
    ],
)
def test_fact_in_matches_numbers_only_whole(fact: str, text: str, found: bool) -> None:
    from evals.metrics import fact_in

    assert fact_in(fact, text) is found
