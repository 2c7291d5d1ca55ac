"""Preparing reports: batches kept as checkpoints (a killed update resumes), duplicates embedded once."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.index import prepare as prepare_module
from rag.index.checkpoints import Checkpoints
from rag.index.folder.persist import build_index, load_index
from rag.index.passages import passage_text
from rag.model.hashing import HashEmbedder
from tests.conftest import ROOT
from tests.fakes import CountingEmbedder, Interrupted

DISTRACTORS = ROOT / "tests" / "data" / "distractors"
SAMPLE = ROOT / "data" / "reports" / "suzhou-kjj-2024-fzzf.txt"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    for path in sorted(DISTRACTORS.glob("*.txt")):
        shutil.copy(path, folder / path.name)
    shutil.copy(SAMPLE, folder / SAMPLE.name)
    return folder


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepare_module, "REPORT_BATCH_PASSAGES", 6)  # many checkpoints in a small corpus
    monkeypatch.setattr(prepare_module, "EMBED_STEP", 4)


def _build(corpus: Path, index_dir: Path, embedder: CountingEmbedder, **kw: object):
    return build_index([corpus], index_dir, embedder=embedder, settings=Settings(model=embedder.name), **kw)  # type: ignore[arg-type]


def _state(index_dir: Path) -> tuple:
    idx = load_index(index_dir, embedder=HashEmbedder(64), settings=Settings(model=HashEmbedder(64).name), mmap=False)
    return dict(idx.documents), list(idx.chunks), np.asarray(idx.embeddings).copy(), dict(idx._origins)


@pytest.mark.parametrize("share", [0.4, 0.7, 0.95])
def test_a_killed_update_resumes_and_equals_an_uninterrupted_build(
    corpus: Path, tmp_path: Path, share: float, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = CountingEmbedder()
    _build(corpus, tmp_path / "whole", whole)

    killed = CountingEmbedder(stop_at=max(3, round(whole.calls * share)))  # a kill that far into the run
    with pytest.raises(Interrupted):
        _build(corpus, tmp_path / "idx", killed)
    assert not (tmp_path / "idx" / "CURRENT").exists()  # nothing published half-way
    kept_ids = {p.name.split("-")[0] for p in (tmp_path / "idx" / ".partial").glob("*.npy")}
    kept = len(kept_ids)
    assert kept >= 1

    again = CountingEmbedder()
    idx = _build(corpus, tmp_path / "idx", again, progress=True)
    assert f"resuming: {kept} of {len(idx.documents)} reports already embedded" in capsys.readouterr().err
    assert idx.last_summary.resumed == kept and idx.last_summary.added == len(idx.documents)
    documents, chunks, vectors, origins = _state(tmp_path / "idx")
    resumed_texts = {passage_text(documents[c.doc_id].title, c) for c in chunks if c.doc_id in kept_ids}
    assert not set(again.texts) & resumed_texts  # only what was missing was embedded
    assert set(again.texts) | resumed_texts == set(whole.texts)
    w_documents, w_chunks, w_vectors, w_origins = _state(tmp_path / "whole")
    assert documents == w_documents and chunks == w_chunks and origins == w_origins
    assert np.array_equal(vectors, w_vectors)
    assert not (tmp_path / "idx" / ".partial").exists()


def test_a_killed_rebuild_keeps_the_published_index(corpus: Path, tmp_path: Path) -> None:
    _build(corpus, tmp_path / "idx", CountingEmbedder())
    before = _state(tmp_path / "idx")
    with pytest.raises(Interrupted):
        _build(corpus, tmp_path / "idx", CountingEmbedder(stop_at=3), rebuild=True)
    after = _state(tmp_path / "idx")
    assert after[0] == before[0] and after[1] == before[1] and np.array_equal(after[2], before[2])


def test_a_passage_repeated_across_reports_is_embedded_once(tmp_path: Path) -> None:
    shared = "一、总体情况\n全年开展“双随机、一公开”检查54家企业，其中吴江区11家。\n"
    folder = tmp_path / "reports"
    folder.mkdir()
    for i in range(3):  # three editions under one title: the first section's passage is the same in all
        (folder / str(i)).mkdir()
        (folder / str(i) / "科技局工作报告.txt").write_text(f"{shared}二、第{i}部分\n本部分第{i}项工作完成。\n", encoding="utf-8")
    embedder = CountingEmbedder()
    idx = _build(folder, tmp_path / "idx", embedder)
    assert len(idx.chunks) > len(embedder.texts) == len(set(embedder.texts))
    assert idx.last_summary.embedded == len(embedder.texts)


def test_checkpoints_refuse_other_vectors_and_damaged_files(tmp_path: Path) -> None:
    texts = ["甲", "乙"]
    kept = Checkpoints(tmp_path / "cp", lambda: "model-a|fp32|4")
    kept.save("d1", texts, np.ones((2, 4), np.float32))
    assert np.array_equal(kept.load("d1", texts, 4), np.ones((2, 4)))
    assert kept.load("d1", ["甲", "丙"], 4) is None  # other passages
    assert Checkpoints(tmp_path / "cp", lambda: "model-a|int8|4").load("d1", texts, 4) is None  # other vectors
    assert kept.load("d1", texts, 8) is None  # other dimension: dropped
    kept.save("d1", texts, np.ones((2, 4), np.float32))
    next((tmp_path / "cp").glob("d1-*.npy")).write_bytes(b"\x93NUMPY broken")
    assert kept.load("d1", texts, 4) is None and kept.kept() == 0
    kept.save("d2", texts, np.ones((2, 4), np.float32))
    kept.discard(["d2"])
    assert kept.kept() == 0
    kept._path("d3", texts).write_bytes(b"")  # a power loss before the data reached the disk
    assert kept.load("d3", texts, 4) is None
    kept.clear()
    assert not (tmp_path / "cp").exists()


def test_a_completed_build_forgets_the_checkpoints_of_reports_removed_meanwhile(corpus: Path, tmp_path: Path) -> None:
    # what a killed run leaves for a report whose file was deleted before the next run
    Checkpoints(tmp_path / "idx" / ".partial", lambda: "x").save("0123456789abcdef", ["已删除的报告"], np.ones((1, 64), np.float32))
    _build(corpus, tmp_path / "idx", CountingEmbedder())
    assert not (tmp_path / "idx" / ".partial").exists()
