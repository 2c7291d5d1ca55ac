"""Shared fixtures: repository paths, an isolated user cache, the sample report."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "reports" / "suzhou-kjj-2024-fzzf.txt"
DEV_GOLD = ROOT / "evals" / "gold" / "seed-dev.jsonl"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point user-level caches at a per-session tmp dir unless a test sets them.

    The embedding model cache is shared by the whole session (it takes seconds
    to build), so it lives in one session-wide folder.
    """
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")
