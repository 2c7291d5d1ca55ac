"""One FastAPI app: the HTTP API, the full-report view, and the chat page at /.

`create_app` wires a `Service` around an Assistant (or a factory for one) and
mounts the Gradio page; `serve` loads the index and model, then runs uvicorn
on `settings.host:settings.port` (loopback by default).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from rag.config import Settings

from .api import JsonContentTooLarge, api_router, install_error_handlers
from .chat_completions import chat_router
from .docs import install_docs
from .guards import Guards
from .openapi import UndeclaredMethods, install_openapi
from .render import render_missing_report_page, render_report_page
from .service import AssistantLike, Service
from .telemetry import RequestMetrics, Telemetry, log_access_lines_as_json

__all__ = ["create_app", "serve"]

log = logging.getLogger(__name__)

# Multipart framing around an upload of exactly max_upload_mb.
MULTIPART_OVERHEAD = 64 * 2**10
# The report view shows report text only: no scripts, no external loads, no framing elsewhere.
_REPORT_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class _PolicyQAApp(FastAPI):
    """FastAPI whose outermost layers give body-limit 413s our JSON error shape (the app-level
    limit sits outside user middleware, so a plain `add_middleware` would not see it), answer
    405 to methods the schema does not declare (else the page mounted at / says 404) and, behind
    trusted proxies, take the client's address from X-Forwarded-For (in the app, so any ASGI
    server behaves the same; `serve` turns uvicorn's own handling off)."""

    trusted_proxies: tuple[str, ...] = ()
    telemetry: Telemetry | None = None

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = JsonContentTooLarge(UndeclaredMethods(super().build_middleware_stack(), self.openapi))
        if self.telemetry is not None:
            app = RequestMetrics(app, self.telemetry)
        if self.trusted_proxies:
            # uvicorn reads a range strictly (127.0.0.1/8 would silently trust no one): pass it normalised
            trusted = [str(ipaddress.ip_network(p, strict=False)) if "/" in p else p for p in self.trusted_proxies]
            app = ProxyHeadersMiddleware(app, trusted_hosts=trusted)  # type: ignore[arg-type]
        return app


def create_app(
    assistant: AssistantLike | Callable[[], AssistantLike],
    settings: Settings | None = None,
    *,
    with_page: bool = True,
) -> FastAPI:
    """The app: /api/*, /healthz, /docs, /report/{doc_id} and the chat page at /.

    `assistant` may be a factory; it is then called on first use (tests and
    fast start-up). `with_page=False` leaves Gradio out (API-only tests).
    """
    service = Service(assistant, settings)
    settings = settings or service.settings
    app = _PolicyQAApp(
        title="PolicyQA",
        description="Cited answers over Chinese government policy reports. The chat page is at `/`.",
        version="0.1.0",
        docs_url=None,  # ui.docs serves /docs without a CDN
        redoc_url=None,
        max_body_size=settings.max_upload_mb * 2**20 + MULTIPART_OVERHEAD,
    )
    app.state.service = service
    app.trusted_proxies = settings.trusted_proxies
    telemetry = app.telemetry = Telemetry(settings, service)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key", "Authorization"],
        )
    install_error_handlers(app)
    install_openapi(app, settings)
    guards = Guards(settings)
    app.include_router(api_router(service, settings, guards, telemetry))
    app.include_router(chat_router(service, settings, guards, telemetry))
    install_docs(app)

    @app.get("/report/{doc_id}", response_class=HTMLResponse, tags=["page"])
    def report(
        doc_id: str,
        request: Request,
        start: Annotated[int | None, Query(ge=0)] = None,
        end: Annotated[int | None, Query(ge=0)] = None,
    ) -> HTMLResponse:
        """The full report text, with [start, end) highlighted as <mark id="c-{start}">."""
        if not _may_read_reports(request, app, settings, guards):
            return HTMLResponse("<!doctype html><meta charset=utf-8><p>请先登录。</p>", 401, headers=_REPORT_HEADERS)
        document = service.document(doc_id)
        if document is None:
            return HTMLResponse(render_missing_report_page(doc_id), 404, headers=_REPORT_HEADERS)
        return HTMLResponse(render_report_page(document, start, end), headers=_REPORT_HEADERS)

    if with_page:
        import gradio as gr

        from .page import CSS, build_page

        auth = (settings.ui_user, settings.ui_password) if settings.ui_user and settings.ui_password else None
        gr.mount_gradio_app(
            app,
            build_page(service, telemetry),
            path="/",
            auth=auth,
            auth_message="PolicyQA：请登录" if auth else None,
            max_file_size=settings.max_upload_mb * 2**20,
            footer_links=[],
            run_history=False,
            show_error=True,
            server_name=settings.host,
            server_port=settings.port,
            css=CSS,
            theme=gr.themes.Default(
                font=(gr.themes.LocalFont("IBM Plex Sans"), "PingFang SC", "Noto Sans CJK SC",
                      "WenQuanYi Micro Hei", "Microsoft YaHei", "sans-serif"),
            ),
        )
    return app


def _may_read_reports(request: Request, app: FastAPI, settings: Settings, guards: Guards) -> bool:
    """With page login on, the report view needs the page's session (or an API key)."""
    if not (settings.ui_user and settings.ui_password):
        return True
    if guards.sends_a_valid_key(request):
        return True
    for route in app.routes:  # the mounted Gradio app keeps the login tokens
        gradio_app = getattr(route, "app", None)
        tokens = getattr(gradio_app, "tokens", None)
        cookie_id = getattr(gradio_app, "cookie_id", None)
        if tokens is not None and cookie_id is not None:
            token = request.cookies.get(f"access-token-{cookie_id}") or request.cookies.get(
                f"access-token-unsecure-{cookie_id}"
            )
            return token is not None and token in tokens
    return False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _warm_up(assistant: AssistantLike) -> None:
    """Load the embedding model and the tokenizers now, so the first question is not the slow one."""
    embedder = getattr(assistant.index, "embedder", None)
    if embedder is not None and hasattr(embedder, "warm_up"):
        embedder.warm_up()
    try:
        # a search, not a question: it loads what answering needs (model, jieba, BM25) without
        # calling an LLM, so start-up never waits for a model server (or its timeout)
        assistant.search("2024年工作情况")
    except Exception:  # a warm-up failure must not stop the server; the first real question will report it
        log.exception("warm-up search failed")


def serve(settings: Settings | None = None) -> None:
    """Load the index and model, print the URL, and serve until interrupted."""
    import uvicorn

    from rag.answer.assistant import Assistant

    settings = settings or Settings.from_env()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("ui", "rag"):
        logging.getLogger(name).setLevel(logging.INFO)
    log_access_lines_as_json()
    started = time.perf_counter()
    assistant = Assistant.open(settings.index_dir, settings)
    loaded = time.perf_counter() - started
    _warm_up(assistant)
    warmed = time.perf_counter() - started
    app = create_app(assistant, settings)
    if not _is_loopback(settings.host):
        # The API key guards /api/*, the login guards the page: each surface is open without its own.
        if not settings.api_key:  # named keys alone leave the API open to keyless clients
            log.warning("serving on %s without POLICYQA_API_KEY: anyone on the network can use /api/*", settings.host)
        if not settings.ui_user:
            log.warning("serving on %s without POLICYQA_UI_USER/PASSWORD: anyone on the network can use the chat page",
                        settings.host)
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    print(
        f"PolicyQA: {len(assistant.index.documents)} reports, {len(assistant.index.chunks)} chunks; "
        f"index {loaded:.1f}s, model and tokenizer warm-up {warmed - loaded:.1f}s, "
        f"ready in {time.perf_counter() - started:.1f}s\n"
        f"  chat page: http://{shown}:{settings.port}/\n"
        f"  API docs:  http://{shown}:{settings.port}/docs",
        flush=True,
    )
    # proxy_headers off: uvicorn would trust X-Forwarded-For from 127.0.0.1 by default; the app
    # reads it from POLICYQA_TRUSTED_PROXIES only.
    # access_log off: uvicorn's lines hold query strings (/api/search?q=…); policyqa.access and
    # /metrics say what an operator needs without the questions.
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", proxy_headers=False, access_log=False)
