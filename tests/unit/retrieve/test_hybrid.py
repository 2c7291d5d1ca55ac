"""Hybrid retrieval over a small synthetic multi-report index (hash embedder, no model)."""

from __future__ import annotations

import pytest

from rag.config import Settings
from rag.errors import ConfigError
from rag.index.filters import Filters
from rag.index.folder.persist import build_index
from rag.index.folder.store import FolderIndex as Index
from rag.model.hashing import HashEmbedder
from rag.retrieve.hybrid import RetrievalConfig, search

# Report a answers the question in three sections; report b once, a little less well
# than a's second and third; report c not at all.
REPORTS = {
    "a.txt": """甲市科技局年度法治工作报告

一、理论学习
局党组理论学习中心组开展专题研讨6次,围绕法治思想开展专题研讨。

二、学法制度
局党组理论学习中心组开展专题研讨,落实学法制度,专题研讨覆盖全体班子成员。

三、述法工作
理论学习中心组开展专题研讨,主要负责人带头述法,专题研讨形成长效机制。

四、执法检查
全年开展双随机检查120家,处理投诉30件。
""",
    "b.txt": """乙市司法局年度法治工作报告

一、理论学习
局党委中心组专题学习4次,集体学法3次。

二、行政复议
全年办理行政复议案件85件,纠错率为12%。
""",
    "c.txt": """丙市教育局年度法治工作报告

一、依法治校
推进学校章程建设,完成章程核准20所。

二、普法宣传
开展宪法进校园活动60场,覆盖学生3万人。
""",
}
QUESTION = "理论学习中心组开展了几次专题研讨?"


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    root = tmp_path_factory.mktemp("three-reports")
    folder = root / "reports"
    folder.mkdir()
    for name, text in REPORTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    embedder = HashEmbedder(64)
    return build_index([folder], root / "index", embedder=embedder, settings=Settings(model=embedder.name))


def _sources(index: Index, k: int, config: RetrievalConfig | None = None) -> list[str]:
    return [h.source for h in search(index, QUESTION, k=k, config=config)]


def test_one_report_does_not_fill_the_top_k(index: Index) -> None:
    by_score = _sources(index, 3, RetrievalConfig(same_report_factor=1.0))
    assert by_score == ["a.txt"] * 3  # by score alone, the first report takes every place
    assert _sources(index, 3) == ["a.txt", "a.txt", "b.txt"]


def test_diversity_keeps_the_order_within_a_report(index: Index) -> None:
    diverse = [h.chunk.chunk_id for h in search(index, QUESTION, k=10) if h.source == "a.txt"]
    by_score = search(index, QUESTION, k=10, config=RetrievalConfig(same_report_factor=1.0))
    assert diverse == [h.chunk.chunk_id for h in by_score if h.source == "a.txt"]
    only_a = Filters(doc_ids=frozenset({by_score[0].chunk.doc_id}))
    assert [h.chunk.chunk_id for h in search(index, QUESTION, k=10, filters=only_a)] == diverse


def test_ranking_does_not_depend_on_k(index: Index) -> None:
    top10 = [(h.chunk.chunk_id, h.score) for h in search(index, QUESTION, k=10)]
    assert [(h.chunk.chunk_id, h.score) for h in search(index, QUESTION, k=3)] == top10[:3]
    assert [s for _, s in top10] == sorted((s for _, s in top10), reverse=True)


@pytest.mark.parametrize("factor", [0.0, -0.5, 1.5])
def test_same_report_factor_must_be_a_discount(factor: float) -> None:
    with pytest.raises(ConfigError, match="same_report_factor"):
        RetrievalConfig(same_report_factor=factor)



def test_weight_settings_change_the_ranking(index: Index) -> None:
    """POLICYQA_DENSE_WEIGHT / POLICYQA_KEYWORD_WEIGHT reach the search the Assistant runs."""
    from rag.answer.assistant import Assistant

    def ranking(**weights: float) -> list[str]:
        settings = Settings(model=index.manifest["model"], **weights)
        return [h.chunk.chunk_id for h in Assistant(index, settings).search(QUESTION, k=5)]

    def alone(mode: str) -> list[str]:
        return [h.chunk.chunk_id for h in search(index, QUESTION, k=5, config=RetrievalConfig(mode=mode))]

    assert ranking(dense_weight=1.0, keyword_weight=0.0) == alone("dense")
    assert ranking(dense_weight=0.0, keyword_weight=1.0) == alone("keyword")
    assert alone("dense") != alone("keyword")  # else the test could not tell the weights apart
    env = Settings.from_env({"POLICYQA_DENSE_WEIGHT": "0", "POLICYQA_KEYWORD_WEIGHT": "1"}, model=index.manifest["model"])
    assert [h.chunk.chunk_id for h in Assistant(index, env).search(QUESTION, k=5)] == alone("keyword")
