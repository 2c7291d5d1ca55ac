"""Index directory layout: generations, CURRENT, atomic publish, locks, validation helpers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rag import store
from rag.errors import IndexCorruptError, IndexMismatchError
from rag.types import Chunk, Document, DocumentMeta

ROOT = Path(__file__).resolve().parents[2]


def publish(index_dir: Path, payload: str) -> str:
    with store.writer_lock(index_dir), store.new_generation(index_dir) as tmp:
        (tmp / "payload.txt").write_text(payload, encoding="utf-8")
    return store.current_generation(index_dir).name


def test_generations_are_published_and_old_ones_removed(tmp_path: Path) -> None:
    d = tmp_path / "idx"
    assert publish(d, "one") == "gen-000001"
    assert (d / "CURRENT").read_text() == "gen-000001\n"
    assert publish(d, "two") == "gen-000002"
    assert store.generation_names(d) == ["gen-000002"]
    assert (store.current_generation(d) / "payload.txt").read_text() == "two"
    assert not [p for p in d.iterdir() if p.name.startswith(".tmp-")]


def test_failure_while_writing_keeps_the_old_generation(tmp_path: Path) -> None:
    d = tmp_path / "idx"
    publish(d, "one")
    with pytest.raises(RuntimeError, match="disk full"), store.writer_lock(d), store.new_generation(d) as tmp:
        (tmp / "payload.txt").write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")
    gen = store.current_generation(d)
    assert gen.name == "gen-000001" and (gen / "payload.txt").read_text() == "one"
    assert not [p for p in d.iterdir() if p.name.startswith(".tmp-")]


def test_crash_leftovers_are_ignored_then_cleaned(tmp_path: Path) -> None:
    d = tmp_path / "idx"
    publish(d, "one")
    # a crash after the rename but before CURRENT switched, and one mid-write
    (d / "gen-000002").mkdir()
    (d / "gen-000002" / "payload.txt").write_text("orphan")
    (d / ".tmp-gen-000003-999").mkdir()
    assert store.current_generation(d).name == "gen-000001"
    assert publish(d, "three") == "gen-000003"
    assert sorted(p.name for p in d.iterdir()) == [".lock", "CURRENT", "gen-000003"]


def test_current_errors(tmp_path: Path) -> None:
    d = tmp_path / "idx"
    with pytest.raises(store.IndexNotFoundError, match=r"no index at .*policyqa index"):
        store.current_generation(d)
    publish(d, "one")
    (d / "CURRENT").write_text("gen-000009\n")
    with pytest.raises(IndexCorruptError, match=r"names gen-000009, which does not exist.*--rebuild"):
        store.current_generation(d)
    (d / "CURRENT").write_text("../../etc\n")
    with pytest.raises(IndexCorruptError, match="should name a generation folder"):
        store.current_generation(d)
    (d / "CURRENT").unlink()
    with pytest.raises(IndexCorruptError, match="CURRENT is missing although"):
        store.current_generation(d)


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
    (gen / "manifest.json").write_text(json.dumps({"format_version": store.FORMAT_VERSION}))
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


def test_writer_lock_is_reentrant_and_serialises_threads(tmp_path: Path) -> None:
    d = tmp_path / "idx"
    order: list[str] = []
    with store.writer_lock(d):
        with store.writer_lock(d):  # build_index → save takes it twice
            order.append("nested")

        def other() -> None:
            with store.writer_lock(d):
                order.append("other")

        t = threading.Thread(target=other)
        t.start()
        time.sleep(0.2)
        order.append("first")
    t.join(5)
    assert order == ["nested", "first", "other"]


def test_writer_lock_excludes_other_processes(tmp_path: Path) -> None:
    d = tmp_path / "idx"
    d.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from rag import store\n"
            "with store.writer_lock(sys.argv[1]):\n"
            "    print('locked', flush=True); time.sleep(30)",
            str(d),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(store.IndexBusyError, match="another process"), store.writer_lock(d, timeout=0.3):
            pass
    finally:
        holder.kill()
        holder.wait()
    with store.writer_lock(d, timeout=5):  # released when the holder dies
        pass
