"""Run a sentence-transformers model's transformer on ONNX Runtime.

Why: on a 2-core CPU, ONNX Runtime runs multilingual-e5-small two to three times
faster than eager PyTorch (one query ~8 ms against ~19-25 ms; measured in
benchmarks/README.md) and gives the same vectors (cosine > 0.99999 to the
PyTorch path, tested). The transformer is exported once per set of weights with
`torch.onnx` into the PolicyQA cache; tokenisation, pooling and normalisation stay
here and match sentence-transformers' own (tested on long and short texts).

Supported: models made of Transformer -> Pooling (mean or CLS, prompt included)
-> optional Normalize. Anything else stays on PyTorch (`unsupported_reason`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ModelError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["OnnxEncoder", "onnx_available", "unsupported_reason", "pool"]

log = logging.getLogger(__name__)

EXPORT_VERSION = 1  # part of the file key: bump when the export itself changes
OPSET = 17
# The exported graph must reproduce PyTorch on this text, or we stay on PyTorch.
PROBE_TEXT = "苏州市科技局2024年法治政府建设情况报告：全年开展“双随机、一公开”检查54家企业。"
MIN_PROBE_COSINE = 0.9999


def onnx_available() -> bool:
    """Whether onnxruntime (to run) and onnx (to export) are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def _pooling_mode(config: dict[str, Any]) -> str | None:
    mode = config.get("pooling_mode")
    if mode is None:  # sentence-transformers < 5 spelt it as flags
        mode = "mean" if config.get("pooling_mode_mean_tokens") else "cls" if config.get("pooling_mode_cls_token") else None
    return mode


def unsupported_reason(model: SentenceTransformer) -> str | None:
    """Why `model` cannot run on ONNX here, or None when it can."""
    kinds = [type(module).__name__ for module in model]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return f"modules {kinds}, expected Transformer, Pooling[, Normalize]"
    config = model[1].get_config_dict()
    mode = _pooling_mode(config)
    if mode not in ("mean", "cls"):
        return f"pooling mode {mode!r}, expected 'mean' or 'cls'"
    if not config.get("include_prompt", True):
        return "pooling excludes the prompt"
    if getattr(model, "tokenizer", None) is None:
        return "no tokenizer"
    return None


def pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """Sentence vectors (L2-normalised) from token states (batch, tokens, dim) and the attention mask.

    >>> pool(np.ones((1, 2, 3)), np.array([[1, 0]]), "mean").shape  # (1, 3)
    """
    if mode == "cls":
        vectors = hidden[:, 0]
    else:
        weights = mask[..., None].astype(np.float32)
        vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


def _weights_key(model: SentenceTransformer) -> str:
    """Names the exported file after the exact weights and exporter that produced it."""
    import torch

    digest = hashlib.sha256(f"v{EXPORT_VERSION}|opset{OPSET}|torch{torch.__version__}".encode())
    for name, tensor in model[0].auto_model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().to(torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()[:20]


def _export(model: SentenceTransformer, target: Path) -> None:
    """Write the transformer as ONNX (ids, mask) -> last hidden state, atomically."""
    import torch

    class _LastHidden(torch.nn.Module):  # a plain positional signature for the exporter
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    sample = model.tokenizer([PROBE_TEXT], return_tensors="pt")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    os.close(handle)
    try:
        axes = {0: "batch", 1: "tokens"}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python branches on shapes: expected here
            torch.onnx.export(
                _LastHidden(model[0].auto_model).eval(),
                (sample["input_ids"], sample["attention_mask"]),
                tmp,
                input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
                opset_version=OPSET,
                dynamo=False,  # the TorchScript exporter needs no onnxscript and handles BERT-like models
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # concurrent exporters each write a whole file; the last one wins
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # respects container CPU limits
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class OnnxEncoder:
    """Tokenise, run the exported transformer on ONNX Runtime, pool, normalise.

    Built from a loaded sentence-transformers model; keeps only its tokenizer and
    settings, so the PyTorch weights can be freed afterwards.
    """

    # Texts per run: on 2 cores 8 embedded as fast as or faster than 16 or 32 (less padding, smaller buffers).
    def __init__(self, model: SentenceTransformer, cache_dir: Path, batch_size: int = 8) -> None:
        reason = unsupported_reason(model)
        if reason is not None:
            raise ModelError(f"this model cannot run on ONNX Runtime: {reason}; set POLICYQA_RUNTIME=torch")
        self._tokenizer = model.tokenizer
        self._max_length = int(model.max_seq_length or 512)
        self._mode = _pooling_mode(model[1].get_config_dict()) or "mean"
        self.batch_size = batch_size
        self.path = Path(cache_dir) / "onnx" / f"{_weights_key(model)}.onnx"
        if not self.path.is_file():
            log.info("exporting the embedding model to ONNX: %s", self.path)
            _export(model, self.path)
        try:
            self._session = self._open_session()
        except Exception as exc:  # a damaged cache file (a crash elsewhere, a full disk): export again
            log.warning("re-exporting the damaged ONNX model %s (%s)", self.path, exc)
            _export(model, self.path)
            self._session = self._open_session()
        self._check_against(model)

    def _open_session(self) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = _cpu_count()
        options.inter_op_num_threads = 1
        # Spinning threads burn the other core while waiting; on a busy machine that made
        # single queries several times slower (the same effect we measured with OpenMP).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def _check_against(self, model: SentenceTransformer) -> None:
        expected = model.encode([PROBE_TEXT], normalize_embeddings=True, convert_to_numpy=True)[0]
        cosine = float(self.encode([PROBE_TEXT])[0] @ expected)
        if cosine < MIN_PROBE_COSINE:
            raise ModelError(
                f"the ONNX export {self.path} disagrees with PyTorch (cosine {cosine:.6f} < {MIN_PROBE_COSINE}); "
                "delete it to re-export, or set POLICYQA_RUNTIME=torch"
            )

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts (prompts already prepended), shape (len(texts), dim), rows L2-normalised."""
        longest_first = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # batches pad little
        parts: list[np.ndarray] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [texts[i] for i in longest_first[start : start + self.batch_size]]
            parts.append(self._encode_batch(batch))
        vectors = np.empty_like(np.concatenate(parts)) if parts else np.zeros((0, 0), np.float32)
        if parts:
            vectors[longest_first] = np.concatenate(parts)
        return vectors

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        features = self._tokenizer(
            texts, padding=True, truncation="longest_first", max_length=self._max_length, return_tensors="np"
        )
        ids = features["input_ids"].astype(np.int64)
        mask = features["attention_mask"].astype(np.int64)
        hidden = self._session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})[0]
        return pool(hidden, mask, self._mode)
