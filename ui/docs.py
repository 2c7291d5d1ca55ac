"""API documentation at /docs that works offline.

FastAPI's default /docs loads Swagger UI from a CDN, which shows a blank page
on a machine without internet. When the `swagger-ui-bundle` package is
installed its local copy is served instead; otherwise /docs is a plain HTML
reference generated from the OpenAPI schema (always next to /openapi.json).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from .render import escape

__all__ = ["install_docs", "render_reference"]

_STYLE = """
body{font-family:"PingFang SC","Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;line-height:1.6;color:#1f2328}
.op{border:1px solid #d0d7de;border-radius:8px;padding:.6rem 1rem;margin:1rem 0}
.method{font-weight:700;display:inline-block;min-width:4.5rem}.path{font-family:monospace;font-size:1.05rem}
code,pre{background:#f6f8fa;border-radius:4px;padding:.1rem .3rem}pre{padding:.6rem;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.2rem .5rem;text-align:left}
"""

_EXAMPLE = """curl -s http://127.0.0.1:7860/api/ask -H 'Content-Type: application/json' \\
     -d '{"question": "2024年检查了多少家企业？"}'"""


def install_docs(app: FastAPI) -> None:
    """Serve /docs (create the app with docs_url=None, redoc_url=None)."""
    try:
        from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-not-found]
    except ImportError:
        swagger_ui_path = None

    if swagger_ui_path is not None:
        from fastapi.staticfiles import StaticFiles

        app.mount("/docs-assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

        @app.get("/docs", include_in_schema=False)
        def swagger() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url="openapi.json",
                title=f"{app.title} API",
                swagger_js_url="docs-assets/swagger-ui-bundle.js",
                swagger_css_url="docs-assets/swagger-ui.css",
                swagger_favicon_url="",
            )

        return

    @app.get("/docs", include_in_schema=False)
    def reference() -> HTMLResponse:
        return HTMLResponse(render_reference(app.openapi()))


def render_reference(schema: dict[str, Any]) -> str:
    """A self-contained HTML page listing every operation of an OpenAPI schema."""
    info = schema.get("info", {})
    parts = [
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{escape(info.get('title', 'API'))} API</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(info.get('title', 'API'))} HTTP API <small>{escape(info.get('version', ''))}</small></h1>",
        f"<p>{escape(info.get('description', ''))}</p>",
        '<p>Machine-readable schema: <a href="openapi.json">openapi.json</a>. '
        "When the server has an API key, send it as <code>X-API-Key</code> or "
        "<code>Authorization: Bearer …</code>. Errors are JSON: "
        "<code>{\"error\": code, \"message\": text}</code>.</p>",
        f"<pre>{escape(_EXAMPLE)}</pre>",
    ]
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            parts.append(_operation(path, method, op))
    components = schema.get("components", {}).get("schemas", {})
    if components:
        parts.append("<h2>Schemas</h2>")
        for name, component in components.items():
            parts.append(_component(name, component))
    parts.append("</body></html>")
    return "".join(parts)


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    out = [
        '<div class="op">',
        f'<div><span class="method">{escape(method.upper())}</span><span class="path">{escape(path)}</span></div>',
        f"<p><strong>{escape(op.get('summary', ''))}</strong> {escape(op.get('description', ''))}</p>",
    ]
    params = op.get("parameters", [])
    if params:
        out.append("<table><tr><th>parameter</th><th>in</th><th>required</th><th>type</th><th>description</th></tr>")
        for p in params:
            out.append(
                f"<tr><td><code>{escape(p.get('name', ''))}</code></td><td>{escape(p.get('in', ''))}</td>"
                f"<td>{'yes' if p.get('required') else 'no'}</td><td>{escape(_type(p.get('schema', {})))}</td>"
                f"<td>{escape(p.get('description', ''))}</td></tr>"
            )
        out.append("</table>")
    body = op.get("requestBody", {}).get("content", {})
    for content_type, content in body.items():
        out.append(f"<p>Body (<code>{escape(content_type)}</code>): <code>{escape(_type(content.get('schema', {})))}</code></p>")
    codes = ", ".join(escape(code) for code in op.get("responses", {}))
    if codes:
        out.append(f"<p>Responses: {codes}</p>")
    out.append("</div>")
    return "".join(out)


def _component(name: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    out = [f'<div class="op"><strong id="{escape(name)}">{escape(name)}</strong>']
    properties = schema.get("properties", {})
    if properties:
        out.append("<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>")
        for field, prop in properties.items():
            out.append(
                f"<tr><td><code>{escape(field)}</code></td><td>{escape(_type(prop))}</td>"
                f"<td>{'yes' if field in required else 'no'}</td><td>{escape(prop.get('description', ''))}</td></tr>"
            )
        out.append("</table>")
    out.append("</div>")
    return "".join(out)


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"array of {_type(schema.get('items', {}))}"
    return str(schema.get("type", json.dumps(schema, ensure_ascii=False)[:60]))
