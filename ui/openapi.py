"""The OpenAPI schema as this server behaves: /openapi.json tells clients (and schemathesis) the truth.

FastAPI derives most of it from the endpoints; what it cannot know is added here from the
settings: the question's length limit, whether an API key is required (security is declared
exactly when one is configured), every error status with our JSON error shape (validation
errors are 400 here, never FastAPI's 422), and the report view's HTML answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.config import Settings, client_keys
from rag.retrieve.query import USABLE_CHARACTER

from .api import error_body
from .chat_completions import ChatCompletionChunk

__all__ = ["ErrorBody", "UndeclaredMethods", "install_openapi"]

class ErrorBody(BaseModel):
    """Every 4xx/5xx response body."""

    error: str = Field(description="a stable code, e.g. bad_request, unauthorized, rate_limited")
    message: str = Field(description="what went wrong and how to fix it")


class OpenAIError(BaseModel):
    message: str
    type: str = Field(description="invalid_request_error, authentication_error, rate_limit_error, server_error…")
    code: str | None
    param: str | None


class OpenAIErrorBody(BaseModel):
    """Every 4xx/5xx response body under /v1 (the shape OpenAI's clients read)."""

    error: OpenAIError


_JSON_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
_OPENAI_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIErrorBody"}}}}
_HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Replace `app.openapi` with FastAPI's schema corrected for `settings` (built once, cached)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _corrected(build(), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _corrected(schema: dict[str, Any], settings: Settings) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    for model in (ErrorBody, OpenAIErrorBody):
        _add_component(schema, model)
    _describe_stream_events(schema)
    for name in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(name, None)
    if not client_keys(settings):
        components.pop("securitySchemes", None)
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            _correct_operation(path, method, op, settings)
    _state_question_rules(schema, settings.max_question_chars)
    _require_a_nonempty_file(schema)
    return schema


def _correct_operation(path: str, method: str, op: dict[str, Any], settings: Settings) -> None:
    responses = op.setdefault("responses", {})
    responses.pop("422", None)
    if path.startswith("/report/"):
        responses["200"] = {"description": "the report, the cited span highlighted", **_HTML}
        responses["400"] = {"description": "start or end is not a whole number ≥ 0", **_JSON_ERROR}
        responses["404"] = {"description": "no report with this id is indexed", **_HTML}
        if settings.ui_user and settings.ui_password:
            responses["401"] = {"description": "log in on the chat page first (or send the API key)", **_HTML}
        return
    if path == "/metrics":
        _correct_security(op, settings)
        if _unauthorized(settings):
            responses["401"] = {"description": _unauthorized(settings), **_JSON_ERROR}
        return
    if not path.startswith(("/api/", "/v1/")):
        return
    _correct_security(op, settings)
    errors = {
        "400": "invalid request (the message says which field)",
        "401": _unauthorized(settings),
        "503": "the index or model is not usable right now",
    }
    if method == "post":
        errors["413"] = "request body too large"
    if path in ("/api/ask", "/v1/chat/completions"):
        errors["429"] = "too many questions from this client (see Retry-After)"
    if path == "/api/documents" and method == "post":
        errors["400"] = "the file cannot be read as a report (unsupported type, empty, not text, broken or scanned)"
        errors["403"] = "uploads are disabled on this server"
    shape = _OPENAI_ERROR if path.startswith("/v1/") else _JSON_ERROR
    for status, description in errors.items():
        if description:
            responses[status] = {"description": description, **shape}


def _describe_stream_events(schema: dict[str, Any]) -> None:
    """A streamed chat answer's events: each `data:` is a chunk, an error, or the final [DONE]
    (before OpenAPI 3.2's itemSchema, `schema` of an event stream describes one event)."""
    operation = schema.get("paths", {}).get("/v1/chat/completions", {}).get("post")
    if operation is None:
        return
    _add_component(schema, ChatCompletionChunk)
    payload = {"anyOf": [{"$ref": "#/components/schemas/ChatCompletionChunk"},
                         {"$ref": "#/components/schemas/OpenAIErrorBody"}]}
    data = {"anyOf": [{"const": "[DONE]"},
                      {"type": "string", "contentMediaType": "application/json", "contentSchema": payload}]}
    event = {"type": "object", "required": ["data"], "properties": {"data": data}}
    operation["responses"]["200"]["content"]["text/event-stream"] = {"schema": event}


def _add_component(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """`model` and the models it uses as components of `schema`."""
    definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema["components"]["schemas"].update(definition.pop("$defs", {}))
    schema["components"]["schemas"][model.__name__] = definition


def _unauthorized(settings: Settings) -> str | None:
    """The 401's description, when a 401 can happen: a key required, or a wrong one sent."""
    if not client_keys(settings):
        return None
    return "API key missing or wrong" if settings.api_key else "API key wrong (none is required)"


def _correct_security(op: dict[str, Any], settings: Settings) -> None:
    """No security without keys; optional (`{}` first) with named keys alone; else required."""
    if not client_keys(settings):
        op.pop("security", None)
    elif not settings.api_key and "security" in op:
        op["security"] = [{}, *op["security"]]


def _require_a_nonempty_file(schema: dict[str, Any]) -> None:
    """An empty upload is refused (400), so the form's file has at least one byte."""
    upload = schema.get("paths", {}).get("/api/documents", {}).get("post", {})
    form = upload.get("requestBody", {}).get("content", {}).get("multipart/form-data", {})
    name = form.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
    file = schema["components"]["schemas"].get(name, {}).get("properties", {}).get("file")
    if file is not None:
        file["minLength"] = 1


def _state_question_rules(schema: dict[str, Any], limit: int) -> None:
    """What `clean_query` enforces (the length limit is a setting), stated where questions are sent."""
    rules = {"minLength": 1, "maxLength": limit, "pattern": USABLE_CHARACTER}
    schemas = schema["components"]["schemas"]
    if "AskRequest" in schemas:
        schemas["AskRequest"]["properties"]["question"].update(rules)
    if "UserMessage" in schemas:  # a chat's user messages are questions: a string, or one text part
        for branch in schemas["UserMessage"]["properties"]["content"]["anyOf"]:
            if branch.get("type") == "string":
                branch.update(rules)
        schemas.get("QuestionPart", {}).get("properties", {}).get("text", {}).update(rules)
        request = schemas["ChatCompletionRequest"]["properties"]["messages"]
        request["contains"] = {"$ref": "#/components/schemas/UserMessage"}
    search = schema.get("paths", {}).get("/api/search", {}).get("get", {})
    for parameter in search.get("parameters", []):
        if parameter.get("name") == "q":
            parameter["schema"].update(rules)


class UndeclaredMethods:
    """405 with `Allow` for a method the schema does not declare on one of its paths.

    HEAD passes where GET is declared, and CORS preflights pass to the CORS layer inside.
    """

    def __init__(self, app: ASGIApp, schema: Callable[[], dict[str, Any]]) -> None:
        self.app = app
        self._schema = schema
        self._paths: list[tuple[re.Pattern[str], set[str]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = self._allowed(scope["path"]) if scope["type"] == "http" else None
        method = scope.get("method", "")
        if allowed is None or method in allowed or _is_preflight(scope):
            await self.app(scope, receive, send)
            return
        shown = ", ".join(sorted(allowed))
        message = f"{method} is not allowed here; use {shown}"
        body = json.dumps(error_body(scope["path"], 405, message), ensure_ascii=False).encode()
        headers = [(b"content-type", b"application/json"), (b"allow", shown.encode()),
                   (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 405, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _allowed(self, path: str) -> set[str] | None:
        if self._paths is None:
            self._paths = [
                (compile_path(template)[0], _methods(operations))
                for template, operations in self._schema().get("paths", {}).items()
            ]
        return next((methods for pattern, methods in self._paths if pattern.match(path)), None)


def _methods(operations: dict[str, Any]) -> set[str]:
    methods = {m.upper() for m in operations if m.upper() in _HTTP_METHODS}
    return methods | {"HEAD"} if "GET" in methods else methods


_HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}


def _is_preflight(scope: Scope) -> bool:
    return scope.get("method") == "OPTIONS" and any(k == b"access-control-request-method" for k, _ in scope["headers"])
