"""Retrieve: question analysis, follow-up rewriting, hybrid search (dense + BM25, fused),
and the LangChain retriever adapter."""
