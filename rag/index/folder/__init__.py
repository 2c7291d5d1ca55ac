"""The folder backend: FAISS vectors and BM25 arrays in an index directory, saved as generations."""
