"""Load test of the real server: concurrent clients on /api/ask and /api/search while uploads re-index.

    python -m benchmarks.load [--duration 60] [--clients 8] [--model hash-ngram-256] [--out load.json]

What it does, all on this machine:

1. builds an index of the sample report in a temporary folder (HashEmbedder `hash-ngram-256` by default:
   the load is on the server, not on the model; pass --model policyqa/multilingual-e5-small for
   the real one);
2. starts `python -m cli serve` (uvicorn, one process, the chat page mounted too) on a free
   127.0.0.1 port, with the rate limit set explicitly high (POLICYQA_RATE_LIMIT_PER_MINUTE=1000000,
   so a 429 is an error here like any other non-200) and no LLM;
3. runs `clients` threads, each with its own keep-alive httpx client, asking dev-set questions
   (POST /api/ask) and searching (GET /api/search) in a seeded random mix until the deadline;
4. uploads new reports (POST /api/documents) at evenly spaced moments of the run: each is parsed,
   embedded and saved as a new index generation while the clients keep asking;
5. samples the server's resident memory (RSS) twice a second.

Prints and returns requests/s, latency p50/p95/p99/max (all, per endpoint, and during uploads),
the error count with samples, RSS before/after/peak and its trend (mean of the last quarter of
samples minus the first quarter), plus the server's concurrency settings read from the installed
uvicorn/AnyIO/Gradio defaults and `ui`. `run_load` is what tests/e2e/test_reliability.py calls.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LoadResult", "Server", "free_port", "run_load", "server_settings", "start_server", "main"]

ROOT = Path(__file__).resolve().parents[1]
REPORTS = (ROOT / "data" / "reports" / "suzhou-kjj-2024-fzzf.txt",)
UPLOADS = (
    ROOT / "evals" / "unseen" / "reports" / "taicang-2025-zfgzbg.txt",
    ROOT / "tests" / "data" / "distractors" / "wuxi-kjj-2024-fzzf.txt",
)
GOLD = ROOT / "evals" / "gold" / "seed-dev.jsonl"
SEARCHES = ("科技类校外培训机构", "行政执法", "2025年工作打算", "双随机一公开", "法治宣传教育", "行政复议")
RATE_LIMIT = 1_000_000  # per minute per client: high on purpose, so every 429 is a failure of the test


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured (milliseconds, megabytes, seconds)."""

    duration_s: float
    clients: int
    model: str
    requests: int
    errors: int
    error_samples: tuple[str, ...]
    requests_per_s: float
    latency_ms: dict[str, float]  # p50, p95, p99, max over every request
    by_endpoint: dict[str, dict[str, float]]  # "ask"/"search" -> count, p50, p95, p99, max
    during_uploads_ms: dict[str, float]  # latency of requests that overlapped an upload
    uploads: tuple[dict[str, Any], ...]  # per upload: file, status, seconds, documents after
    documents_before: int
    documents_after: int
    rss_mb_before: float
    rss_mb_after: float
    rss_mb_peak: float
    rss_mb_trend: float  # mean of the last quarter of samples minus mean of the first quarter
    rss_mb_per_min_after_uploads: float  # least-squares slope of the samples after the last upload (leak check)
    rss_samples_mb: tuple[float, ...] = field(repr=False)
    server: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        lat, ask, search = self.latency_ms, self.by_endpoint.get("ask", {}), self.by_endpoint.get("search", {})
        ups = ", ".join(f"{u['file']} {u['status']} in {u['seconds']:.2f}s" for u in self.uploads)
        return (
            f"{self.clients} clients, {self.duration_s:.0f} s, model {self.model}: {self.requests} requests, "
            f"{self.requests_per_s:.1f} req/s, errors {self.errors}\n"
            f"  latency ms  all p50 {lat['p50']:.1f} p95 {lat['p95']:.1f} p99 {lat['p99']:.1f} max {lat['max']:.1f}\n"
            f"              ask p50 {ask.get('p50', 0):.1f} p95 {ask.get('p95', 0):.1f} p99 {ask.get('p99', 0):.1f}"
            f" ({ask.get('count', 0):.0f})\n"
            f"           search p50 {search.get('p50', 0):.1f} p95 {search.get('p95', 0):.1f}"
            f" p99 {search.get('p99', 0):.1f} ({search.get('count', 0):.0f})\n"
            f"   during uploads p50 {self.during_uploads_ms.get('p50', 0):.1f}"
            f" p99 {self.during_uploads_ms.get('p99', 0):.1f} ({self.during_uploads_ms.get('count', 0):.0f})\n"
            f"  uploads: {ups}; reports {self.documents_before} -> {self.documents_after}\n"
            f"  server RSS MB before {self.rss_mb_before:.1f}, after {self.rss_mb_after:.1f}, "
            f"peak {self.rss_mb_peak:.1f}, trend (last - first quarter) {self.rss_mb_trend:+.1f}, "
            f"slope after the last upload {self.rss_mb_per_min_after_uploads:+.2f} MB/min"
        )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running `policyqa serve` subprocess."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mb(self) -> float:
        import psutil

        return psutil.Process(self.pid).memory_info().rss / 2**20


def server_env(model: str, **extra: str) -> dict[str, str]:
    """The environment the server runs with: no LLM, no database, explicit limits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_") or k == "POLICYQA_CACHE_DIR"}
    env.update(
        POLICYQA_MODEL=model,
        POLICYQA_LLM_PROVIDER="none",
        POLICYQA_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def start_server(
    index_dir: Path, model: str, *, port: int | None = None, host: str | None = None, timeout: float = 180.0,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Run `python -m cli serve --index DIR` until /healthz answers; stop it (SIGTERM, then SIGKILL) after."""
    import httpx

    port = port or free_port()
    log = Path(index_dir).parent / f"server-{port}.log"
    argv = [sys.executable, "-m", "cli", "serve", "--index", str(index_dir), "--port", str(port)]
    if host:
        argv += ["--host", host]
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, cwd=ROOT, env=env or server_env(model), stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not answer /healthz within {timeout:.0f} s; log: {log}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def server_settings() -> dict[str, Any]:
    """The concurrency settings `policyqa serve` runs with, read from the installed libraries and `ui`."""
    import anyio
    import anyio.to_thread
    import gradio
    import uvicorn

    from rag.config import Settings
    from ui.api import ASK_BODY_LIMIT, MAX_HISTORY_TURNS, MAX_K
    from ui.app import MULTIPART_OVERHEAD

    async def threads() -> int:
        return int(anyio.to_thread.current_default_thread_limiter().total_tokens)

    config = uvicorn.Config(app=None)
    defaults = Settings()
    return {
        "uvicorn": uvicorn.__version__,
        "processes": 1,  # ui.app.serve calls uvicorn.run(app, host, port): no workers option
        "event_loop": "asyncio (one loop; uvloop/httptools not installed)",
        "limit_concurrency": config.limit_concurrency,
        "backlog": config.backlog,
        "timeout_keep_alive_s": config.timeout_keep_alive,
        "h11_max_incomplete_event_size": config.h11_max_incomplete_event_size,
        "sync_endpoint_threads": anyio.run(threads),  # AnyIO's default limiter: /api/* are plain `def`
        "gradio": gradio.__version__,
        "gradio_queue_default_concurrency": 8,  # ui.page: page.queue(default_concurrency_limit=8)
        "gradio_upload_concurrency": 1,
        "index_writers": 1,  # ui.service: one writer lock; readers never wait on it
        "rate_limit_per_minute_default": defaults.rate_limit_per_minute,
        "rate_limit_scope": "POST /api/ask per client IP (X-Forwarded-For ignored); the chat page is not limited",
        "max_question_chars": defaults.max_question_chars,
        "ask_body_limit_bytes": ASK_BODY_LIMIT,
        "upload_limit_bytes": defaults.max_upload_mb * 2**20 + MULTIPART_OVERHEAD,
        "max_history_turns": MAX_HISTORY_TURNS,
        "max_k": MAX_K,
    }


def _questions() -> list[str]:
    return [json.loads(line)["question"] for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    import numpy as np

    if not values:
        return {"count": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    a = np.asarray(values, dtype=float)
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return {"count": float(len(a)), "p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(a.max())}


def _client_loop(url: str, seed: int, deadline: float, questions: Sequence[str], out: list[tuple[str, float, float, str]]) -> None:
    """Ask and search until the deadline; append (endpoint, start, seconds, outcome) per request."""
    import httpx

    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=60) as client:
        while (start := time.monotonic()) < deadline:
            endpoint = "ask" if rng.random() < 0.5 else "search"
            try:
                if endpoint == "ask":
                    r = client.post("/api/ask", json={"question": rng.choice(questions)})
                    ok = r.status_code == 200 and r.json()["mode"] in ("extractive", "not_found")
                else:
                    r = client.get("/api/search", params={"q": rng.choice(SEARCHES), "k": 5})
                    ok = r.status_code == 200 and isinstance(r.json(), list) and len(r.json()) > 0
                outcome = "ok" if ok else f"{endpoint} {r.status_code}: {r.text[:200]}"
            except httpx.HTTPError as exc:
                outcome = f"{endpoint} {type(exc).__name__}: {exc}"
            out.append((endpoint, start, time.monotonic() - start, outcome))


def _sample_rss(server: Server, stop: threading.Event, samples: list[tuple[float, float]], every: float = 0.5) -> None:
    while not stop.wait(every):
        with contextlib.suppress(Exception):
            samples.append((time.monotonic(), server.rss_mb()))


def _slope_per_min(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares MB per minute through (time, MB) points; 0 with fewer than 4."""
    import numpy as np

    if len(points) < 4:
        return 0.0
    t, mb = np.asarray(points, dtype=float).T
    return float(np.polyfit(t - t[0], mb, 1)[0] * 60.0)


def _upload(url: str, path: Path) -> dict[str, Any]:
    import httpx

    start = time.monotonic()
    r = httpx.post(f"{url}/api/documents", files={"file": (path.name, path.read_bytes())}, timeout=300)
    took = time.monotonic() - start
    body = r.json()
    return {"file": path.name, "status": r.status_code, "seconds": round(took, 3), "start": start, "end": start + took,
            "documents": body.get("documents"), "added": body.get("added"), "message": body.get("message")}


def build(index_dir: Path, model: str, reports: Sequence[Path] = REPORTS) -> int:
    """Index `reports` into `index_dir` with `model`; returns the number of chunks."""
    from rag.config import Settings
    from rag.index.folder.persist import build_index
    from rag.model.embedder import get_embedder

    settings = Settings.from_env(model=model, index_dir=index_dir)
    return len(build_index(list(reports), index_dir, settings=settings, embedder=get_embedder(model, settings.cache_dir, settings.runtime, settings.precision)))


def run_load(
    duration: float = 60.0,
    clients: int = 8,
    model: str = "hash-ngram-256",
    *,
    reports: Sequence[Path] = REPORTS,
    uploads: Sequence[Path] = UPLOADS,
    work_dir: Path | None = None,
) -> LoadResult:
    """Build, serve, load for `duration` seconds with uploads at evenly spaced moments, measure."""
    import httpx

    with contextlib.ExitStack() as stack:
        if work_dir is None:
            work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="policyqa-load-")))
        index_dir = Path(work_dir) / "index" / "load"
        build(index_dir, model, reports)
        server = stack.enter_context(start_server(index_dir, model))
        questions = _questions()
        for q in questions[:3] + list(SEARCHES[:3]):  # warm the code paths before measuring "before"
            httpx.post(f"{server.url}/api/ask", json={"question": q}, timeout=60)
        documents_before = len(httpx.get(f"{server.url}/api/documents", timeout=30).json())
        rss_before = server.rss_mb()

        records: list[tuple[str, float, float, str]] = []
        samples: list[tuple[float, float]] = [(time.monotonic(), rss_before)]
        stop = threading.Event()
        sampler = threading.Thread(target=_sample_rss, args=(server, stop, samples), daemon=True)
        sampler.start()
        started = time.monotonic()
        deadline = started + duration
        workers = [
            threading.Thread(target=_client_loop, args=(server.url, seed, deadline, questions, records), daemon=True)
            for seed in range(clients)
        ]
        for w in workers:
            w.start()
        upload_results = []
        for i, path in enumerate(uploads, start=1):
            time.sleep(max(0.0, started + duration * i / (len(uploads) + 1) - time.monotonic()))
            upload_results.append(_upload(server.url, path))
        for w in workers:
            w.join(duration + 120)
        elapsed = time.monotonic() - started
        stop.set()
        sampler.join(5)
        rss_after = server.rss_mb()
        samples.append((time.monotonic(), rss_after))
        documents_after = len(httpx.get(f"{server.url}/api/documents", timeout=30).json())

    errors = [outcome for *_, outcome in records if outcome != "ok"]
    errors += [f"upload {u['file']} {u['status']}: {u['message']}" for u in upload_results if u["status"] != 200]
    windows = [(u["start"], u["end"]) for u in upload_results]
    during = [s for _, t, s, _ in records if any(t < hi and t + s > lo for lo, hi in windows)]
    quarter = max(1, len(samples) // 4)
    mb = [m for _, m in samples]
    settled = max((u["end"] for u in upload_results), default=started) + 1.0
    return LoadResult(
        duration_s=round(elapsed, 2),
        clients=clients,
        model=model,
        requests=len(records),
        errors=len(errors),
        error_samples=tuple(errors[:10]),
        requests_per_s=round(len(records) / elapsed, 2),
        latency_ms={k: v * 1000 for k, v in _percentiles([s for _, _, s, _ in records]).items() if k != "count"},
        by_endpoint={
            e: {k: (v if k == "count" else v * 1000) for k, v in _percentiles([s for n, _, s, _ in records if n == e]).items()}
            for e in ("ask", "search")
        },
        during_uploads_ms={k: (v if k == "count" else v * 1000) for k, v in _percentiles(during).items()},
        uploads=tuple({k: v for k, v in u.items() if k not in ("start", "end")} for u in upload_results),
        documents_before=documents_before,
        documents_after=documents_after,
        rss_mb_before=round(rss_before, 1),
        rss_mb_after=round(rss_after, 1),
        rss_mb_peak=round(max(mb), 1),
        rss_mb_trend=round(sum(mb[-quarter:]) / quarter - sum(mb[:quarter]) / quarter, 1),
        rss_mb_per_min_after_uploads=round(_slope_per_min([s for s in samples if s[0] >= settled]), 2),
        rss_samples_mb=tuple(round(m, 1) for m in mb),
        server=server_settings(),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--model", default="hash-ngram-256", help="embedding model of the index (default hash-ngram-256)")
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)
    result = run_load(args.duration, args.clients, args.model)
    print(result.summary())
    print("server settings: " + json.dumps(result.server, ensure_ascii=False))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(asdict(result), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
