"""Reliability end to end: a killed indexer, a loaded server, bad files through the CLI, access.

Real processes throughout: `python -m cli index` killed with SIGKILL at random
points, `python -m cli serve` under concurrent load while uploads re-index
(benchmarks/load.py), the CLI over a folder of hostile files with its peak
memory measured. Indexes use the HashEmbedder (`hash-ngram-256`): what is under
test is the file handling and the server, not the model. Bounded: the whole
file runs in under three minutes on a 2-core machine.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from benchmarks.load import free_port, run_load, server_env, start_server
from rag.config import Settings
from rag.index.folder import layout as store
from rag.index.folder.persist import build_index, load_index
from rag.index.folder.store import FolderIndex as Index
from rag.model.embedder import get_embedder
from rag.retrieve.hybrid import search
from tests.conftest import ROOT, SAMPLE
from tests.unit.test_bad_input import _bad_files, _changed, _tree

pytestmark = pytest.mark.slow

MODEL = "hash-ngram-256"
MB = 2**20
SOURCES = [SAMPLE, *sorted((ROOT / "tests" / "data" / "distractors").iterdir()),
           *sorted((ROOT / "evals" / "unseen" / "reports").iterdir())]


def _env(cache: Path, **extra: str) -> dict[str, str]:
    return server_env(MODEL, POLICYQA_CACHE_DIR=str(cache), **extra)


def _index_cmd(folder: Path, index_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cli", "index", str(folder), "--index", str(index_dir), *extra]


def _settings(index_dir: Path) -> Settings:
    return Settings(model=MODEL, index_dir=index_dir)


def _chunk_keys(index: Index) -> list[tuple[str, str, int, int]]:
    return sorted((c.chunk_id, c.doc_id, c.start, c.end) for c in index.chunks)


# ------------------------------------------------------------------ 3. crash safety


def _report_pool(folder: Path) -> list[Path]:
    """20 reports: the 11 real ones and 9 edited copies (new content, so new doc_ids)."""
    folder.mkdir(parents=True)
    pool = []
    for source in SOURCES:
        pool.append(folder / source.name)
        shutil.copy(source, pool[-1])
    for n, source in enumerate(s for s in SOURCES if s.suffix == ".txt"):
        if n == 9:
            break
        copy = folder / f"{source.stem}-v{n}.txt"
        copy.write_text(source.read_text(encoding="utf-8") + f"\n\n附：本报告第{n + 2}版，补充检查企业{n + 3}家。\n",
                        encoding="utf-8")
        pool.append(copy)
    return pool


class _Run:
    """`policyqa index` in a subprocess; `seen("embedding")` tells when it reached the embedding step."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err = b""
        self.embedding = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        while piece := self.process.stderr.read1(4096):  # type: ignore[attr-defined]
            self.err += piece
            if b"embedding" in self.err:
                self.embedding.set()
        self.embedding.set()  # ended (or died) before embedding anything

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        out, _ = self.process.communicate(timeout=timeout)
        self._reader.join(5)
        return self.process.returncode, out.decode() + self.err.decode(errors="replace")


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except FileNotFoundError:
        return []


def _phase(index_dir: Path, before: set[str], pid: int) -> str:
    """Where a kill landed, judged by what the killed run (`pid`) left on disk."""
    new = {p.name for p in _entries(index_dir)} - before
    current = (index_dir / "CURRENT").read_text().strip() if (index_dir / "CURRENT").exists() else None
    if current in new:
        return "after publishing"
    if any(n.startswith(".tmp-") and n.endswith(f"-{pid}") for n in new):
        return "while writing a generation"
    if any(n.startswith("gen-") for n in new):
        return "between rename and CURRENT switch"
    return "before writing"


def _mutate(folder: Path, pool: list[Path], rng: random.Random, n: int) -> None:
    """Give the next run real work: add, remove or edit a report."""
    present = sorted(folder.iterdir())
    absent = [p for p in pool if not (folder / p.name).exists()]
    action = rng.choice(["add", "add", "remove", "edit"])
    if action == "add" and absent:
        pick = rng.choice(absent)
        shutil.copy(pick, folder / pick.name)
    elif action == "remove" and len(present) > 6:
        rng.choice(present).unlink()
    else:
        victim = rng.choice([p for p in present if p.suffix in (".txt", ".md")])
        victim.write_text(victim.read_text(encoding="utf-8") + f"\n\n（更新{n}）本年度另行检查企业{n}家。\n", encoding="utf-8")


def _kill_at_random(run: _Run, index_dir: Path, rng: random.Random, aim: int, full: float) -> None:
    if aim == 1:  # a random moment after embedding started (chunking, BM25, FAISS, writing)
        run.embedding.wait(full * 2)
        time.sleep(rng.uniform(0.0, 0.6))
    elif aim == 2:  # a random moment once this run's new generation folder is being written
        mine = f"-{run.process.pid}"
        deadline = time.monotonic() + full * 2
        while time.monotonic() < deadline and run.process.poll() is None:
            if any(p.name.startswith(".tmp-") and p.name.endswith(mine) for p in _entries(index_dir)):
                break
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.03))
    else:  # anywhere in the run, imports included
        time.sleep(rng.uniform(0.2, full * 1.1))
    run.process.send_signal(signal.SIGKILL)


def test_indexer_killed_at_random_points_always_leaves_a_loadable_index(tmp_path: Path) -> None:
    """Two kills before any index exists ("no index" is the answer), then 13 kills against a live index."""
    rng = random.Random(20240601)
    pool = _report_pool(tmp_path / "pool")
    folder, index_dir, cache = tmp_path / "reports", tmp_path / "idx", tmp_path / "cache"
    folder.mkdir()
    for path in pool[:12]:
        shutil.copy(path, folder / path.name)
    env = _env(cache)

    # a complete run (into a scratch index) times the command and warms the caches
    warm = _Run(_index_cmd(folder, tmp_path / "scratch"), env)
    code, output = warm.finish()
    assert code == 0, output
    full = time.monotonic() - warm.started
    shutil.rmtree(tmp_path / "scratch")

    outcomes: dict[str, int] = {}
    loads: dict[str, int] = {}
    kills, published, budget = 0, False, time.monotonic() + 60
    ever: set[str] = {p.name for p in folder.iterdir()}
    while kills < 15 and time.monotonic() < budget:
        if kills == 2:  # publish a first generation; every later kill must leave a loadable index
            code, output = _Run(_index_cmd(folder, index_dir), env).finish()
            assert code == 0, output
        if kills >= 2:
            _mutate(folder, pool, rng, kills)
            ever |= {p.name for p in folder.iterdir()}
        before = {p.name for p in _entries(index_dir)}
        run = _Run(_index_cmd(folder, index_dir, *(["--rebuild"] if kills % 4 == 3 else [])), env)
        _kill_at_random(run, index_dir, rng, aim=kills % 3, full=full)
        code, _ = run.finish()
        kills += 1
        phase = "completed" if code == 0 else _phase(index_dir, before, run.process.pid)
        outcomes[phase] = outcomes.get(phase, 0) + 1

        try:
            index = load_index(index_dir, settings=_settings(index_dir))
        except store.IndexNotFoundError as exc:
            assert not published, f"an index was published before, yet after kill {kills}: {exc}"
            assert "no index at" in str(exc) and "policyqa index" in str(exc)
            loads["no index yet"] = loads.get("no index yet", 0) + 1
            continue
        published = True
        loads["loaded and answered"] = loads.get("loaded and answered", 0) + 1
        assert search(index, "检查企业", k=3), f"no hits after kill {kills}"
        ids = [c.chunk_id for c in index.chunks]
        assert len(ids) == len(set(ids)), f"duplicate chunks after kill {kills}"
        assert {d.source for d in index.documents.values()} <= ever

    print(f"\ncrash loop: {kills} kills in {time.monotonic() - budget + 60:.0f} s (one full run {full:.1f} s): killed {outcomes}; then {loads}")
    assert kills >= 10
    assert outcomes.get("while writing a generation", 0) >= 1, outcomes  # the aimed kills reached the writes

    code, output = _Run(_index_cmd(folder, index_dir), env).finish()
    assert code == 0, output
    final = load_index(index_dir, settings=_settings(index_dir))
    clean = build_index([folder], tmp_path / "clean", settings=_settings(tmp_path / "clean"), embedder=get_embedder(MODEL))
    assert _chunk_keys(final) == _chunk_keys(clean)  # nothing lost, nothing duplicated
    assert final.documents == clean.documents
    assert sorted(d.source for d in final.documents.values()) == sorted(p.name for p in folder.iterdir())
    assert sorted(p.name for p in index_dir.iterdir()) == [".lock", "CURRENT", final.generation]


# ------------------------------------------------------------------ 4. concurrency and load


def test_server_under_concurrent_load_while_uploads_reindex(tmp_path: Path) -> None:
    result = run_load(duration=12, clients=8, model=MODEL, work_dir=tmp_path)
    print("\n" + result.summary())
    assert result.errors == 0, result.error_samples
    assert result.requests > 100 and result.by_endpoint["ask"]["count"] > 0 and result.by_endpoint["search"]["count"] > 0
    assert [u["status"] for u in result.uploads] == [200, 200]
    assert result.documents_after == result.documents_before + 2
    assert result.during_uploads_ms["count"] > 0
    # the first upload loads the chunker's tokenizer (~26 MB) and rebuilds the index once; no growth beyond
    assert result.rss_mb_after - result.rss_mb_before < 120, result.rss_samples_mb
    assert result.server["limit_concurrency"] is None and result.server["sync_endpoint_threads"] == 40


# ------------------------------------------------------------------ 2. bad files through the CLI


def _run_measured(argv: list[str], env: dict[str, str], log: Path) -> tuple[int, str, float]:
    """Run a command, output to `log`; returns (exit code, output, the process's own peak RSS in MB)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)  # this child's rusage, not a running maximum
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, log.read_text(errors="replace"), usage.ru_maxrss / 1024


def test_cli_index_skips_hostile_files_reads_nothing_big_and_writes_only_its_index(tmp_path: Path) -> None:
    good, bad = tmp_path / "good", tmp_path / "bad"
    for folder in (good, bad):
        folder.mkdir()
        shutil.copy(SAMPLE, folder / SAMPLE.name)
        shutil.copy(SOURCES[1], folder / SOURCES[1].name)
    reasons = _bad_files(bad)
    env = _env(tmp_path / "cache")
    logs = tmp_path / "logs"
    code, output, _ = _run_measured(_index_cmd(good, tmp_path / "warm"), env, logs / "warm")  # warms the caches
    assert code == 0, output

    snapshot = _tree(tmp_path)
    code, clean_output, clean_peak = _run_measured(_index_cmd(good, tmp_path / "idx-good"), env, logs / "good")
    assert code == 0, clean_output
    code, output, peak = _run_measured(_index_cmd(bad, tmp_path / "idx-bad"), env, logs / "bad")
    print(f"\npeak RSS of `policyqa index`: {clean_peak:.0f} MB on 2 good reports, "
          f"{peak:.0f} MB with the 10 hostile files and a 50 MB text beside them")
    assert code == 0, output
    assert "2 added" in output and "2 reports" in output
    for name, reason in reasons.items():
        line = next((ln for ln in output.splitlines() if ln.startswith("  skipped") and name in ln), None)
        assert line is not None and reason in line, (name, output)
    assert "Traceback" not in output
    # Peak RSS is a high-water mark over all children so far, so compare the two runs' own figures:
    # the 50 MB file (and the bombs) must not show up in memory.
    assert peak < clean_peak + 40, (clean_peak, peak)
    written = {Path(p).relative_to(tmp_path).parts[0] for p in _changed(snapshot, _tree(tmp_path))}
    assert written == {"idx-good", "idx-bad", "logs"}


def test_cli_damaged_index_is_one_line_and_exit_2_in_a_real_process(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    env = _env(tmp_path / "cache")
    code, output, _ = _run_measured(_index_cmd(folder, tmp_path / "idx"), env, tmp_path / "index.log")
    assert code == 0, output
    vectors = store.current_generation(tmp_path / "idx") / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:100])
    for command in ("search", "ask"):
        done = subprocess.run([sys.executable, "-m", "cli", command, "检查", "--index", str(tmp_path / "idx")],
                              env=env, cwd=ROOT, capture_output=True, timeout=60)
        err = done.stderr.decode()
        assert done.returncode == 2 and done.stdout == b""
        assert err.count("\n") == 1 and err.startswith("policyqa: error: ") and "--rebuild" in err, err


# ------------------------------------------------------------------ 6. access, on a real server


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    """A real server with page login, API key and a 20 MB upload limit; yields (url, pid, index dir)."""
    root = tmp_path_factory.mktemp("guarded")
    folder = root / "reports"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    build_index([folder], root / "index" / "g", settings=_settings(root / "index" / "g"), embedder=get_embedder(MODEL))
    env = _env(root / "cache", POLICYQA_UI_USER="admin", POLICYQA_UI_PASSWORD="pw", POLICYQA_API_KEY="k3y")
    with start_server(root / "index" / "g", MODEL, env=env) as server:
        yield server.url, server.pid, root


def test_server_listens_on_loopback_only_by_default(guarded: tuple[str, int, Path]) -> None:
    _, pid, _ = guarded
    listening = [c.laddr for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening


def test_page_login_guards_the_page_api_and_uploads(guarded: tuple[str, int, Path]) -> None:
    url, _, _ = guarded
    with httpx.Client(base_url=url, timeout=30) as anonymous:
        assert anonymous.get("/config").status_code == 401
        assert anonymous.post("/gradio_api/upload", files={"files": ("a.txt", b"x")}).status_code == 401
        assert anonymous.post("/gradio_api/queue/join", json={"data": [], "fn_index": 0}).status_code == 401
        assert anonymous.get("/api/documents").status_code == 401  # the API key is separate from the login
        assert anonymous.post("/login", data={"username": "admin", "password": "nope"}).status_code == 400
    with httpx.Client(base_url=url, timeout=30) as user:
        assert user.post("/login", data={"username": "admin", "password": "pw"}).status_code == 200
        assert user.get("/config").status_code == 200


def test_a_50_mb_upload_is_refused_before_it_is_read(guarded: tuple[str, int, Path]) -> None:
    url, pid, root = guarded
    server = psutil.Process(pid)
    before_rss, before_files = server.memory_info().rss, _tree(root)
    boundary = b"pqboundary"
    head = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="huge.txt"\r\n'
            b"Content-Type: text/plain\r\n\r\n")
    tail = b"\r\n--" + boundary + b"--\r\n"
    size = 50 * MB
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        yield head
        block = "本年度共检查企业11家。".encode() * (MB // 33)
        while sent < size:
            piece = block[: size - sent]
            yield piece
            sent += len(piece)
        yield tail

    started = time.monotonic()
    try:
        r = httpx.post(f"{url}/api/documents", content=body(), timeout=60, headers={
            "X-API-Key": "k3y", "Content-Type": f"multipart/form-data; boundary={boundary.decode()}",
            "Content-Length": str(len(head) + size + len(tail))})
        status, text = r.status_code, r.text
    except httpx.HTTPError as exc:  # the server may close the connection while we are still sending
        status, text = 0, str(exc)
    took = time.monotonic() - started
    grown = (server.memory_info().rss - before_rss) / MB
    print(f"\n50 MB upload: {status} after {took:.2f} s, {sent / MB:.0f} MB sent, server RSS {grown:+.1f} MB")
    assert status in (413, 0), text  # (the 413 body is the body-limit middleware's plain "Content Too Large")
    assert grown < 25, f"the server grew {grown:.1f} MB"
    assert _changed(before_files, _tree(root)) <= {str(p) for p in root.rglob("server-*.log")}


def test_serve_warns_when_exposed_without_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    import uvicorn

    from ui.app import serve

    folder = tmp_path / "reports"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    build_index([folder], tmp_path / "idx", settings=_settings(tmp_path / "idx"), embedder=get_embedder(MODEL))
    bound: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **kw: bound.append(host))  # bind nothing
    cases = (
        ("127.0.0.1", None, None, set()),
        ("0.0.0.0", None, None, {"/api/*", "the chat page"}),
        ("0.0.0.0", "k", None, {"the chat page"}),
        ("0.0.0.0", None, "u", {"/api/*"}),
        ("0.0.0.0", "k", "u", set()),
    )
    for host, key, user, open_surfaces in cases:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="ui.app"):
            serve(Settings(model=MODEL, index_dir=tmp_path / "idx", host=host, port=free_port(), api_key=key,
                           ui_user=user, ui_password="p" if user else None))
        assert bound[-1] == host
        warned = {r.getMessage().split("can use ")[-1] for r in caplog.records if "anyone on the network" in r.getMessage()}
        assert warned == open_surfaces
