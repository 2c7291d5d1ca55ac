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


REAL = ROOT / "evals" / "real" / "corpus"
# A small portal of real reports: national work reports of three years, two provinces' of two
# years and two neighbours', State Council policy pages, and the sample.
PORTAL_REPORTS = (
    "national/gov-work-report-2015.txt", "national/gov-work-report-2016.txt", "national/gov-work-report-2022.txt",
    "provincial-2025/2025年江苏省政府工作报告.docx", "provincial-2026/2026年江苏省政府工作报告.txt",
    "provincial-2025/2025年吉林省政府工作报告.docx", "provincial-2025/2025年黑龙江省政府工作报告.docx",
    "policies/1-joint-random-inspection.html", "policies/33-iit-law-implementing-regs.html",
    "policies/58-patent-agency-regulations.html", "policies/37-incentives-for-localities.html",
)  # fmt: skip


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory):
    """An Assistant over the small portal, with the hashing embedder (fast; BM25 carries retrieval)."""
    from rag import build_index
    from rag.answer.assistant import Assistant
    from rag.config import Settings
    from rag.model.hashing import HashEmbedder

    embedder = HashEmbedder()
    folder = tmp_path_factory.mktemp("portal") / "index"
    settings = Settings(model=embedder.name, index_dir=folder, rate_limit_per_minute=0, llm_provider="none")
    index = build_index([SAMPLE, *(REAL / p for p in PORTAL_REPORTS)], folder, settings=settings, embedder=embedder)
    return Assistant(index, settings)
