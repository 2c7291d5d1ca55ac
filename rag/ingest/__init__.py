"""Ingest: report files → clean text with structure → section-aware chunks.

`load.py` (path → Document) is the entry; `extract.py` and `formats/` read each
file type, `encoding.py` decodes text files, `clean.py` removes page noise,
`sections.py` and `chunk.py` cut the text along its headings.
"""
