"""Splitting one indexing job over several `policyqa index --shard i/n` processes.

A report file belongs to shard `hash(its path relative to the folder given) mod n`: every
process sees the same split without talking to the others, and a file added while they run
lands in exactly one shard. Each process embeds only its shard's reports but reads the whole
file list, so no shard takes another shard's files for deleted ones. Writes go through the
store's writer lock (a PostgreSQL advisory lock), so identical reports in two shards are
stored once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError

__all__ = ["Shard", "shard_name"]

_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    """Shard `number` of `count` (1-based, as the command line writes it)."""

    number: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= self.count:
            raise ConfigError(f"a shard is i/n with 1 <= i <= n, got {self.number}/{self.count}")

    @classmethod
    def parse(cls, spec: str) -> Shard:
        """`Shard.parse("2/4")` → Shard(number=2, count=4)."""
        match = _SPEC.fullmatch(spec)
        if match is None:
            raise ConfigError(f"--shard takes i/n (e.g. 1/4), got {spec!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    def holds(self, name: str) -> bool:
        """Whether the file called `name` (see `shard_name`) is this shard's.

        >>> [Shard(1, 2).holds(f"r{i}.txt") != Shard(2, 2).holds(f"r{i}.txt") for i in range(4)]
        [True, True, True, True]
        """
        digest = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
        return digest % self.count == self.number - 1


def shard_name(path: Path, roots: Sequence[Path]) -> str:
    """A file's name for sharding: its path under the first given folder holding it, else its
    file name, so processes on machines that mount the reports elsewhere agree.

    >>> shard_name(Path("/data/reports/2024/a.txt"), [Path("/data/reports")])
    '2024/a.txt'
    """
    for root in roots:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            continue
    return path.name
