"""Portal benchmark: does a many-report index keep `ask` fast, and what does identity extraction cost?

    python -m benchmarks.portal [--portal-index index/portal] [--sample-index DIR] [--rounds 3]

A portal indexes every report it serves (the real corpus: 106 reports, ~8.5k
chunks) where the demo indexed one. Two targets follow from that, and this
script prints the figures for both; it asserts nothing (it is not a test):

1. `Assistant.ask` latency over the portal index vs the sample report alone:
   the portal's p50 over its own questions (evals/gold/real-dev.jsonl) at most
   1.5× the sample's p50 over its questions (evals/gold/seed-dev.jsonl). The
   sample's questions are also asked of the portal (the same questions, a
   bigger index). Extractive mode, query-embedding cache cleared before every
   ask (a portal's questions are distinct), 2 warm-up asks per index first.
2. Identity extraction (`rag.ingest.identity.read_identity`, called by
   `rag.ingest.load.document_from_extracted`) at most 10% of the time it takes
   to index the real corpus. Its cost is the load time of every report minus
   the load time with `read_identity` replaced by a stub that keeps the title,
   and, since that difference is near the noise, the time inside its calls
   during a first load (one-time set-up included); the larger counts.
   Indexing time is that load time plus chunks × the index model's measured
   embedding time per chunk (the index does not record its build time). That
   leaves out chunking, BM25 and saving, so the share printed is an upper bound.

Prints a table and writes benchmarks/out/portal.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from unittest import mock

from rag.answer.assistant import Assistant
from rag.config import Settings
from rag.index.folder.persist import build_index, load_index
from rag.index.folder.store import FolderIndex
from rag.index.passages import passage_text
from rag.ingest import load as load_module
from rag.ingest.identity import Identity, read_identity

from .worker import WARM_UP, summarise

__all__ = ["main", "warm_up", "time_asks", "load_seconds", "embed_seconds_per_chunk", "format_table"]

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "reports" / "suzhou-kjj-2024-fzzf.txt"
CORPUS = ROOT / "evals" / "real" / "corpus"
PORTAL_GOLD = ROOT / "evals" / "gold" / "real-dev.jsonl"
SAMPLE_GOLD = ROOT / "evals" / "gold" / "seed-dev.jsonl"
MAX_LATENCY_RATIO = 1.5  # portal p50 / sample p50
MAX_IDENTITY_SHARE = 0.10  # identity extraction / indexing time
EMBED_SAMPLE_CHUNKS = 256


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    # the folder index and extractive answers, whatever POLICYQA_* the shell sets
    settings = Settings.from_env().with_(database_url=None, llm_provider="none")
    ensure_portal(args.portal_index)
    identity = measure_identity(args.portal_index, settings, args.loads)  # first: it times a first load
    with tempfile.TemporaryDirectory(prefix="policyqa-sample-") as tmp:
        sample_index = args.sample_index or Path(tmp) / "sample"
        if not (sample_index / "CURRENT").is_file():
            _say(f"building the sample index at {sample_index}")
            build_index([SAMPLE], sample_index, settings=settings)
        latency = measure_latency(args.portal_index, sample_index, settings, args.rounds)
    results: dict[str, Any] = {
        "machine": {"nproc": os.cpu_count(), "load_avg_start": round(load_start, 2)},
        "config": {"rounds": args.rounds, "loads": args.loads, "portal_index": str(args.portal_index)},
        "latency": latency,
        "identity": identity,
    }
    results["machine"]["load_avg_end"] = round(os.getloadavg()[0], 2)
    results["wall_s"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(format_table(results))
    print(f"results: {args.out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.portal", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--portal-index", type=Path, default=ROOT / "index" / "portal", help="built if missing (~15 min)"
    )
    p.add_argument("--sample-index", type=Path, default=None, help="default: built afresh in a temp folder")
    p.add_argument("--rounds", type=int, default=3, help="times each question is asked")
    p.add_argument("--loads", type=int, default=3, help="corpus loads per variant (median taken)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "portal.json")
    return p


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def ensure_portal(index_dir: Path) -> None:
    """Build the portal index with the CLI when `index_dir` holds none."""
    if (index_dir / "CURRENT").is_file():
        return
    _say(f"no index at {index_dir}: building it from {CORPUS} and the sample (takes ~15 min on 2 cores)")
    command = [sys.executable, "cli.py", "index", str(CORPUS), str(SAMPLE), "--index", str(index_dir)]
    env = {k: v for k, v in os.environ.items() if k != "POLICYQA_DATABASE_URL"}  # a folder, not PostgreSQL
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def read_questions(path: Path) -> list[str]:
    """The "question" field of every line of a gold JSONL file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


# ------------------------------------------------------------------------------------ latency


def warm_up(assistant: Assistant) -> None:
    """Two untimed asks: the model loads and the index is paged in."""
    for question in WARM_UP[:2]:
        assistant.ask(question)


def time_asks(assistant: Assistant, questions: Sequence[str]) -> list[float]:
    """Milliseconds of `assistant.ask` for each question once, query embedding uncached."""
    clear_cache = getattr(assistant.index.embedder, "clear_query_cache", lambda: None)
    out = []
    for question in questions:
        clear_cache()
        t0 = time.perf_counter()
        assistant.ask(question)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def slowest(questions: Sequence[str], ms: Sequence[float], n: int = 3) -> list[dict[str, Any]]:
    """The `n` questions with the highest median latency; `ms` is round after round of `questions`."""
    per_question = [statistics.median(ms[i :: len(questions)]) for i in range(len(questions))]
    top = sorted(range(len(questions)), key=lambda i: -per_question[i])[:n]
    return [{"question": questions[i], "p50_ms": round(per_question[i], 1)} for i in top]


def measure_latency(portal_dir: Path, sample_dir: Path, settings: Settings, rounds: int) -> dict[str, Any]:
    """p50/p95/mean ask latency per (index, question set), and the portal/sample p50 ratios."""
    portal_q, sample_q = read_questions(PORTAL_GOLD), read_questions(SAMPLE_GOLD)
    portal, sample = Assistant.open(portal_dir, settings), Assistant.open(sample_dir, settings)
    runs = {
        "portal / real-dev": (portal, portal_q),
        "portal / seed-dev": (portal, sample_q),
        "sample / seed-dev": (sample, sample_q),
    }
    for assistant in (portal, sample):
        warm_up(assistant)
    ms: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(rounds):  # round by round, so drift in the machine's load hits every run alike
        _say(f"ask latency, round {r + 1}/{rounds}")
        for name, (assistant, questions) in runs.items():
            ms[name] += time_asks(assistant, questions)
    out: dict[str, Any] = {"runs": {}}
    for name, (assistant, questions) in runs.items():
        out["runs"][name] = {
            "chunks": len(assistant.index.chunks),
            **summarise(ms[name]),
            "slowest": slowest(questions, ms[name]),
        }
    base = out["runs"]["sample / seed-dev"]["p50"]
    out["ratio_p50"] = round(out["runs"]["portal / real-dev"]["p50"] / base, 2)
    out["ratio_p50_same_questions"] = round(out["runs"]["portal / seed-dev"]["p50"] / base, 2)
    return out


# ------------------------------------------------------------------------------------ identity


def _title_only(text: str, title: str | None, **_: object) -> Identity:
    """`read_identity` that reads nothing: the title line passes through, every other fact is None."""
    return Identity(title=title)


def load_seconds(paths: Sequence[Path], identity: bool) -> float:
    """Seconds `load_files(paths)` takes, with identity extraction or with `_title_only` in its place."""
    patch = (
        contextlib.nullcontext() if identity else mock.patch.object(load_module, "read_identity", _title_only)
    )
    with patch:
        t0 = time.perf_counter()
        _, loaded, errors = load_module.load_files(paths)
        seconds = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} reports failed to load, e.g. {errors[0]}")
    return seconds


def embed_seconds_per_chunk(index: FolderIndex, n: int = EMBED_SAMPLE_CHUNKS) -> float:
    """Seconds the index's embedder takes per passage, over `n` passages spread through the index."""
    step = max(1, len(index.chunks) // n)
    passages = [passage_text(index.documents[c.doc_id].title, c) for c in index.chunks[::step][:n]]
    index.embedder.embed_passages(passages[:8])  # model load, not timed
    t0 = time.perf_counter()
    index.embedder.embed_passages(passages)
    return (time.perf_counter() - t0) / len(passages)


def identity_call_seconds(paths: Sequence[Path]) -> float:
    """Seconds spent inside `read_identity` while `load_files(paths)` runs (timed call by call)."""
    spent = [0.0]

    def timed(*args: Any, **kwargs: Any) -> Identity:
        t0 = time.perf_counter()
        try:
            return read_identity(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t0

    with mock.patch.object(load_module, "read_identity", timed):
        load_module.load_files(paths)
    return spent[0]


def measure_identity(portal_dir: Path, settings: Settings, loads: int) -> dict[str, Any]:
    """Identity extraction's cost, timed two ways, and its share of indexing the corpus.

    The load-time difference is what the brief defines, but at ~0.02 s against ±0.03 s
    of noise it can come out at zero or below; timing the calls themselves is steadier.
    The first load of the process pays `read_identity`'s one-time set-up, as a
    `policyqa index` run does, so run this before anything else reads reports.
    """
    paths = [CORPUS, SAMPLE]
    first_s = identity_call_seconds(paths)  # also warms the file cache; the loads below are not cold
    with_s, without_s = [], []
    for i in range(loads):  # interleaved, so drift in the machine's load hits both alike
        _say(f"corpus load {i + 1}/{loads}, with and without identity extraction")
        with_s.append(load_seconds(paths, identity=True))
        without_s.append(load_seconds(paths, identity=False))
    warm_s = identity_call_seconds(paths)
    index = load_index(portal_dir, settings=settings)
    _say(f"embedding {EMBED_SAMPLE_CHUNKS} passages of the portal index")
    per_chunk = embed_seconds_per_chunk(index)
    load_with, load_without = statistics.median(with_s), statistics.median(without_s)
    difference_s = load_with - load_without
    identity_s = max(difference_s, first_s)  # the larger, so the share is not flattered
    indexing_s = load_with + per_chunk * len(index.chunks)
    return {
        "reports": len(index.documents),
        "chunks": len(index.chunks),
        "load_with_identity_s": round(load_with, 3),
        "load_without_identity_s": round(load_without, 3),
        "load_runs_s": {"with": [round(s, 3) for s in with_s], "without": [round(s, 3) for s in without_s]},
        "identity_s_difference": round(difference_s, 3),
        "identity_s_timed_first_load": round(first_s, 3),
        "identity_s_timed_warm": round(warm_s, 3),
        "identity_s": round(identity_s, 3),
        "embed_ms_per_chunk": round(per_chunk * 1000, 2),
        "indexing_s_estimated": round(indexing_s, 1),
        "identity_share": round(identity_s / indexing_s, 5),
        "identity_share_of_load": round(identity_s / load_with, 3),
    }


# ------------------------------------------------------------------------------------ report


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def format_table(results: dict[str, Any]) -> str:
    """The figures as Markdown tables and a few lines of text."""
    lat, ident, m = results["latency"], results["identity"], results["machine"]
    lines = [
        "| index / questions | chunks | asks | p50 ms | p95 ms | mean ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in lat["runs"].items():
        lines.append(
            f"| {name} | {r['chunks']:,} | {r['n']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['mean']:.1f} |"
        )
    ratio, same = lat["ratio_p50"], lat["ratio_p50_same_questions"]
    lines.append("")
    for name, r in lat["runs"].items():
        worst = "; ".join(f"{s['p50_ms']:.0f} ms {s['question'][:40]}" for s in r["slowest"])
        lines.append(f"slowest, {name}: {worst}")
    lines += [
        "",
        f"portal p50 / sample p50: {ratio:.2f}× (target ≤ {MAX_LATENCY_RATIO}×: {_verdict(ratio <= MAX_LATENCY_RATIO)}); "
        f"same seed-dev questions on both: {same:.2f}×",
        "",
        "| identity extraction | value |",
        "|---|---:|",
        f"| load {ident['reports']} reports, with identity (median s) | {ident['load_with_identity_s']:.2f} |",
        f"| load, `read_identity` stubbed (median s) | {ident['load_without_identity_s']:.2f} |",
        f"| identity: load difference (s) | {ident['identity_s_difference']:.3f} |",
        f"| identity: calls timed, first load / warm (s) | {ident['identity_s_timed_first_load']:.3f} / "
        f"{ident['identity_s_timed_warm']:.3f} |",
        f"| identity extraction, the larger (s) | {ident['identity_s']:.3f} ({ident['identity_share_of_load']:.1%} of load) |",
        f"| embedding (ms per chunk) | {ident['embed_ms_per_chunk']:.1f} |",
        f"| indexing {ident['chunks']:,} chunks, estimated (s) | {ident['indexing_s_estimated']:.0f} |",
        f"| identity share of indexing | {ident['identity_share']:.3%} |",
        "",
        f"identity share: {ident['identity_share']:.3%} (target ≤ {MAX_IDENTITY_SHARE:.0%}: "
        f"{_verdict(ident['identity_share'] <= MAX_IDENTITY_SHARE)}; an upper bound: chunking, BM25 and saving "
        "are not in the indexing estimate)",
        f"machine: {m['nproc']} cores, load average {m['load_avg_start']} at start, {m['load_avg_end']} at end "
        f"(shared machine); run took {results['wall_s'] / 60:.1f} min",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
