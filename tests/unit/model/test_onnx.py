"""rag.onnx_encoder on a tiny randomly initialised BERT: export, equivalence with PyTorch, fallbacks."""

import logging
import os

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from rag.errors import ModelError  # noqa: E402
from rag.model.embedder import SentenceTransformerEmbedder  # noqa: E402
from rag.model.onnx import OnnxEncoder, pool, unsupported_reason  # noqa: E402

TEXTS = [
    "苏州市科技局",
    "全年检查企业54家，其中吴江区11家。",
    "法治政府建设" * 20,  # longer than max_seq_length: truncated the same way on both runtimes
    "query: 2024年检查了多少家企业？",
    "a",
    "双随机、一公开监管全覆盖，行政执法三项制度落实到位。",
    "",
]


def _tiny_model_folder(folder, seed=0):
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    chars = sorted(set("".join(TEXTS)) - {" "})
    folder.mkdir(parents=True)
    (folder / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]), encoding="utf-8"
    )
    BertTokenizerFast(str(folder / "vocab.txt")).save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=5 + len(chars), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    transformer = models.Transformer(str(folder), max_seq_length=24)
    st_folder = folder / "st"
    SentenceTransformer(modules=[transformer, models.Pooling(32, "mean"), models.Normalize()]).save(str(st_folder))
    return st_folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from sentence_transformers import SentenceTransformer

    folder = _tiny_model_folder(tmp_path_factory.mktemp("tiny") / "bert")
    return folder, SentenceTransformer(str(folder))


def test_onnx_matches_pytorch_in_order(tiny, tmp_path):
    _, model = tiny
    # several batches of similar length, run on two threads at once
    encoder = OnnxEncoder(model, tmp_path, batch_tokens=30, workers=2).start()
    got = encoder.encode(TEXTS)
    expected = model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert np.all(np.sum(got * expected, axis=1) > 0.99999)
    assert np.allclose(encoder.encode(TEXTS * 3)[: len(TEXTS)], got, atol=1e-6)  # batch company changes nothing
    assert not encoder.on_gpu


def test_int8_is_a_quantised_copy_close_to_fp32(tiny, tmp_path):
    _, model = tiny
    fp32 = OnnxEncoder(model, tmp_path).start()
    int8 = OnnxEncoder(model, tmp_path, precision="int8").start()
    assert int8.path != fp32.path and int8.path.stat().st_size < fp32.path.stat().st_size
    cosine = np.sum(int8.encode(TEXTS) * fp32.encode(TEXTS), axis=1)
    assert cosine.min() > 0.99 and cosine.min() < 0.999999  # close, and really quantised


def test_batches_pad_little():
    from rag.model.onnx import length_batches

    lengths = [3, 200, 5, 190, 4, 7, 180]
    batches = length_batches(lengths, max_tokens=400)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(len(b) * lengths[b[0]] <= 400 or len(b) == 1 for b in batches)
    assert batches == [[1, 3], [6, 5], [2, 4, 0]]  # longest first, long with long


def test_export_is_reused_and_keyed_by_weights(tiny, tmp_path):
    import torch

    _, model = tiny
    first = OnnxEncoder(model, tmp_path)
    stamp = first.path.stat().st_mtime_ns
    again = OnnxEncoder(model, tmp_path)
    assert again.path == first.path and again.path.stat().st_mtime_ns == stamp
    weights = model[0].auto_model.embeddings.word_embeddings.weight
    saved = weights.detach().clone()
    with torch.no_grad():
        weights[5] += 1.0
    try:
        assert OnnxEncoder(model, tmp_path).path != first.path
    finally:
        with torch.no_grad():
            weights.copy_(saved)


def test_a_damaged_export_is_refused_then_rebuilt(tiny, tmp_path):
    _, model = tiny
    path = OnnxEncoder(model, tmp_path).path
    path.write_bytes(b"not an onnx file")
    with pytest.raises(ModelError, match="restart to re-export"):
        OnnxEncoder(model, tmp_path).start()
    assert not path.exists()
    encoder = OnnxEncoder(model, tmp_path).start()
    assert os.path.getsize(path) > 1000
    assert encoder.encode(["苏州市科技局"]).shape == (1, 32)
    assert encoder.encode([]).shape == (0, 32)


def test_an_export_that_disagrees_with_pytorch_is_refused(tiny, tmp_path):
    _, model = tiny
    encoder = OnnxEncoder(model, tmp_path)
    encoder._expected = -encoder._expected  # what PyTorch "said" no longer matches the graph
    with pytest.raises(ModelError, match="disagrees with PyTorch"):
        encoder.start()


def test_stale_half_written_exports_are_swept(tiny, tmp_path):
    _, model = tiny
    folder = tmp_path / "onnx"
    folder.mkdir()
    stale, fresh = folder / ".old.onnx.tmp-abc", folder / ".new.onnx.tmp-def"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(stale, (0, 0))
    OnnxEncoder(model, tmp_path)
    assert not stale.exists() and fresh.exists()  # a live exporter's file is left alone


def test_embedder_runs_on_onnx_by_default(tiny, tmp_path):
    folder, model = tiny
    onnx = SentenceTransformerEmbedder(str(folder), cache_dir=tmp_path)
    torch_only = SentenceTransformerEmbedder(str(folder), cache_dir=tmp_path, runtime="torch")
    assert onnx.runtime == "onnx" and torch_only.runtime == "torch"
    assert float(onnx.embed_query("检查企业") @ torch_only.embed_query("检查企业")) > 0.99999
    a, b = onnx.embed_passages(TEXTS), torch_only.embed_passages(TEXTS)
    assert np.all(np.sum(a * b, axis=1) > 0.99999)


def test_unsupported_models_stay_on_pytorch(tiny, tmp_path, caplog):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as models

    folder, model = tiny
    max_pooled = SentenceTransformer(modules=[model[0], models.Pooling(32, "max")])
    assert "pooling mode 'max'" in unsupported_reason(max_pooled)
    max_pooled.save(str(tmp_path / "max"))
    with caplog.at_level(logging.WARNING, logger="rag.embed"):
        embedder = SentenceTransformerEmbedder(str(tmp_path / "max"), cache_dir=tmp_path)
        assert embedder.runtime == "torch"
    assert "pooling mode 'max'" in caplog.text
    with pytest.raises(ModelError, match="POLICYQA_RUNTIME=torch"):
        SentenceTransformerEmbedder(str(tmp_path / "max"), cache_dir=tmp_path, runtime="onnx").warm_up()


def test_runtime_is_validated():
    with pytest.raises(ModelError, match="runtime"):
        SentenceTransformerEmbedder("x", runtime="gpu")  # type: ignore[arg-type]


def test_pool_mean_ignores_padding_and_cls_takes_the_first_token():
    hidden = np.array([[[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    np.testing.assert_allclose(pool(hidden, mask, "mean"), [[2**-0.5, 2**-0.5]], rtol=1e-6)
    np.testing.assert_allclose(pool(hidden, mask, "cls"), [[1.0, 0.0]])


def test_a_cuda_provider_is_preferred_when_onnxruntime_has_one():
    from types import SimpleNamespace

    from rag.model.onnx import _providers

    gpu = SimpleNamespace(get_available_providers=lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    cpu = SimpleNamespace(get_available_providers=lambda: ["AzureExecutionProvider", "CPUExecutionProvider"])
    assert _providers(gpu) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert _providers(cpu) == ["CPUExecutionProvider"]


def test_with_a_gpu_only_torch_can_use_auto_stays_on_pytorch(tiny, tmp_path, monkeypatch):
    from rag.model import embedder as embedder_module

    monkeypatch.setattr(embedder_module, "_cuda_without_onnx_cuda", lambda: True)
    monkeypatch.setattr(embedder_module, "_torch_cuda", lambda: False)  # no real GPU to move the model to
    folder, _ = tiny
    auto = SentenceTransformerEmbedder(str(folder), cache_dir=tmp_path)
    assert auto.runtime == "torch"
    forced = SentenceTransformerEmbedder(str(folder), cache_dir=tmp_path, runtime="onnx")
    assert forced.runtime == "onnx"


def test_bf16_embeds_passages_on_pytorch_and_queries_on_onnx(tiny, tmp_path, monkeypatch):
    from rag.model import embedder as embedder_module

    folder, _ = tiny
    fp32 = SentenceTransformerEmbedder(str(folder), cache_dir=tmp_path, precision="fp32")
    monkeypatch.setattr(embedder_module, "_bf16_native", lambda warn=False: True)
    assert embedder_module.bulk_precision("auto") == "bf16" and embedder_module.bulk_precision("int8") == "int8"
    assert SentenceTransformerEmbedder(str(folder), cache_dir=tmp_path).precision == "fp32"  # a server's "auto"
    bf16 = SentenceTransformerEmbedder(str(folder), cache_dir=tmp_path, precision="bf16")
    passages = bf16.embed_passages(TEXTS[:-1])
    reference = fp32.embed_passages(TEXTS[:-1])
    cosine = np.sum(passages * reference, axis=1)
    assert bf16.precision == "bf16"
    assert cosine.min() > 0.99 and not np.array_equal(passages, reference)  # bf16 arithmetic, near fp32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-5)
    assert bf16.runtime == "onnx" and bf16._passage_model is not None
    assert np.array_equal(bf16.embed_query("苏州市科技局"), fp32.embed_query("苏州市科技局"))  # queries: ONNX fp32
    monkeypatch.setattr(embedder_module, "_bf16_native", lambda warn=False: False)  # emulated bf16 is slower
    assert embedder_module.bulk_precision("auto") == "fp32"
    fallback = SentenceTransformerEmbedder(str(folder), cache_dir=tmp_path, precision="bf16")
    assert fallback.precision == "fp32" and np.array_equal(fallback.embed_passages(TEXTS[:-1]), reference)
