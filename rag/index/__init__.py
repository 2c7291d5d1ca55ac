"""Index: documents, chunks, vectors and BM25 terms, in a folder (FAISS) or PostgreSQL.

`protocol.py` is the whole backend contract, `update.py` the one update pipeline
(load → reconcile → chunk → embed → write) every backend goes through; `folder/`
and `pg/` supply only storage and search primitives. `open.py` opens the
configured backend.
"""
