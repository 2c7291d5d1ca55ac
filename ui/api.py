"""The HTTP API: ask, search, list and upload reports, health.

Endpoints are plain `def` functions, so FastAPI runs them in its threadpool
and a slow question never blocks other requests. Errors always come back as
JSON `{"error": code, "message": text}`: bad input is a 4xx with a message
that says what to fix, anything unexpected a 500 that reveals nothing about
the server (the traceback goes to the log).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.config import Settings
from rag.errors import ConfigError, LoadError, QueryError, RagError
from rag.index.filters import Filters
from rag.types import Document, Hit, Level, Turn

from .guards import Guards
from .schema import LEVELS, AskResponse, DocumentOut, SearchHitOut
from .service import Service, report_identity
from .telemetry import CONTENT_TYPE_LATEST, Telemetry

__all__ = [
    "ASK_BODY_LIMIT",
    "AskRequest",
    "FiltersIn",
    "PassageCount",
    "WholeNumber",
    "whole",
    "TurnIn",
    "JsonContentTooLarge",
    "api_router",
    "install_error_handlers",
    "hit_to_dict",
    "error_body",
    "identity_of",
    "parse_filters",
]

log = logging.getLogger(__name__)

# A question with a long conversation fits easily; anything bigger is not a question.
ASK_BODY_LIMIT = 1 * 2**20
MAX_HISTORY_TURNS = 20
MAX_K = 50
UPLOAD_DESCRIPTION = ("one report: .txt .md .html .pdf or .docx (text in UTF-8 or GB18030); "
                      "a name without a suffix (file, blob) is read by its content")
def whole(value: Any) -> Any:
    """32.0 is the whole number 32 (JSON Schema's integer), not 32.5, "32" or true."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


WholeNumber = Annotated[int, BeforeValidator(whole)]
# How many passages to return (constraints before the validator, so the schema states them).
PassageCount = Annotated[int, Field(ge=1, le=MAX_K), BeforeValidator(whole)]


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    question: str
    answer: str


class FiltersIn(BaseModel):
    """Restrict to reports: values of one key are alternatives, keys together narrow."""

    model_config = ConfigDict(extra="forbid", strict=True)

    doc_ids: list[str] | None = Field(default=None, description="report ids (GET /api/documents)")
    years: list[WholeNumber] | None = Field(default=None, description="the year in the report's name")
    publishers: list[str] | None = Field(default=None, description="contained in 来源")
    places: list[str] | None = Field(default=None, description="full or short: 江苏 = 江苏省")
    genres: list[str] | None = Field(default=None, description="政府工作报告, 意见…")
    levels: list[Level] | None = Field(
        default=None, description="national documents have level 国务院 and no place"
    )


# The assistant checks the question (`clean_query`: one usable character, the length limit of the
# settings); `ui.openapi` states those rules in the schema. Not checked here too: pydantic's regex
# engine refuses lone surrogates, which the assistant drops (a question of nothing else is empty:
# the one case the schema's pattern cannot state, as patterns cannot name surrogates portably).
QUESTION = Field(description="The question, in Chinese or English", examples=["2024年检查了多少家企业？"])


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = QUESTION
    history: list[TurnIn] = Field(default_factory=list, description="Earlier turns, oldest first (for follow-ups)")
    filters: FiltersIn | None = Field(
        default=None,
        description="Restrict to reports (each key a list; values of one key are alternatives, keys together narrow)",
        examples=[{"places": ["江苏省"], "genres": ["政府工作报告"], "years": [2025]}, {"levels": ["国务院"]}],
    )
    k: PassageCount | None = Field(default=None, description="Passages to return with the answer")


async def _one_file(request: Request) -> None:
    """One report per upload: a second `file` part would otherwise be dropped without a word."""
    form = await request.form()
    if len(form.getlist("file")) > 1:
        raise HTTPException(400, "send one file per request (this one has several `file` parts)")


def identity_of(document: Document | None) -> dict[str, Any] | None:
    """The `report` object of a citation or hit: its report's identity (null once the report is gone)."""
    return report_identity(document.meta) if document is not None else None


def hit_to_dict(hit: Hit, document: Document | None) -> dict[str, Any]:
    """A search hit as JSON: `Hit.to_dict` plus `report`, the identity of its report."""
    return {**hit.to_dict(), "report": identity_of(document)}


def parse_filters(raw: FiltersIn | dict[str, Any] | None) -> Filters | None:
    """`Filters` from the validated request (the model checks types and levels)."""
    if isinstance(raw, FiltersIn):
        raw = raw.model_dump(exclude_none=True)
    return Filters.from_mapping(raw)


def api_router(service: Service, settings: Settings, guards: Guards, telemetry: Telemetry) -> APIRouter:
    """Routes under /api plus /healthz and /metrics, bound to one service."""
    router = APIRouter()
    api = APIRouter(prefix="/api", dependencies=[Depends(guards.require_key)], tags=["api"])

    @api.post(
        "/ask",
        dependencies=[Depends(guards.rate_limited)],
        max_body_size=ASK_BODY_LIMIT,
        response_model=None,
        responses={200: {"model": AskResponse, "description": "the answer; each citation and hit has `report`"}},
    )
    def ask(body: AskRequest, request: Request) -> dict[str, Any]:
        """Answer a question with numbered citations (or `mode: "not_found"`).

        Each citation and each hit carries `report`: the identity of its report (issuer, level,
        place, genre, year, 文号…), the same fields `GET /api/documents` lists.
        """
        history = [Turn(t.question, t.answer) for t in body.history[-MAX_HISTORY_TURNS:]]
        filters = parse_filters(body.filters)
        started = time.perf_counter()
        answered = service.assistant.ask(body.question, history=history, filters=filters, k=body.k)
        telemetry.answered("api", body.question, answered, guards.client_of(request), time.perf_counter() - started)
        answer = answered.to_dict()
        for citation in answer["citations"]:
            citation["report"] = identity_of(service.document(citation["doc_id"]))
        for hit in answer["hits"]:
            hit["report"] = identity_of(service.document(hit["chunk"]["doc_id"]))
        return answer

    @api.get(
        "/search",
        response_model=None,
        responses={200: {"model": list[SearchHitOut], "description": "passages, best first, each with `report`"}},
    )
    def search(
        q: Annotated[str, Query(description="the query")],
        k: Annotated[int, Query(ge=1, le=MAX_K)] = 5,
        doc_id: Annotated[list[str] | None, Query(description="only these reports (repeatable)")] = None,
        year: Annotated[list[int] | None, Query(description="only reports of these years (repeatable)")] = None,
        publisher: Annotated[list[str] | None, Query(description="publisher contains (repeatable)")] = None,
        place: Annotated[list[str] | None, Query(description="only reports of these places, full or short (repeatable)")] = None,
        genre: Annotated[list[str] | None, Query(description="only reports of these genres (repeatable)")] = None,
        level: Annotated[list[Level] | None, Query(description="only these issuer levels (repeatable)")] = None,
    ) -> list[dict[str, Any]]:
        """The passages retrieved for a query, best first, each with `report` (its report's identity)."""
        filters = parse_filters(FiltersIn(doc_ids=doc_id, years=year, publishers=publisher,
                                          places=place, genres=genre, levels=level))
        return [hit_to_dict(h, service.document(h.chunk.doc_id)) for h in service.assistant.search(q, k=k, filters=filters)]

    @api.get(
        "/documents",
        response_model=None,
        responses={200: {"model": list[DocumentOut], "description": "the indexed reports, newest first"}},
    )
    def documents() -> list[dict[str, Any]]:
        """The indexed reports: metadata, identity (issuer, level, place, genre, year, 文号…) and chunk counts."""
        return [info.to_dict() for info in service.document_infos()]

    @api.post("/documents", dependencies=[Depends(_one_file)])
    def upload(file: Annotated[UploadFile, File(description=UPLOAD_DESCRIPTION)]) -> dict[str, Any]:
        """Add a report to the index; it is searchable as soon as this returns."""
        if not settings.allow_upload:
            raise HTTPException(403, "uploads are disabled on this server (POLICYQA_ALLOW_UPLOAD=false)")
        data = file.file.read(settings.max_upload_mb * 2**20 + 1)
        return service.add_upload(data, file.filename or "").to_dict()

    @router.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        """Liveness plus what is loaded: report and chunk counts, model, answer mode."""
        return service.status().to_dict()

    @router.get(
        "/metrics",
        tags=["health"],
        dependencies=[Depends(guards.require_key)],
        response_class=PlainTextResponse,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                         "description": "Prometheus text format"}},
    )
    def metrics() -> PlainTextResponse:
        """Requests and latencies by route, answers by mode, refusals, LLM fallbacks, index size."""
        return PlainTextResponse(telemetry.exposition(), media_type=CONTENT_TYPE_LATEST)

    router.include_router(api)
    return router


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited", 500: "internal_error",
          503: "unavailable"}


def error_body(path: str, status: int, message: str) -> dict[str, Any]:
    """Our `{"error": code, "message": text}`; under /v1 OpenAI's `{"error": {"message", "type", "code"}}`,
    which its clients read (openai raises AuthenticationError, RateLimitError… with the message)."""
    code = _CODES.get(status, "error")
    if path.startswith("/v1/"):
        kind = _OPENAI_TYPES.get(status, "invalid_request_error")
        return {"error": {"message": message, "type": kind, "code": code, "param": None}}
    return {"error": code, "message": message}


def _error(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(request.url.path, status, message), status_code=status, headers=headers)


_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error", 429: "rate_limit_error",
                 500: "server_error", 503: "server_error"}


def _describe(errors: list[dict[str, Any]]) -> str:
    """'question: the question is empty…; k: Input should be greater than or equal to 1'."""
    parts = []
    for e in errors:
        if e.get("type") == "json_invalid":
            reason = (e.get("ctx") or {}).get("error", "")
            return f"the request body is not valid JSON ({reason}); send e.g. {{\"question\": \"…\"}}"
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query")]
        parts.append(f"{'.'.join(loc) or 'body'}: {_reason(e, loc)}")
    return "; ".join(parts) or "invalid request"


def _reason(error: dict[str, Any], loc: list[str]) -> str:
    """Pydantic's message, said the way the rest of the API says it where that is clearer."""
    kind, given = error.get("type"), error.get("input")
    if kind in ("string_too_short", "string_pattern_mismatch") and loc[-1:] in (["question"], ["q"]):
        return "the question is empty: type a question, e.g. 2024年检查了多少家企业？"
    if kind == "literal_error" and {"levels", "level"} & set(loc):
        return f"unknown level {given!r:.40}; use {', '.join(LEVELS)}"
    if kind == "extra_forbidden":
        return "unknown field" + (f"; use {', '.join(FiltersIn.model_fields)}" if loc[:1] == ["filters"] else "")
    return str(error.get("msg", "invalid"))


class JsonContentTooLarge:
    """Starlette's body limit answers 413 in plain text, outside every exception handler;
    rewrite that response into our JSON error shape (wrap the whole app with it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def send_json(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 413 and _is_plain_text(message):
                replaced = True
                limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
                over = f" (over {limit / 2**20:.0f} MB)" if isinstance(limit, int) else ""
                message = f"the request body is too large{over}; ask a shorter question or upload a smaller file"
                body = json.dumps(error_body(scope["path"], 413, message), ensure_ascii=False).encode()
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 413, "headers": headers})
                await send({"type": "http.response.body", "body": body})
            elif not replaced:  # after a replacement, drop the plain-text body
                await send(message)

        await self.app(scope, receive, send_json)


def _is_plain_text(message: Message) -> bool:
    return any(k.lower() == b"content-type" and v.startswith(b"text/plain") for k, v in message.get("headers", ()))


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to a JSON body; never leak a traceback."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(request, exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(request, 400, _describe(list(exc.errors())))

    @app.exception_handler(QueryError)
    @app.exception_handler(LoadError)
    @app.exception_handler(ConfigError)
    async def bad_input(request: Request, exc: RagError) -> JSONResponse:
        return _error(request, 400, str(exc))

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
        return _error(request, 503, "the index or model is not usable right now; the server log has details")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return _error(request, 500, "internal server error; the server log has details")
