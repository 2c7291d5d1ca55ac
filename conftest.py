"""Test isolation for everything pytest collects (tests/ and the doctests of rag/, ui/, evals/, tools/).

Every user-level cache and data directory the code or its libraries may write
(PolicyQA's model and ONNX cache, jieba's dictionary cache, tiktoken's
encodings, Hugging Face, matplotlib, Gradio) points into one temporary folder
for the whole session, and model hubs are offline: no test reads or writes the
real user cache, and subprocesses started by tests inherit the same setting.
The embedding model is built once per session there (a few seconds).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_ISOLATED = {
    "POLICYQA_CACHE_DIR": "policyqa",
    "XDG_CACHE_HOME": "xdg-cache",
    "HF_HOME": "huggingface",
    "TIKTOKEN_CACHE_DIR": "tiktoken",
    "MPLCONFIGDIR": "matplotlib",
    "GRADIO_TEMP_DIR": "gradio",
}
_saved: dict[str, str | None] = {}
_root: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    root = tempfile.mkdtemp(prefix="policyqa-tests-")
    _root.append(root)
    for variable, folder in _ISOLATED.items():
        _saved[variable] = os.environ.get(variable)
        os.environ[variable] = os.path.join(root, folder)
    for variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        _saved[variable] = os.environ.get(variable)
        os.environ[variable] = "1"


def pytest_unconfigure(config: pytest.Config) -> None:
    for variable, value in _saved.items():
        if value is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = value
    for root in _root:
        shutil.rmtree(root, ignore_errors=True)
