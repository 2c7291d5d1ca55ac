"""Chat model clients built from settings, and the messages that name a missing setting."""

from __future__ import annotations

import importlib.util

import pytest

from rag.answer.llm.providers import build_chat_model
from rag.config import Settings
from rag.errors import ConfigError

# --- building models from settings ---------------------------------------------------------------------


def test_build_chat_model_per_provider(tmp_path):
    assert build_chat_model(Settings(cache_dir=tmp_path)) is None
    openai = build_chat_model(
        Settings(cache_dir=tmp_path, llm_provider="openai", llm_base_url="http://127.0.0.1:8000/v1", llm_model="qwen")
    )
    assert type(openai).__name__ == "ChatOpenAI"
    assert openai.temperature == 0 and openai.max_retries == 1 and openai.streaming
    assert openai.openai_api_key.get_secret_value() == "not-needed"
    ollama = build_chat_model(Settings(cache_dir=tmp_path, llm_provider="ollama", llm_model="qwen2.5:7b"))
    assert type(ollama).__name__ == "ChatOllama" and ollama.base_url == "http://127.0.0.1:11434"


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        ({"llm_provider": "openai", "llm_model": "qwen"}, "POLICYQA_LLM_BASE_URL"),
        ({"llm_provider": "openai", "llm_base_url": "http://h:1/v1"}, "POLICYQA_LLM_MODEL"),
        ({"llm_provider": "openai", "llm_base_url": "localhost:8000", "llm_model": "q"}, "POLICYQA_LLM_BASE_URL"),
        ({"llm_provider": "ollama"}, "POLICYQA_LLM_MODEL"),
        ({"llm_provider": "llamacpp"}, "POLICYQA_LLM_MODEL_PATH"),
        ({"llm_provider": "llamacpp", "llm_model_path": "/nonexistent/model.gguf"}, "POLICYQA_LLM_MODEL_PATH"),
    ],
)
def test_build_chat_model_names_the_missing_setting(tmp_path, changes, names):
    with pytest.raises(ConfigError, match=names):
        build_chat_model(Settings(cache_dir=tmp_path, **changes))


def test_llamacpp_without_the_extra_names_the_fix(tmp_path):
    if importlib.util.find_spec("llama_cpp") is not None:
        pytest.skip("llama-cpp-python is installed here; this test is about its absence")
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(ConfigError, match=r"policyqa\[llama\]") as caught:
        build_chat_model(Settings(cache_dir=tmp_path, llm_provider="llamacpp", llm_model_path=str(gguf)))
    assert "GGML_NATIVE=OFF" in str(caught.value)


def test_the_token_limit_travels_as_max_tokens():
    """ChatOpenAI's own field is sent as max_completion_tokens, which llama.cpp's server ignores."""
    model = build_chat_model(Settings(llm_provider="openai", llm_base_url="http://127.0.0.1:9/v1", llm_model="m",
                                      llm_max_tokens=77))
    payload = model._get_request_payload([("user", "hi")], stream=True)
    assert payload["extra_body"] == {"max_tokens": 77} and "max_completion_tokens" not in payload
