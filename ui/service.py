"""What the chat page and the HTTP API share: one assistant, its documents, uploads.

`Service` wraps an `Assistant` (or a factory that builds one on first use) and
adds what a server needs around it: a snapshot of the indexed reports for
listings and filters, a status line, and adding an uploaded file to the index
— parsed first, written under a sanitised name into the uploads folder, then
indexed while holding the one writer lock (readers keep answering meanwhile).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from rag.config import Settings
from rag.errors import LoadError, RagError
from rag.ingest.extract import sniffed_suffix
from rag.types import Document, DocumentMeta

__all__ = [
    "AssistantLike",
    "DocumentInfo",
    "IDENTITY_FIELDS",
    "report_identity",
    "Service",
    "Status",
    "UploadResult",
    "MODE_LABELS",
    "safe_filename",
    "uploads_dir_for",
]

log = logging.getLogger(__name__)

MODE_LABELS = {"extractive": "原文摘录", "llm": "大模型"}
MAX_NAME_CHARS = 80  # of the stem; keeps paths short on every file system
_UNSAFE = re.compile(r"[^\w\-.\u4e00-\u9fa5]", re.ASCII)
_DOTS = re.compile(r"\.{2,}")

Progress = Callable[[float, str], None]


class AssistantLike(Protocol):
    """What the UI needs of `rag.assistant.Assistant` (a test fake can provide it too)."""

    index: Any
    settings: Settings

    @property
    def mode(self) -> str: ...

    def ask(self, question: str, history: Any = (), filters: Any = None, k: int | None = None) -> Any: ...

    def stream(self, question: str, history: Any = (), filters: Any = None, k: int | None = None) -> Any: ...

    def search(self, query: str, k: int | None = None, filters: Any = None) -> Any: ...


# A report's identity as the API shows it: who issued what, for which place and year
# (the DocumentMeta fields of the same names; None where the report does not say).
IDENTITY_FIELDS = (
    "issuer", "level", "place", "genre", "year", "reports_on", "issued",
    "delivered", "meeting", "speaker", "speaker_role", "doc_number", "effective",
)  # fmt: skip


def report_identity(meta: DocumentMeta) -> dict[str, Any]:
    """The identity fields of a report, JSON-ready.

    >>> report_identity(DocumentMeta(issuer="国务院", level="国务院", year=2022))["issuer"]
    '国务院'
    """
    return {name: getattr(meta, name) for name in IDENTITY_FIELDS}


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """One indexed report as listed by `GET /api/documents` and the page's filters."""

    doc_id: str
    title: str
    source: str
    publisher: str | None
    published: str | None
    issuer: str | None
    level: str | None
    place: str | None
    genre: str | None
    year: int | None
    reports_on: int | None
    issued: int | None
    delivered: str | None
    meeting: str | None
    speaker: str | None
    speaker_role: str | None
    doc_number: str | None
    effective: str | None
    chunks: int

    @classmethod
    def of(cls, document: Document, chunks: int) -> DocumentInfo:
        meta = document.meta
        return cls(
            doc_id=document.doc_id,
            title=document.title,
            source=document.source,
            publisher=meta.publisher,
            published=meta.published,
            chunks=chunks,
            **report_identity(meta),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Status:
    """Counts and model for the status line and `GET /healthz`."""

    documents: int
    chunks: int
    model: str
    mode: str  # "extractive" or "llm"
    llm_model: str | None = None

    @property
    def mode_label(self) -> str:
        return MODE_LABELS.get(self.mode, self.mode)

    def to_dict(self) -> dict[str, Any]:
        return {"status": "ok", "documents": self.documents, "chunks": self.chunks, "model": self.model, "mode": self.mode}


@dataclass(frozen=True, slots=True)
class UploadResult:
    """What adding one uploaded file did (`POST /api/documents`)."""

    filename: str  # the sanitised name it was stored under
    doc_id: str
    title: str
    added: int
    updated: int
    skipped: int
    chunks: int  # chunks in the index afterwards
    documents: int  # reports in the index afterwards
    seconds: float
    saved: bool = True  # False: searchable until restart only (saving the index failed; see the log)

    @property
    def message(self) -> str:
        if not (self.added or self.updated):
            return f"《{self.title}》已在索引中，无需重复加入。"
        text = f"已加入《{self.title}》，现在可以提问了（共 {self.documents} 份报告，用时 {self.seconds:.1f} 秒）。"
        return text if self.saved else text + "注意：索引未能保存到磁盘，重启后需重新上传。"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message}


def safe_filename(name: str, data: bytes = b"") -> str:
    """A file name safe to create inside the uploads folder.

    Directories are dropped (both separators), characters outside letters,
    digits, `_-.` and CJK become `_`, runs of dots collapse (no `..`), leading
    dots go (no hidden files) and the stem is cut to MAX_NAME_CHARS. A name
    without a type suffix gets the one its content shows (`sniffed_suffix`); one that is
    not supported (.doc, .xlsx) is refused by the loader, which names the supported ones.
    >>> safe_filename("../../x.txt")
    'x.txt'
    >>> safe_filename("C:\\\\报告 2024<1>.txt")
    '报告_2024_1.txt'
    >>> safe_filename("blob", b"%PDF-1.7")
    'blob.pdf'
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = _DOTS.sub(".", _UNSAFE.sub("_", base))
    stem, dot, suffix = base.rpartition(".")
    if not dot or len(suffix) > 10:  # blob, or no suffix but a dotted name: read by content
        stem, suffix = base, sniffed_suffix(data).lstrip(".")
    stem = stem.lstrip(".")[:MAX_NAME_CHARS].strip("._") or "upload"
    return f"{stem}.{suffix.lower()}"


def uploads_dir_for(settings: Settings) -> Path:
    """`<index parent>/uploads/<index name>`: beside the index, never elsewhere."""
    index_dir = Path(settings.index_dir).resolve()
    return index_dir.parent / "uploads" / index_dir.name


class Service:
    """The assistant plus the bookkeeping a server needs; safe to share between threads."""

    def __init__(self, assistant: AssistantLike | Callable[[], AssistantLike], settings: Settings | None = None) -> None:
        if hasattr(assistant, "ask"):
            self._assistant: AssistantLike | None = assistant  # type: ignore[assignment]
            self._factory: Callable[[], AssistantLike] | None = None
        elif callable(assistant):
            self._assistant, self._factory = None, assistant
        else:
            raise TypeError(f"expected an Assistant or a function returning one, got {type(assistant).__name__}")
        self._settings = settings
        self._open_lock = threading.Lock()
        self._write_lock = threading.Lock()  # one writer at a time; readers never wait on it
        self._chunk_counts: tuple[int, Counter[str]] = (-1, Counter())

    @property
    def assistant(self) -> AssistantLike:
        if self._assistant is None:
            with self._open_lock:
                if self._assistant is None:
                    assert self._factory is not None
                    self._assistant = self._factory()
        return self._assistant

    @property
    def settings(self) -> Settings:
        return self._settings or self.assistant.settings

    @property
    def index(self) -> Any:
        return self.assistant.index

    @property
    def uploads_dir(self) -> Path:
        return uploads_dir_for(self.settings)

    def documents(self) -> dict[str, Document]:
        """A snapshot of the indexed reports (copying the dict is atomic under the GIL)."""
        return dict(self.index.documents)

    def document(self, doc_id: str) -> Document | None:
        return self.index.documents.get(doc_id)

    def chunk_counts(self) -> Counter[str]:
        """Chunks per doc_id, recounted only when the number of chunks changed."""
        chunks = self.index.chunks
        n, counts = self._chunk_counts
        if n != len(chunks):
            counts = Counter(c.doc_id for c in list(chunks))
            self._chunk_counts = (len(chunks), counts)
        return counts

    def document_infos(self) -> list[DocumentInfo]:
        """Indexed reports, newest year first, then by title."""
        counts = self.chunk_counts()
        infos = [DocumentInfo.of(d, counts.get(d.doc_id, 0)) for d in self.documents().values()]
        return sorted(infos, key=lambda i: (-(i.year or 0), i.title, i.doc_id))

    def status(self) -> Status:
        assistant = self.assistant
        embedder = getattr(self.index, "embedder", None)
        model = getattr(embedder, "name", None) or str(self.settings.model)
        mode = assistant.mode
        llm_model = self.settings.llm_model if mode == "llm" else None
        return Status(len(self.index.documents), len(self.index.chunks), model, mode, llm_model)

    def add_upload(self, data: bytes, filename: str, progress: Progress | None = None) -> UploadResult:
        """Parse, store and index one uploaded report; LoadError says why a file is refused."""
        from rag.ingest.load import load_bytes

        report = progress or (lambda fraction, text: None)
        started = time.perf_counter()
        name = safe_filename(filename, data)
        limit = self.settings.max_upload_mb * 2**20
        if len(data) > limit:
            raise LoadError(name, f"the file is {len(data) / 2**20:.1f} MB; the limit is {self.settings.max_upload_mb} MB")
        report(0.1, "解析文件…")
        document = load_bytes(data, name, max_bytes=limit)  # refuses bad files before anything is written
        if document.doc_id in self.index.documents:
            return self._result(name, document, {"skipped": 1}, started)
        with self._write_lock:
            report(0.3, "保存文件…")
            path = self._store(name, data)
            report(0.5, "建立索引（计算向量）…")
            target = self._writable_copy()
            try:
                summary = target.add([path])
            except Exception:
                path.unlink(missing_ok=True)
                raise
            errors = list(getattr(summary, "errors", ()) or ())
            if errors:
                path.unlink(missing_ok=True)
                first = errors[0]
                raise first if isinstance(first, LoadError) else LoadError(name, str(first))
            report(0.9, "保存索引…")
            saved = self._save(target)
            self._publish(target)
        report(1.0, "完成")
        counts = {k: _count(getattr(summary, k, 0)) for k in ("added", "updated", "skipped")}
        log.info("upload %s indexed as %s: %s", path.name, document.doc_id, counts)
        return self._result(path.name, document, counts, started, saved)

    def _writable_copy(self) -> Any:
        """A private copy of the index to update: searches running meanwhile keep reading
        the old one, whose chunks and vectors never change under them (copy-on-write)."""
        index = self.index
        index_dir = getattr(index, "index_dir", None)
        if index_dir is None or not hasattr(index, "generation"):
            return index  # a test double: update in place
        from rag.index.folder.persist import load_index

        return load_index(index_dir, embedder=index.embedder, settings=self.settings, mmap=False)

    def _publish(self, index: Any) -> None:
        """Swap the updated index in: one reference assignment, atomic for readers."""
        current = self.assistant
        if index is current.index:
            return
        from rag.answer.assistant import Assistant

        self._assistant = Assistant(index, current.settings, chat_model=getattr(current, "_chat_model", None))

    def _save(self, index: Any) -> bool:
        """Persist the index (searchable in memory either way); False if saving failed."""
        save = getattr(index, "save", None)
        if save is None:
            return True
        try:
            save()
        except RagError as exc:  # e.g. another process rebuilt the index meanwhile
            log.error("the upload is searchable now but was not saved: %s", exc)
            return False
        return True

    def _result(
        self, name: str, document: Document, counts: Mapping[str, int], started: float, saved: bool = True
    ) -> UploadResult:
        return UploadResult(
            filename=name,
            doc_id=document.doc_id,
            title=document.title,
            added=counts.get("added", 0),
            updated=counts.get("updated", 0),
            skipped=counts.get("skipped", 0),
            chunks=len(self.index.chunks),
            documents=len(self.index.documents),
            seconds=round(time.perf_counter() - started, 3),
            saved=saved,
        )

    def _store(self, name: str, data: bytes) -> Path:
        """Write atomically; a different file of the same name gets a content-hash suffix."""
        folder = self.uploads_dir
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        if path.exists() and path.read_bytes() != data:
            stem, suffix = os.path.splitext(name)
            path = folder / f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}{suffix}"
        if path.resolve().parent != folder.resolve():  # cannot happen after safe_filename; checked anyway
            raise LoadError(name, "refusing to write outside the uploads folder")
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def _count(value: Any) -> int:
    """UpdateSummary fields may be counts or lists of ids."""
    return value if isinstance(value, int) else len(value or ())
