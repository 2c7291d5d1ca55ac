"""rag.config.Settings: environment parsing and validation."""

import os
from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import ConfigError


def test_runtime_setting_comes_from_the_environment():
    assert Settings.from_env({}).runtime == "auto"
    assert Settings.from_env({"POLICYQA_RUNTIME": "torch"}).runtime == "torch"
    assert Settings.from_env({"POLICYQA_RUNTIME": " ONNX "}).runtime == "onnx"
    with pytest.raises(ConfigError, match="runtime"):
        Settings.from_env({"POLICYQA_RUNTIME": "gpu"})


@pytest.mark.parametrize(
    "variable, value",
    [
        ("POLICYQA_PORT", "0"),
        ("POLICYQA_PORT", "70000"),
        ("POLICYQA_RATE_LIMIT_PER_MINUTE", "-1"),
        ("POLICYQA_MAX_QUESTION_CHARS", "-5"),
        ("POLICYQA_MAX_UPLOAD_MB", "0"),
        ("POLICYQA_LLM_TIMEOUT", "0"),
        ("POLICYQA_DENSE_WEIGHT", "-1"),
        ("POLICYQA_KEYWORD_WEIGHT", "nan"),
        ("POLICYQA_LLM_TIMEOUT", "inf"),
    ],
)
def test_out_of_range_settings_are_config_errors(variable, value):
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({variable: value})


def test_a_rate_limit_of_zero_turns_it_off():
    assert Settings.from_env({"POLICYQA_RATE_LIMIT_PER_MINUTE": "0"}).rate_limit_per_minute == 0


def test_tests_never_touch_the_real_user_cache() -> None:
    from platformdirs import user_cache_dir

    from rag.config import default_cache_dir

    cache = default_cache_dir()
    assert cache != Path(user_cache_dir("policyqa"))
    assert Path(os.environ["TIKTOKEN_CACHE_DIR"]).parent == cache.parent  # one temporary folder for the session
