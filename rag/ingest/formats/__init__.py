"""One module per file format: raw paragraphs out of txt, md, html, pdf and docx."""
