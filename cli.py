"""`policyqa` command line: a thin shell over the library and the apps, one call per command.

It lives beside the apps it starts (`ui/` for `serve`, `evals/` for `eval`), so the
`rag` library never imports what is built on it. Library errors (RagError) are
turned into a one-line message and exit code 2 here, in one place.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag import Assistant, Settings, build_index
from rag.errors import ConfigError, RagError
from rag.types import Answer

if TYPE_CHECKING:
    from rag.index.update import UpdateSummary

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `policyqa` command; returns the exit code (2 for a library error)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["eval"]:  # its options belong to evals.run, which parses them itself
        from evals.run import main as eval_main

        return eval_main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 1
    try:
        return int(args.run(args) or 0)
    except RagError as exc:
        print(f"policyqa: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policyqa", description="Cited answers over Chinese policy reports, offline.")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("setup", help="build the offline embedding model and token encodings (once)")
    p.set_defaults(run=_setup)

    p = sub.add_parser("index", help="index report files or folders (incremental)")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--index", type=Path, help="index folder (default: index/default)")
    p.add_argument("--rebuild", action="store_true", help="ignore the existing index and build anew")
    p.add_argument("--index-type", choices=["flat", "hnsw", "ivf"], help="override the automatic choice")
    p.add_argument(
        "--shard", metavar="I/N", help="index only shard I of N of the files (several processes into one PostgreSQL)"
    )
    p.set_defaults(run=_index)

    p = sub.add_parser("search", help="show the passages retrieved for a query")
    p.add_argument("query")
    p.add_argument("--index", type=Path)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_search)

    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question")
    p.add_argument("--index", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_ask)

    p = sub.add_parser("serve", help="start the chat page and HTTP API")
    p.add_argument("--index", type=Path)
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(run=_serve)

    p = sub.add_parser("eval", help="evaluate against a gold Q&A file")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(run=_eval)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "index", None):
        overrides["index_dir"] = args.index
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    return Settings.from_env(**overrides)


def _setup(args: argparse.Namespace) -> int:
    from rag.model.embedder import get_embedder
    from rag.text.token_count import get_encoding

    settings = _settings(args)
    start = time.perf_counter()
    get_encoding()
    embedder = get_embedder(settings.model, settings.cache_dir, settings.runtime, settings.precision)
    runtime = getattr(embedder, "runtime", "no model runtime")
    print(f"model {embedder.name} ready (dim {embedder.dim}, {runtime}) in {time.perf_counter() - start:.1f}s")
    return 0


def _index(args: argparse.Namespace) -> int:
    from rag.model.embedder import bulk_precision

    settings = _settings(args)
    if not settings.model.startswith("hash-ngram-"):  # a model-free embedder has no precision (and needs no torch)
        settings = settings.with_(precision=bulk_precision(settings.precision))
    if settings.database_url:
        return _index_database(args, settings)
    if args.shard:
        raise ConfigError(
            "--shard splits one job over several processes writing one PostgreSQL index (POLICYQA_DATABASE_URL); "
            "a folder index has one writer at a time"
        )
    index = build_index(
        args.paths, settings.index_dir, settings=settings, index_type=args.index_type, rebuild=args.rebuild, progress=True
    )
    _print_update(str(settings.index_dir), index.last_summary, len(index.chunks), len(index.documents))
    return 0


def _index_database(args: argparse.Namespace, settings: Settings) -> int:
    """POLICYQA_DATABASE_URL is set: update the PostgreSQL index instead of a folder."""
    from rag.index.pg.store import PgIndex
    from rag.index.shards import Shard

    if args.rebuild or args.index_type:
        raise ConfigError(
            "--rebuild and --index-type apply to a folder index; with POLICYQA_DATABASE_URL set, remove reports "
            "with the API or drop the `policyqa` schema to start over (the database always uses HNSW)"
        )
    shard = Shard.parse(args.shard) if args.shard else None
    with PgIndex(settings.database_url or "", settings=settings) as index:
        s = index.add(args.paths, progress=True, shard=shard)
    _print_update("the database", s, s.total_chunks, s.total_documents)
    return 0


def _print_update(where: str, s: UpdateSummary, chunks: int, reports: int) -> None:
    print(
        f"indexed into {where}: {s.added} added, {s.updated} updated, {s.removed} removed, "
        f"{s.skipped} unchanged; {chunks} chunks in {reports} reports; {s.seconds:.1f}s"
        + (f" ({s.resumed} reports resumed from an interrupted run)" if s.resumed else "")
    )
    for error in s.errors:
        print(f"  skipped {error}", file=sys.stderr)


def _search(args: argparse.Namespace) -> int:
    hits = Assistant.open(settings=_settings(args)).search(args.query, k=args.k)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return 0
    for hit in hits:
        print(f"[{hit.rank}] {hit.score:.4f}  {hit.title} › {' › '.join(hit.chunk.section) or '(导语)'}")
        print(f"    {hit.chunk.text[:160]}")
    return 0


def _ask(args: argparse.Namespace) -> int:
    answer = Assistant.open(settings=_settings(args)).ask(args.question)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from ui.app import serve

    serve(_settings(args))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from evals.run import main as eval_main

    return eval_main(args.rest)


def format_answer(answer: Answer) -> str:
    """Plain-text rendering: the answer, then numbered sources (title › section, quote)."""
    lines = [f"问：{answer.question}", f"答：{answer.text}"]
    if answer.notice:
        lines.append(f"注意：{answer.notice}")
    if answer.citations:
        lines.append("出处：")
        for c in answer.citations:
            lines.append(f"  [{c.marker}] {c.title} › {' › '.join(c.section)}")
            lines.append(f"      “{c.quote}”")
    elif answer.hits:
        lines.append("最接近的段落（未必回答了问题）：")
        for h in answer.hits[:3]:
            lines.append(f"  - {h.title} › {' › '.join(h.chunk.section)}：{h.chunk.text[:80]}…")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
