"""PostgreSQL + pgvector backend: one database serves any number of PolicyQA processes."""
