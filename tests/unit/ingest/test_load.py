"""The same report in every format and encoding gives the same sections and text."""

import logging
import re

import pytest

from rag.errors import LoadError, RagError
from rag.ingest.load import load_bytes, load_document, load_documents
from rag.ingest.sections import split_sections
from tests.conftest import SAMPLE
from tests.docgen import CJK_FONT, make_docx, make_gov_html, make_pdf, report_parts, sample_text


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def reference():
    return load_document(SAMPLE)


def _paths(doc):
    return [s.path for s in split_sections(doc.text)]


def _body(text: str) -> str:
    """The report without the page's header line (来源/发布时间), which only the scraped page has."""
    return _squash(re.sub(r"\A来源:[^\n]*\n+", "", text))


def _same_report(doc, reference):
    assert _paths(doc) == _paths(reference)
    assert _body(doc.text) == _body(reference.text)
    assert doc.title == reference.title


@pytest.mark.parametrize("encoding", ["gb18030", "utf-16", "utf-16-be", "utf-8-sig"])
def test_text_encodings(tmp_path, reference, encoding):
    path = tmp_path / "report.txt"
    path.write_bytes(SAMPLE.read_text(encoding="utf-8").encode(encoding))
    doc = load_document(path)
    _same_report(doc, reference)
    assert doc.doc_id == reference.doc_id  # same cleaned text, same id


def test_government_html_page(tmp_path, reference):
    title, paragraphs = report_parts(sample_text())
    path = tmp_path / "report.html"
    path.write_bytes(make_gov_html(title, paragraphs))
    doc = load_document(path)
    _same_report(doc, reference)
    assert doc.meta.published == "2025-02-12"
    assert doc.meta.format == "html"


def test_docx(tmp_path, reference):
    title, paragraphs = report_parts(sample_text())
    path = tmp_path / "report.docx"
    path.write_bytes(make_docx([title, *paragraphs], title=title))
    doc = load_document(path)
    _same_report(doc, reference)


@pytest.mark.skipif(not CJK_FONT.exists(), reason="needs fonts-wqy-microhei (make system-deps)")
def test_pdf(tmp_path, reference):
    title, paragraphs = report_parts(sample_text())
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf(paragraphs, title=title))
    doc = load_document(path)
    assert _paths(doc) == _paths(reference)
    assert _body(doc.text) == _body(reference.text)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "binary"),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog", "PDF"),
        ("report.xyz", "报告".encode(), "unsupported"),
    ],
)
def test_bad_files_raise_a_clear_error(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(RagError) as info:
        load_document(path)
    assert name in str(info.value) and reason.lower() in str(info.value).lower()


def test_folder_load_skips_bad_files_and_loads_the_rest(tmp_path, caplog):
    (tmp_path / "good.txt").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (tmp_path / "notes.xyz").write_text("x")
    with caplog.at_level(logging.WARNING, logger="rag.load"):
        docs, errors = load_documents([tmp_path])
    assert [d.source for d in docs] == ["good.txt"]
    assert sorted(e.path.split("/")[-1] for e in errors) == ["broken.pdf", "empty.txt", "notes.xyz"]
    assert all(isinstance(e, LoadError) for e in errors)
    assert caplog.records


def test_upload_bytes_use_the_file_name_for_the_format(reference):
    doc = load_bytes(SAMPLE.read_bytes(), "上传.txt")
    assert doc.doc_id == reference.doc_id and doc.source == "上传.txt"


def test_with_paths_resolves_paths_and_refuses_a_length_mismatch(tmp_path):
    from rag.index.update import with_paths
    from rag.ingest.load import load_bytes

    doc = load_bytes("苏州市科技局2024年度报告\n\n一、工作\n全年检查企业11家。".encode(), "r.txt")
    assert with_paths([doc]) == [(doc, None)]
    assert with_paths([doc], [str(tmp_path / "." / "r.txt")]) == [(doc, str((tmp_path / "r.txt").resolve()))]
    with pytest.raises(ValueError, match="1 documents but 2 paths"):
        with_paths([doc], ["a", "b"])


def test_a_folders_readme_describes_its_reports_and_is_not_one(tmp_path):
    from rag.ingest.load import expand_paths

    (tmp_path / "README.md").write_text("# 本文件夹的报告来源\n", encoding="utf-8")
    (tmp_path / "report.txt").write_text(sample_text(), encoding="utf-8")
    files, errors = expand_paths([tmp_path])
    assert [f.name for f in files] == ["report.txt"] and not errors
    assert expand_paths([tmp_path / "README.md"])[0] == [tmp_path / "README.md"]  # named, it is loaded
