"""The operator's view: /metrics in Prometheus' text format and the access log line per question."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.unit.ui.test_api import FakeIndex, _client

QUESTION = "2024年检查了多少家企业？"


@pytest.fixture(scope="module")
def index() -> FakeIndex:
    from tests.conftest import SAMPLE

    return FakeIndex([SAMPLE])


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_count_requests_answers_refusals_and_the_index(tmp_path: Path, index: FakeIndex) -> None:
    client, assistant = _client(tmp_path, index)
    client.post("/api/ask", json={"question": QUESTION})
    client.post("/api/ask", json={"question": "2024年火星上检查了多少家企业？"})
    client.post("/v1/chat/completions", json={"model": "policyqa", "messages": [{"role": "user", "content": QUESTION}]})
    client.post("/api/ask", json={"question": ""})
    client.get(f"/report/{next(iter(assistant.index.documents))}")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = _samples(r.text)
    assert samples[("policyqa_answers_total", (("mode", "extractive"), ("surface", "api")))] == 1
    assert samples[("policyqa_answers_total", (("mode", "extractive"), ("surface", "v1")))] == 1
    assert samples[("policyqa_refusals_total", ())] == 1
    assert samples[("policyqa_requests_total", (("method", "POST"), ("route", "/api/ask"), ("status", "200")))] == 2
    assert samples[("policyqa_requests_total", (("method", "POST"), ("route", "/api/ask"), ("status", "400")))] == 1
    # the report view counts under its route template, not one series per report id
    assert samples[("policyqa_requests_total", (("method", "GET"), ("route", "/report/{doc_id}"), ("status", "200")))] == 1
    assert samples[("policyqa_request_seconds_count", (("route", "/api/ask"),))] == 3
    assert samples[("policyqa_index_chunks", ())] == len(assistant.index.chunks) > 0
    assert samples[("policyqa_llm_fallbacks_total", ())] == 0


def test_metrics_need_the_key_when_one_is_set(tmp_path: Path, index: FakeIndex) -> None:
    client, _ = _client(tmp_path, index, api_key="s3cret")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


@pytest.mark.parametrize("log_questions", [False, True])
def test_one_access_log_line_per_question_without_its_text_unless_enabled(
    tmp_path: Path, index: FakeIndex, caplog: pytest.LogCaptureFixture, log_questions: bool
) -> None:
    client, _ = _client(tmp_path, index, api_keys=("portal:p0rtal",), log_questions=log_questions)
    with caplog.at_level(logging.INFO, logger="policyqa.access"):
        client.post("/api/ask", json={"question": QUESTION}, headers={"X-API-Key": "p0rtal"})
    [record] = [r for r in caplog.records if r.name == "policyqa.access"]
    line = json.loads(record.getMessage())
    assert line["client"] == "key:portal" and line["surface"] == "api" and line["mode"] == "extractive"
    assert line["citations"] == 2 and line["question_chars"] == len(QUESTION) and line["ms"] >= 0
    assert ("question" in line) is log_questions and (QUESTION in record.getMessage()) is log_questions


def test_made_up_methods_share_one_series(tmp_path: Path, index: FakeIndex) -> None:
    client, _ = _client(tmp_path, index)
    for n in range(5):
        client.request(f"XMETHOD{n}", "/api/ask")
    methods = {s.labels["method"] for family in text_string_to_metric_families(client.get("/metrics").text)
               for s in family.samples if s.name == "policyqa_requests_total"}
    assert "other" in methods and not any(m.startswith("XMETHOD") for m in methods)
