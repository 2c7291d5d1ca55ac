"""Shared fixtures: repository paths, the sample report, indexes built once per session.

User directories are isolated for every test by the repository's root conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "reports" / "suzhou-kjj-2024-fzzf.txt"
DEV_GOLD = ROOT / "evals" / "gold" / "seed-dev.jsonl"


@pytest.fixture(scope="session")
def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory):
    """The bundled sample report indexed with the real default model (built once per session)."""
    from rag import build_index

    return build_index([SAMPLE], tmp_path_factory.mktemp("real-index") / "index")


@pytest.fixture(scope="session")
def distractor_index(tmp_path_factory: pytest.TempPathFactory):
    """The sample report plus six same-genre reports of other bureaus and years."""
    from rag import build_index

    paths = [SAMPLE, ROOT / "tests" / "data" / "distractors"]
    return build_index(paths, tmp_path_factory.mktemp("distractor-index") / "index")
