"""The chat page (Gradio Blocks): ask, read cited answers, filter by place, genre and year, upload.

Every chat message is one HTML block built by `ui.render` from escaped text,
so the chatbot's Markdown never touches report text and its sanitiser is a
second line of defence, not the first. Handlers are plain functions of the
service; the Blocks only wire them to components.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag.errors import LoadError, RagError
from rag.types import Answer, Turn

from .facets import Choices, filter_choices, page_filters
from .render import escape, render_answer, render_error, render_text
from .service import Service
from .telemetry import Telemetry

__all__ = ["EXAMPLES", "CSS", "build_page", "ChatHandlers"]

log = logging.getLogger(__name__)

# Over the bundled reports (data/reports): the sample report; a year-sensitive question (the 2025 and 2026
# Jiangsu reports each set a growth target: 增长5%以上 / 按增长5%安排); the national reports; and a report
# that is not bundled (no 统计公报 is indexed).
EXAMPLES = (
    "2024年检查了多少家企业？",
    "2025年江苏省地区生产总值增长目标是多少？",
    "2022年国内生产总值增长预期目标是多少？",
    "2024年江苏省统计公报里GDP是多少？",
)
FILTER_HELP = (
    "不选即全部报告。同一项可多选（满足其一即可），不同项同时满足；"
    "“全国（国务院）”与省份同选，即国务院文件或这些省份的报告。"
)
UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"]
HISTORY_TURNS = 6  # earlier turns passed on for follow-ups

CSS = """
.pq-status {color: var(--body-text-color-subdued); font-size: .9rem;}
.pq-answer .pq-text {margin-bottom: .5rem; line-height: 1.8;}
.pq-ok {color: #237804; background: #f6ffed; border-radius: 6px; padding: .3rem .6rem;}
.pq-notice, .pq-error {color: #ad4e00; background: #fff7e6; border-radius: 6px; padding: .3rem .6rem; margin-bottom: .4rem;}
.pq-not-found {font-size: 1.05rem; margin-bottom: .4rem;}
.pq-cards-label {font-weight: 600; margin: .4rem 0 .3rem; color: var(--body-text-color-subdued);}
.pq-cards {display: flex; flex-direction: column; gap: .5rem;}
.pq-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .5rem .7rem;
          background: var(--background-fill-primary);}
.pq-card-head {font-weight: 600;}
.pq-marker {color: #1677ff; margin-right: .4rem;}
.pq-identity {color: #1f2328; font-size: .85rem; margin: .1rem 0 0;}
.pq-section {color: #59636e; font-size: .85rem; margin: .1rem 0 .3rem;}
.pq-context {font-size: .92rem; line-height: 1.7; word-break: break-word;}
.pq-context mark {background: #ffe58f; color: inherit; padding: 0 .1em;}
.pq-open {font-size: .85rem;}
.pq-hit .pq-marker {color: var(--body-text-color-subdued);}
.pq-rewritten {color: var(--body-text-color-subdued); font-size: .8rem; margin-top: .4rem;}
.pq-q {white-space: pre-wrap;}
.pq-parts {border-collapse: collapse; margin-bottom: .5rem; width: 100%;}
.pq-parts th, .pq-parts td {border: 1px solid var(--border-color-primary); padding: .3rem .5rem; text-align: left;
                            vertical-align: top; line-height: 1.7;}
.pq-parts thead th {background: var(--background-fill-secondary);}
.pq-part-missing td {color: var(--body-text-color-subdued);}
.pq-calc {background: #f0f5ff; border-radius: 6px; padding: .3rem .6rem; margin-bottom: .4rem;}
"""


def _user_message(question: str) -> dict[str, str]:
    return {"role": "user", "content": f'<div class="pq-q">{escape(question)}</div>'}


def _assistant_message(html: str) -> dict[str, str]:
    return {"role": "assistant", "content": html}


class ChatHandlers:
    """The page's event handlers, as plain methods of one service (testable without a browser)."""

    def __init__(self, service: Service, telemetry: Telemetry | None = None) -> None:
        self.service = service
        self.telemetry = telemetry

    def status_html(self) -> str:
        s = self.service.status()
        mode = s.mode_label + (f"（{s.llm_model}）" if s.llm_model else "")
        return (
            f'<div class="pq-status">已索引 {s.documents} 份报告 · {s.chunks} 个段落 · '
            f"向量模型 {escape(s.model)} · 模式：{escape(mode)}</div>"
        )

    def filter_choices(self) -> Choices:
        """The filters' choices, from the index as it is now."""
        return filter_choices(self.service.document_infos())

    def refresh(self) -> tuple[str, Any, Any, Any, Any]:
        """(status line, place, genre, year and report choices) as Gradio updates."""
        c = self.filter_choices()
        updates = (gr.update(choices=choices) for choices in (c.places, c.genres, c.years, c.reports))
        return (self.status_html(), *updates)

    def respond(
        self,
        question: str,
        chat: list[dict[str, Any]] | None,
        turns: list[list[str]] | None,
        places: Sequence[str] | None = None,
        genres: Sequence[str] | None = None,
        years: Sequence[str] | None = None,
        doc_ids: Sequence[str] | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], list[list[str]], str]]:
        """Stream one exchange: yields (chat, turns, question box) as the answer grows.

        The filter choices become `Filters` as `ui.facets.page_filters` says. Each yield is
        a fresh list: Gradio may still be sending the previous one.
        """
        chat = list(chat or [])
        turns = list(turns or [])
        if not (question or "").strip():
            yield list(chat), list(turns), ""
            return
        chat += [_user_message(question), _assistant_message('<div class="pq-answer">正在检索…</div>')]
        yield list(chat), list(turns), ""
        history = [Turn(q, a) for q, a in turns[-HISTORY_TURNS:]]
        try:
            filters = page_filters(places, genres, years, doc_ids, self.service.documents())
            answer: Answer | None = None
            written = ""
            started = time.perf_counter()
            for event in self.service.assistant.stream(question, history=history, filters=filters):
                if isinstance(event, Answer):
                    answer = event
                else:
                    written += event
                    chat[-1] = _assistant_message(f'<div class="pq-answer"><div class="pq-text">{render_text(written)}</div></div>')
                    yield list(chat), list(turns), ""
            assert answer is not None, "the assistant ended without an answer"
            if self.telemetry is not None:
                self.telemetry.answered("page", question, answer, "page", time.perf_counter() - started)
        except RagError as exc:
            chat[-1] = _assistant_message(render_error(f"无法回答：{exc}"))
            yield list(chat), list(turns), ""
            return
        except Exception:
            log.exception("answering a question (%d characters) failed", len(question))
            chat[-1] = _assistant_message(render_error("出错了，请稍后再试（详情见服务器日志）。"))
            yield list(chat), list(turns), ""
            return
        chat[-1] = _assistant_message(render_answer(answer, self.service.documents()))
        turns.append([question, answer.text])
        yield list(chat), list(turns), ""

    def answer_html(
        self,
        question: str,
        places: list[str] | None = None,
        genres: list[str] | None = None,
        years: list[str] | None = None,
        doc_ids: list[str] | None = None,
    ) -> str:
        """One question answered as the chat page shows it (the answer and its citation cards, as
        HTML), with the page's filters: the page's API for scripts (`gradio_client`, api_name "/ask")."""
        if not (question or "").strip():
            return render_error("问题不能为空。")
        *_, (chat, _, _) = self.respond(question, [], [], places, genres, years, doc_ids)
        return str(chat[-1]["content"])

    def upload(self, path: str | None, progress: Any = None) -> tuple[Any, ...]:
        """Index an uploaded file; returns (message, status, the four filters' choices, cleared file box)."""
        if not path:
            return ("", *self.refresh(), None)

        def report(fraction: float, text: str) -> None:
            if progress is not None:
                progress(fraction, desc=text)

        name = Path(path).name
        try:
            result = self.service.add_upload(Path(path).read_bytes(), name, progress=report)
            message = f'<div class="pq-msg pq-ok">{escape(name)}：{escape(result.message)}</div>'
        except LoadError as exc:
            message = f'<div class="pq-msg pq-error">⚠ 无法加入 {escape(name)}：{escape(exc.reason)}</div>'
        except RagError as exc:
            message = f'<div class="pq-msg pq-error">⚠ 无法加入 {escape(name)}：{escape(str(exc))}</div>'
        except Exception:
            log.exception("indexing upload %s failed", name)
            message = f'<div class="pq-msg pq-error">⚠ 无法加入 {escape(name)}：服务器内部错误（详情见日志）。</div>'
        return (message, *self.refresh(), None)


def build_page(service: Service, telemetry: Telemetry | None = None) -> gr.Blocks:
    """The Blocks of the chat page (mount with `gr.mount_gradio_app`)."""
    handlers = ChatHandlers(service, telemetry)
    settings = service.settings

    def upload(path: str | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008 (Gradio's idiom)
        return handlers.upload(path, progress)

    # delete_cache: Gradio keeps every uploaded file in its temp folder; drop them after an hour.
    with gr.Blocks(title="PolicyQA 政策报告问答", analytics_enabled=False, delete_cache=(3600, 3600)) as page:
        gr.HTML('<h2 style="margin:.2rem 0">PolicyQA · 政策报告问答</h2>'
                '<div class="pq-status">回答只来自已索引的报告原文，每条结论都附出处，可点开查看原文。</div>')
        status = gr.HTML(elem_id="pq-status")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="对话",
                    elem_id="pq-chat",
                    height=640,
                    sanitize_html=True,
                    latex_delimiters=[],
                    buttons=["copy"],
                    feedback_options=None,
                    placeholder="请输入关于报告的问题，或点击下方示例问题开始。",
                )
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="输入问题，例如：2024年检查了多少家企业？",
                        show_label=False,
                        scale=5,
                        max_lines=4,
                        max_length=settings.max_question_chars,
                        elem_id="pq-question",
                        autofocus=True,
                    )
                    ask = gr.Button("提问", variant="primary", scale=1, elem_id="pq-ask")
                gr.HTML('<div class="pq-status">示例问题（点击即可提问）：</div>')
                with gr.Row():
                    example_buttons = [
                        gr.Button(q, size="sm", elem_classes="pq-example", min_width=120) for q in EXAMPLES
                    ]
                    clear = gr.Button("清空对话", size="sm", variant="secondary", elem_id="pq-clear", min_width=80)
            with gr.Column(scale=2):
                with gr.Group():
                    places = gr.Dropdown(label="地区", multiselect=True, choices=[], elem_id="pq-places")
                    genres = gr.Dropdown(label="文种", multiselect=True, choices=[], elem_id="pq-genres")
                    years = gr.Dropdown(label="年份", multiselect=True, choices=[], elem_id="pq-years")
                gr.HTML(f'<div class="pq-status">{escape(FILTER_HELP)}</div>')
                with gr.Accordion("指定报告（可输入标题搜索）", open=False, elem_id="pq-reports-box"):
                    reports = gr.Dropdown(
                        label="只在这些报告中查找", multiselect=True, choices=[], elem_id="pq-reports"
                    )
                upload_box = gr.File(
                    label="上传报告（txt / html / md / pdf / docx），上传后即可提问",
                    file_types=UPLOAD_TYPES,
                    file_count="single",
                    type="filepath",
                    elem_id="pq-upload",
                    visible=settings.allow_upload,
                    height=180,
                )
                upload_message = gr.HTML(elem_id="pq-upload-message", visible=settings.allow_upload)
                if not settings.allow_upload:
                    gr.HTML('<div class="pq-status">本服务器未开放上传。</div>')
                gr.HTML('<div class="pq-status">HTTP API 文档：<a href="docs" target="_blank">/docs</a></div>')
        turns = gr.State([])

        chat_io: dict[str, Any] = dict(
            fn=handlers.respond,
            inputs=[question, chatbot, turns, places, genres, years, reports],
            outputs=[chatbot, turns, question],
            api_visibility="private",
            show_progress="minimal",
        )
        ask.click(**chat_io)
        question.submit(**chat_io)
        gr.api(handlers.answer_html, api_name="ask")  # for scripts: gradio_client's predict(q, api_name="/ask")
        for button in example_buttons:
            button.click(lambda q=button.value: q, outputs=question, api_visibility="private").then(**chat_io)
        clear.click(lambda: ([], [], ""), outputs=[chatbot, turns, question], api_visibility="private")
        chatbot.clear(lambda: [], outputs=turns, api_visibility="private")  # the chatbot's own 🗑 button
        if settings.allow_upload:
            upload_box.upload(
                upload,
                inputs=upload_box,
                outputs=[upload_message, status, places, genres, years, reports, upload_box],
                api_visibility="private",
                concurrency_limit=1,
            )
        page.load(handlers.refresh, outputs=[status, places, genres, years, reports], api_visibility="private")
    page.queue(default_concurrency_limit=8)
    return page
