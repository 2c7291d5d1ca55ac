"""Embedded reports kept on disk until the index holding them is published, so that a killed
`policyqa index` resumes where it stopped instead of embedding everything again.

One file per report, named after its doc_id and a key of everything its vectors depend on
(the model, its precision and every passage text): a report chunked or embedded differently
never picks up stale vectors. Each file is written whole (temporary file, then rename), so a
kill leaves complete files only; an unreadable one is deleted and embedded again. Files go
once the index that holds their report is published (`discard`). The published index itself
is never touched here: it changes only when an update completes.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = ["Checkpoints"]

log = logging.getLogger(__name__)

STALE_TMP_SECONDS = 3600


class Checkpoints:
    """The embedded reports of unfinished updates, in `folder`, for vectors made by what
    `identity()` names (e.g. "policyqa/multilingual-e5-small|int8|384"; asked only when
    vectors are read or written, so discarding never loads a model)."""

    def __init__(self, folder: Path, identity: Callable[[], str]) -> None:
        self.folder = Path(folder)
        self._identity = identity

    def __repr__(self) -> str:
        return f"Checkpoints({str(self.folder)!r})"

    def _path(self, doc_id: str, texts: Sequence[str]) -> Path:
        digest = hashlib.sha256(self._identity().encode())
        for text in texts:
            digest.update(b"\x00" + text.encode("utf-8"))
        return self.folder / f"{doc_id}-{digest.hexdigest()[:20]}.npy"

    def load(self, doc_id: str, texts: Sequence[str], dim: int) -> np.ndarray | None:
        """The vectors kept for this report's passages, or None."""
        path = self._path(doc_id, texts)
        try:
            vectors = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except Exception as exc:  # damaged (empty after a power loss: EOFError; garbage: ValueError): embed again
            log.warning("ignoring the unreadable checkpoint %s (%s)", path, exc)
            path.unlink(missing_ok=True)
            return None
        if vectors.shape != (len(texts), dim) or vectors.dtype != np.float32 or not np.isfinite(vectors).all():
            path.unlink(missing_ok=True)
            return None
        return vectors

    def save(self, doc_id: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Keep a report's vectors (atomically: a kill leaves the old state or the whole file)."""
        target = self._path(doc_id, texts)
        handle, tmp = self._temporary()
        try:
            with os.fdopen(handle, "wb") as f:
                np.save(f, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())  # whole on disk before it gets its name
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _temporary(self) -> tuple[int, str]:
        for _ in range(3):  # the folder is made on demand; another process may be clearing it
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                return tempfile.mkstemp(prefix=".tmp-", suffix=".npy", dir=self.folder)
            except FileNotFoundError:
                continue
        return tempfile.mkstemp(prefix=".tmp-", suffix=".npy", dir=self.folder)

    def clear(self) -> None:
        """Forget every kept report (a bulk update completed: what is left belongs to reports gone since).
        Files being written by another process (temporary names) are left to it."""
        self._remove(lambda name: not name.startswith("."))
        with contextlib.suppress(OSError):  # not empty: another process's file; a writer re-makes it (`_temporary`)
            self.folder.rmdir()

    def kept(self) -> int:
        """How many reports have vectors kept."""
        return sum(1 for p in self.folder.glob("*.npy") if not p.name.startswith(".")) if self.folder.is_dir() else 0

    def discard(self, doc_ids: Iterable[str]) -> None:
        """Forget the kept vectors of reports now published."""
        published = set(doc_ids)
        self._remove(lambda name: name.split("-", 1)[0] in published)

    def _remove(self, chosen: Callable[[str], bool]) -> None:
        """Delete the kept files `chosen` names, and temporary files a killed writer left. The folder
        stays (another process may be about to write into it); an empty one is removed by nobody."""
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.name.startswith(".tmp-"):  # young ones are another process's, being written
                    if time.time() - entry.stat().st_mtime > STALE_TMP_SECONDS:
                        os.unlink(entry.path)
                elif entry.name.endswith(".npy") and chosen(entry.name):
                    os.unlink(entry.path)
