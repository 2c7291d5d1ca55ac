"""Dense and keyword search in SQL, and metadata filters as SQL conditions.

Dense search: inner product on unit vectors (= cosine) through the HNSW index;
a metadata filter that leaves fewer than k rows in the graph walk falls back
to an exact scan of the allowed rows, as the FAISS backend does.

Keyword search: the same BM25 as the folder index (Lucene idf and length
normalisation, `rag.index.passages` parameters, the same jieba tokens),
evaluated in SQL over the stored term counts. Candidates are the chunks that
hold one of the query's selective terms, the rarest ones whose postings add up
to at most `CANDIDATE_BUDGET` (at least the rarest one), found through the GIN
index; each candidate is scored with ALL query terms. Chunks that hold only
common terms (工作, 建设: in most chunks) are not scored: the top k is exact
when the query's postings fit the budget (small corpora), BM25 with candidate
pruning beyond (recall@50 against exact BM25 is measured by the benchmark).
Scoring every chunk that holds some query term cost ~1 s a query at 100k
chunks; the keyword columns live in their own narrow table, uncompressed,
because reading them out of TOAST per candidate tripled the cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..filters import Filters
from ..passages import BM25_B, BM25_K1
from .rows import CHUNK_COLUMNS
from .schema import qualify

if TYPE_CHECKING:
    import psycopg

__all__ = ["PgFilter", "CANDIDATE_BUDGET", "dense_rows", "keyword_rows"]

MIN_EF_SEARCH = 100
# Keyword candidates: the rarest query terms whose postings add up to at most this many rows
# (measured at 100k synthetic chunks: 5k → 34 ms, recall@50 0.80 against exact BM25; 10k → 65 ms,
# 0.91; 20k → 102 ms, 1.00).
CANDIDATE_BUDGET = 10_000


@dataclass(frozen=True)
class PgFilter:
    """A metadata filter as SQL over `chunks c`; `any()` asks the database whether a row passes."""

    filters: Filters
    exists: Callable[[PgFilter], bool] = field(repr=False, compare=False)

    def sql(self, alias: str = "c") -> tuple[str, dict[str, Any]]:
        """A condition on `<alias>.doc_id` and its parameters."""
        f = self.filters
        conditions = []
        params: dict[str, Any] = {}
        if f.doc_ids is not None:
            conditions.append("d.doc_id = ANY(%(f_doc_ids)s::text[])")
            params["f_doc_ids"] = sorted(f.doc_ids)
        if f.years is not None:
            conditions.append("d.year = ANY(%(f_years)s::int[])")
            params["f_years"] = sorted(y for y in f.years if -(2**31) < y < 2**31)  # others match nothing
        if f.publishers is not None:
            # substring match, as the folder index: 科技局 matches 苏州市科技局
            conditions.append(
                "EXISTS (SELECT 1 FROM unnest(%(f_publishers)s::text[]) AS p(name) "
                "WHERE p.name <> '' AND strpos(coalesce(d.publisher, ''), p.name) > 0)"
            )
            params["f_publishers"] = sorted(f.publishers)
        for column, values in (("place", f.places), ("genre", f.genres), ("level", f.levels)):
            if values is not None:
                conditions.append(f"d.{column} = ANY(%(f_{column})s::text[])")
                params[f"f_{column}"] = sorted(values)
        where = " AND ".join(conditions) or "TRUE"
        return f"{alias}.doc_id IN (SELECT d.doc_id FROM {{s}}.documents d WHERE {where})", params

    def any(self) -> bool:
        return self.exists(self)


def dense_rows(
    conn: psycopg.Connection[Any], schema: str, q: np.ndarray, k: int, allowed: PgFilter | None
) -> list[tuple[Any, ...]]:
    """CHUNK_COLUMNS + score rows of the k nearest chunks, best first."""
    where, params = allowed.sql() if allowed is not None else ("TRUE", {})
    params = {**params, "q": q, "k": int(k)}
    with conn.transaction():
        conn.execute(f"SET LOCAL hnsw.ef_search = {max(MIN_EF_SEARCH, 2 * int(k))}")
        rows = conn.execute(
            qualify(
                f"SELECT {CHUNK_COLUMNS}, -(c.embedding <#> %(q)s) AS score FROM {{s}}.chunks c "
                f"WHERE {where} ORDER BY c.embedding <#> %(q)s LIMIT %(k)s",
                schema,
            ),
            params,
        ).fetchall()
        if allowed is not None and len(rows) < k:
            # the graph walk met too few allowed rows (pgvector filters after the walk):
            # score every allowed row exactly, so a filter never silently shrinks results
            rows = conn.execute(
                qualify(
                    f"WITH c AS MATERIALIZED (SELECT * FROM {{s}}.chunks c WHERE {where}) "
                    f"SELECT {CHUNK_COLUMNS}, -(c.embedding <#> %(q)s) AS score FROM c "
                    "ORDER BY score DESC, c.id LIMIT %(k)s",
                    schema,
                ),
                params,
            ).fetchall()
    return rows


def keyword_rows(
    conn: psycopg.Connection[Any],
    schema: str,
    terms: list[str],
    k: int,
    allowed: PgFilter | None,
    candidate_budget: int = CANDIDATE_BUDGET,
) -> list[tuple[Any, ...]]:
    """CHUNK_COLUMNS + BM25 score rows of the k best chunks for the (distinct, sorted) terms; ties by id."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        n, total = conn.execute(qualify("SELECT n_chunks, total_length FROM {s}.stats", schema)).fetchone()
        found = conn.execute(
            qualify("SELECT term, id, df FROM {s}.terms WHERE term = ANY(%s::text[]) AND df > 0", schema), (terms,)
        ).fetchall()
        if not found or not n:
            return []
        avgdl = total / n
        # rarest first; idf as bm25s computes it (float64 log, stored as float32)
        found.sort(key=lambda row: (row[2], row[0]))
        idf = [float(np.float32(math.log(1 + (n - df + 0.5) / (df + 0.5)))) for _, _, df in found]
        # Candidates: chunks holding one of the rarest terms whose postings fit the budget.
        selective, postings = 1, found[0][2]
        while selective < len(found) and postings + found[selective][2] <= candidate_budget:
            postings += found[selective][2]
            selective += 1
        where, params = allowed.sql("k") if allowed is not None else ("TRUE", {})
        # w·tf/(tf+K) written as w - w·K/(tf+K): one array lookup per term; NULL (absent) → 0
        score = " + ".join(
            f"coalesce(%(w{i})s::float8 - %(w{i})s::float8 * k.norm "
            f"/ (k.tfs[array_position(k.term_ids, %(t{i})s::int)] + k.norm), 0)"
            for i in range(len(found))
        )
        sql = qualify(
            f"""WITH top AS (
                SELECT k.id, {score} AS score
                FROM (SELECT k.id, k.term_ids, k.tfs,
                             %(k1)s::float8 * (1 - %(b)s::float8 + %(b)s::float8 * k.length / %(avgdl)s::float8)
                             AS norm
                      FROM {{s}}.chunk_terms k
                      WHERE k.term_ids && %(selective)s::int[] AND {where}
                      OFFSET 0) AS k
                ORDER BY score DESC, k.id LIMIT %(k)s)
            SELECT {CHUNK_COLUMNS}, top.score FROM top JOIN {{s}}.chunks c ON c.id = top.id
            ORDER BY top.score DESC, c.id""",
            schema,
        )
        values: dict[str, Any] = {
            **params,
            "k1": BM25_K1,
            "b": BM25_B,
            "avgdl": avgdl,
            "selective": [row[1] for row in found[:selective]],
            "k": int(k),
        }
        for i, (_, term_id, _) in enumerate(found):
            values[f"t{i}"] = int(term_id)
            values[f"w{i}"] = idf[i]
        return conn.execute(sql, values).fetchall()
