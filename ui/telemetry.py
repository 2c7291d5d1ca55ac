"""The operator's view: `GET /metrics` (Prometheus text format) and an access log line per question.

Metrics live in the app's own registry (two apps in one process do not share counts):
requests and latencies by route and status (429s are the rate limit's refusals), answers by
mode, refusals, LLM fallbacks, and the index's size. The access log (logger `policyqa.access`, one JSON
object a line) says who asked (an API key's name or the client address), where, how it was
answered and how fast, and the question's length; its text only with POLICYQA_LOG_QUESTIONS.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.config import Settings
from rag.types import Answer

__all__ = ["CONTENT_TYPE_LATEST", "RequestMetrics", "Telemetry", "access_log", "log_access_lines_as_json"]

access_log = logging.getLogger("policyqa.access")


def log_access_lines_as_json() -> None:
    """Each access line alone on its own line (no level or logger prefix), for log shippers."""
    if not access_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.propagate = False
    access_log.setLevel(logging.INFO)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Telemetry:
    """The app's metrics and access log; `answered` is called once per question answered."""

    def __init__(self, settings: Settings, service: Any) -> None:
        self.settings = settings
        self.registry = CollectorRegistry()
        self.requests = Counter("policyqa_requests", "HTTP requests", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("policyqa_request_seconds", "HTTP request latency", ["route"],
                                 buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.answers = Counter("policyqa_answers", "questions answered, by answer mode and surface",
                               ["mode", "surface"], registry=self.registry)
        self.refusals = Counter("policyqa_refusals", "questions answered 报告中未找到", registry=self.registry)
        self.fallbacks = Counter("policyqa_llm_fallbacks", "LLM answers replaced by the extractive one",
                                 registry=self.registry)
        reports = Gauge("policyqa_index_reports", "reports in the index", registry=self.registry)
        chunks = Gauge("policyqa_index_chunks", "chunks in the index", registry=self.registry)
        reports.set_function(lambda: _size(service, "documents"))
        chunks.set_function(lambda: _size(service, "chunks"))

    def answered(self, surface: str, question: str, answer: Answer, client: str, seconds: float) -> None:
        """Count the answer and write its access log line."""
        self.answers.labels(answer.mode, surface).inc()
        if answer.mode == "not_found":
            self.refusals.inc()
        # an LLM was asked and its answer not shown: the extractive answer (or refusal) carries the notice
        fallback = answer.mode != "llm" and self.settings.llm_provider != "none" and bool(answer.notice)
        if fallback:
            self.fallbacks.inc()
        line: dict[str, Any] = {
            "surface": surface, "client": client, "mode": answer.mode, "fallback": fallback,
            "citations": len(answer.citations), "reports": len({c.doc_id for c in answer.citations}),
            "ms": round(seconds * 1000, 1), "question_chars": len(question),
        }
        if self.settings.log_questions:
            line["question"] = question
        access_log.info(json.dumps(line, ensure_ascii=False))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def _size(service: Any, attribute: str) -> float:
    """The loaded index's count, or 0 before it is loaded (a lazy server)."""
    assistant = getattr(service, "_assistant", None)
    index = getattr(assistant, "index", None)
    return float(len(getattr(index, attribute, ()) or ())) if index is not None else 0.0


class RequestMetrics:
    """ASGI layer counting every HTTP request by its route template (not its path: ids stay out)."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app, self.telemetry = app, telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            route = _route(scope)
            method = scope.get("method", "")
            method = method if method in _METHODS else "other"  # a client may send any method name
            self.telemetry.requests.labels(route, method, str(status)).inc()
            self.telemetry.latency.labels(route).observe(time.perf_counter() - started)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path", None)
    if isinstance(template, str) and template not in ("", "/"):
        return template
    return "page" if not scope.get("path", "").startswith(("/api/", "/v1/")) else "unmatched"
