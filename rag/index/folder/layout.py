"""The on-disk layout of an index and its atomic, deterministic writes.

An index directory holds generations and a pointer to the live one::

    index/<name>/
        CURRENT                 "gen-000002\\n", replaced atomically (os.replace)
        .lock                   writers take an exclusive fcntl lock on it
        gen-000002/
            manifest.json       format version, model, chunker, index type, documents, file sizes
            documents.jsonl     one Document per line (full cleaned text, meta)
            chunks.jsonl        one Chunk per line; documents by doc_id, chunks by ordinal
            embeddings.npy      float32 (n_chunks, dim); row i = chunk i
            vectors.faiss       FAISS index over the same rows
            keyword/            KeywordIndex (BM25)

A new generation is written into a hidden temporary folder, fsynced, renamed to
`gen-NNNNNN`, and only then does CURRENT switch to it; older generations are
deleted after the switch. A crash at any point leaves CURRENT naming a complete
generation. Readers never lock: they open whatever CURRENT names.

Everything written here is byte-for-byte reproducible from the same corpus,
except `created_at` in the manifest.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ...errors import IndexCorruptError, RagError

__all__ = [
    "FORMAT_VERSION",
    "IndexNotFoundError",
    "IndexBusyError",
    "MANIFEST",
    "DOCUMENTS",
    "CHUNKS",
    "EMBEDDINGS",
    "VECTORS",
    "KEYWORD",
    "current_generation",
    "generation_names",
    "new_generation",
    "writer_lock",
    "process_lock",
    "rebuild_hint",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = ".lock"
MANIFEST = "manifest.json"
DOCUMENTS = "documents.jsonl"
CHUNKS = "chunks.jsonl"
EMBEDDINGS = "embeddings.npy"
VECTORS = "vectors.faiss"
KEYWORD = "keyword"

_GEN = re.compile(r"^gen-(\d{6,})$")
_TMP_PREFIX = ".tmp-"
CHECKPOINTS = ".partial"  # an unfinished update's embedded reports (rag.index.checkpoints)


class IndexNotFoundError(IndexCorruptError):
    """There is no index at the given directory (nothing has been built there yet)."""


class IndexBusyError(RagError):
    """Another process holds the writer lock of the index for too long."""


def rebuild_hint(index_dir: Path | str) -> str:
    return f"rebuild with `policyqa index <paths> --index {index_dir} --rebuild`"


# -- generations --------------------------------------------------------------------


def generation_names(index_dir: Path) -> list[str]:
    """Generation folders present in `index_dir`, oldest first."""
    if not Path(index_dir).is_dir():
        return []
    names = [p.name for p in Path(index_dir).iterdir() if _GEN.match(p.name) and p.is_dir()]
    return sorted(names, key=lambda n: int(_GEN.match(n).group(1)))  # type: ignore[union-attr]


def current_generation(index_dir: Path) -> Path:
    """The folder CURRENT names; IndexNotFoundError / IndexCorruptError explain what is wrong."""
    index_dir = Path(index_dir)
    pointer = index_dir / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        if generation_names(index_dir):
            raise IndexCorruptError(
                f"{pointer} is missing although {index_dir} holds generations "
                f"{', '.join(generation_names(index_dir))}: {rebuild_hint(index_dir)}"
            ) from None
        raise IndexNotFoundError(
            f"no index at {index_dir}: build one with `policyqa index <paths> --index {index_dir}`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"{pointer} cannot be read ({exc}): {rebuild_hint(index_dir)}") from exc
    if not _GEN.match(name):
        raise IndexCorruptError(
            f"{pointer} should name a generation folder like gen-000001, found {name[:80]!r}: "
            f"{rebuild_hint(index_dir)}"
        )
    gen = index_dir / name
    if not gen.is_dir():
        raise IndexCorruptError(
            f"{pointer} names {name}, which does not exist in {index_dir}: {rebuild_hint(index_dir)}"
        )
    return gen


def _next_name(index_dir: Path) -> str:
    numbers = [int(_GEN.match(n).group(1)) for n in generation_names(index_dir)]  # type: ignore[union-attr]
    with contextlib.suppress(IndexCorruptError):
        numbers.append(int(_GEN.match(current_generation(index_dir).name).group(1)))  # type: ignore[union-attr]
    return f"gen-{max(numbers, default=0) + 1:06d}"


@contextlib.contextmanager
def new_generation(index_dir: Path) -> Iterator[Path]:
    """Yield an empty temporary folder; on success publish it as the next generation.

    The caller must hold `writer_lock(index_dir)`. If the body raises, the
    temporary folder is removed and CURRENT still names the old generation.
    After the switch, all other generations and stale temporary folders go.
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    name = _next_name(index_dir)
    tmp = index_dir / f"{_TMP_PREFIX}{name}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
        _fsync_tree(tmp)
        final = index_dir / name
        os.rename(tmp, final)
        _fsync_dir(index_dir)
        _write_atomic(index_dir / CURRENT, (name + "\n").encode("utf-8"))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _remove_old(index_dir, keep=name)


def _remove_old(index_dir: Path, keep: str) -> None:
    # Readers that opened an old generation keep their mmaps (POSIX unlink semantics);
    # a reader that reads CURRENT just before the switch retries (see rag.index.folder.persist).
    for entry in index_dir.iterdir():
        if entry.name == keep:
            continue
        if _GEN.match(entry.name) or entry.name.startswith(_TMP_PREFIX):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(CURRENT + ".") and entry.is_file():
            entry.unlink(missing_ok=True)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be fsynced
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


# -- locks --------------------------------------------------------------------------

_process_locks: dict[str, threading.RLock] = {}
_process_locks_guard = threading.Lock()
_flock_depth: dict[str, int] = {}  # guarded by the directory's process lock


def process_lock(index_dir: Path) -> threading.RLock:
    """One re-entrant lock per index directory in this process (serialises add/save)."""
    key = str(Path(index_dir).resolve())
    with _process_locks_guard:
        return _process_locks.setdefault(key, threading.RLock())


@contextlib.contextmanager
def writer_lock(index_dir: Path, timeout: float = 600.0) -> Iterator[None]:
    """Exclusive writer lock: this process's lock, then an fcntl lock on `index_dir/.lock`.

    Readers do not take it. Raises IndexBusyError after `timeout` seconds.
    """
    index_dir = Path(index_dir)
    key = str(index_dir.resolve())
    with process_lock(index_dir):
        if _flock_depth.get(key, 0):  # re-entered by the thread that holds it (build_index → save)
            _flock_depth[key] += 1
            try:
                yield
            finally:
                _flock_depth[key] -= 1
            return
        index_dir.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # not POSIX: only the in-process lock applies
            yield
            return
        with open(index_dir / LOCK, "a+b") as handle:
            deadline = time.monotonic() + timeout
            waited = False
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not waited:
                        log.info("waiting for another process writing %s", index_dir)
                        waited = True
                    if time.monotonic() > deadline:
                        raise IndexBusyError(
                            f"another process has been writing the index at {index_dir} for over "
                            f"{timeout:.0f} s (lock file {index_dir / LOCK}); wait for it to finish"
                        ) from None
                    time.sleep(0.05)
            _flock_depth[key] = 1
            try:
                yield
            finally:
                _flock_depth[key] = 0
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
