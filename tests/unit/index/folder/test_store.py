"""Index: build, incremental update, save/load, determinism, mismatch, corruption, crash safety, filters."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.errors import IndexCorruptError, IndexMismatchError
from rag.index.filters import Filters
from rag.index.folder import files
from rag.index.folder import layout as store
from rag.index.folder.bm25 import KeywordIndex
from rag.index.folder.persist import build_index, load_index
from rag.index.folder.store import FolderIndex as Index
from rag.index.passages import passage_text
from rag.retrieve.hybrid import search
from tests.conftest import ROOT
from tests.fakes import CountingEmbedder

DISTRACTORS = ROOT / "tests" / "data" / "distractors"
SAMPLE = ROOT / "data" / "reports" / "suzhou-kjj-2024-fzzf.txt"
REPORTS = ["suzhou-kjj-2023-fzzf.txt", "wuxi-kjj-2024-fzzf.txt", "changzhou-jyj-2023-fzzf.txt"]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    for name in REPORTS:
        shutil.copy(DISTRACTORS / name, folder / name)
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    return folder


@pytest.fixture
def embedder() -> CountingEmbedder:
    return CountingEmbedder()


def settings_for(e: CountingEmbedder) -> Settings:
    return Settings(model=e.name)


def build(paths: Sequence[Path], index_dir: Path, e: CountingEmbedder, **kw: object) -> Index:
    return build_index(paths, index_dir, embedder=e, settings=settings_for(e), **kw)  # type: ignore[arg-type]


def gen_files(index_dir: Path) -> dict[str, bytes]:
    gen = store.current_generation(index_dir)
    return {p.relative_to(gen).as_posix(): p.read_bytes() for p in sorted(gen.rglob("*")) if p.is_file()}


def without_created_at(files: dict[str, bytes]) -> dict[str, bytes]:
    out = dict(files)
    manifest = json.loads(out.pop("manifest.json"))
    manifest.pop("created_at")
    out["manifest.json"] = json.dumps(manifest, sort_keys=True).encode()
    return out


# -- build, save, load ------------------------------------------------------------------


def test_build_save_load_roundtrip(tmp_path: Path, corpus: Path, embedder: CountingEmbedder) -> None:
    idx = build([corpus], tmp_path / "idx", embedder)
    s = idx.last_summary
    assert s is not None and (s.added, s.updated, s.removed, s.skipped) == (4, 0, 0, 0)
    assert s.chunks == len(idx.chunks) == len(embedder.texts) and s.errors == ()
    assert idx.generation == "gen-000001"

    for mmap in (False, True):
        loaded = load_index(tmp_path / "idx", embedder=embedder, mmap=mmap)
        assert loaded.documents == idx.documents
        assert loaded.chunks == idx.chunks
        np.testing.assert_array_equal(np.asarray(loaded.embeddings), idx.embeddings)
        assert len(loaded) == len(idx.chunks)
        q = embedder.embed_query("苏科创十八条")
        assert loaded.dense_search(q, 5)[0].tolist() == idx.dense_search(q, 5)[0].tolist()
        pos, _ = loaded.keyword_search("苏科创十八条", 3)
        assert "苏科创十八条" in loaded.chunks[pos[0]].text
    # chunk invariant and canonical order
    for c in loaded.chunks:
        assert loaded.documents[c.doc_id].text[c.start : c.end] == c.text
    assert [(c.doc_id, c.ordinal) for c in loaded.chunks] == sorted(
        (c.doc_id, c.ordinal) for c in loaded.chunks
    )
    manifest = loaded.manifest
    assert manifest["model"] == embedder.name and manifest["dim"] == embedder.dim
    assert manifest["chunk_count"] == len(loaded.chunks) and manifest["index_type"] == "flat"
    assert set(manifest["chunker"]) == {"max_tokens", "overlap", "chunker_version"}
    assert sum(d["chunk_count"] for d in manifest["documents"].values()) == len(loaded.chunks)


def test_empty_index_roundtrip(tmp_path: Path, embedder: CountingEmbedder) -> None:
    (tmp_path / "empty").mkdir()
    idx = build([tmp_path / "empty"], tmp_path / "idx", embedder)
    assert len(idx) == 0 and idx.generation == "gen-000001"
    loaded = load_index(tmp_path / "idx", embedder=embedder)
    assert len(loaded) == 0 and loaded.documents == {}
    assert loaded.keyword_search("法治", 5)[0].size == 0
    assert loaded.dense_search(embedder.embed_query("法治"), 5)[0].size == 0
    assert search(loaded, "法治", k=3) == []


def test_embedded_text_has_title_and_section(
    tmp_path: Path, corpus: Path, embedder: CountingEmbedder
) -> None:
    idx = build([corpus / SAMPLE.name], tmp_path / "idx", embedder)
    c = next(c for c in idx.chunks if c.section)
    title = idx.documents[c.doc_id].title
    assert passage_text(title, c) in embedder.texts
    assert passage_text(title, c).startswith(f"{title}\n{' > '.join(c.section)}\n")


def test_chunks_file_is_human_readable(tmp_path: Path, corpus: Path, embedder: CountingEmbedder) -> None:
    build([corpus], tmp_path / "idx", embedder)
    line = (
        (store.current_generation(tmp_path / "idx") / "chunks.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()[0]
    )
    assert "\\u" not in line and list(json.loads(line))[:3] == ["chunk_id", "doc_id", "ordinal"]


def test_same_corpus_gives_identical_files(tmp_path: Path, corpus: Path, embedder: CountingEmbedder) -> None:
    build([corpus], tmp_path / "a", embedder)
    build([corpus], tmp_path / "b", embedder, rebuild=True)
    a, b = gen_files(tmp_path / "a"), gen_files(tmp_path / "b")
    assert a.keys() == b.keys()
    assert without_created_at(a) == without_created_at(b)
    # rebuilding in place publishes a new generation with the same bytes
    build([corpus], tmp_path / "a", embedder, rebuild=True)
    assert store.current_generation(tmp_path / "a").name == "gen-000002"
    assert without_created_at(gen_files(tmp_path / "a")) == without_created_at(a)


def test_identical_files_across_processes(tmp_path: Path, corpus: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from rag import build_index; "
        "from rag.model.hashing import HashEmbedder; from rag.config import Settings; e = HashEmbedder(64); "
        "build_index([Path(sys.argv[1])], Path(sys.argv[2]), embedder=e, settings=Settings(model=e.name))"
    )
    for seed, name in (("1", "a"), ("2", "b")):
        env = {"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        subprocess.run(
            [sys.executable, "-c", code, str(corpus), str(tmp_path / name)], check=True, cwd=ROOT, env=env
        )
    assert without_created_at(gen_files(tmp_path / "a")) == without_created_at(gen_files(tmp_path / "b"))


# -- incremental updates ------------------------------------------------------------------


def test_unchanged_corpus_does_not_even_load_the_model(
    tmp_path: Path, corpus: Path, embedder: CountingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    build([corpus], tmp_path / "idx", embedder)

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the embedding model was loaded for an unchanged folder")

    monkeypatch.setattr("rag.index.folder.store.get_embedder", no_model)
    idx = load_index(tmp_path / "idx", settings=Settings(model=embedder.name))
    s = idx.add([corpus])
    assert (s.added, s.updated, s.skipped) == (0, 0, 4)


def test_unchanged_corpus_embeds_nothing(tmp_path: Path, corpus: Path, embedder: CountingEmbedder) -> None:
    build([corpus], tmp_path / "idx", embedder)
    embedder.calls = 0
    again = build([corpus], tmp_path / "idx", embedder)
    assert embedder.calls == 0
    s = again.last_summary
    assert s is not None and (s.added, s.updated, s.removed, s.skipped, s.chunks) == (0, 0, 0, 4, 0)
    assert again.generation == "gen-000001"  # nothing changed: nothing written


def test_edited_report_is_the_only_one_reembedded(
    tmp_path: Path, corpus: Path, embedder: CountingEmbedder
) -> None:
    first = build([corpus], tmp_path / "idx", embedder)
    before = {c.chunk_id: np.asarray(first.embeddings[i]).copy() for i, c in enumerate(first.chunks)}
    edited = corpus / REPORTS[1]
    edited.write_text(
        edited.read_text(encoding="utf-8") + "\n五、补充说明\n\n新增加的段落,用于检验增量更新。\n",
        encoding="utf-8",
    )
    embedder.texts.clear()
    idx = build([corpus], tmp_path / "idx", embedder)
    s = idx.last_summary
    assert s is not None and (s.added, s.updated, s.removed, s.skipped) == (0, 1, 0, 3)
    new_id = next(d for d, r in idx.manifest["documents"].items() if r["source"] == REPORTS[1])
    assert len(embedder.texts) == s.chunks == sum(1 for c in idx.chunks if c.doc_id == new_id)
    assert all(idx.documents[new_id].title in t for t in embedder.texts)
    # the other reports' vectors were carried over untouched
    for i, c in enumerate(idx.chunks):
        if c.doc_id != new_id:
            np.testing.assert_array_equal(idx.embeddings[i], before[c.chunk_id])
    assert len(idx.documents) == 4
    # and the result is byte-identical to a fresh build of the edited corpus
    fresh = build([corpus], tmp_path / "fresh", CountingEmbedder())
    assert without_created_at(gen_files(tmp_path / "idx")) == without_created_at(
        gen_files(tmp_path / "fresh")
    )
    assert fresh.manifest["documents"] == idx.manifest["documents"]


def test_deleted_file_is_removed(tmp_path: Path, corpus: Path, embedder: CountingEmbedder) -> None:
    first = build([corpus], tmp_path / "idx", embedder)
    gone_id = next(d for d, doc in first.documents.items() if doc.source == REPORTS[0])
    (corpus / REPORTS[0]).unlink()
    embedder.calls = 0
    idx = build([corpus], tmp_path / "idx", embedder)
    s = idx.last_summary
    assert s is not None and (s.added, s.updated, s.removed, s.skipped) == (0, 0, 1, 3)
    assert embedder.calls == 0 and gone_id not in idx.documents
    assert all(c.doc_id != gone_id for c in idx.chunks)
    loaded = load_index(tmp_path / "idx", embedder=embedder)
    assert gone_id not in loaded.documents and len(loaded.chunks) == len(idx.chunks)
    # indexing a single file does not remove reports from other folders
    other = tmp_path / "other.txt"
    shutil.copy(DISTRACTORS / "nanjing-kjj-2024-fzzf.txt", other)
    idx = build([other], tmp_path / "idx", embedder)
    assert len(idx.documents) == 4


def test_identical_copies_are_indexed_once(tmp_path: Path, corpus: Path, embedder: CountingEmbedder) -> None:
    (corpus / "copy").mkdir()
    shutil.copy(corpus / SAMPLE.name, corpus / "copy" / "同一报告副本.txt")
    idx = build([corpus], tmp_path / "idx", embedder)
    assert len(idx.documents) == 4
    doc_id = next(d for d, doc in idx.documents.items() if doc.source == SAMPLE.name)
    assert idx.sources(doc_id) == tuple(sorted([SAMPLE.name, "同一报告副本.txt"]))
    assert len(idx.manifest["documents"][doc_id]["origins"]) == 2
    assert len(embedder.texts) == len(idx.chunks)  # the copy was not embedded again
    # removing one copy keeps the report; removing both removes it
    (corpus / "copy" / "同一报告副本.txt").unlink()
    idx = build([corpus], tmp_path / "idx", embedder)
    assert doc_id in idx.documents and idx.sources(doc_id) == (SAMPLE.name,)
    (corpus / SAMPLE.name).unlink()
    idx = build([corpus], tmp_path / "idx", embedder)
    assert doc_id not in idx.documents


def test_unreadable_files_are_reported_not_fatal(
    tmp_path: Path, corpus: Path, embedder: CountingEmbedder
) -> None:
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    idx = build([corpus, tmp_path / "missing-folder"], tmp_path / "idx", embedder)
    s = idx.last_summary
    assert s is not None and s.added == 4
    failed = {Path(e.path).name for e in s.errors}
    assert {"broken.pdf", "empty.txt", "missing-folder"} <= failed


def test_remove_by_id_source_or_path(tmp_path: Path, corpus: Path, embedder: CountingEmbedder) -> None:
    idx = build([corpus], tmp_path / "idx", embedder)
    doc_id = next(d for d, doc in idx.documents.items() if doc.source == REPORTS[0])
    assert idx.remove([doc_id]) == 1
    assert idx.remove([REPORTS[1]]) == 1
    assert idx.remove([str(corpus / REPORTS[2])]) == 1
    assert idx.remove(["no-such-report"]) == 0
    assert [d.source for d in idx.documents.values()] == [SAMPLE.name]
    assert {c.doc_id for c in idx.chunks} == set(idx.documents)
    assert len(idx.embeddings) == len(idx.chunks)
    idx.save()
    loaded = load_index(tmp_path / "idx", embedder=embedder)
    assert loaded.documents.keys() == idx.documents.keys()
    assert loaded.keyword_search("苏科创十八条", 1)[0].size == 1


def test_concurrent_builds_in_one_process_are_serialised(tmp_path: Path, corpus: Path) -> None:
    errors: list[BaseException] = []
    e = CountingEmbedder()

    def run(path: Path) -> None:
        try:
            build([path], tmp_path / "idx", e)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(corpus / name,)) for name in REPORTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(load_index(tmp_path / "idx", embedder=e).documents) == 3  # no update was lost


def test_stale_index_object_cannot_overwrite_newer_generation(
    tmp_path: Path, corpus: Path, embedder: CountingEmbedder
) -> None:
    build([corpus / REPORTS[0]], tmp_path / "idx", embedder)
    stale = load_index(tmp_path / "idx", embedder=embedder)
    build([corpus / REPORTS[1]], tmp_path / "idx", embedder)
    stale.add([corpus / REPORTS[2]])
    with pytest.raises(IndexMismatchError, match="changed by another writer"):
        stale.save()


def test_index_type_override_is_recorded(tmp_path: Path, corpus: Path, embedder: CountingEmbedder) -> None:
    idx = build([corpus], tmp_path / "idx", embedder, index_type="hnsw")
    assert idx.manifest["index_type"] == "hnsw" and idx.manifest["index_type_override"] == "hnsw"
    assert idx.manifest["index_params"]["M"] == 32
    loaded = load_index(tmp_path / "idx", embedder=embedder)
    assert loaded.dense_search(embedder.embed_query("法治"), 3)[0].size == 3
    embedder.calls = 0
    idx = build([corpus], tmp_path / "idx", embedder, index_type="flat")  # switching re-uses vectors
    assert embedder.calls == 0 and idx.manifest["index_type"] == "flat"
    assert load_index(tmp_path / "idx", embedder=embedder).manifest["index_type"] == "flat"


# -- mismatch -------------------------------------------------------------------------------


def test_other_model_or_dim_is_refused(tmp_path: Path, corpus: Path, embedder: CountingEmbedder) -> None:
    build([corpus / SAMPLE.name], tmp_path / "idx", embedder)
    with pytest.raises(IndexMismatchError) as info:
        load_index(tmp_path / "idx", embedder=CountingEmbedder(64, name="other-model"))
    msg = str(info.value)
    assert "built with model hash-ngram-64 (dim 64)" in msg and "other-model (dim 64)" in msg
    assert "--rebuild" in msg and "POLICYQA_MODEL=hash-ngram-64" in msg
    with pytest.raises(IndexMismatchError, match=r"configured model is hash-ngram-32 \(dim 32\)"):
        load_index(tmp_path / "idx", embedder=CountingEmbedder(32))
    with pytest.raises(IndexMismatchError, match="configured model is policyqa/other"):
        load_index(tmp_path / "idx", settings=Settings(model="policyqa/other"))
    with pytest.raises(IndexMismatchError, match="configured model is other-model"):
        build_index([corpus], tmp_path / "idx", embedder=CountingEmbedder(64, name="other-model"))
    # the index's own model, obtained lazily, works
    idx = load_index(tmp_path / "idx", settings=Settings(model="hash-ngram-64"))
    assert idx.embedder.name == "hash-ngram-64" and len(search(idx, "苏科创十八条", k=2)) == 2


def test_other_format_version_is_refused(tmp_path: Path, corpus: Path, embedder: CountingEmbedder) -> None:
    build([corpus / SAMPLE.name], tmp_path / "idx", embedder)
    path = store.current_generation(tmp_path / "idx") / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["format_version"] = 0
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(
        IndexMismatchError, match=r"format version 0.*policyqa index <paths> --index .* --rebuild"
    ):
        load_index(tmp_path / "idx", embedder=embedder)


def test_other_chunk_settings_are_refused_on_update(
    tmp_path: Path, corpus: Path, embedder: CountingEmbedder
) -> None:
    build([corpus / SAMPLE.name], tmp_path / "idx", embedder)
    with pytest.raises(IndexMismatchError, match=r"max_tokens=300.*--rebuild.*POLICYQA_CHUNK_TOKENS=300"):
        build_index(
            [corpus],
            tmp_path / "idx",
            embedder=embedder,
            settings=Settings(model=embedder.name, chunk_tokens=200),
        )
    idx = build_index(
        [corpus],
        tmp_path / "idx",
        embedder=embedder,
        settings=Settings(model=embedder.name, chunk_tokens=200),
        rebuild=True,
    )
    assert idx.manifest["chunker"]["max_tokens"] == 200


def test_changed_tokenizer_retokenises_instead_of_failing(
    tmp_path: Path, corpus: Path, embedder: CountingEmbedder
) -> None:
    build([corpus / SAMPLE.name], tmp_path / "idx", embedder)
    kw = store.current_generation(tmp_path / "idx") / "keyword" / "keyword.json"
    meta = json.loads(kw.read_text(encoding="utf-8"))
    meta["tokenizer_fingerprint"] = "0" * 16
    kw.write_text(json.dumps(meta), encoding="utf-8")
    # keep the manifest's recorded size and hash in step so only the fingerprint differs
    manifest_path = kw.parents[1] / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"]["keyword/keyword.json"]["bytes"] = kw.stat().st_size
    manifest["files"]["keyword/keyword.json"]["sha256"] = files.file_sha256(kw)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    idx = load_index(tmp_path / "idx", embedder=embedder)
    assert idx.keyword_search("苏科创十八条", 1)[0].size == 1


# -- corruption ---------------------------------------------------------------------------


@pytest.fixture
def built(tmp_path: Path, corpus: Path, embedder: CountingEmbedder) -> Path:
    build([corpus / SAMPLE.name, corpus / REPORTS[0]], tmp_path / "idx", embedder)
    return tmp_path / "idx"


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda g: truncate(g / "vectors.faiss"), r"vectors.faiss has \d+ bytes, the manifest recorded \d+"),
        (lambda g: truncate(g / "embeddings.npy"), r"embeddings.npy has \d+ bytes"),
        (lambda g: (g / "manifest.json").write_text("{oops"), r"manifest.json cannot be parsed"),
        (lambda g: (g / "chunks.jsonl").unlink(), r"chunks.jsonl is missing"),
        (lambda g: truncate(g / "keyword" / "doc_terms.npy"), r"doc_terms.npy has \d+ bytes"),
        (lambda g: shutil.rmtree(g / "keyword"), r"keyword.* is missing"),
    ],
)
def test_damaged_files_give_clear_errors(
    built: Path, embedder: CountingEmbedder, damage, message: str
) -> None:  # type: ignore[no-untyped-def]
    damage(store.current_generation(built))
    with pytest.raises(IndexCorruptError, match=message) as info:
        load_index(built, embedder=embedder)
    assert f"policyqa index <paths> --index {built} --rebuild" in str(info.value)


def test_damage_behind_the_manifests_back_is_caught(built: Path, embedder: CountingEmbedder) -> None:
    gen = store.current_generation(built)

    def refresh_sizes() -> None:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        manifest["files"] = files.describe_files(gen)
        (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    original = (gen / "vectors.faiss").read_bytes()
    truncate(gen / "vectors.faiss")
    refresh_sizes()
    with pytest.raises(IndexCorruptError, match=r"vectors.faiss cannot be read as a FAISS index"):
        load_index(built, embedder=embedder)
    (gen / "vectors.faiss").write_bytes(original)
    truncate(gen / "embeddings.npy")
    refresh_sizes()
    with pytest.raises(IndexCorruptError, match=r"embeddings.npy cannot be read"):
        load_index(built, embedder=embedder)


def test_chunk_file_disagreeing_with_documents(built: Path, embedder: CountingEmbedder) -> None:
    gen = store.current_generation(built)
    lines = (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[0])
    rec["text"] = "篡改" + rec["text"][2:]
    lines[0] = json.dumps(rec, ensure_ascii=False)
    (gen / "chunks.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"] = files.describe_files(gen)
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="line 1 does not match its document"):
        load_index(built, embedder=embedder)


def test_current_pointing_nowhere(built: Path, embedder: CountingEmbedder, tmp_path: Path) -> None:
    (built / "CURRENT").write_text("gen-000042\n")
    with pytest.raises(IndexCorruptError, match=r"gen-000042, which does not exist.*--rebuild"):
        load_index(built, embedder=embedder)
    with pytest.raises(store.IndexNotFoundError, match="no index at"):
        load_index(tmp_path / "nothing-here", embedder=embedder)


# -- crash safety -------------------------------------------------------------------------


def test_crash_mid_write_leaves_the_old_index(
    built: Path, corpus: Path, embedder: CountingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = load_index(built, embedder=embedder)
    original_save = KeywordIndex.save

    def crash(self: KeywordIndex, directory: Path) -> None:
        original_save(self, directory)
        (Path(directory) / "half-written").write_bytes(b"\x00" * 10)
        raise OSError("simulated crash: disk full")

    monkeypatch.setattr(KeywordIndex, "save", crash)
    with pytest.raises(OSError, match="simulated crash"):
        build([corpus], built, embedder)
    after = load_index(built, embedder=embedder)
    assert after.generation == before.generation
    assert after.documents.keys() == before.documents.keys() and after.chunks == before.chunks
    # the published index is untouched; the crashed update's vectors are kept beside it
    assert sorted(p.name for p in built.iterdir()) == [".lock", ".partial", "CURRENT", before.generation]
    monkeypatch.setattr(KeywordIndex, "save", original_save)
    embedded = len(embedder.texts)
    idx = build([corpus], built, embedder)
    assert len(idx.documents) == 4 and load_index(built, embedder=embedder).generation == idx.generation
    assert len(embedder.texts) == embedded  # resumed: nothing embedded again
    assert not (built / ".partial").exists()  # published: the kept vectors are gone


def test_crash_between_rename_and_switch(
    built: Path, corpus: Path, embedder: CountingEmbedder, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    before = load_index(built, embedder=embedder).generation

    def crash(path: Path, data: bytes) -> None:
        raise OSError("simulated crash before CURRENT switched")

    monkeypatch.setattr(store, "_write_atomic", crash)
    with pytest.raises(OSError, match="simulated crash"):
        build([corpus], built, embedder)
    assert load_index(built, embedder=embedder).generation == before
    monkeypatch.undo()
    assert build([corpus], built, embedder).generation == "gen-000003"
    assert store.generation_names(built) == ["gen-000003"]


# -- filters -------------------------------------------------------------------------------


def test_filter_masks(tmp_path: Path, corpus: Path, embedder: CountingEmbedder) -> None:
    idx = build([corpus], tmp_path / "idx", embedder)
    by_source = {doc.source: doc for doc in idx.documents.values()}
    assert idx.mask(Filters()) is None

    def docs(mask: np.ndarray | None) -> set[str]:
        assert mask is not None and mask.dtype == np.bool_ and mask.shape == (len(idx.chunks),)
        return {idx.documents[idx.chunks[i].doc_id].source for i in np.flatnonzero(mask)}

    assert docs(idx.mask(Filters(years=frozenset({2023})))) == {"suzhou-kjj-2023-fzzf.txt", "changzhou-jyj-2023-fzzf.txt"}
    assert docs(idx.mask(Filters(publishers=frozenset({"科学技术局"})))) == {
        "suzhou-kjj-2023-fzzf.txt",
        "wuxi-kjj-2024-fzzf.txt",
        SAMPLE.name,
    }
    assert docs(idx.mask(Filters(years=frozenset({2024}), publishers=frozenset({"苏州"})))) == {SAMPLE.name}
    sample_id = by_source[SAMPLE.name].doc_id
    assert docs(idx.mask(Filters(doc_ids=frozenset({sample_id})))) == {SAMPLE.name}
    assert idx.mask(Filters(doc_ids=frozenset())) is None  # an empty set restricts nothing
    assert not idx.mask(Filters(years=frozenset({1999}))).any()  # type: ignore[union-attr]

    allowed = idx.mask(Filters(years=frozenset({2023})))
    for pos in (
        idx.keyword_search("法治政府建设", 20, allowed)[0],
        idx.dense_search(embedder.embed_query("法治"), 20, allowed)[0],
    ):
        assert len(pos) > 0 and allowed[pos].all()  # type: ignore[index]
