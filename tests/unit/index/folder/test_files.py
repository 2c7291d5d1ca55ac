"""Generation files: manifest validation, sizes and hashes, JSON lines and arrays, records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rag.errors import IndexCorruptError, IndexMismatchError
from rag.index.folder import files as store
from rag.index.folder.layout import FORMAT_VERSION
from rag.types import Chunk, Document, DocumentMeta


def test_manifest_validation(tmp_path: Path) -> None:
    gen = tmp_path / "idx" / "gen-000001"
    gen.mkdir(parents=True)
    with pytest.raises(IndexCorruptError, match="manifest.json is missing"):
        store.read_manifest(gen)
    (gen / "manifest.json").write_text("{garbage")
    with pytest.raises(IndexCorruptError, match=r"manifest.json cannot be parsed.*--rebuild"):
        store.read_manifest(gen)
    (gen / "manifest.json").write_text(json.dumps({"format_version": 999}))
    with pytest.raises(IndexMismatchError, match=r"format version 999.*reads version 1.*--rebuild"):
        store.read_manifest(gen)
    (gen / "manifest.json").write_text(json.dumps({"format_version": FORMAT_VERSION}))
    with pytest.raises(IndexCorruptError, match="lacks model"):
        store.read_manifest(gen)


def test_file_sizes_and_hashes_are_checked(tmp_path: Path) -> None:
    gen = tmp_path / "idx" / "gen-000001"
    (gen / "sub").mkdir(parents=True)
    (gen / "a.txt").write_text("hello")
    (gen / "sub" / "b.bin").write_bytes(b"\x00" * 10)
    files = store.describe_files(gen)
    assert set(files) == {"a.txt", "sub/b.bin"}
    store.check_files(gen, files, verify_hashes=True)
    (gen / "a.txt").write_text("hellO")  # same size, other bytes
    store.check_files(gen, files, verify_hashes=False)  # sizes only: what big indexes get
    with pytest.raises(IndexCorruptError, match="sha256"):
        store.check_files(gen, files)  # small indexes are hashed by default
    with pytest.raises(IndexCorruptError, match="sha256"):
        store.check_files(gen, files, verify_hashes=True)
    (gen / "sub" / "b.bin").write_bytes(b"\x00" * 4)
    with pytest.raises(IndexCorruptError, match=r"b.bin has 4 bytes, the manifest recorded 10"):
        store.check_files(gen, files, verify_hashes=False)
    (gen / "a.txt").unlink()
    with pytest.raises(IndexCorruptError, match="a.txt is missing"):
        store.check_files(gen, files, verify_hashes=False)


def test_jsonl_and_npy_helpers(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    store.write_jsonl(path, [{"b": "中文", "a": 1}, {"c": [1, 2]}])
    assert path.read_text(encoding="utf-8") == '{"b": "中文", "a": 1}\n{"c": [1, 2]}\n'
    assert list(store.read_jsonl(path)) == [{"b": "中文", "a": 1}, {"c": [1, 2]}]
    path.write_text('{"ok": 1}\n{"broken": \n', encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="x.jsonl line 2 is not valid JSON"):
        list(store.read_jsonl(path))
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    store.write_npy(tmp_path / "e.npy", arr)
    for mmap in (False, True):
        np.testing.assert_array_equal(store.read_npy(tmp_path / "e.npy", (3, 4), "float32", mmap=mmap), arr)
    with pytest.raises(IndexCorruptError, match=r"should hold float32 \(4, 4\), found float32 \(3, 4\)"):
        store.read_npy(tmp_path / "e.npy", (4, 4), "float32")
    data = (tmp_path / "e.npy").read_bytes()
    (tmp_path / "e.npy").write_bytes(data[:-8])
    with pytest.raises(IndexCorruptError, match="e.npy cannot be read"):
        store.read_npy(tmp_path / "e.npy", (3, 4), "float32")


def test_record_roundtrips() -> None:
    doc = Document("d1", "标题", "正文内容", "a.txt", DocumentMeta(publisher="苏州市科学技术局", year=2024))
    assert store.document_from_record(json.loads(json.dumps(store.document_to_record(doc)))) == doc
    chunk = Chunk("c1", "d1", "正文", 0, 2, ("一、总体",), 0)
    assert store.chunk_from_record(json.loads(json.dumps(store.chunk_to_record(chunk)))) == chunk
    # records from a newer version with extra meta keys still load
    rec = store.document_to_record(doc)
    rec["meta"]["new_field"] = 1
    assert store.document_from_record(rec) == doc
