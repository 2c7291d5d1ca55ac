"""Indexing at scale, end to end: a long `policyqa index` killed at a random point resumes, and
two `policyqa index --shard i/2` processes into one real PostgreSQL equal one process.

The resume test embeds with the real model (a run long enough to be killed in the middle of
embedding); the shard test with the HashEmbedder (what is under test is the split and the
concurrent writes, not the model).
"""

from __future__ import annotations

import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.load import server_env
from rag.config import Settings
from rag.index.folder.persist import load_index
from tests.conftest import ROOT, SAMPLE

pytestmark = pytest.mark.slow

REAL = ROOT / "evals" / "real" / "corpus"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli", *args]


def _copy_reports(folder: Path, sources: list[Path]) -> Path:
    folder.mkdir(parents=True)
    for source in sources:
        shutil.copy(source, folder / source.name)
    return folder


# ------------------------------------------------------------------ resuming a killed run


def _folder_state(index_dir: Path) -> tuple[dict, list, np.ndarray]:
    index = load_index(index_dir, settings=Settings.from_env(environ={}), mmap=False)
    return dict(index.documents), list(index.chunks), np.asarray(index.embeddings).copy()


def test_a_killed_index_run_resumes_and_equals_an_uninterrupted_build(tmp_path: Path) -> None:
    reports = sorted((REAL / "provincial-2026").iterdir())[:8]  # ~700 passages: a run of a minute or more
    folder = _copy_reports(tmp_path / "reports", reports)
    env = {k: v for k, v in server_env("policyqa/multilingual-e5-small").items() if k != "POLICYQA_MODEL"}
    killed_dir, whole_dir = tmp_path / "killed", tmp_path / "whole"

    run = subprocess.Popen(_cli("index", str(folder), "--index", str(killed_dir)), env=env, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    partial = killed_dir / ".partial"
    started = time.monotonic()
    while not (partial.is_dir() and any(partial.glob("*.npy"))) and time.monotonic() < started + 300:
        assert run.poll() is None, "the run ended before its first checkpoint"
        time.sleep(0.05)
    # The first batch (~512 of ~700 passages) took this long: kill somewhere in the rest, on any machine.
    time.sleep(random.uniform(0, 0.25 * (time.monotonic() - started)))
    assert run.poll() is None, "the run ended before the kill"
    run.send_signal(signal.SIGKILL)
    run.wait(30)
    assert not (killed_dir / "CURRENT").exists()  # nothing published half-way
    kept_ids = {p.name.split("-")[0] for p in partial.glob("*.npy") if not p.name.startswith(".")}
    kept = len(kept_ids)
    assert 1 <= kept < len(reports)

    again = subprocess.run(_cli("index", str(folder), "--index", str(killed_dir)), env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"resuming: {kept} of {len(reports)} reports already embedded" in again.stderr
    assert f"({kept} reports resumed from an interrupted run)" in again.stdout
    whole = subprocess.run(_cli("index", str(folder), "--index", str(whole_dir)), env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert whole.returncode == 0, whole.stderr

    documents, chunks, vectors = _folder_state(killed_dir)
    w_documents, w_chunks, w_vectors = _folder_state(whole_dir)
    assert documents == w_documents and chunks == w_chunks
    # The same vectors; batches of other company round the last float bits differently.
    assert np.allclose(vectors, w_vectors, atol=1e-5)
    # Only what was missing was embedded: the rerun's progress bar counted the other reports' passages.
    totals = re.findall(r"\d+/(\d+) \[", again.stderr)
    assert totals and int(totals[-1]) == sum(1 for c in chunks if c.doc_id not in kept_ids)
    assert not (killed_dir / ".partial").exists()


# ------------------------------------------------------------------ sharded indexers, one database


def _database(pg_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return re.sub(r"/postgres(\?|$)", rf"/{name}\1", pg_url, count=1)


def _database_state(url: str) -> dict[str, list]:
    """Everything the index holds, independent of row ids and insertion order."""
    import psycopg

    with psycopg.connect(url) as conn:
        return {
            "documents": sorted(
                (d, title, source, sorted(map(tuple, origins)), text, count)
                for d, title, source, origins, text, count in conn.execute(
                    "SELECT doc_id, title, source, origins, text, chunk_count FROM policyqa.documents"
                )
            ),
            "chunks": sorted(conn.execute(
                "SELECT chunk_id, doc_id, ordinal, start_offset, end_offset, section, text, embedding::text "
                "FROM policyqa.chunks"
            ).fetchall()),  # fmt: skip
            "terms": sorted(conn.execute(
                "SELECT c.chunk_id, t.length, array(SELECT tm.term || ':' || u.tf FROM unnest(t.term_ids, t.tfs) "
                "AS u(id, tf) JOIN policyqa.terms tm ON tm.id = u.id ORDER BY 1) "
                "FROM policyqa.chunk_terms t JOIN policyqa.chunks c ON c.id = t.id"
            ).fetchall()),  # fmt: skip
            "df": sorted(conn.execute("SELECT term, df FROM policyqa.terms WHERE df > 0").fetchall()),
            "stats": conn.execute("SELECT n_chunks, total_length FROM policyqa.stats").fetchall(),
        }


def test_two_sharded_indexers_into_postgresql_equal_one(pg_url: str, tmp_path: Path) -> None:
    sources = [SAMPLE, *sorted((ROOT / "tests" / "data" / "distractors").iterdir()),
               *sorted((ROOT / "evals" / "unseen" / "reports").iterdir())]  # fmt: skip
    folder = _copy_reports(tmp_path / "reports", sources)
    (folder / "copies").mkdir()
    for source in sources[:3]:  # the same reports twice: whichever shard holds a copy, stored once
        shutil.copy(source, folder / "copies" / source.name)
    one, pair = _database(pg_url, "shards_one"), _database(pg_url, "shards_pair")
    base = server_env("hash-ngram-256", POLICYQA_CACHE_DIR=str(tmp_path / "cache"))

    single = subprocess.run(_cli("index", str(folder)), env={**base, "POLICYQA_DATABASE_URL": one}, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert single.returncode == 0, single.stderr
    env = {**base, "POLICYQA_DATABASE_URL": pair}
    shards = [subprocess.Popen(_cli("index", str(folder), "--shard", f"{i}/2"), env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in (1, 2)]  # fmt: skip
    outputs = [p.communicate(timeout=300) for p in shards]
    assert [p.returncode for p in shards] == [0, 0], outputs
    added = [int(re.search(r"(\d+) added", out).group(1)) for out, _ in outputs]  # type: ignore[union-attr]
    assert all(added) and sum(added) == len(_database_state(one)["documents"])  # both worked, neither twice

    assert _database_state(pair) == _database_state(one)
    rerun = subprocess.run(_cli("index", str(folder)), env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "0 added, 0 updated, 0 removed" in rerun.stdout, rerun.stdout  # nothing lost, nothing extra
