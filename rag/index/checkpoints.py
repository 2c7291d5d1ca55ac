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
        except (OSError, ValueError) as exc:  # damaged (a disk error): embed again
            log.warning("ignoring the unreadable checkpoint %s (%s)", path, exc)
            path.unlink(missing_ok=True)
            return None
        if vectors.shape != (len(texts), dim) or vectors.dtype != np.float32 or not np.isfinite(vectors).all():
            path.unlink(missing_ok=True)
            return None
        return vectors

    def save(self, doc_id: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Keep a report's vectors (atomically: a kill leaves the old state or the whole file)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self._path(doc_id, texts)
        handle, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npy", dir=self.folder)
        try:
            with os.fdopen(handle, "wb") as f:
                np.save(f, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def clear(self) -> None:
        """Forget everything kept (a bulk update completed: what is left belongs to reports gone since)."""
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)

    def kept(self) -> int:
        """How many reports have vectors kept."""
        return sum(1 for p in self.folder.glob("*.npy") if not p.name.startswith(".")) if self.folder.is_dir() else 0

    def discard(self, doc_ids: Iterable[str]) -> None:
        """Forget the kept vectors of reports now published."""
        if not self.folder.is_dir():
            return
        for doc_id in doc_ids:
            for path in self.folder.glob(f"{doc_id}-*.npy"):
                path.unlink(missing_ok=True)
        for tmp in self.folder.glob(".tmp-*"):  # a killed writer's; another process may be writing a young one
            with contextlib.suppress(OSError):
                if time.time() - tmp.stat().st_mtime > STALE_TMP_SECONDS:
                    tmp.unlink()
        with contextlib.suppress(OSError):  # left when other reports' vectors are still kept
            self.folder.rmdir()
