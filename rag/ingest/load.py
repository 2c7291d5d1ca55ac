"""Path → Document: extract by format, clean, read metadata, hash.

The only module of the ingest path that touches the disk (through
`rag.ingest.extract`); cleaning and metadata are pure (`rag.ingest.clean`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

from ..errors import LoadError
from ..stages import stage
from ..types import Document, DocumentMeta
from .clean import clean_report
from .extract import SUPPORTED_SUFFIXES, Extracted, extract, extract_bytes
from .identity import read_identity

__all__ = [
    "load_document",
    "load_bytes",
    "load_documents",
    "document_from_extracted",
    "doc_id_for",
    "expand_paths",
    "load_files",
    "load_listed",
]

log = logging.getLogger(__name__)


def doc_id_for(text: str) -> str:
    """Content hash of the cleaned text: the same report always gets the same id.

    >>> doc_id_for("报告")
    '1e8ddd10bafe5127'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_document(path: Path | str, max_bytes: int = 20 * 2**20) -> Document:
    """Load one report; raises LoadError naming the file and the reason."""
    path = Path(path)
    with stage("load"):
        extracted = extract(path, max_bytes=max_bytes)
    with stage("clean"):
        return document_from_extracted(extracted, source=path.name, path=str(path))


def load_bytes(data: bytes, filename: str, max_bytes: int = 20 * 2**20) -> Document:
    """Load an uploaded report from memory; `filename` chooses the format."""
    return document_from_extracted(extract_bytes(data, filename, max_bytes=max_bytes), source=filename, path=filename)


def document_from_extracted(extracted: Extracted, source: str, path: str) -> Document:
    """Clean extracted text into a Document; LoadError (naming `path`) if nothing is left."""
    cleaned = clean_report(extracted.text, title_hint=extracted.title, published_hint=extracted.published)
    if not cleaned.text.strip():
        raise LoadError(path, "no report text left after removing page noise")
    identity = read_identity(
        cleaned.text,
        cleaned.title,
        publisher=cleaned.publisher,
        published=cleaned.published,
        signature=cleaned.signature,
        source=source,
    )
    meta = DocumentMeta(
        publisher=cleaned.publisher,
        published=identity.published,
        year=identity.year,
        place=identity.place,
        format=extracted.format,
        encoding=extracted.encoding,
        issuer=identity.issuer,
        level=identity.level,
        genre=identity.genre,
        reports_on=identity.reports_on,
        issued=identity.issued,
        delivered=identity.delivered,
        meeting=identity.meeting,
        speaker=identity.speaker,
        speaker_role=identity.speaker_role,
        doc_number=identity.doc_number,
        effective=identity.effective,
        spans=identity.spans,
    )
    title = identity.title or cleaned.title or Path(source).stem
    return Document(doc_id=doc_id_for(cleaned.text), title=title, text=cleaned.text, source=source, meta=meta)


def load_documents(paths: Sequence[Path | str]) -> tuple[list[Document], list[LoadError]]:
    """Load files and folders (recursively, supported types only, sorted).

    A file that cannot be read is reported, not fatal: the rest still load.
    """
    _, loaded, errors = load_files(paths)
    return [doc for doc, _ in loaded], errors


def load_files(
    paths: Sequence[Path | str],
) -> tuple[list[Path], list[tuple[Document, str]], list[LoadError]]:
    """What an index update needs: the files found, each loaded report with its
    resolved path (to notice edits and deletions), and the files that failed."""
    files, errors = expand_paths(paths)
    loaded, failed = load_listed(files)
    return files, loaded, errors + failed


def load_listed(files: Sequence[Path]) -> tuple[list[tuple[Document, str]], list[LoadError]]:
    """Each of `files` loaded, with its resolved path; the files that failed."""
    loaded: list[tuple[Document, str]] = []
    errors: list[LoadError] = []
    for path in files:
        try:
            loaded.append((load_document(path), str(path.resolve())))
        except LoadError as exc:
            log.warning("skipping %s", exc)
            errors.append(exc)
    return loaded, errors


def expand_paths(paths: Sequence[Path | str]) -> tuple[list[Path], list[LoadError]]:
    """The report files under `paths` (folders walked recursively, sorted), and the
    entries that cannot be loaded (missing paths, unsupported file types). A folder's
    README describes its reports and is not one of them (named explicitly, it is loaded)."""
    files: list[Path] = []
    errors: list[LoadError] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if not p.is_file() or p.name.startswith(".") or p.stem.lower() == "readme":
                    continue
                if p.suffix.lower() in SUPPORTED_SUFFIXES:
                    files.append(p)
                else:
                    errors.append(LoadError(str(p), f"unsupported file type {p.suffix or '(none)'!r}"))
        elif path.is_file():
            files.append(path)
        else:
            errors.append(LoadError(str(path), "no such file or folder"))
    return files, errors
