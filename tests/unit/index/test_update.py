"""The update pipeline's decisions (pure `reconcile`) and the pipeline run over a real folder index."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.index.folder.persist import build_index
from rag.index.update import gone_paths, reconcile, removal_victims, with_paths
from rag.model.hashing import HashEmbedder
from rag.types import Document


def doc(doc_id: str, source: str = "a.txt") -> Document:
    return Document(doc_id, "标题", f"正文{doc_id}", source)


def test_new_content_is_added_with_its_origin() -> None:
    plan = reconcile({}, [(doc("d1"), "/r/a.txt")], set())
    assert set(plan.new) == {"d1"} and plan.origins == {"d1": frozenset({("a.txt", "/r/a.txt")})}
    assert not plan.dropped and not plan.known


def test_unchanged_content_changes_nothing() -> None:
    stored = {"d1": frozenset({("a.txt", "/r/a.txt")})}
    plan = reconcile(stored, [(doc("d1"), "/r/a.txt")], set())
    assert plan.known == {"d1"} and not plan.new and not plan.dropped and not plan.origins


def test_an_edited_file_replaces_its_old_content() -> None:
    stored = {"old": frozenset({("a.txt", "/r/a.txt")})}
    plan = reconcile(stored, [(doc("new"), "/r/a.txt")], set())
    assert set(plan.new) == {"new"} and plan.dropped == {"old"} and plan.replaced == {"new": "old"}


def test_an_edit_keeps_the_old_content_when_another_file_still_holds_it() -> None:
    stored = {"old": frozenset({("a.txt", "/r/a.txt"), ("copy.txt", "/r/copy.txt")})}
    plan = reconcile(stored, [(doc("new"), "/r/a.txt"), (doc("old", "copy.txt"), "/r/copy.txt")], set())
    assert not plan.dropped and plan.origins["old"] == {("copy.txt", "/r/copy.txt")}


def test_identical_copies_are_one_document_with_both_origins() -> None:
    plan = reconcile({}, [(doc("d1", "a.txt"), "/r/a.txt"), (doc("d1", "b.txt"), "/r/b.txt")], set())
    assert set(plan.new) == {"d1"} and plan.origins["d1"] == {("a.txt", "/r/a.txt"), ("b.txt", "/r/b.txt")}


def test_a_deleted_file_under_a_reindexed_folder_is_dropped() -> None:
    stored = {"d1": frozenset({("a.txt", "/r/a.txt")}), "d2": frozenset({("b.txt", "/elsewhere/b.txt")})}
    gone = gone_paths(stored, present=set(), folders=[Path("/r")])
    assert gone == {"/r/a.txt"}  # a file outside the re-indexed folders is not "gone"
    assert reconcile(stored, [], gone).dropped == {"d1"}


def test_an_upload_kept_nowhere_is_never_dropped_by_a_folder_update() -> None:
    stored = {"up": frozenset({("upload.txt", "")})}
    assert gone_paths(stored, present=set(), folders=[Path("/")]) == set()
    assert not reconcile(stored, [], set()).dropped


def test_removal_by_id_file_name_or_path(tmp_path: Path) -> None:
    path = str((tmp_path / "a.txt").resolve())
    stored = {"d1": frozenset({("a.txt", path)}), "d2": frozenset({("b.txt", "")}), "d3": frozenset({("c.txt", "")})}
    assert removal_victims(stored, ["d1"]) == {"d1"}
    assert removal_victims(stored, ["b.txt"]) == {"d2"}
    assert removal_victims(stored, [str(tmp_path / "a.txt")]) == {"d1"}
    assert removal_victims(stored, ["", "nothing"]) == set()


def test_with_paths_resolves_and_checks_lengths(tmp_path: Path) -> None:
    pairs = with_paths([doc("d1")], [str(tmp_path / "x" / ".." / "a.txt")])
    assert pairs[0][1] == str((tmp_path / "a.txt").resolve())
    with pytest.raises(ValueError, match="1 documents but 2 paths"):
        with_paths([doc("d1")], ["a", "b"])


def test_the_pipeline_embeds_only_new_content(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.txt").write_text("一、总体\n全年检查企业11家。", encoding="utf-8")
    embedder = HashEmbedder(32)
    settings = Settings(model=embedder.name)
    first = build_index([folder], tmp_path / "idx", embedder=embedder, settings=settings).last_summary
    (folder / "b.txt").write_text("一、总体\n全年培训干部200人次。", encoding="utf-8")
    second = build_index([folder], tmp_path / "idx", embedder=embedder, settings=settings).last_summary
    (folder / "a.txt").unlink()
    third = build_index([folder], tmp_path / "idx", embedder=embedder, settings=settings).last_summary
    assert first is not None and (first.added, first.chunks) == (1, 1)
    assert second is not None and (second.added, second.skipped, second.chunks) == (1, 1, 1)
    assert third is not None and (third.removed, third.skipped, third.chunks, third.total_documents) == (1, 1, 0, 1)


def test_a_new_identity_is_stored_without_embedding_and_a_new_title_is_embedded(tmp_path: Path) -> None:
    import dataclasses

    from rag.index.folder.store import FolderIndex
    from rag.types import DocumentMeta

    embedder = HashEmbedder(32)
    index = FolderIndex.create(tmp_path / "idx", settings=Settings(model=embedder.name), embedder=embedder)
    first = Document("d1", "标题", "一、总体\n全年检查企业11家。", "a.txt", DocumentMeta(genre="报告"))
    index.add_documents([first])
    better = dataclasses.replace(first, meta=DocumentMeta(genre="法治政府建设报告", place="苏州市"))
    s = index.add_documents([better])
    assert (s.refreshed, s.chunks, s.added, s.updated) == (1, 0, 0, 0)  # nothing re-embedded
    assert index.documents["d1"].meta.genre == "法治政府建设报告"
    retitled = dataclasses.replace(better, title="苏州市科技局2024年度法治政府建设情况报告")
    s = index.add_documents([retitled])
    assert (s.updated, s.chunks, s.skipped) == (1, 1, 0)  # passages embed the title: embedded again
    assert index.documents["d1"].title == retitled.title and len(index.chunks) == 1
    assert index.sources("d1") == ("a.txt",)
