"""LangChain's own standard retriever suite (langchain-tests) run against PolicyQARetriever:
constructor and per-call `k`, sync and async invoke, Documents returned."""

from __future__ import annotations

from typing import Any

from langchain_tests.integration_tests import RetrieversIntegrationTests

from rag.retrieve.langchain import PolicyQARetriever
from tests.fakes import fake_index


class TestPolicyQARetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[PolicyQARetriever]:
        return PolicyQARetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"index": fake_index()}

    @property
    def retriever_query_example(self) -> str:
        return "苏州市共有多少家在营的科技类校外培训机构？"
