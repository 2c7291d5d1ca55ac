"""Evaluate PolicyQA (and a plain LangChain baseline) on a gold question file.

    python -m evals.run --gold evals/gold/seed-dev.jsonl --docs data/reports/suzhou-kjj-2024-fzzf.txt --out evals/out/dev
    policyqa eval --gold evals/gold/seed-dev.jsonl --index index/default --system ours

`--docs` builds a fresh index of the given files/folders in a temporary folder
(timed), so the evaluation works on reports the index has never seen; `--index`
evaluates an existing index. Writes results.jsonl, metrics.json, report.md and
metrics.png into `--out` (default evals/out/<gold file stem>/). With
`--thresholds`, the CI gate (`evals.gate`) is applied and the exit code is 1
when a metric falls below its threshold.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .metrics import (
    RETRIEVED_DEPTH,
    CitedQuote,
    GoldError,
    GoldItem,
    Retrieved,
    SystemResult,
    evaluate,
    load_gold,
)
from .report import SUMMARY_ROWS, format_value, write_report

__all__ = ["main", "SYSTEMS", "OURS", "run_system", "write_results"]

OURS = "ours"
BASELINE = "langchain-baseline"
SYSTEMS = (OURS, BASELINE)
ERROR_MODE = "error"
WARM_UP_QUESTION = "这份报告主要讲了哪些工作？"


@dataclass(frozen=True, slots=True)
class Build:
    """How long a system took to index the corpus, and what it holds."""

    seconds: float
    documents: int
    chunks: int


# One answer function per system: question -> (answer, mode, citations); one search: question -> passages.
AskFn = Callable[[str], tuple[str, str, tuple[CitedQuote, ...]]]
SearchFn = Callable[[str], tuple[Retrieved, ...]]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:
        # `policyqa eval -- --gold …`: the CLI forwards its remainder, separator included.
        argv = argv[1:]
    args = _parser().parse_args(argv)
    from rag.errors import RagError

    from .gate import GateInputError

    try:
        return _run(args)
    except (RagError, GoldError, GateInputError) as exc:
        print(f"evals.run: error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policyqa eval", description="Evaluate PolicyQA and a LangChain baseline on gold questions."
    )
    parser.add_argument("--gold", type=Path, required=True, help="gold questions, JSONL (schema: evals/gold/seed-dev.jsonl)")
    corpus = parser.add_mutually_exclusive_group(required=True)
    corpus.add_argument("--index", type=Path, help="evaluate this existing index folder")
    corpus.add_argument("--docs", type=Path, nargs="+", help="report files/folders: build a fresh index (timed)")
    parser.add_argument("--out", type=Path, help="output folder (default: evals/out/<gold stem>/)")
    parser.add_argument("--system", choices=[*SYSTEMS, "both"], default="both")
    parser.add_argument("--k", type=int, default=5, help="passages given to the answer (default 5)")
    parser.add_argument("--thresholds", type=Path, help="apply the CI gate with these thresholds (evals/thresholds.json)")
    return parser


def _run(args: argparse.Namespace) -> int:
    from rag.config import Settings
    from rag.model.embedder import get_embedder

    from .baseline import PlainSentenceTransformer, baseline_embedder
    from .gate import check, load_thresholds

    if args.k < 1:
        raise GoldError(f"--k must be at least 1, got {args.k}")
    # Fail on bad inputs before the model loads.
    thresholds = load_thresholds(args.thresholds) if args.thresholds else None
    if args.index is not None and not args.index.is_dir():
        raise GoldError(f"--index {args.index} is not a folder; build one with `policyqa index <reports> --index {args.index}`")
    missing = [str(p) for p in args.docs or () if not p.exists()]
    if missing:
        raise GoldError(f"--docs: no such file or folder: {', '.join(missing)}")
    started = time.perf_counter()
    gold = load_gold(args.gold)
    out = args.out or Path("evals") / "out" / args.gold.stem
    systems = list(SYSTEMS) if args.system == "both" else [args.system]
    settings = Settings.from_env()

    embedder = get_embedder(settings.model, settings.cache_dir, settings.runtime, settings.precision)
    t0 = time.perf_counter()
    warm_up = getattr(embedder, "warm_up", None)
    if warm_up is not None:
        warm_up()  # load once, outside every system's build time
    model_load = time.perf_counter() - t0
    print(f"model {embedder.name} loaded in {model_load:.1f}s", file=sys.stderr)

    results: dict[str, list[SystemResult]] = {}
    builds: dict[str, Build] = {}
    with tempfile.TemporaryDirectory(prefix="policyqa-eval-") as tmp:
        index = None
        if OURS in systems or args.index is not None:
            index, build = _our_index(args, Path(tmp) / "index", settings, embedder)
            if OURS in systems:
                builds[OURS] = build
                print(f"{OURS}: {_describe(build)}", file=sys.stderr)
                ask, search = _our_system(index, settings, args.k)
                results[OURS] = run_system(OURS, gold, ask, search)
        if BASELINE in systems:
            documents = list(index.documents.values()) if args.index is not None else None
            # Same model as our index (with --index, the one it was built with), run as LangChain users run it.
            model = baseline_embedder(index.embedder if index is not None else embedder, settings.cache_dir)
            if isinstance(model, PlainSentenceTransformer):
                model.warm_up()  # outside the baseline's build time, as ours is
            ask, search, build = _baseline_system(args, documents, model, args.k)
            builds[BASELINE] = build
            print(f"{BASELINE}: {_describe(build)}", file=sys.stderr)
            results[BASELINE] = run_system(BASELINE, gold, ask, search)

    metrics: dict[str, Any] = {
        "gold": str(args.gold),
        "corpus": {"index": str(args.index)} if args.index else {"docs": [str(p) for p in args.docs]},
        "n_questions": len(gold),
        "k": args.k,
        "model": (index.embedder if index is not None else embedder).name,
        "llm_provider": settings.llm_provider,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_load_s": round(model_load, 3),
        "systems": {},
    }
    for name, rows in results.items():
        metrics["systems"][name] = {"build": _build_json(builds[name]), **evaluate(gold, rows)}
    metrics["wall_s"] = round(time.perf_counter() - started, 3)

    out.mkdir(parents=True, exist_ok=True)
    write_results(out / "results.jsonl", [row for rows in results.values() for row in rows])
    (out / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    report = write_report(out, metrics, results, gold)
    print(_summary(metrics))
    print(f"wrote {out / 'results.jsonl'}, {out / 'metrics.json'}, {report}  ({metrics['wall_s']:.1f}s)")

    if thresholds is not None:
        failures = check(metrics, thresholds)
        for failure in failures:
            print(f"GATE FAILED: {failure}", file=sys.stderr)
        if failures:
            return 1
        print("gate passed")
    return 0


def _describe(build: Build) -> str:
    return f"indexed {build.documents} report(s) into {build.chunks} chunks in {build.seconds:.1f}s"


def _build_json(build: Build) -> dict[str, Any]:
    return {"seconds": round(build.seconds, 3), "documents": build.documents, "chunks": build.chunks}


# ------------------------------------------------------------------------------------- systems


def _our_index(args: argparse.Namespace, tmp_index: Path, settings: Any, embedder: Any) -> tuple[Any, Build]:
    from rag.index.folder.persist import build_index, load_index

    t0 = time.perf_counter()
    if args.index is not None:
        index = load_index(args.index, settings=settings)
    else:
        index = build_index(list(args.docs), tmp_index, settings=settings, embedder=embedder, progress=False)
        if not index.documents:
            raise GoldError(f"no report could be loaded from {', '.join(map(str, args.docs))}")
    seconds = time.perf_counter() - t0
    return index, Build(seconds, len(index.documents), len(index.chunks))


def _our_system(index: Any, settings: Any, k: int) -> tuple[AskFn, SearchFn]:
    from rag.answer.assistant import Assistant

    assistant = Assistant(index, settings)

    def ask(question: str) -> tuple[str, str, tuple[CitedQuote, ...]]:
        answer = assistant.ask(question, k=k)
        citations = tuple(
            CitedQuote(c.source, c.title, tuple(c.section), c.quote, c.start, c.end) for c in answer.citations
        )
        return answer.text, answer.mode, citations

    def search(question: str) -> tuple[Retrieved, ...]:
        return tuple(
            Retrieved(h.source, tuple(h.chunk.section), h.chunk.text, float(h.score))
            for h in assistant.search(question, k=RETRIEVED_DEPTH)
        )

    return ask, search


def _baseline_system(
    args: argparse.Namespace, documents: list[Any] | None, embedder: Any, k: int
) -> tuple[AskFn, SearchFn, Build]:
    from rag.ingest.load import load_documents

    from .baseline import LangChainBaseline

    baseline = LangChainBaseline(embedder, k=k)
    t0 = time.perf_counter()
    if documents is None:  # --docs: load the files exactly as our index does
        documents, errors = load_documents(list(args.docs))
        for error in errors:
            print(f"{BASELINE}: skipped {error}", file=sys.stderr)
    baseline.build(documents)
    build = Build(time.perf_counter() - t0, len(documents), baseline.chunk_count)

    def ask(question: str) -> tuple[str, str, tuple[CitedQuote, ...]]:
        reply = baseline.ask(question)
        citations = tuple(
            CitedQuote(c["doc"], c["title"], tuple(c["section"]), c["quote"], c["start"], c["end"])
            for c in reply["citations"]
        )
        return reply["answer"], reply["mode"], citations

    def search(question: str) -> tuple[Retrieved, ...]:
        return tuple(Retrieved(doc, (), text, score) for text, doc, score in baseline.search(question, RETRIEVED_DEPTH))

    return ask, search, build


def run_system(name: str, gold: Sequence[GoldItem], ask: AskFn, search: SearchFn) -> list[SystemResult]:
    """Ask every gold question (timing `ask` only) and record the top passages.

    One untimed warm-up question first (not a gold one: that would cache its query vector), so lazy loads (tokenizer dictionaries,
    caches) do not land in the first question's latency. A question the system
    rejects with a RagError is recorded with mode "error" (and counts as wrong)
    instead of stopping the whole evaluation.
    """
    from rag.errors import RagError

    try:
        ask(WARM_UP_QUESTION)
        search(WARM_UP_QUESTION)
    except RagError:
        pass  # only warming up
    rows = []
    for item in gold:
        t0 = time.perf_counter()
        try:
            answer, mode, citations = ask(item.question)
        except RagError as exc:
            print(f"{name}: {item.id}: {exc}", file=sys.stderr)
            answer, mode, citations = f"{type(exc).__name__}: {exc}", ERROR_MODE, ()
        latency = (time.perf_counter() - t0) * 1000
        try:
            retrieved = search(item.question)
        except RagError:
            retrieved = ()
        rows.append(SystemResult(item.id, name, item.question, answer, mode, citations, retrieved, round(latency, 2)))
    return rows


def write_results(path: Path, rows: Sequence[SystemResult]) -> None:
    """One JSON object per line, per question per system."""
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row.to_json(), ensure_ascii=False) + "\n")


# ------------------------------------------------------------------------------------- summary


def _summary(metrics: dict[str, Any]) -> str:
    names = list(metrics["systems"])
    width = max(len(n) for n in names) + 2
    lines = [f"{'metric':<20}" + "".join(f"{n:>{width}}" for n in names)]
    for key, style in SUMMARY_ROWS:
        cells = "".join(
            f"{format_value(metrics['systems'][n]['overall'][key], style):>{width}}" for n in names
        )
        lines.append(f"{key:<20}{cells}")
    cells = "".join(f"{metrics['systems'][n]['build']['seconds']:>{width}.1f}" for n in names)
    lines.append(f"{'build_s':<20}{cells}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
