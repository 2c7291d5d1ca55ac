"""Which reports a search may return: `Filters`, evaluated by each backend's `mask`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import QueryError
from ..text.places import canonical_place

__all__ = ["Filters"]

_FIELDS = ("doc_ids", "years", "publishers", "places", "genres", "levels")


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrict a search to some reports: by id, year, publisher, place, genre or issuer level.

    Fields combine with AND, the values of one field with OR. None, or an empty
    set, restricts nothing (an empty set is stored as None). A year matches the
    report's `year` (the year in its name); a place matches in full or short
    (江苏 = 江苏省) and is stored in full; a publisher matches as a substring of
    DocumentMeta.publisher (科技局 matches 苏州市科技局).
    """

    doc_ids: frozenset[str] | None = None
    years: frozenset[int] | None = None
    publishers: frozenset[str] | None = None
    places: frozenset[str] | None = None
    genres: frozenset[str] | None = None
    levels: frozenset[str] | None = None  # 国务院, 省, 市, 区县, 部门

    def __post_init__(self) -> None:
        for name in _FIELDS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, frozenset(value) or None)
        if self.places is not None:
            object.__setattr__(self, "places", frozenset(canonical_place(p) or p for p in self.places))

    @property
    def empty(self) -> bool:
        """True when no field restricts anything."""
        return all(getattr(self, name) is None for name in _FIELDS)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> Filters | None:
        """From JSON-like input: {"doc_ids": [...], "years": [2024], "places": ["江苏"], "genres": [...]}.

        >>> Filters.from_mapping({"years": [2024, "2023"]}).years == frozenset({2023, 2024})
        True
        >>> Filters.from_mapping({"places": ["宁夏"]}).places
        frozenset({'宁夏回族自治区'})
        """
        if not raw:
            return None
        unknown = set(raw) - set(_FIELDS)
        if unknown:
            raise QueryError(f"unknown filter(s) {sorted(unknown)}; use {', '.join(_FIELDS)}")
        for key in _FIELDS:
            # a string is iterable too: {"years": "2024"} would silently mean years 2, 0 and 4
            if isinstance(raw.get(key), str | bytes | Mapping):
                raise QueryError(f'filter {key} must be a list, e.g. {{"{key}": [...]}}; got {raw[key]!r:.60}')
        try:
            return cls(
                doc_ids=frozenset(map(str, raw["doc_ids"])) if raw.get("doc_ids") else None,
                years=frozenset(_year(y) for y in raw["years"]) if raw.get("years") else None,
                publishers=_texts(raw, "publishers"),
                places=_texts(raw, "places"),
                genres=_texts(raw, "genres"),
                levels=_texts(raw, "levels"),
            )
        except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int(1e400) from JSON
            raise QueryError(f"filters must be lists (doc_ids: ids, years: integers, others: names): {exc}") from exc


def _texts(raw: Mapping[str, Any], key: str) -> frozenset[str] | None:
    return frozenset(map(str, raw[key])) if raw.get(key) else None


def _year(value: Any) -> int:
    """A year from JSON: 2024 or "2024"; not true, 2024.5 or 1e400."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{value!r} is not a year")
    return int(value)
