import hashlib
import os
import subprocess
import sys

import pytest

from rag.text import token_count as tokens


def test_seeded_cache_makes_standard_tiktoken_work_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    seeded = tokens.seed_tiktoken_cache("cl100k_base")
    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    assert seeded == tmp_path / hashlib.sha1(url.encode()).hexdigest()
    # A fresh interpreter with no network access to the blob store: plain tiktoken must load
    # from the seeded cache and pass its own hash check.
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network disabled in test')\n"
        "socket.socket.connect = refuse\n"
        "import tiktoken\n"
        "enc = tiktoken.get_encoding('cl100k_base')\n"
        "print(enc.encode('hello world'), len(enc.encode('苏州市科技局')))\n"
    )
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("[15339, 1917]")


def test_corrupt_cached_file_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    target = tokens.seed_tiktoken_cache("cl100k_base")
    target.write_bytes(b"garbage")
    tokens.seed_tiktoken_cache("cl100k_base")
    assert hashlib.sha256(target.read_bytes()).hexdigest().startswith("223921b7")


def test_empty_cache_dir_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    with pytest.raises(tokens.ModelError, match="TIKTOKEN_CACHE_DIR"):
        tokens.seed_tiktoken_cache("cl100k_base")


def test_unwritable_cache_dir_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(blocker / "cache"))
    with pytest.raises(tokens.ModelError, match="TIKTOKEN_CACHE_DIR to a writable folder"):
        tokens.seed_tiktoken_cache("cl100k_base")


def test_count_tokens_counts_chinese():
    assert tokens.count_tokens("hello world") == 2
    assert 10 <= tokens.count_tokens("苏州市科技局2024年度法治政府建设情况报告") <= 40
