"""One benchmark task in a fresh process, so memory deltas and latencies do not leak between tasks.

    python -m benchmarks.worker '{"task": "ours-serve", ...}'

prints progress on stderr and one JSON object (the result) as its last stdout
line. `benchmarks.run` starts these; they are not meant to be run by hand.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "TASKS", "summarise"]

HASH_DIM = 384  # the real model's dimension, so vectors cost what real ones cost
WARM_UP = ("这份报告主要讲了哪些工作？", "法治政府建设存在哪些问题？", "下一年度工作打算是什么？")


# ----------------------------------------------------------------------------- helpers


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def peak_rss() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # Linux reports KiB


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def summarise(ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/mean/max of latencies in milliseconds."""
    import numpy as np

    a = np.asarray(ms, dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size),
        "p50": round(float(np.percentile(a, 50)), 3),
        "p95": round(float(np.percentile(a, 95)), 3),
        "mean": round(float(a.mean()), 3),
        "max": round(float(a.max()), 3),
    }


def timed(fn: Callable[[str], Any], queries: Sequence[str], rounds: int = 1) -> list[float]:
    out = []
    for _ in range(rounds):
        for q in queries:
            t0 = time.perf_counter()
            fn(q)
            out.append((time.perf_counter() - t0) * 1000)
    return out


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _hash_embedder() -> Any:
    from rag.model.embedder import get_embedder

    return get_embedder(f"hash-ngram-{HASH_DIM}")


def _real_query_embedder(system: str) -> Any:
    """The real model as each system embeds a question: ours (ONNX Runtime when possible) or the
    baseline's (sentence-transformers on PyTorch, as `HuggingFaceEmbeddings` runs it). Warmed up."""
    from rag.config import Settings
    from rag.model.embedder import get_embedder

    settings = Settings.from_env(llm_provider="none", database_url=None)
    embedder = get_embedder(settings.model, settings.cache_dir, settings.runtime, settings.precision)
    if system == "baseline":
        from evals.baseline import baseline_embedder

        embedder = baseline_embedder(embedder, settings.cache_dir)
    embedder.embed_query("预热")
    return embedder


def _query_latency(embedder: Any, search: Callable[[str], Any], queries: Sequence[str]) -> list[float]:
    """What a user waits for: the real model embeds the question, then the index is searched.

    The synthetic indexes hold hash vectors, so the search itself runs on the question's
    hash vector; the real vector (same dimension, so the same FAISS cost) is computed and
    dropped. One pass over distinct questions: our query cache never hits.
    """
    return timed(lambda q: (embedder.embed_query(q), search(q)), queries)


def _settings(index_dir: Path | None = None, model: str | None = None) -> Any:
    from rag.config import Settings

    return Settings.from_env(
        model=model or f"hash-ngram-{HASH_DIM}", index_dir=index_dir, llm_provider="none", database_url=None
    )


def _synth(size: int, seed: int, token_cache: str | None) -> tuple[Any, Any, dict[str, Any]]:
    """The corpus of `size` chunks; with `token_cache`, BM25 tokens too (cache file read and updated)."""
    from .synth import Synthesizer, TokenCache, load_pool

    pool = load_pool()
    cache = None
    if token_cache:
        known: dict[str, tuple[str, ...]] = {}
        path = Path(token_cache)
        if path.is_file():
            with path.open("rb") as f:
                known = pickle.load(f)
        cache = TokenCache(known=known)
        cache("预热")  # load jieba and the dictionaries outside the timing
        before = len(cache)
    t0 = time.perf_counter()
    corpus = Synthesizer(pool, seed=seed, tokens=cache).corpus(size)
    seconds = time.perf_counter() - t0
    info: dict[str, Any] = {
        "synth_s": round(seconds, 2),
        "documents": len(corpus.documents),
        "chunks": len(corpus.chunks),
        "chunk_chars": sum(len(c.text) for c in corpus.chunks),
        "text_mb": round(sum(len(d.text.encode("utf-8")) for d in corpus.documents) / 2**20, 2),
    }
    if cache is not None:
        info.update(token_units=len(cache), token_units_new=len(cache) - before, token_cache_hits=cache.hits)
        if len(cache) > before:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            with tmp.open("wb") as f:
                pickle.dump(cache.snapshot(), f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
    return corpus, cache, info


# ----------------------------------------------------------------------------- tasks


def task_ours_build(args: dict[str, Any]) -> dict[str, Any]:
    """Synthesise `size` chunks and build + save our index into `index_dir`."""
    from .build import build_ours

    r0 = rss()
    corpus, _, info = _synth(args["size"], args["seed"], args["token_cache"])
    _log(f"ours-build {args['size']}: corpus ready ({info['synth_s']}s), building")
    r1 = rss()
    embedder = _hash_embedder()
    index_dir = Path(args["index_dir"])
    index, times = build_ours(corpus, index_dir, embedder, hnsw=args.get("hnsw"))
    r2 = rss()
    return {
        **info,
        "build_s": round(times.total, 2),
        "embed_s": round(times.embed, 2),
        "keyword_s": round(times.keyword, 2),
        "dense_s": round(times.dense, 2),
        "save_s": round(times.save, 2),
        "index_type": times.index_type,
        "index_params": times.index_params,
        "disk_bytes": dir_bytes(index_dir),
        "rss_corpus_bytes": r1 - r0,
        "rss_build_delta_bytes": r2 - r1,
        "peak_rss_bytes": peak_rss(),
        "load_avg": _load(),
    }


def task_ours_serve(args: dict[str, Any]) -> dict[str, Any]:
    """Open a saved index (memory-mapped) and time search, filtered search and ask."""
    from rag.answer.assistant import Assistant
    from rag.index.filters import Filters
    from rag.index.folder.persist import load_index
    from rag.retrieve.hybrid import search

    queries: list[str] = args["queries"]
    settings = _settings(Path(args["index_dir"]))
    import rag.retrieve.hybrid  # noqa: F401  (imports outside the load timing)

    real = _real_query_embedder("ours") if args.get("real_query") else None  # loaded outside the RSS delta
    r0 = rss()
    t0 = time.perf_counter()
    index = load_index(args["index_dir"], embedder=_hash_embedder(), settings=settings, mmap=True)
    load_s = time.perf_counter() - t0
    r1 = rss()
    assistant = Assistant(index, settings)
    for q in WARM_UP:
        search(index, q, k=5)
        assistant.ask(q)
    # the first pass pages the memory-mapped index in from disk: recorded apart, as "cold"
    cold = timed(lambda q: search(index, q, k=5), queries)
    search = timed(lambda q: search(index, q, k=5), queries, args.get("rounds", 2))
    years = Filters(years=frozenset({2024}))
    filtered = timed(lambda q: search(index, q, k=5, filters=years), queries[: max(10, len(queries) // 2)])
    ask = timed(assistant.ask, queries)
    query = _query_latency(real, lambda q: search(index, q, k=5), queries) if real is not None else None
    r2 = rss()
    return {
        "query_ms": summarise(query) if query else None,
        "load_s": round(load_s, 2),
        "search_cold_ms": summarise(cold),
        "search_ms": summarise(search),
        "search_filtered_ms": summarise(filtered),
        "ask_ms": summarise(ask),
        "rss_load_bytes": r1 - r0,
        "rss_serve_bytes": r2 - r0,
        "chunks": len(index.chunks),
        "index_type": index.manifest.get("index_type"),
        "load_avg": _load(),
    }


def task_baseline(args: dict[str, Any]) -> dict[str, Any]:
    """Synthesise the same reports and build + query the LangChain baseline."""
    from .build import build_baseline

    queries: list[str] = args["queries"]
    corpus, _, info = _synth(args["size"], args["seed"], None)
    documents = corpus.documents
    del corpus
    embedder = _hash_embedder()
    import langchain_community.vectorstores  # noqa: F401
    import langchain_text_splitters  # noqa: F401

    import evals.baseline  # noqa: F401  (imports outside the build timing)

    real = _real_query_embedder("baseline") if args.get("real_query") else None  # outside the RSS delta
    _log(f"baseline {args['size']}: building over {len(documents)} reports")
    r0 = rss()
    t0 = time.perf_counter()
    baseline = build_baseline(documents, embedder, batch_documents=args.get("batch_documents"))
    build_s = time.perf_counter() - t0
    r1 = rss()
    for q in WARM_UP:
        baseline.search(q, k=5)
        baseline.ask(q)
    cold = timed(lambda q: baseline.search(q, k=5), queries)  # same protocol as ours
    search = timed(lambda q: baseline.search(q, k=5), queries, args.get("rounds", 2))
    ask = timed(baseline.ask, queries)
    query = _query_latency(real, lambda q: baseline.search(q, k=5), queries) if real is not None else None
    r2 = rss()
    disk = None
    store = getattr(baseline, "_store", None)
    if store is not None:
        with tempfile.TemporaryDirectory(prefix="policyqa-bench-lc-") as tmp:
            store.save_local(tmp)
            disk = dir_bytes(Path(tmp))
    return {
        **info,
        "build_s": round(build_s, 2),
        "batched": bool(args.get("batch_documents")) and len(documents) > int(args.get("batch_documents") or 0),
        "baseline_chunks": baseline.chunk_count,
        "search_cold_ms": summarise(cold),
        "search_ms": summarise(search),
        "ask_ms": summarise(ask),
        "query_ms": summarise(query) if query else None,
        "rss_build_bytes": r1 - r0,
        "rss_serve_bytes": r2 - r0,
        "disk_bytes": disk,
        "peak_rss_bytes": peak_rss(),
        "load_avg": _load(),
    }


def task_startup(args: dict[str, Any]) -> dict[str, Any]:
    """What `policyqa serve` does before it answers: load the index, build the Assistant and app, first ask."""
    t_start = time.perf_counter()
    from rag.answer.assistant import Assistant
    from rag.index.folder.persist import load_index

    t_import = time.perf_counter()
    settings = _settings(Path(args["index_dir"]))
    index = load_index(args["index_dir"], settings=settings, mmap=True)
    t_load = time.perf_counter()
    assistant = Assistant(index, settings)
    t_assistant = time.perf_counter()
    app_s = None
    try:
        from ui.app import create_app
    except ImportError:
        create_app = None
    if create_app is not None:
        t0 = time.perf_counter()
        create_app(assistant, settings)
        app_s = round(time.perf_counter() - t0, 2)
    t_app = time.perf_counter()
    assistant.ask(args["question"])
    t_first = time.perf_counter()
    return {
        "import_s": round(t_import - t_start, 2),
        "load_index_s": round(t_load - t_import, 2),
        "assistant_s": round(t_assistant - t_load, 3),
        "create_app_s": app_s,
        "first_ask_s": round(t_first - t_app, 3),
        "total_s": round(t_first - t_start, 2),
        "chunks": len(index.chunks),
        "load_avg": _load(),
    }


def task_real(args: dict[str, Any]) -> dict[str, Any]:
    """The default real model: build throughput on real reports, query-embedding latency, dev hit@5."""
    from rag.config import Settings
    from rag.index.folder.persist import build_index
    from rag.model.embedder import get_embedder
    from rag.retrieve.hybrid import search
    from rag.text.tokenize import tokenize

    settings = Settings.from_env(llm_provider="none", database_url=None)
    paths = [Path(p) for p in args["paths"]]
    t0 = time.perf_counter()
    embedder = get_embedder(settings.model, settings.cache_dir, settings.runtime, settings.precision)
    embedder.warm_up()  # type: ignore[attr-defined]
    model_load_s = time.perf_counter() - t0
    _log(f"real: model {embedder.name} loaded in {model_load_s:.1f}s; building")
    work = Path(args["work_dir"])
    t0 = time.perf_counter()
    index = build_index(paths, work / "real-index", settings=settings, embedder=embedder, rebuild=True)
    build_s = time.perf_counter() - t0
    text_mb = sum(len(d.text.encode("utf-8")) for d in index.documents.values()) / 2**20

    from rag.index.passages import passage_text

    passages = [passage_text(index.documents[c.doc_id].title, c) for c in index.chunks]
    tokenize("预热")
    t0 = time.perf_counter()
    for p in passages:
        tokenize(p)
    tokenize_rate = len(passages) / (time.perf_counter() - t0)

    queries: list[str] = args["queries"]
    embedder.embed_query("预热")
    embed_ms = timed(embedder.embed_query, queries)  # distinct questions: the LRU cache never hits
    plain = _real_query_embedder("baseline")
    plain_ms = timed(plain.embed_query, queries)
    del plain

    from rag.answer.assistant import Assistant

    def uncached(fn: Callable[[str], Any]) -> Callable[[str], Any]:
        return lambda q: (embedder.clear_query_cache(), fn(q))  # type: ignore[attr-defined]

    assistant = Assistant(index, settings)
    search_ms = timed(uncached(lambda q: search(index, q, k=5)), queries)
    ask_ms = timed(uncached(assistant.ask), queries)

    result: dict[str, Any] = {
        "model": embedder.name,
        "model_load_s": round(model_load_s, 2),
        "documents": len(index.documents),
        "chunks": len(index.chunks),
        "text_mb": round(text_mb, 3),
        "build_s": round(build_s, 2),
        "chunks_per_s": round(len(index.chunks) / build_s, 2),
        "mb_per_s": round(text_mb / build_s, 4),
        "jieba_chunks_per_s": round(tokenize_rate, 1),
        "runtime": getattr(embedder, "runtime", None),
        "query_embed_ms": summarise(embed_ms),
        "baseline_query_embed_ms": summarise(plain_ms),
        "search_ms": summarise(search_ms),  # question embedding + FAISS + BM25 + fusion
        "ask_ms": summarise(ask_ms),
        "load_avg": _load(),
    }
    if args.get("dev_gold"):
        from evals.run import main as eval_main

        out = work / "dev-eval"
        _log("real: dev evaluation (ours vs LangChain baseline, real model)")
        code = eval_main(["--gold", args["dev_gold"], "--index", str(work / "real-index"), "--out", str(out)])
        if code == 0:
            metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
            result["dev"] = {
                name: {key: system["overall"].get(key) for key in ("hit@1", "hit@5", "mrr", "answer_accuracy")}
                for name, system in metrics["systems"].items()
            }
            result["dev"]["n_questions"] = metrics["n_questions"]
    return result


def task_pg(args: dict[str, Any]) -> dict[str, Any]:
    """Load the synthetic corpus into PostgreSQL + pgvector (pgserver) and time PgIndex search and ask."""
    import pgserver

    from rag.answer.assistant import Assistant
    from rag.index.pg.store import PgIndex
    from rag.retrieve.hybrid import search

    queries: list[str] = args["queries"]
    corpus, _, info = _synth(args["size"], args["seed"], args["token_cache"])
    embedder = _hash_embedder()
    from rag.index.passages import passage_text

    from .build import embed_all

    titles = {d.doc_id: d.title for d in corpus.documents}
    vectors = embed_all(embedder, [passage_text(titles[c.doc_id], c) for c in corpus.chunks])
    with tempfile.TemporaryDirectory(prefix="policyqa-bench-pg-") as tmp:
        t0 = time.perf_counter()
        server = pgserver.get_server(Path(tmp) / "pg", cleanup_mode="stop")
        start_s = time.perf_counter() - t0
        try:
            url = server.get_uri()
            index = PgIndex(url, embedder=embedder, settings=_settings())
            t0 = time.perf_counter()
            index.bulk_load(corpus.documents, corpus.chunks, vectors, corpus.tokens)
            load_s = time.perf_counter() - t0
            _log(f"pg {args['size']}: loaded in {load_s:.1f}s")
            assistant = Assistant(index, _settings())
            for q in WARM_UP:
                search(index, q, k=5)
                assistant.ask(q)
            cold = timed(lambda q: search(index, q, k=5), queries)
            search = timed(lambda q: search(index, q, k=5), queries, args.get("rounds", 2))
            ask = timed(assistant.ask, queries)
            db_bytes = index.database_bytes()
            agreement = _agreement(index, args.get("faiss_index_dir"), queries)
            index.close()
        finally:
            server.cleanup()
    return {
        **info,
        **agreement,
        "candidate_budget": index.candidate_budget,
        "server_start_s": round(start_s, 2),
        "build_s": round(load_s, 2),
        "search_cold_ms": summarise(cold),
        "search_ms": summarise(search),
        "ask_ms": summarise(ask),
        "disk_bytes": db_bytes,
        "load_avg": _load(),
    }


def _agreement(pg: Any, faiss_dir: str | None, queries: Sequence[str]) -> dict[str, Any]:
    """How PostgreSQL's results compare with the FAISS index over the same corpus (exact BM25)."""
    if not faiss_dir or not (Path(faiss_dir) / "CURRENT").is_file():
        return {}
    from rag.index.folder.persist import load_index
    from rag.retrieve.hybrid import search

    exact = load_index(faiss_dir, embedder=_hash_embedder(), settings=_settings(Path(faiss_dir)), mmap=True)
    keyword, top5 = [], []
    for q in queries:
        want = {exact.chunks[int(p)].chunk_id for p in exact.keyword_search(q, 50)[0]}
        got = {pg.chunks[int(p)].chunk_id for p in pg.keyword_search(q, 50)[0]}
        keyword.append(len(want & got) / max(1, len(want)))
        a = {h.chunk.chunk_id for h in search(exact, q, k=5)}
        b = {h.chunk.chunk_id for h in search(pg, q, k=5)}
        top5.append(len(a & b) / max(1, len(a)))
    return {
        "keyword_recall_at_50_vs_exact": round(sum(keyword) / len(keyword), 3),
        "search_top5_overlap_with_faiss": round(sum(top5) / len(top5), 3),
    }


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ours-build": task_ours_build,
    "ours-serve": task_ours_serve,
    "baseline": task_baseline,
    "startup": task_startup,
    "real": task_real,
    "pg": task_pg,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 1:
        print("usage: python -m benchmarks.worker '<json task>'", file=sys.stderr)
        return 2
    args = json.loads(argv[0])
    task = TASKS.get(args.get("task", ""))
    if task is None:
        print(f"unknown task {args.get('task')!r}; one of {sorted(TASKS)}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    result = task(args)
    result["task_s"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
