"""The one update pipeline every backend goes through: load → reconcile → chunk → embed → write.

An update embeds only what is new: a report whose cleaned text is already stored
(same content hash) is skipped without calling the embedder, an edited report
(same file, new content) is re-chunked and re-embedded, a report whose file
disappeared from a re-indexed folder is removed, and identical copies of a
report are stored once (one doc_id, every origin recorded).

`reconcile` decides what changes (pure); `prepare` chunks, embeds and tokenises
the new documents outside the store's lock; the store then applies `Changes`
inside its lock or transaction (`rag.index.protocol.Writer`). A backend writes
only storage: it never decides what to add or drop.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import LoadError
from ..ingest.load import expand_paths, load_listed
from ..stages import stage
from ..types import Document
from .manifest import check_chunker
from .prepare import prepare
from .protocol import Changes, Origin, Store
from .shards import Shard, shard_name

__all__ = [
    "UpdateSummary",
    "PipelineUpdates",
    "Plan",
    "add_paths",
    "add_documents",
    "remove",
    "reconcile",
    "gone_paths",
    "removal_victims",
    "with_paths",
]


@dataclass(frozen=True)
class UpdateSummary:
    """What an update did. `chunks` counts the chunks embedded by this update."""

    added: int
    updated: int
    removed: int
    skipped: int
    chunks: int
    seconds: float
    errors: tuple[LoadError, ...] = ()
    total_documents: int = 0
    total_chunks: int = 0
    refreshed: int = 0  # unchanged text whose identity was read anew (nothing re-embedded)
    resumed: int = 0  # reports whose vectors an interrupted update had already made
    embedded: int = 0  # distinct passage texts embedded (a passage repeated across reports counts once)


@dataclass(frozen=True)
class Plan:
    """What an update changes, decided from the stored origins and the files just loaded."""

    new: dict[str, Document] = field(default_factory=dict)  # content not stored yet
    dropped: frozenset[str] = frozenset()  # documents none of whose files remain
    origins: dict[str, frozenset[Origin]] = field(default_factory=dict)  # documents whose origins changed
    known: frozenset[str] = frozenset()  # stored content met again: skipped
    replaced: dict[str, str] = field(default_factory=dict)  # new doc_id -> the doc_id its file held


# -- the pipeline ---------------------------------------------------------------------


class PipelineUpdates:
    """`add`, `add_documents` and `remove` for a backend that implements `Store`: every backend
    updates through this one pipeline and records the last update's summary."""

    last_summary: UpdateSummary | None = None

    def add(self, paths: Sequence[Path | str], progress: bool = False, shard: Shard | None = None) -> UpdateSummary:
        """Bring the index up to date with files and folders (see `add_paths`)."""
        self.last_summary = add_paths(self, paths, progress, shard)  # type: ignore[arg-type]
        return self.last_summary

    def add_documents(
        self, documents: Sequence[Document], paths: Sequence[str | None] | None = None, progress: bool = False
    ) -> UpdateSummary:
        """Add already-loaded documents (e.g. an upload); `paths[i]` is where documents[i] lives, if anywhere."""
        self.last_summary = add_documents(self, documents, paths, progress)  # type: ignore[arg-type]
        return self.last_summary

    def remove(self, doc_ids_or_sources: Sequence[str]) -> int:
        """Remove documents by doc_id, file name (source) or path; returns how many were removed."""
        return remove(self, doc_ids_or_sources)  # type: ignore[arg-type]


def add_paths(
    store: Store, paths: Sequence[Path | str], progress: bool = False, shard: Shard | None = None
) -> UpdateSummary:
    """Load files and folders and bring `store` up to date with them.

    For every folder given, reports indexed from a file under it that no longer
    exists are removed; a file that exists but fails to load keeps its previous
    version (it is reported in `errors`). With `shard`, only that shard's files are
    loaded and embedded (see `rag.index.shards`); deletions are judged on all files.
    """
    start = time.perf_counter()
    files, errors = expand_paths(paths)
    folders = [Path(p).resolve() for p in paths if Path(p).is_dir()]

    def owned(path: str | Path) -> bool:
        return shard is None or shard.holds(shard_name(Path(path).resolve(), folders))

    loaded, failed = load_listed([f for f in files if owned(f)])
    errors += failed
    # Deletions are judged on all files (another shard's are not deleted ones), each by the shard
    # that owns its path: a moved report is dropped by one shard and found again by another.
    present = {str(p.resolve()) for p in files}
    summary = _apply(store, loaded, present, folders, progress, owned)
    return _finish(summary, start, errors)


def add_documents(
    store: Store, documents: Sequence[Document], paths: Sequence[str | None] | None = None, progress: bool = False
) -> UpdateSummary:
    """Add already-loaded documents (an upload); `paths[i]` is where documents[i] lives, if anywhere."""
    start = time.perf_counter()
    summary = _apply(store, with_paths(documents, paths), set(), [], progress)
    return _finish(summary, start, [])


def remove(store: Store, doc_ids_or_sources: Iterable[str]) -> int:
    """Remove documents by doc_id, file name (source) or path; returns how many were removed."""
    with store.writing() as writer:
        victims = removal_victims(writer.origins(), doc_ids_or_sources)
        if victims:
            writer.write(Changes(dropped=frozenset(victims)))
    return len(victims)


def _apply(
    store: Store,
    loaded: Sequence[tuple[Document, str | None]],
    present: set[str],
    folders: Sequence[Path],
    progress: bool,
    owned: Callable[[str], bool] = lambda path: True,
) -> UpdateSummary:
    _check_chunker(store)
    incoming: dict[str, Document] = {}
    for doc, _ in loaded:
        incoming.setdefault(doc.doc_id, doc)
    stored = store.stored(sorted(incoming))
    # Text already stored is not embedded again, unless its title changed (passages embed the
    # title); when only other identity facts changed (a better reader), they are re-described.
    retitled = {d for d, doc in incoming.items() if d in stored and stored[d][0] != doc.title}
    redescribed = {d for d, doc in incoming.items() if d in stored and d not in retitled and stored[d][1] != doc.meta}
    # Chunk and embed outside the lock (slow).
    preparation = prepare(store, [doc for d, doc in incoming.items() if d not in stored or d in retitled], progress)
    prepared = preparation.prepared
    with store.writing() as writer:
        origins = writer.origins()
        plan = reconcile(origins, loaded, {p for p in gone_paths(origins, present, folders) if owned(p)})
        renewed = plan.known & retitled
        missing = [doc for doc_id, doc in plan.new.items() if doc_id not in prepared]
        if missing:  # removed by another writer since we looked: embed them now
            prepared.update(prepare(store, missing).prepared)
        after = {**origins, **plan.origins}
        changes = Changes(
            added={doc_id: prepared[doc_id] for doc_id in (*plan.new, *sorted(renewed))},
            dropped=plan.dropped | renewed,
            origins={**plan.origins, **{d: after[d] for d in renewed}},
            redescribed={d: incoming[d] for d in sorted(plan.known & redescribed)},
        )
        with stage("write"):
            totals = writer.write(changes)
    updated = {d for d, old in plan.replaced.items() if old in plan.dropped}
    return UpdateSummary(
        added=len(plan.new) - len(updated),
        updated=len(updated) + len(renewed),
        removed=len(plan.dropped) - len(updated),
        skipped=len(plan.known) - len(renewed) - len(changes.redescribed),
        chunks=sum(len(prepared[d].chunks) for d in changes.added),
        seconds=0.0,
        total_documents=totals[0],
        total_chunks=totals[1],
        refreshed=len(changes.redescribed),
        resumed=preparation.resumed,
        embedded=preparation.embedded,
    )


def _finish(summary: UpdateSummary, start: float, errors: Sequence[LoadError]) -> UpdateSummary:
    return dataclasses.replace(summary, seconds=time.perf_counter() - start, errors=tuple(errors))


def _check_chunker(store: Store) -> None:
    wanted = store.chunk_settings()
    tokens, overlap = wanted if wanted is not None else (None, None)
    check_chunker(store.manifest["chunker"], tokens, overlap, store.where, store.rebuild_hint)


# -- deciding (pure) ------------------------------------------------------------------


def gone_paths(origins: Mapping[str, Iterable[Origin]], present: set[str], folders: Sequence[Path]) -> set[str]:
    """Stored paths under one of `folders` that are not `present` any more (deleted files).

    >>> gone_paths({"d": {("a.txt", "/r/a.txt")}}, set(), [Path("/r")])
    {'/r/a.txt'}
    """
    return {
        path
        for pairs in origins.values()
        for _, path in pairs
        if path and path not in present and any(_is_under(path, folder) for folder in folders)
    }


def reconcile(
    origins: Mapping[str, frozenset[Origin]], loaded: Sequence[tuple[Document, str | None]], gone: set[str]
) -> Plan:
    """What to change so the store matches the files just `loaded` (and forgets `gone` paths).

    A file that now holds other content is an edit: its old document loses that
    origin; a document left without origins is dropped (uploads kept nowhere have
    an origin without a path and are never dropped this way).
    """
    after = {doc_id: set(pairs) for doc_id, pairs in origins.items()}
    owner = {path: doc_id for doc_id, pairs in origins.items() for _, path in pairs if path}
    touched: set[str] = set()
    new: dict[str, Document] = {}
    replaced: dict[str, str] = {}
    known: set[str] = set()

    def detach(path: str) -> None:
        doc_id = owner.pop(path)
        after[doc_id] = {o for o in after[doc_id] if o[1] != path}
        touched.add(doc_id)

    for path in sorted(gone):
        detach(path)
    for doc, path in loaded:
        previous = owner.get(path) if path else None
        if path and previous is not None and previous != doc.doc_id:
            detach(path)  # the file now holds other content: an edit
        if doc.doc_id in origins:
            known.add(doc.doc_id)
        elif doc.doc_id not in new:
            new[doc.doc_id] = doc
            if previous is not None and previous != doc.doc_id:
                replaced[doc.doc_id] = previous
        after.setdefault(doc.doc_id, set()).add((doc.source, path or ""))
        touched.add(doc.doc_id)
        if path:
            owner[path] = doc.doc_id
    dropped = frozenset(d for d in touched if not after[d] and d not in new and d not in known)
    changed = {
        d: frozenset(after[d]) for d in sorted(touched - dropped) if d in new or frozenset(after[d]) != origins.get(d)
    }
    return Plan(new=new, dropped=dropped, origins=changed, known=frozenset(known), replaced=replaced)


def removal_victims(origins: Mapping[str, Iterable[Origin]], wanted: Iterable[str]) -> set[str]:
    """Documents named by doc_id, file name or (resolved) path.

    >>> sorted(removal_victims({"d1": {("a.txt", "/r/a.txt")}, "d2": {("b.txt", "")}}, ["b.txt"]))
    ['d2']
    """
    names = {w for w in wanted if w}
    resolved = {str(Path(w).resolve()) for w in names}
    return {
        doc_id
        for doc_id, pairs in origins.items()
        if doc_id in names or any(source in names or (path and path in resolved) for source, path in pairs)
    }


def with_paths(
    documents: Sequence[Document], paths: Sequence[str | None] | None = None
) -> list[tuple[Document, str | None]]:
    """Already-loaded documents paired with where each lives, resolved (None: nowhere),
    as `load_files` pairs what it loads."""
    if paths is not None and len(paths) != len(documents):
        raise ValueError(f"got {len(documents)} documents but {len(paths)} paths")
    return [
        (doc, str(Path(p).resolve()) if p else None)
        for doc, p in zip(documents, paths or [None] * len(documents), strict=True)
    ]


def _is_under(path: str, folder: Path) -> bool:
    try:
        return Path(path).is_relative_to(folder)
    except ValueError:
        return False
