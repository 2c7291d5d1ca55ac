"""Which reports a search may return: `Filters`, evaluated by each backend's `mask`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import QueryError

__all__ = ["Filters"]

_FIELDS = ("doc_ids", "years", "publishers")


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrict a search to some documents, years or publishers; fields combine with AND.

    None, or an empty set, restricts nothing (an empty set is stored as None).
    """

    doc_ids: frozenset[str] | None = None
    years: frozenset[int] | None = None
    publishers: frozenset[str] | None = None  # substring match on DocumentMeta.publisher

    def __post_init__(self) -> None:
        for name in _FIELDS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, frozenset(value) or None)

    @property
    def empty(self) -> bool:
        """True when no field restricts anything."""
        return all(getattr(self, name) is None for name in _FIELDS)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> Filters | None:
        """From JSON-like input: {"doc_ids": [...], "years": [2024], "publishers": ["科技局"]}.

        >>> Filters.from_mapping({"years": [2024, "2023"]}).years == frozenset({2023, 2024})
        True
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
                publishers=frozenset(map(str, raw["publishers"])) if raw.get("publishers") else None,
            )
        except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: int(1e400) from JSON
            raise QueryError(f"filters must be lists (doc_ids: ids, years: integers, publishers: names): {exc}") from exc


def _year(value: Any) -> int:
    """A year from JSON: 2024 or "2024"; not true, 2024.5 or 1e400."""
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{value!r} is not a year")
    return int(value)
