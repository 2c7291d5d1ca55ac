"""Metadata filters for the folder index: per-document facts as arrays, a boolean mask per query.

A filter used to walk every document in Python: ~40 ms a query at 1M chunks
(50k reports). The table is computed once per document set and each filter is a
few vectorised comparisons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...types import Chunk, Document
from ..filters import Filters

__all__ = ["DocTable"]


@dataclass(frozen=True)
class DocTable:
    """What metadata filters read, per document in sorted doc_id order."""

    documents: dict[str, Document]  # the dict this was computed from (identity = freshness)
    ordered: list[str]
    where: dict[str, int]
    years: np.ndarray  # int64; -1 where the report names no year
    publisher_names: list[str]  # distinct publishers ("" for none)
    publisher_of: np.ndarray  # index into publisher_names, per document
    facets: dict[str, np.ndarray]  # place / genre / level of each document ("" for none)

    @classmethod
    def of(cls, documents: dict[str, Document]) -> DocTable:
        ordered = sorted(documents)
        metas = [documents[d].meta for d in ordered]
        names = sorted({m.publisher or "" for m in metas})
        slot = {name: i for i, name in enumerate(names)}
        return cls(
            documents=documents,
            ordered=ordered,
            where={d: i for i, d in enumerate(ordered)},
            years=np.fromiter((m.year if m.year is not None else -1 for m in metas), dtype=np.int64, count=len(metas)),
            publisher_names=names,
            publisher_of=np.fromiter((slot[m.publisher or ""] for m in metas), dtype=np.int64, count=len(metas)),
            facets={
                name: np.array([getattr(m, name) or "" for m in metas], dtype=object) for name in ("place", "genre", "level")
            },
        )

    def positions(self, chunks: Sequence[Chunk]) -> np.ndarray:
        """Each chunk's document row (chunk i belongs to document row positions[i])."""
        return np.fromiter((self.where[c.doc_id] for c in chunks), dtype=np.int64, count=len(chunks))

    def passing(self, filters: Filters) -> np.ndarray:
        """Per document row: whether it passes every field of `filters` (AND).

        A document passes `doc_ids` when it is listed, `years` when its year is
        listed, `publishers` when its publisher contains one of them (科技局 matches
        苏州市科技局), `places`/`genres`/`levels` when its place, genre or level is listed.
        """
        keep = np.ones(len(self.ordered), dtype=bool)
        if filters.doc_ids is not None:
            wanted = np.zeros(len(self.ordered), dtype=bool)
            wanted[[self.where[d] for d in filters.doc_ids if d in self.where]] = True
            keep &= wanted
        if filters.years is not None:
            # a year beyond int64 (hostile input) matches no report
            years = np.asarray([y for y in filters.years if -(2**62) < y < 2**62], dtype=np.int64)
            keep &= np.isin(self.years, years) & (self.years != -1)
        if filters.publishers is not None:
            matches = np.fromiter(
                (any(p and p in name for p in filters.publishers) for name in self.publisher_names),
                dtype=bool,
                count=len(self.publisher_names),
            )
            keep &= matches[self.publisher_of]
        for name, wanted_values in (("place", filters.places), ("genre", filters.genres), ("level", filters.levels)):
            if wanted_values is not None:
                keep &= np.isin(self.facets[name], list(wanted_values))
        return keep
