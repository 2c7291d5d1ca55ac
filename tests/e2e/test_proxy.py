"""PolicyQA behind a real nginx (Debian's package), as a portal runs it.

Two `policyqa serve` processes (hashing embedder: the server is under test, not the model)
behind one nginx: an extractive one with POLICYQA_TRUSTED_PROXIES=127.0.0.1 and a small
per-address limit plus a portal backend's API key with its own, and one in LLM mode whose
model (a fake OpenAI-compatible server here) takes two seconds, for streaming. Clients
connect from distinct loopback addresses (127.0.0.x), so nginx forwards each as itself.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from benchmarks.load import free_port, server_env, start_server
from rag.config import Settings
from rag.index.folder.persist import build_index
from rag.model.embedder import get_embedder
from tests.conftest import SAMPLE

pytestmark = pytest.mark.slow

MODEL = "hash-ngram-256"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PER_ADDRESS = 30  # questions per minute per client address
PORTAL_KEY, PORTAL_LIMIT = "p0rtal-backend", 600
QUESTION = {"question": "2024年检查吴江区科技型中小企业入库登记多少家？"}
LLM_DELAY = 2.0

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {root}/nginx-access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    client_max_body_size 25m;
    {servers}
}}
"""
SERVER_BLOCK = """
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_http_version 1.1;
            proxy_set_header Host $host:$server_port;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 300s;
        }}
    }}
"""


def _fake_llm() -> tuple[str, threading.Thread]:
    """An OpenAI-compatible chat server that thinks for LLM_DELAY seconds, then streams an answer."""
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    app = FastAPI()

    @app.post("/v1/chat/completions")
    def complete() -> StreamingResponse:
        def events() -> Iterator[str]:
            time.sleep(LLM_DELAY)
            for piece in ("检查吴江区科技型中小企业", "入库登记54家[1]。"):
                delta = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                yield f"data: {json.dumps(delta, ensure_ascii=False)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{port}/v1", thread


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """{"proxy", "llm_proxy", "direct"}: nginx in front of each server, and the first server itself."""
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: apt-get install -y nginx (make system-deps does it)")
    root = tmp_path_factory.mktemp("proxy")
    index_dir = root / "index" / "p"
    build_index([SAMPLE], index_dir, settings=Settings(model=MODEL, index_dir=index_dir), embedder=get_embedder(MODEL))
    llm_url, _ = _fake_llm()
    common = {"POLICYQA_CACHE_DIR": str(root / "cache"), "POLICYQA_TRUSTED_PROXIES": "127.0.0.1"}
    plain = server_env(MODEL, **common, POLICYQA_RATE_LIMIT_PER_MINUTE=str(PER_ADDRESS),
                       POLICYQA_API_KEYS=f"portal:{PORTAL_KEY}:{PORTAL_LIMIT}")
    llm = server_env(MODEL, **common, POLICYQA_RATE_LIMIT_PER_MINUTE="0", POLICYQA_LLM_PROVIDER="openai",
                     POLICYQA_LLM_BASE_URL=llm_url, POLICYQA_LLM_MODEL="slow")
    shutil.copytree(index_dir, root / "index" / "l")
    with start_server(index_dir, MODEL, env=plain) as server, start_server(root / "index" / "l", MODEL, env=llm) as slow:
        ports = {"proxy": free_port(), "llm_proxy": free_port()}
        upstream = {"proxy": server.url.rsplit(":", 1)[1], "llm_proxy": slow.url.rsplit(":", 1)[1]}
        blocks = "".join(SERVER_BLOCK.format(port=ports[k], upstream=upstream[k]) for k in ports)
        (root / "nginx.conf").write_text(NGINX_CONF.format(root=root, servers=blocks), encoding="utf-8")
        nginx = subprocess.Popen([NGINX, "-c", str(root / "nginx.conf"), "-p", str(root)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            urls = {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}
            _wait(urls["proxy"] + "/healthz")
            yield {**urls, "direct": server.url}
        finally:
            nginx.terminate()
            nginx.wait(10)


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail(f"nginx did not answer {url}")


def _client(address: str, **headers: str) -> httpx.Client:
    """A client whose connections come from `address` (one of 127.0.0.0/8)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), headers=headers, timeout=60)


def _asks(client: httpx.Client, url: str, n: int, **headers: str) -> list[int]:
    return [client.post(f"{url}/api/ask", json=QUESTION, headers=headers).status_code for _ in range(n)]


def _until_refused(client: httpx.Client, url: str, forge: bool = False) -> tuple[int, float, httpx.Response]:
    """Questions answered before the first 429, the seconds that took, and the 429."""
    started, answered = time.monotonic(), 0
    while True:
        headers = {"X-Forwarded-For": f"198.51.100.{answered % 250}"} if forge else {}
        r = client.post(f"{url}/api/ask", json=QUESTION, headers=headers)
        if r.status_code != 200:
            return answered, time.monotonic() - started, r
        answered += 1
        assert answered < 10 * PER_ADDRESS, "never refused"


def _within_budget(answered: int, seconds: float) -> bool:
    """The burst plus what refilled meanwhile (one token every 60/PER_ADDRESS s), and no more."""
    return PER_ADDRESS <= answered <= PER_ADDRESS + seconds * PER_ADDRESS / 60 + 1


def test_two_clients_behind_the_proxy_are_limited_separately(site: dict[str, str]) -> None:
    with _client("127.0.0.31") as first, _client("127.0.0.32") as second:
        answered, seconds, refused = _until_refused(first, site["proxy"])
        assert _within_budget(answered, seconds), (answered, seconds)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert _asks(second, site["proxy"], 3) == [200] * 3  # the other user behind the same proxy


def test_forging_the_header_gains_nothing_with_or_without_the_proxy(site: dict[str, str]) -> None:
    with _client("127.0.0.41") as direct, _client("127.0.0.42") as via:
        answered, seconds, refused = _until_refused(direct, site["direct"], forge=True)
        assert _within_budget(answered, seconds) and refused.status_code == 429, (answered, seconds)
        # through nginx: it appends the address it saw, and that one is the client
        answered, seconds, refused = _until_refused(via, site["proxy"], forge=True)
        assert _within_budget(answered, seconds) and refused.status_code == 429, (answered, seconds)


def test_a_streamed_answer_passes_through_the_proxy_unbuffered(site: dict[str, str]) -> None:
    body = {"model": "policyqa", "stream": True, "messages": [{"role": "user", "content": QUESTION["question"]}]}
    started, arrivals = time.monotonic(), []
    with _client("127.0.0.51") as client, client.stream("POST", f"{site['llm_proxy']}/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: "):
                arrivals.append((time.monotonic() - started, line[6:]))
    first, last = arrivals[0][0], arrivals[-1][0]
    assert arrivals[-1][1] == "[DONE]" and last >= LLM_DELAY
    assert first < LLM_DELAY / 2, arrivals[:2]  # the role chunk left before the model had answered


def test_a_minute_of_load_through_the_proxy(site: dict[str, str]) -> None:
    """8 clients at addresses of their own within their limit, the portal backend within its own,
    and one client over its limit: no 5xx, 429 only for the last, each with Retry-After."""
    deadline = time.monotonic() + 60
    results: dict[str, Counter[int]] = {}
    retry_after_ok: list[bool] = []

    def paced(name: str, address: str, interval: float, **headers: str) -> None:
        counts: Counter[int] = Counter()
        with _client(address, **headers) as client:
            while time.monotonic() < deadline:
                started = time.monotonic()
                r = client.post(f"{site['proxy']}/api/ask", json=QUESTION)
                counts[r.status_code] += 1
                if r.status_code == 429:
                    retry_after_ok.append(int(r.headers.get("retry-after", "0")) >= 1)
                time.sleep(max(0.0, interval - (time.monotonic() - started)))
        results[name] = counts

    users = [(f"user{n}", f"127.0.0.{60 + n}", 60 / (PER_ADDRESS * 0.8)) for n in range(8)]
    jobs = [*users, ("portal", "127.0.0.70", 60 / (PORTAL_LIMIT * 0.5)), ("greedy", "127.0.0.71", 60 / (PER_ADDRESS * 3))]
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = [pool.submit(paced, name, address, interval, **({"X-API-Key": PORTAL_KEY} if name == "portal" else {}))
                   for name, address, interval in jobs]
    for future in futures:
        future.result()  # a client's own failure (a connection error) fails the test with its reason
    print({name: dict(counts) for name, counts in results.items()})
    assert len(results) == len(jobs)
    assert not any(status >= 500 for counts in results.values() for status in counts)
    for name, _, _ in users:
        assert set(results[name]) == {200}, (name, results[name])
    assert set(results["portal"]) == {200} and results["portal"][200] > PER_ADDRESS * 2  # far beyond an address's
    assert results["greedy"][429] > 0 and results["greedy"][200] >= PER_ADDRESS
    assert retry_after_ok and all(retry_after_ok)

