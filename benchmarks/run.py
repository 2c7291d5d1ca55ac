"""PolicyQA performance benchmark: ours vs the plain LangChain FAISS pipeline, 1k to 1M chunks.

    python -m benchmarks.run [--sizes 1000,10000,100000,1000000] [--out benchmarks/out]

Measures, each task in a fresh process (`benchmarks.worker`):

- real model: index build throughput (chunks/s, MB/s of report text) on the
  sample report + tests/data/distractors with the default embedding model,
  its query-embedding latency, and dev-set hit@k of ours vs the baseline;
- per size: synthetic reports (`benchmarks.synth`) indexed by ours and by the
  baseline; build time, `Index.search` / `Assistant.ask` latency p50/p95,
  resident memory and disk per chunk, ratios ours/baseline. Vectors at these
  sizes come from `HashEmbedder(384)` for index AND query on both systems (the
  real model would take ~3 h per 100k chunks here); the real model's query
  embedding cost is measured separately and reported beside them. BM25 runs
  over the real jieba tokens of the synthetic text;
- `policyqa serve` start-up work over a 100k-chunk index, and the PostgreSQL
  backend (`rag.pg.PgIndex`, a pgserver instance) at 100k chunks.

Prints a table, writes `<out>/results.json` and `<out>/table.md`, the plot
`benchmarks/growth.png` and (with --readme) the table into benchmarks/README.md.
Our built indexes are cached in `<out>/cache` (keyed by size, seed, synthesiser,
tokenizer and index format), so a re-run skips the 1M build; --rebuild forces it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["main", "DEFAULT_SIZES", "format_table", "plot_growth"]

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
DEV_GOLD = ROOT / "evals" / "gold" / "seed-dev.jsonl"
SAMPLE = ROOT / "data" / "reports" / "suzhou-kjj-2024-fzzf.txt"  # the dev questions ask about it (not the other bundled reports)
# Above this many chunks the baseline is loaded batch by batch (see build.build_baseline).
BASELINE_BATCH_ABOVE = 100_000
BASELINE_BATCH_DOCUMENTS = 5_000
TARGETS = {"search_p50_100k_ms": 30.0, "search_p50_1m_ms": 60.0, "ask_p50_100k_ms": 150.0}
README_START, README_END = "<!-- benchmark-table:start -->", "<!-- benchmark-table:end -->"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    sizes = sorted({_parse_size(s) for s in args.sizes.split(",") if s.strip()})
    out: Path = args.out
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "config": {
            "sizes": sizes,
            "seed": args.seed,
            "synthetic_questions": args.questions,
            "rounds": args.rounds,
            "vectors": "HashEmbedder(384) for index and query, ours and baseline alike (synthetic sizes)",
            "hnsw_build": args.hnsw,
        },
        "sizes": {},
    }
    results_path = out / "results.json"

    def save() -> None:
        results["wall_s"] = round(time.perf_counter() - started, 1)
        results["machine"]["load_avg_end"] = round(os.getloadavg()[0], 2)
        results_path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    from rag.text.tokenize import tokenizer_fingerprint

    fingerprint = tokenizer_fingerprint()
    token_cache = str(cache / f"tokens-{fingerprint}.pkl")
    dev_questions = _dev_questions()

    if not args.no_real:
        _say("real model: build throughput, query embedding, dev hit@k")
        results["real"] = _work(
            {
                "task": "real",
                "paths": [str(SAMPLE), str(ROOT / "tests" / "data" / "distractors")],
                "queries": dev_questions + _synth_questions(10_000, args.seed, 25),
                "work_dir": str(cache / "real"),
                "dev_gold": str(DEV_GOLD),
            }
        )
        save()

    hnsw = _parse_hnsw(args.hnsw)
    for size in sizes:
        row: dict[str, Any] = {}
        results["sizes"][str(size)] = row
        queries = dev_questions + _synth_questions(size, args.seed, args.questions)
        index_dir = _our_index(cache, size, args.seed, hnsw, fingerprint)
        built = index_dir.parent / (index_dir.name + ".build.json")
        if built.is_file() and (index_dir / "CURRENT").is_file() and not args.rebuild:
            row["ours_build"] = {**json.loads(built.read_text(encoding="utf-8")), "cached": True}
            _say(f"{size:,} chunks: our index is cached ({index_dir.name})")
        else:
            _say(f"{size:,} chunks: building our index")
            shutil.rmtree(index_dir, ignore_errors=True)
            row["ours_build"] = _work(
                {
                    "task": "ours-build",
                    "size": size,
                    "seed": args.seed,
                    "token_cache": token_cache,
                    "index_dir": str(index_dir),
                    "hnsw": hnsw,
                }
            )
            if "error" not in row["ours_build"]:
                built.write_text(json.dumps(row["ours_build"], indent=2) + "\n", encoding="utf-8")
        save()
        _say(f"{size:,} chunks: our search and ask latency")
        real_query = not args.no_real_query
        row["ours_serve"] = _work(
            {
                "task": "ours-serve",
                "index_dir": str(index_dir),
                "queries": queries,
                "rounds": args.rounds,
                "real_query": real_query,
            }
        )
        save()
        if not args.no_baseline:
            _say(f"{size:,} chunks: LangChain baseline")
            row["baseline"] = _work(
                {
                    "task": "baseline",
                    "size": size,
                    "seed": args.seed,
                    "queries": queries,
                    "rounds": args.rounds,
                    "real_query": real_query,
                    "batch_documents": BASELINE_BATCH_DOCUMENTS if size > BASELINE_BATCH_ABOVE else None,
                }
            )
            row["ratios"] = ratios(row)
            save()
        if size == args.startup_size:
            _say(f"{size:,} chunks: serve start-up")
            results["startup"] = _work(
                {"task": "startup", "index_dir": str(index_dir), "question": dev_questions[0]}
            )
            save()
        if size == args.pg_size and not args.no_pg:
            _say(f"{size:,} chunks: PostgreSQL + pgvector backend")
            results["pg"] = {
                "size": size,
                **_work(
                    {
                        "task": "pg",
                        "faiss_index_dir": str(index_dir),
                        "size": size,
                        "seed": args.seed,
                        "token_cache": token_cache,
                        "queries": queries,
                        "rounds": args.rounds,
                    }
                ),
            }
            save()

    results["targets"] = check_targets(results)
    save()
    table = format_table(results)
    print(table)
    (out / "table.md").write_text(table + "\n", encoding="utf-8")
    if args.plot:
        plot_growth(results, args.plot)
        print(f"plot: {args.plot}")
    if args.readme:
        update_readme(args.readme, table)
        print(f"table written into {args.readme}")
    print(f"results: {results_path}  ({results['wall_s'] / 60:.1f} min)")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES), help="chunk counts, e.g. 1k,10k,100k,1M")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--questions", type=int, default=25, help="synthetic questions per size (plus the 25 dev questions)")
    p.add_argument("--rounds", type=int, default=2, help="times each search query is repeated")
    p.add_argument("--hnsw", default="16,40", help="HNSW M,efConstruction for sizes that use HNSW ('default': 32,80)")
    p.add_argument("--rebuild", action="store_true", help="ignore cached indexes")
    p.add_argument("--no-real", action="store_true", help="skip the real-model measurements")
    p.add_argument(
        "--no-real-query", action="store_true", help="skip the query column (the real model embeds each question)"
    )
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--no-pg", action="store_true")
    p.add_argument("--pg-size", type=_parse_size, default=100_000)
    p.add_argument("--startup-size", type=_parse_size, default=100_000)
    p.add_argument("--plot", type=Path, default=ROOT / "benchmarks" / "growth.png")
    p.add_argument("--readme", type=Path, default=None, help="write the table into this README between markers")
    return p


def _parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", str(text))
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 1000, 10k, 1M)")
    return int(float(m.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()])


def _parse_hnsw(text: str) -> dict[str, int] | None:
    if text == "default":
        return None
    m_, ef = (int(x) for x in text.split(","))
    return {"M": m_, "efConstruction": ef}


def _our_index(cache: Path, size: int, seed: int, hnsw: dict[str, int] | None, fingerprint: str) -> Path:
    from rag.store import FORMAT_VERSION

    from rag.index.folder.bm25 import KEYWORD_FORMAT_VERSION
    from rag.index.folder.dense import FLAT_MAX_CHUNKS

    from .synth import SYNTH_VERSION

    graph = f"-hnsw{hnsw['M']}x{hnsw['efConstruction']}" if hnsw and size > FLAT_MAX_CHUNKS else ""
    key = f"ours-{size}-seed{seed}-synth{SYNTH_VERSION}-fmt{FORMAT_VERSION}k{KEYWORD_FORMAT_VERSION}-tok{fingerprint}{graph}"
    return cache / key


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _work(task: dict[str, Any]) -> dict[str, Any]:
    """Run one worker task in a fresh process; its result, or {"error": …}."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("POLICYQA_DATABASE_URL", None)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", json.dumps(task, ensure_ascii=False)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        _say(f"task {task['task']} failed (exit {proc.returncode})")
        return {"error": f"exit {proc.returncode}", "wall_s": round(time.perf_counter() - t0, 1)}
    return json.loads(lines[-1])


def _dev_questions() -> list[str]:
    return [json.loads(line)["question"] for line in DEV_GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


def _synth_questions(size: int, seed: int, n: int) -> list[str]:
    """Questions about reports that are inside the corpus of `size` chunks (≥ 19 chunks per report)."""
    from .synth import Synthesizer, load_pool

    return Synthesizer(load_pool(), seed=seed).questions(n, n_documents=max(1, size // 40))


# ------------------------------------------------------------------------------------ machine


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, GPU presence, library versions, load average."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    versions = {}
    for name in ("numpy", "faiss", "bm25s", "jieba", "torch", "langchain_community", "psycopg", "pgserver"):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", "?")
        except Exception:  # noqa: BLE001 - an optional library may fail to import in many ways
            versions[name] = None
    return {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": cpu,
        "memory_gib": mem,
        "gpu": shutil.which("nvidia-smi") is not None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "load_avg_start": round(os.getloadavg()[0], 2),
    }


# ------------------------------------------------------------------------------------ analysis


def _p(d: dict[str, Any] | None, key: str, stat: str = "p50") -> float | None:
    if not d or key not in d or not isinstance(d[key], dict):
        return None
    return d[key].get(stat)


def ratios(row: dict[str, Any]) -> dict[str, float | None]:
    """ours / baseline for latency, build time, memory and disk (< 1: ours is cheaper)."""
    ours_b, ours_s, base = row.get("ours_build", {}), row.get("ours_serve", {}), row.get("baseline", {})

    def r(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a is not None and b else None

    return {
        "query_p50": r(_p(ours_s, "query_ms"), _p(base, "query_ms")),
        "query_p95": r(_p(ours_s, "query_ms", "p95"), _p(base, "query_ms", "p95")),
        "search_p50": r(_p(ours_s, "search_ms"), _p(base, "search_ms")),
        "search_p95": r(_p(ours_s, "search_ms", "p95"), _p(base, "search_ms", "p95")),
        "ask_p50": r(_p(ours_s, "ask_ms"), _p(base, "ask_ms")),
        "build_s": r(ours_b.get("build_s"), base.get("build_s")),
        "rss_serve": r(ours_s.get("rss_serve_bytes"), base.get("rss_serve_bytes")),
        "disk": r(ours_b.get("disk_bytes"), base.get("disk_bytes")),
    }


def check_targets(results: dict[str, Any]) -> dict[str, Any]:
    """The performance targets, each met (True), missed (False) or not measured (None)."""
    sizes = results.get("sizes", {})

    def at(size: int, key: str) -> float | None:
        return _p(sizes.get(str(size), {}).get("ours_serve"), key)

    out: dict[str, Any] = {}
    for name, size, key in (
        ("search_p50_100k_ms", 100_000, "search_ms"),
        ("search_p50_1m_ms", 1_000_000, "search_ms"),
        ("ask_p50_100k_ms", 100_000, "ask_ms"),
    ):
        value = at(size, key)
        out[name] = {"target": TARGETS[name], "value": value, "met": None if value is None else value <= TARGETS[name]}
    for name, key in (("query_not_slower_than_baseline", "query_p50"), ("search_not_slower_than_baseline", "search_p50")):
        ratios_by_size = {size: (row.get("ratios") or {}).get(key) for size, row in sizes.items()}
        out[name] = {size: None if ratio is None else ratio <= 1.0 for size, ratio in ratios_by_size.items()}
    return out


# ------------------------------------------------------------------------------------ table


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) < 1:
        return f"{value:.{max(digits, 2)}f}"
    return f"{value:.{digits}f}"


def _per_chunk(total: float | None, chunks: int) -> str:
    """MiB in all (KiB per chunk)."""
    if total is None or not chunks:
        return "—"
    return f"{total / 2**20:,.0f} ({total / chunks / 1024:.1f})"


def format_table(results: dict[str, Any]) -> str:
    """The results as Markdown tables."""
    lines = [
        "| chunks | system | build s | query p50 / p95 ms | search p50 / p95 ms | ask p50 / p95 ms "
        "| RSS MiB (KiB/chunk) | disk MiB (KiB/chunk) | index |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for size, row in sorted(results.get("sizes", {}).items(), key=lambda kv: int(kv[0])):
        n = int(size)
        ob, os_, base = row.get("ours_build", {}), row.get("ours_serve", {}), row.get("baseline")
        cached = " (cached)" if ob.get("cached") else ""
        lines.append(
            f"| {n:,} | ours | {_fmt(ob.get('build_s'))}{cached} | "
            f"{_fmt(_p(os_, 'query_ms'))} / {_fmt(_p(os_, 'query_ms', 'p95'))} | "
            f"{_fmt(_p(os_, 'search_ms'))} / {_fmt(_p(os_, 'search_ms', 'p95'))} | "
            f"{_fmt(_p(os_, 'ask_ms'))} / {_fmt(_p(os_, 'ask_ms', 'p95'))} | "
            f"{_per_chunk(os_.get('rss_serve_bytes'), n)} | {_per_chunk(ob.get('disk_bytes'), n)} | "
            f"{ob.get('index_type', '—')} |"
        )
        if base:
            batched = ", batched" if base.get("batched") else ""
            lines.append(
                f"| | LangChain | {_fmt(base.get('build_s'))} | "
                f"{_fmt(_p(base, 'query_ms'))} / {_fmt(_p(base, 'query_ms', 'p95'))} | "
                f"{_fmt(_p(base, 'search_ms'))} / {_fmt(_p(base, 'search_ms', 'p95'))} | "
                f"{_fmt(_p(base, 'ask_ms'))} / {_fmt(_p(base, 'ask_ms', 'p95'))} | "
                f"{_per_chunk(base.get('rss_serve_bytes'), n)} | {_per_chunk(base.get('disk_bytes'), n)} | "
                f"flat L2, {base.get('baseline_chunks', 0):,} × 500-char chunks{batched} |"
            )
            r = row.get("ratios") or {}
            lines.append(
                f"| | ours / LangChain | {_fmt(r.get('build_s'), 2)} | {_fmt(r.get('query_p50'), 2)} / "
                f"{_fmt(r.get('query_p95'), 2)} | {_fmt(r.get('search_p50'), 2)} / "
                f"{_fmt(r.get('search_p95'), 2)} | {_fmt(r.get('ask_p50'), 2)} | {_fmt(r.get('rss_serve'), 2)} | "
                f"{_fmt(r.get('disk'), 2)} | |"
            )
    pg = results.get("pg")
    if pg and "error" not in pg:
        n = int(pg["size"])
        lines.append(
            f"| {n:,} | ours on PostgreSQL + pgvector | {_fmt(pg.get('build_s'))} | — | "
            f"{_fmt(_p(pg, 'search_ms'))} / {_fmt(_p(pg, 'search_ms', 'p95'))} | "
            f"{_fmt(_p(pg, 'ask_ms'))} / {_fmt(_p(pg, 'ask_ms', 'p95'))} | (server) | "
            f"{_per_chunk(pg.get('disk_bytes'), n)} | HNSW m=16 + GIN |"
        )
    pg_note = None
    if pg and "error" not in pg and pg.get("keyword_recall_at_50_vs_exact") is not None:
        pg_note = (
            f"PostgreSQL at {int(pg['size']):,} chunks: keyword recall@50 against exact BM25 "
            f"{pg['keyword_recall_at_50_vs_exact']:.2f} (candidate budget {pg.get('candidate_budget'):,} postings), "
            f"top-5 overlap with the FAISS index {pg['search_top5_overlap_with_faiss']:.2f}; bulk load "
            f"{pg.get('build_s', 0):.0f} s (COPY, then HNSW and GIN builds); pgserver defaults (shared_buffers 128MB)."
        )
    out = ["\n".join(lines)]
    if pg_note:
        out.append(pg_note)
    extra, cold = [], []
    for size, row in sorted(results.get("sizes", {}).items(), key=lambda kv: int(kv[0])):
        os_ = row.get("ours_serve", {})
        if _p(os_, "search_filtered_ms") is not None:
            extra.append(f"{int(size):,}: {_fmt(_p(os_, 'search_filtered_ms'))} ms")
        if _p(os_, "search_cold_ms") is not None:
            cold.append(
                f"{int(size):,}: {_fmt(_p(os_, 'search_cold_ms'))} / {_fmt(_p(os_, 'search_cold_ms', 'p95'))} ms "
                f"(LangChain {_fmt(_p(row.get('baseline'), 'search_cold_ms'))})"
            )
    if extra:
        out.append("Our search with a year filter (p50): " + "; ".join(extra) + ".")
    if cold:
        out.append(
            "Search latencies above are steady state, after one untimed pass over the questions; that first pass "
            "(p50 / p95; ours pages its memory-mapped index in from disk) took: " + "; ".join(cold) + "."
        )
    real = results.get("real")
    if real and "error" not in real:
        out.append(
            f"Real model ({real['model']}): index build {real['chunks']} chunks / {real['text_mb']:.3f} MB of report "
            f"text in {real['build_s']:.1f} s = {real['chunks_per_s']:.1f} chunks/s, {real['mb_per_s'] * 1024:.1f} KB/s "
            f"(model load {real['model_load_s']:.1f} s, not included); query embedding p50 / p95: ours "
            f"({real.get('runtime') or '?'}) {_fmt(_p(real, 'query_embed_ms'))} / "
            f"{_fmt(_p(real, 'query_embed_ms', 'p95'))} ms, LangChain's (sentence-transformers on PyTorch) "
            f"{_fmt(_p(real, 'baseline_query_embed_ms'))} / {_fmt(_p(real, 'baseline_query_embed_ms', 'p95'))} ms "
            f"(the query column includes it; search and ask do not); over these {real['chunks']} chunks, "
            f"uncached, p50 / p95: search {_fmt(_p(real, 'search_ms'))} / {_fmt(_p(real, 'search_ms', 'p95'))} ms "
            f"(question embedding + FAISS + BM25 + fusion), ask {_fmt(_p(real, 'ask_ms'))} / "
            f"{_fmt(_p(real, 'ask_ms', 'p95'))} ms; jieba tokenisation "
            f"{real['jieba_chunks_per_s']:,.0f} chunks/s on one core."
        )
        dev = real.get("dev")
        if dev:
            ours, base = dev.get("ours", {}), dev.get("langchain-baseline", {})
            out.append(
                f"Dev set ({dev.get('n_questions')} questions, real model, sample + 6 distractor reports): "
                f"hit@5 ours {_fmt(ours.get('hit@5'), 2)} vs LangChain {_fmt(base.get('hit@5'), 2)}; "
                f"hit@1 {_fmt(ours.get('hit@1'), 2)} vs {_fmt(base.get('hit@1'), 2)}; "
                f"MRR {_fmt(ours.get('mrr'), 2)} vs {_fmt(base.get('mrr'), 2)}."
            )
    startup = results.get("startup")
    if startup and "error" not in startup:
        app = startup.get("create_app_s")
        out.append(
            f"`policyqa serve` start-up work at {startup['chunks']:,} chunks: imports {startup['import_s']:.1f} s, "
            f"load_index {startup['load_index_s']:.1f} s, Assistant {startup['assistant_s']:.2f} s, "
            f"create_app {'—' if app is None else f'{app:.1f} s'}, first ask {startup['first_ask_s']:.2f} s; "
            f"total {startup['total_s']:.1f} s (plus the real model's load when it is not cached in memory)."
        )
    targets = results.get("targets")
    if targets:
        parts = []
        for name in ("search_p50_100k_ms", "search_p50_1m_ms", "ask_p50_100k_ms"):
            t = targets[name]
            verdict = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
            parts.append(f"{name} ≤ {t['target']:.0f}: {_fmt(t['value'])} ({verdict})")
        for name, label in (
            ("query_not_slower_than_baseline", "query (real question embedding + search) ≤ baseline at every size"),
            ("search_not_slower_than_baseline", "search alone (hash vectors) ≤ baseline at every size"),
        ):
            verdicts = targets.get(name) or {}
            slower = [s for s, ok in verdicts.items() if ok is False]
            measured = any(ok is not None for ok in verdicts.values())
            verdict = "not measured" if not measured else "met" if not slower else "MISSED at " + ", ".join(
                f"{int(s):,}" for s in slower
            )
            parts.append(f"{label}: {verdict}")
        out.append("Targets: " + "; ".join(parts) + ".")
    m = results.get("machine", {})
    out.append(
        f"Machine: {m.get('nproc')} cores ({m.get('cpu')}), {m.get('memory_gib')} GiB, "
        f"{'a GPU' if m.get('gpu') else 'no GPU'}; load average {m.get('load_avg_start')} at start, "
        f"{m.get('load_avg_end')} at end (other jobs shared the machine); run took "
        f"{results.get('wall_s', 0) / 60:.1f} min."
    )
    return "\n\n".join(out)


def update_readme(path: Path, table: str) -> None:
    """Replace the text between the README's table markers with `table`."""
    text = path.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise ValueError(f"{path} has no {README_START} … {README_END} markers to write the table between")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    path.write_text(f"{head}{README_START}\n{table}\n{README_END}{tail}", encoding="utf-8")


# ------------------------------------------------------------------------------------ plot


def plot_growth(results: dict[str, Any], path: Path) -> None:
    """Log-log panels: build time, resident memory and latency against chunk count."""
    import matplotlib

    matplotlib.use("Agg")  # files only; before pyplot
    import matplotlib.pyplot as plt

    rows = sorted(((int(s), r) for s, r in results.get("sizes", {}).items()), key=lambda x: x[0])
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    series = {
        "build time (s)": [
            ("ours", lambda r: r.get("ours_build", {}).get("build_s"), "C0", "o-"),
            ("LangChain", lambda r: (r.get("baseline") or {}).get("build_s"), "C1", "s--"),
        ],
        "resident memory while serving (MiB)": [
            ("ours", lambda r: _mib(r.get("ours_serve", {}).get("rss_serve_bytes")), "C0", "o-"),
            ("LangChain", lambda r: _mib((r.get("baseline") or {}).get("rss_serve_bytes")), "C1", "s--"),
        ],
        "latency p50 (ms)": [
            ("ours query (real embedding + search)", lambda r: _p(r.get("ours_serve"), "query_ms"), "C4", "v-"),
            ("LangChain query", lambda r: _p(r.get("baseline"), "query_ms"), "C5", "x--"),
            ("ours search", lambda r: _p(r.get("ours_serve"), "search_ms"), "C0", "o-"),
            ("ours ask", lambda r: _p(r.get("ours_serve"), "ask_ms"), "C2", "^-"),
            ("LangChain search", lambda r: _p(r.get("baseline"), "search_ms"), "C1", "s--"),
        ],
    }
    pg = results.get("pg")
    for ax, (title, lines) in zip(axes, series.items(), strict=True):
        for label, get, color, style in lines:
            xs = [n for n, r in rows if get(r) is not None]
            ys = [get(r) for n, r in rows if get(r) is not None]
            if xs:
                ax.plot(xs, ys, style, color=color, label=label)
        if pg and "error" not in pg:
            if title.startswith("build"):
                ax.plot([pg["size"]], [pg.get("build_s")], "D", color="C3", label="PostgreSQL load")
            if title.startswith("latency"):
                ax.plot([pg["size"]], [_p(pg, "search_ms")], "D", color="C3", label="PostgreSQL search")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("chunks")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    vectors = "HashEmbedder(384) index vectors; 'query' adds the real model's question embedding"
    fig.suptitle(f"PolicyQA vs plain LangChain FAISS — {vectors}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _mib(value: float | None) -> float | None:
    return None if value is None else value / 2**20


if __name__ == "__main__":
    raise SystemExit(main())
