"""The full evaluation on the dev set (over the sample report, as `make test` runs it): builds a fresh
index, runs both systems, writes every output."""

from __future__ import annotations

import json

import pytest

from evals.run import main
from tests.conftest import DEV_GOLD, SAMPLE

pytestmark = pytest.mark.slow


def test_dev_eval_writes_results_metrics_report_and_chart(tmp_path) -> None:
    out = tmp_path / "dev"
    code = main(["--gold", str(DEV_GOLD), "--docs", str(SAMPLE), "--out", str(out)])
    assert code == 0

    gold_ids = [json.loads(line)["id"] for line in DEV_GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted((r["system"], r["id"]) for r in rows) == sorted(
        (s, i) for s in ("ours", "langchain-baseline") for i in gold_ids
    )
    for row in rows:
        assert row["mode"] in ("extractive", "llm", "not_found")
        assert 0 < len(row["retrieved"]) <= 10
        assert row["latency_ms"] > 0

    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    for system in ("ours", "langchain-baseline"):
        overall = metrics["systems"][system]["overall"]
        assert overall["n"] == len(gold_ids)
        assert 0 <= overall["hit@1"] <= overall["hit@5"] <= 1
        assert metrics["systems"][system]["build"]["chunks"] > 0
    # The baseline never refuses, so it gets every unanswerable question wrong.
    assert metrics["systems"]["langchain-baseline"]["overall"]["refusal_accuracy"] == 0.0

    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| metric | ours | langchain-baseline |" in report and "(metrics.png)" in report
    assert (out / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
