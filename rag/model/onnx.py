"""Run a sentence-transformers model's transformer on ONNX Runtime.

Why: on a 2-core CPU, ONNX Runtime runs multilingual-e5-small two to three times
faster than eager PyTorch (one query ~10 ms against ~20-25 ms; measured in
benchmarks/README.md) and gives the same vectors (cosine > 0.99999 to the
PyTorch path, tested). The transformer is exported once per set of weights with
`torch.onnx` into the PolicyQA cache; tokenisation, pooling and normalisation stay
here and match sentence-transformers' own (tested on long and short texts).

Supported: models made of Transformer -> Pooling (mean or CLS, prompt included)
-> optional Normalize. Anything else stays on PyTorch (`unsupported_reason`).

Throughput (benchmarks/indexing.py): texts are tokenised once, sorted by token count and
cut into batches that pad little; batches run on every core at once, one single-threaded
run per core over one shared session (on 2 cores that beat one run on two threads: small
matrices leave a second thread of one run waiting). `precision="int8"` runs a copy with
weights quantised per channel (ONNX Runtime's dynamic quantisation, VNNI kernels where the
CPU has them): 1.7x the fp32 speed over the real corpus here, vectors at cosine ~0.997 to fp32.
A CUDA execution provider is used when onnxruntime has one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import Precision
from ..errors import ModelError
from ..stages import count, stage

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["OnnxEncoder", "onnx_available", "unsupported_reason", "pool", "length_batches"]

log = logging.getLogger(__name__)

EXPORT_VERSION = 1  # part of the file key: bump when the export itself changes
QUANTISE_VERSION = 1  # part of the int8 file's name: bump when the quantisation recipe changes
OPSET = 17
# The exported graph must reproduce PyTorch on these texts, batched together (so the short one
# is padded and the attention mask matters), or we stay on PyTorch.
PROBE_TEXTS = ("苏州市科技局2024年法治政府建设情况报告：全年开展“双随机、一公开”检查54家企业。", "苏州市")
MIN_PROBE_COSINE = {"fp32": 0.9999, "int8": 0.99}  # int8 on 256 real chunks: median 0.997, min 0.995
BATCH_TOKENS = 1024  # padded tokens per run: ~7 passages of 150 tokens (measured: 512-1024 best, 2048 -4%, 4096 -20%)
STALE_TMP_SECONDS = 3600  # a half-written export older than this was left by a killed process


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

    >>> pool(np.ones((1, 2, 3)), np.array([[1, 0]]), "mean").shape
    (1, 3)
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
    import transformers

    # The traced graph depends on the weights, the exporter and transformers' modelling code.
    versions = f"v{EXPORT_VERSION}|opset{OPSET}|torch{torch.__version__}|transformers{transformers.__version__}"
    digest = hashlib.sha256(versions.encode())
    for name, tensor in model[0].auto_model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().to(torch.float32).contiguous().numpy())  # hashed in place, no copy
    return digest.hexdigest()[:20]


def _export(model: SentenceTransformer, target: Path) -> None:
    """Write the transformer as ONNX (ids, mask) -> last hidden state."""
    import torch

    class _LastHidden(torch.nn.Module):  # a plain positional signature for the exporter
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    sample = model.tokenizer(list(PROBE_TEXTS), padding=True, return_tensors="pt")  # a padded batch
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        # Python branches on shapes are traced as constants; the probe check below catches any that matter.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # dynamo=False on purpose (see below); torch says so on every export.
        warnings.filterwarnings("ignore", "You are using the legacy TorchScript-based ONNX export")
        warnings.filterwarnings("ignore", module=r"torch\.onnx\.")  # exporter notes; the probe check decides
        torch.onnx.export(
            _LastHidden(model[0].auto_model).eval(),
            (sample["input_ids"], sample["attention_mask"]),
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter needs no onnxscript and handles BERT-like models
        )


def _export_once(model: SentenceTransformer, target: Path) -> None:
    """Export unless another process did while we waited for the lock; sweep dead half-writes."""
    _once(target, lambda tmp: _export(model, tmp), "exporting the embedding model to ONNX")


def _quantize(source: Path, target: Path) -> None:
    """Weights of every MatMul to int8, one scale per output channel (per tensor: cosine 0.988).

    Measured on 256 real passages: cosine to fp32 median 0.9971 (p5 0.9963), 1.75x the fp32
    speed. Keeping the feed-forward down-projections in fp32 (their input, the GELU's output,
    has outliers) raised the cosine to 0.9992 but the speed only to 1.4x, and retrieval on the
    dev sets was no better (README, "Indexing a real corpus"): not worth it.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), per_channel=True, weight_type=QuantType.QInt8)


def _once(target: Path, write: Callable[[Path], None], what: str) -> None:
    """Make `target` with `write(tmp)` under a file lock, atomically, unless it exists."""
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if target.is_file():
            return
        for stale in target.parent.glob(".*.onnx.tmp-*"):
            if time.time() - stale.stat().st_mtime > STALE_TMP_SECONDS:
                stale.unlink(missing_ok=True)
        log.info("%s: %s", what, target)
        handle, tmp = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
        os.close(handle)
        try:
            write(Path(tmp))
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # respects container CPU limits
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def length_batches(lengths: Sequence[int], max_tokens: int = BATCH_TOKENS, max_texts: int = 64) -> list[list[int]]:
    """Indices grouped into batches of similar length, longest first, each at most `max_tokens`
    once padded (and at most `max_texts` texts), so little of a batch is padding.

    >>> length_batches([5, 100, 6, 98], max_tokens=200)
    [[1, 3], [2, 0]]
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    for i in order:
        if batches and (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= max_tokens and len(batches[-1]) < max_texts:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


class OnnxEncoder:
    """Tokenise, run the exported transformer on ONNX Runtime, pool, normalise.

    Two steps, so the PyTorch weights and the ONNX session are never in memory together:
    `OnnxEncoder(model, cache_dir)` exports (once per weights; quantises once for int8) and
    records what PyTorch gives for the probe texts; after the caller drops `model`, `start()`
    opens the session and checks it against that record.
    """

    def __init__(
        self,
        model: SentenceTransformer,
        cache_dir: Path,
        batch_tokens: int = BATCH_TOKENS,
        precision: Precision = "fp32",
        workers: int | None = None,
    ) -> None:
        reason = unsupported_reason(model)
        if reason is not None:
            raise ModelError(f"this model cannot run on ONNX Runtime: {reason}; set POLICYQA_RUNTIME=torch")
        if precision not in MIN_PROBE_COSINE:  # bf16 is PyTorch's (rag.model.embedder)
            raise ModelError(f"precision must be one of {sorted(MIN_PROBE_COSINE)}, got {precision!r}")
        self._tokenizer = model.tokenizer
        self._pad_id = int(model.tokenizer.pad_token_id or 0)
        self._max_length = int(model.max_seq_length or 512)
        self._mode = _pooling_mode(model[1].get_config_dict()) or "mean"
        self.dim = int(model[0].auto_model.config.hidden_size)
        self.batch_tokens = batch_tokens
        self.precision = precision
        self.workers = workers or _cpu_count()
        exported = Path(cache_dir) / "onnx" / f"{_weights_key(model)}.onnx"
        _export_once(model, exported)
        self.path = exported
        if precision == "int8":
            self.path = exported.with_suffix(f".int8-v{QUANTISE_VERSION}.onnx")
            _once(self.path, lambda tmp: _quantize(exported, tmp), "quantising the embedding model to int8")
        self._expected = model.encode(list(PROBE_TEXTS), normalize_embeddings=True, convert_to_numpy=True)
        self._session: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self.providers: list[str] = []

    def start(self) -> OnnxEncoder:
        """Open the session and check it reproduces PyTorch on the probe texts (ModelError if not)."""
        try:
            self._session = self._open_session()
        except Exception as exc:  # a damaged cache file (a crash elsewhere, a full disk): needs a new export
            raise ModelError(f"cannot open the ONNX model {self.path} ({exc}); it is deleted, restart to re-export") from exc
        self.providers = list(self._session.get_providers())
        got = self.encode(list(PROBE_TEXTS))  # one padded batch, as passages are embedded
        cosine = float(np.min(np.sum(got * self._expected, axis=1)))
        if cosine < MIN_PROBE_COSINE[self.precision]:
            self._session = None
            raise ModelError(
                f"the ONNX model {self.path} disagrees with PyTorch (cosine {cosine:.6f} < "
                f"{MIN_PROBE_COSINE[self.precision]}); delete it to re-export, or set POLICYQA_RUNTIME=torch"
            )
        return self

    @property
    def on_gpu(self) -> bool:
        return "CUDAExecutionProvider" in self.providers

    def _open_session(self) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # One CPU thread per run, several runs at once (see the module docstring; on a GPU the
        # runs go one after another, `encode`). A single query runs on one thread: on 2 cores it
        # gained nothing from a second one.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        # Spinning threads burn the other core while waiting; on a busy machine that made
        # single queries several times slower (the same effect we measured with OpenMP).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            return ort.InferenceSession(str(self.path), options, providers=_providers(ort))
        except Exception:
            self.path.unlink(missing_ok=True)  # the next start exports it again
            raise

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts (prompts already prepended), shape (len(texts), dim), rows L2-normalised."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with stage("tokenise"):
            ids = self._tokenizer(texts, truncation="longest_first", max_length=self._max_length)["input_ids"]
            batches = length_batches([len(row) for row in ids], self.batch_tokens)
        count("tokens", sum(len(row) for row in ids))
        count("padded_tokens", sum(len(rows) * len(ids[rows[0]]) for rows in batches))
        for rows in batches:  # attention's cost grows with the square of a batch's width
            count("attention_token_pairs", len(rows) * len(ids[rows[0]]) ** 2)
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)

        def run(rows: list[int]) -> None:
            vectors[rows] = self._run([ids[i] for i in rows])

        with stage("embed"):
            if len(batches) == 1 or self.workers == 1 or self.on_gpu:
                for rows in batches:
                    run(rows)
            else:
                list(self._executor().map(run, batches))  # onnxruntime releases the GIL while it runs
        return vectors

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="policyqa-onnx")
            return self._pool

    def _run(self, rows: list[list[int]]) -> np.ndarray:
        width = max(len(row) for row in rows)
        ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        run_options = None
        if len(rows) > 1:  # give a batch's buffers back afterwards: 8 x 512 tokens grew the arena ~0.5 GB
            import onnxruntime as ort

            run_options = ort.RunOptions()
            run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        feeds = {"input_ids": ids, "attention_mask": mask}
        hidden = self._session.run(["last_hidden_state"], feeds, run_options)[0]
        return pool(hidden, mask, self._mode)


def _providers(ort: Any) -> list[str]:
    """CUDA first when this onnxruntime has it (onnxruntime-gpu), else the CPU."""
    available = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available] or available
