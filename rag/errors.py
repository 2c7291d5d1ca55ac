"""Errors that say what was expected, what was found, and how to fix it."""

from __future__ import annotations

__all__ = [
    "RagError",
    "LoadError",
    "QueryError",
    "IndexCorruptError",
    "IndexMismatchError",
    "ModelError",
    "ConfigError",
    "LLMError",
    "AnswerRejected",
]


class RagError(Exception):
    """Base class of every error PolicyQA raises on purpose."""


class LoadError(RagError):
    """A report could not be read; names the file and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot load {path}: {reason}")
        self.path = path
        self.reason = reason


class QueryError(RagError):
    """A question or search request is empty, too long or malformed."""


class IndexCorruptError(RagError):
    """Index files are missing, truncated or inconsistent."""


class IndexMismatchError(RagError):
    """The index was built with another model, dimension or format version."""


class ModelError(RagError):
    """The embedding model cannot be built or loaded."""


class ConfigError(RagError):
    """A setting has an invalid value."""


class LLMError(RagError):
    """The configured LLM failed or is unreachable."""


class AnswerRejected(LLMError):
    """The model answered, but the answer failed a grounding check (e.g. an unsupported number)."""
