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
import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexCorruptError, IndexMismatchError, RagError
from .types import Chunk, Document, DocumentMeta

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
    "read_manifest",
    "check_files",
    "describe_files",
    "write_json",
    "write_jsonl",
    "read_jsonl",
    "write_npy",
    "read_npy",
    "document_to_record",
    "document_from_record",
    "chunk_to_record",
    "chunk_from_record",
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
    # a reader that reads CURRENT just before the switch retries (see rag.index).
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


# -- files --------------------------------------------------------------------------


def write_json(path: Path, obj: Any) -> None:
    """Pretty, sorted-key, UTF-8 JSON with a final newline (deterministic)."""
    Path(path).write_text(
        json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """One JSON object per line, keys in the order given, UTF-8 (human-readable)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False))
            f.write("\n")


def read_jsonl(path: Path, index_dir: Path | None = None) -> Iterator[dict[str, Any]]:
    """Records of a JSONL file; a bad line raises IndexCorruptError naming file and line."""
    hint = rebuild_hint(index_dir or Path(path).parent.parent)
    if not Path(path).is_file():
        raise IndexCorruptError(f"{path} is missing: {hint}")
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise IndexCorruptError(f"{path} line {number} is not valid JSON ({exc}): {hint}") from exc
            if not isinstance(record, dict):
                raise IndexCorruptError(f"{path} line {number} is not a JSON object: {hint}")
            yield record


def write_npy(path: Path, array: np.ndarray) -> None:
    np.save(path, np.ascontiguousarray(array), allow_pickle=False)


def read_npy(
    path: Path, shape: tuple[int, ...], dtype: str, *, mmap: bool = False, index_dir: Path | None = None
) -> np.ndarray:
    """Load a .npy file and check its shape and dtype."""
    hint = rebuild_hint(index_dir or Path(path).parent.parent)
    try:
        array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise IndexCorruptError(f"{path} is missing: {hint}") from None
    except (OSError, ValueError, EOFError) as exc:
        raise IndexCorruptError(f"{path} cannot be read ({exc}): it is truncated or damaged; {hint}") from exc
    if array.shape != shape or array.dtype != np.dtype(dtype):
        raise IndexCorruptError(
            f"{path} should hold {dtype} {shape}, found {array.dtype} {array.shape}: {hint}"
        )
    return array


def describe_files(root: Path) -> dict[str, dict[str, Any]]:
    """Size and sha256 of every file under `root` except the manifest, by relative path."""
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel == MANIFEST:
            continue
        files[rel] = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
    return files


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Up to this total size, loading also checks every file's sha256 (~0.1 s per 150 MB here):
# same-size damage is caught, not answered from. Bigger indexes are memory-mapped to start
# fast, and hashing gigabytes at each start would undo that; they get the size check only.
VERIFY_HASHES_UP_TO = 1 << 30


def check_files(gen: Path, files: Mapping[str, Mapping[str, Any]], *, verify_hashes: bool | None = None) -> None:
    """Every file the manifest lists exists with the recorded size and (by default, for
    indexes up to VERIFY_HASHES_UP_TO bytes) the recorded sha256."""
    index_dir = gen.parent
    if verify_hashes is None:
        verify_hashes = sum(int(info.get("bytes") or 0) for info in files.values()) <= VERIFY_HASHES_UP_TO
    for rel, info in files.items():
        path = gen / rel
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise IndexCorruptError(f"{path} is missing: {rebuild_hint(index_dir)}") from None
        if size != info.get("bytes"):
            raise IndexCorruptError(
                f"{path} has {size} bytes, the manifest recorded {info.get('bytes')}: the file is "
                f"truncated or was changed; {rebuild_hint(index_dir)}"
            )
        if verify_hashes and file_sha256(path) != info.get("sha256"):
            raise IndexCorruptError(
                f"{path} does not match its recorded sha256: {rebuild_hint(index_dir)}"
            )


_REQUIRED = ("format_version", "model", "dim", "chunker", "index_type", "chunk_count", "documents", "files")


def read_manifest(gen: Path) -> dict[str, Any]:
    """Parse and check `manifest.json` of a generation (format version, required keys)."""
    index_dir = gen.parent
    path = gen / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"{path} is missing: {rebuild_hint(index_dir)}") from None
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"{path} cannot be parsed ({exc}): {rebuild_hint(index_dir)}") from exc
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"{path} should hold a JSON object: {rebuild_hint(index_dir)}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index at {index_dir} has format version {version!r}; this PolicyQA reads version "
            f"{FORMAT_VERSION}: {rebuild_hint(index_dir)}"
        )
    missing = [key for key in _REQUIRED if key not in manifest]
    if missing:
        raise IndexCorruptError(f"{path} lacks {', '.join(missing)}: {rebuild_hint(index_dir)}")
    return manifest


# -- records ------------------------------------------------------------------------


def document_to_record(doc: Document) -> dict[str, Any]:
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "source": doc.source,
        "meta": dataclasses.asdict(doc.meta),
        "text": doc.text,
    }


def document_from_record(record: Mapping[str, Any]) -> Document:
    known = {f.name for f in dataclasses.fields(DocumentMeta)}
    meta = DocumentMeta(**{k: v for k, v in (record.get("meta") or {}).items() if k in known})
    return Document(
        doc_id=str(record["doc_id"]),
        title=str(record["title"]),
        text=str(record["text"]),
        source=str(record["source"]),
        meta=meta,
    )


def chunk_to_record(chunk: Chunk) -> dict[str, Any]:
    return {
        "chunk_id": chunk.chunk_id,
        "doc_id": chunk.doc_id,
        "ordinal": chunk.ordinal,
        "start": chunk.start,
        "end": chunk.end,
        "section": list(chunk.section),
        "text": chunk.text,
    }


def chunk_from_record(record: Mapping[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=str(record["chunk_id"]),
        doc_id=str(record["doc_id"]),
        text=str(record["text"]),
        start=int(record["start"]),
        end=int(record["end"]),
        section=tuple(str(s) for s in record["section"]),
        ordinal=int(record["ordinal"]),
    )
