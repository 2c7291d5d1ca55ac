"""LangChain chat model clients from settings: OpenAI-compatible endpoints, Ollama, llama.cpp.

Builds the client only (no network call): an unreachable endpoint shows up as an
`LLMError` on the first question, answered extractively.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ...config import Settings
from ...errors import ConfigError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["build_chat_model"]


def build_chat_model(settings: Settings) -> BaseChatModel | None:
    """The LangChain chat model the settings describe, or None for extractive mode.

    Builds the client only (no network call): an unreachable endpoint shows up
    as an `LLMError` on the first question, answered extractively.
    """
    provider = settings.llm_provider
    if provider == "none":
        return None
    if provider == "openai":
        base_url = _require_url(settings, "an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1")
        model = _require_model(settings, "the served model name, e.g. Qwen2.5-7B-Instruct")
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(
            base_url=base_url,
            model=model,
            # Local servers (vLLM, llama.cpp server) ignore the key but the client insists on one.
            api_key=settings.llm_api_key or "not-needed",
            timeout=settings.llm_timeout,
            max_retries=1,
            temperature=0,
            # as max_tokens, the classic field: ChatOpenAI's own sends max_completion_tokens, which
            # llama.cpp's server and older vLLM ignore (a rambling model then writes to its context)
            extra_body={"max_tokens": settings.llm_max_tokens},
            streaming=True,
        )
    if provider == "ollama":
        # Ollama's own default address; any other one must be set explicitly.
        base_url = settings.llm_base_url or "http://127.0.0.1:11434"
        _check_url(base_url)
        model = _require_model(settings, "a pulled Ollama model, e.g. qwen2.5:7b")
        from langchain_ollama import ChatOllama

        return ChatOllama(
            base_url=base_url,
            model=model,
            temperature=0,
            num_predict=settings.llm_max_tokens,
            client_kwargs={"timeout": settings.llm_timeout},
        )
    if provider == "llamacpp":
        return _llamacpp(settings)
    raise ConfigError(f"llm_provider must be none, openai, ollama or llamacpp, got {provider!r}")


def _require_model(settings: Settings, example: str) -> str:
    if not settings.llm_model:
        raise ConfigError(
            f"llm_provider={settings.llm_provider!r} needs a model name: set POLICYQA_LLM_MODEL to {example}"
        )
    return settings.llm_model


def _require_url(settings: Settings, example: str) -> str:
    if not settings.llm_base_url:
        raise ConfigError(
            f"llm_provider={settings.llm_provider!r} needs an endpoint: set POLICYQA_LLM_BASE_URL to {example}"
        )
    _check_url(settings.llm_base_url)
    return settings.llm_base_url


def _check_url(url: str) -> None:
    if not re.match(r"https?://[^\s/]+", url):
        raise ConfigError(f"POLICYQA_LLM_BASE_URL must start with http:// or https:// and name a host, got {url!r}")


def _llamacpp(settings: Settings) -> BaseChatModel:
    path = settings.llm_model_path
    if not path:
        raise ConfigError("llm_provider='llamacpp' needs a GGUF file: set POLICYQA_LLM_MODEL_PATH to its path")
    if not Path(path).is_file():
        raise ConfigError(f"POLICYQA_LLM_MODEL_PATH={path!r} is not a file: point it at a downloaded .gguf model")
    try:
        import llama_cpp  # noqa: F401  (checked here so the error names our extra, not the raw package)
    except ImportError as exc:
        raise ConfigError(
            "llm_provider='llamacpp' needs llama-cpp-python, which is not installed: run "
            "CMAKE_ARGS=\"-DGGML_NATIVE=OFF\" pip install 'policyqa[llama]' "
            "(or use llm_provider=openai/ollama with a local server)"
        ) from exc
    from langchain_community.chat_models import ChatLlamaCpp

    try:
        return ChatLlamaCpp(
            model_path=path,
            n_ctx=8192,  # six passages of ~300 tokens plus rules and history
            max_tokens=settings.llm_max_tokens,
            temperature=0,
            verbose=False,
        )
    except Exception as exc:  # llama.cpp reports a bad file as a bare ValueError
        raise ConfigError(f"cannot load the GGUF model {path!r}: {exc}") from exc
