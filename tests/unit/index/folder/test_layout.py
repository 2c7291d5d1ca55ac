"""Index directory layout: generations, CURRENT, atomic publish, locks, validation helpers."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rag.errors import IndexCorruptError
from rag.index.folder import layout as store
from tests.conftest import ROOT


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
            "import sys, time; from rag.index.folder import layout as store\n"
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
