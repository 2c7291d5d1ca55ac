"""schemathesis against a real `policyqa serve`: the OpenAPI schema tells the truth.

`st run --checks all` with three fixed seeds, each without an API key and with one, over
the bundled reports (hashing embedder: what is under test is the HTTP contract, not the
model). Every phase runs (examples, coverage, fuzzing, stateful); any failure fails the test
with schemathesis' own report. Uploads are made readable reports by tests/e2e/schemathesis_hooks.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.load import server_env, start_server
from rag.config import Settings
from rag.index.folder.persist import build_index
from rag.model.embedder import get_embedder
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

MODEL = "hash-ngram-256"
SCHEMATHESIS = Path(sys.executable).parent / "st"


@pytest.mark.parametrize("seed", [20261201, 1, 2])
@pytest.mark.parametrize("api_key", [None, "k3y-for-schemathesis"])
def test_schemathesis_finds_nothing(tmp_path: Path, api_key: str | None, seed: int) -> None:
    index_dir = tmp_path / "index" / "st"
    build_index([ROOT / "data" / "reports"], index_dir, settings=Settings(model=MODEL, index_dir=index_dir),
                embedder=get_embedder(MODEL))
    extra = {"POLICYQA_API_KEY": api_key} if api_key else {}
    env = server_env(MODEL, POLICYQA_CACHE_DIR=str(tmp_path / "cache"), POLICYQA_RATE_LIMIT_PER_MINUTE="100000",
                     **extra)
    with start_server(index_dir, MODEL, env=env) as server:
        argv = [str(SCHEMATHESIS), "run", f"{server.url}/openapi.json", "--checks", "all", "--seed", str(seed),
                "--max-examples", "25", "--no-color"]
        if api_key:
            argv += ["--header", f"X-API-Key: {api_key}"]
        hooks_env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks", "PYTHONPATH": str(ROOT),
                     "ST_API_KEY": api_key or ""}
        run = subprocess.run(argv, cwd=tmp_path, env=hooks_env, capture_output=True, text=True, timeout=900)
    report = run.stdout[-8000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    print(run.stdout[-1500:])  # the summary, for -s runs and the CI log
