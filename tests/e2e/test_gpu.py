"""On a machine with a GPU, the default embedder runs there and gives the CPU's vectors.

Skipped where `torch.cuda.is_available()` is false (this project's CI machines have no GPU).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine"),
]

TEXTS = ["苏州市科技局2024年度法治政府建设情况报告", "全年开展“双随机、一公开”检查54家企业，其中吴江区11家。" * 4, "检查"]


def test_the_default_embedder_uses_the_gpu_and_agrees_with_the_cpu() -> None:
    from sentence_transformers import SentenceTransformer

    from rag.config import DEFAULT_MODEL, default_cache_dir
    from rag.model.embedder import SentenceTransformerEmbedder
    from rag.model.offline_e5 import ensure_e5_small

    embedder = SentenceTransformerEmbedder(DEFAULT_MODEL)  # runtime "auto"
    assert embedder.device == "cuda"
    on_gpu = embedder.embed_passages(TEXTS)
    cpu = SentenceTransformer(str(ensure_e5_small(default_cache_dir())), device="cpu", local_files_only=True).float()
    expected = cpu.encode(TEXTS, prompt="passage: ", normalize_embeddings=True, convert_to_numpy=True)
    assert np.min(np.sum(on_gpu * expected, axis=1)) > 0.999
