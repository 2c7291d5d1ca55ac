"""Heading grammar on reports of other styles (fixtures in tests/data/styles).

Convention: a heading sharing its line ends at its first sentence end; one longer
than 60 characters is cut at its first comma (sections.MAX_HEADING_CHARS).
"""

import json

import pytest

from rag.ingest.load import load_document
from rag.ingest.sections import split_sections
from tests.conftest import ROOT

STYLES = ROOT / "tests" / "data" / "styles"
EXPECTED = json.loads((STYLES / "expected_sections.json").read_text(encoding="utf-8"))


def content_paths(text: str) -> list[list[str]]:
    """Distinct section paths in order, leaving out headings whose only content is a subsection."""
    sections = split_sections(text)
    paths = []
    for i, section in enumerate(sections):
        following = sections[i + 1] if i + 1 < len(sections) else None
        body = text[section.heading.end : section.end] if section.heading else text[section.start : section.end]
        is_parent = following is not None and following.path[: len(section.path)] == section.path and len(
            following.path
        ) > len(section.path)
        if body.strip() or not is_parent:
            paths.append(list(section.path))
    return [list(p) for p in dict.fromkeys(map(tuple, paths))]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sections_of_other_styles(name):
    doc = load_document(STYLES / name)
    assert content_paths(doc.text) == EXPECTED[name]
