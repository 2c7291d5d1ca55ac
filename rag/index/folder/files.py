"""The files of one index generation: JSON, JSON lines, arrays, their sizes and hashes, records.

Writes are deterministic (sorted keys, fixed order): the same corpus gives the
same bytes. Reads check what they read and name the file and the fix.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import IndexCorruptError, IndexMismatchError
from ...types import Chunk, Document, DocumentMeta, FactSpan
from .layout import FORMAT_VERSION, MANIFEST, rebuild_hint

__all__ = [
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
]



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
    fields = {k: v for k, v in (record.get("meta") or {}).items() if k in known}
    fields["spans"] = tuple(FactSpan(str(s["name"]), int(s["start"]), int(s["end"])) for s in fields.get("spans") or ())
    meta = DocumentMeta(**fields)
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
