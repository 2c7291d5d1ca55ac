"""Embedding models: the `Embedder` protocol, sentence-transformers on ONNX Runtime or
PyTorch, the bundled multilingual-e5-small rebuilt offline, and a model-free hasher."""
