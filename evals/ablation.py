"""Retrieval ablation: dense only, BM25 only and hybrid on the same index and gold questions.

    python -m evals.ablation --gold evals/gold/seed-dev.jsonl --docs data/reports/suzhou-kjj-2024-fzzf.txt

Prints hit@1, hit@3, hit@5 and MRR per mode (questions with evidence only), via
`rag.retrieve.search(..., config=RetrievalConfig(mode=...))`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .metrics import RETRIEVED_DEPTH, GoldError, GoldItem, Retrieved, first_relevant_rank, load_gold
from .report import format_value

__all__ = ["MODES", "ablate", "main"]

MODES = ("dense", "keyword", "hybrid")
LABELS = {"dense": "dense only", "keyword": "BM25 only", "hybrid": "hybrid"}


def ablate(index: Any, gold: Sequence[GoldItem], modes: Sequence[str] = MODES) -> dict[str, dict[str, float | None]]:
    """{mode: {"hit@1", "hit@3", "hit@5", "mrr", "n"}} over the gold items with evidence."""
    from rag.retrieve.hybrid import RetrievalConfig, search

    items = [g for g in gold if g.has_evidence]
    table: dict[str, dict[str, float | None]] = {}
    for mode in modes:
        ranks = []
        for item in items:
            hits = search(index, item.question, k=RETRIEVED_DEPTH, filters=None, config=RetrievalConfig(mode=mode))
            passages = [Retrieved(h.source, tuple(h.chunk.section), h.chunk.text, h.score) for h in hits]
            ranks.append(first_relevant_rank(item, passages))
        n = len(items)
        row: dict[str, float | None] = {"n": n}
        for k in (1, 3, 5):
            row[f"hit@{k}"] = sum(1 for r in ranks if r is not None and r <= k) / n if n else None
        row["mrr"] = sum(1 / r for r in ranks if r is not None) / n if n else None
        table[mode] = row
    return table


def format_table(table: dict[str, dict[str, float | None]]) -> str:
    lines = [f"{'mode':<14}{'hit@1':>8}{'hit@3':>8}{'hit@5':>8}{'MRR':>8}"]
    for mode, row in table.items():
        cells = "".join(f"{format_value(row[key], 'pct'):>8}" for key in ("hit@1", "hit@3", "hit@5"))
        lines.append(f"{LABELS.get(mode, mode):<14}{cells}{format_value(row['mrr'], 'num'):>8}")
    return "\n".join(lines)


def _open_index(args: argparse.Namespace, tmp_index: Path, settings: Any) -> Any:
    from rag.index.folder.persist import build_index, load_index

    if args.index is not None:
        return load_index(args.index, settings=settings)
    return build_index(list(args.docs), tmp_index, settings=settings, progress=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.ablation", description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, required=True)
    corpus = parser.add_mutually_exclusive_group(required=True)
    corpus.add_argument("--index", type=Path, help="an existing index folder")
    corpus.add_argument("--docs", type=Path, nargs="+", help="report files/folders: build a fresh index")
    args = parser.parse_args(argv)

    from rag.config import Settings
    from rag.errors import RagError

    try:
        gold = load_gold(args.gold)
        settings = Settings.from_env()
        with tempfile.TemporaryDirectory(prefix="policyqa-ablation-") as tmp:
            t0 = time.perf_counter()
            index = _open_index(args, Path(tmp) / "index", settings)
            print(f"index: {len(index.documents)} reports, {len(index.chunks)} chunks ({time.perf_counter() - t0:.1f}s)")
            table = ablate(index, gold)
    except (RagError, GoldError) as exc:
        print(f"evals.ablation: error: {exc}", file=sys.stderr)
        return 2
    n = next(iter(table.values()))["n"]
    print(f"{args.gold}: {n} questions with evidence")
    print(format_table(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
