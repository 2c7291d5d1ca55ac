"""Check evals/unseen/gold.jsonl against the reports it is about.

Run: `.venv/bin/python evals/unseen/check_gold.py` (stdlib only, exits 1 on a problem).

For every question it checks that the record has the seed-dev schema, that each
evidence string occurs verbatim in its report (for HTML: inside one <p>, tags
removed) and in the report's section named by `section`, that every answer fact
occurs in the report, and that evidence carries no full-width ASCII forms
(U+FF01-U+FF5E), so it still matches after the cleaner maps them to ASCII.
"""

from __future__ import annotations

import html
import json
import re
import sys
from collections import Counter
from pathlib import Path

__all__ = ["load_paragraphs", "check", "main"]

HERE = Path(__file__).resolve().parent
KINDS = {"number", "date", "list", "entity", "section", "english", "metadata", "unanswerable"}
FIELDS = ["id", "question", "answer_facts", "evidence", "doc", "section", "kind", "note"]
TOP_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|第[一二三四五六七八九十]+章)")
FULLWIDTH = re.compile("[\uff01-\uff5e]")


def _decode(path: Path) -> str:
    """The file's text; HTML decoded with its declared charset, scripts and styles removed."""
    if path.suffix != ".html":
        return path.read_text(encoding="utf-8")
    raw = path.read_bytes()
    charset = re.search(rb'<meta[^>]+charset="?([\w-]+)', raw, re.I)
    text = raw.decode(charset.group(1).decode() if charset else "utf-8")
    return re.sub(r"(?is)<(script|style)\b.*?</\1>", "", text)


def load_paragraphs(path: Path) -> list[str]:
    """The report as a list of paragraphs (HTML: <p> texts; Markdown/text: non-empty lines)."""
    if path.suffix == ".html":
        text = _decode(path)
        paragraphs = re.findall(r"(?is)<p\b[^>]*>(.*?)</p>", text)
        return [html.unescape(re.sub(r"<[^>]+>", "", p)).strip() for p in paragraphs]
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _top_headings(path: Path, paragraphs: list[str]) -> list[tuple[int, str]]:
    """(paragraph index, heading text) of each top-level heading."""
    if path.suffix == ".md":
        return [(i, p[3:].strip()) for i, p in enumerate(paragraphs) if p.startswith("## ")]
    return [(i, p) for i, p in enumerate(paragraphs) if TOP_HEADING.match(p)]


def _section_span(path: Path, paragraphs: list[str], section: str | None) -> tuple[int, int] | None:
    """Paragraph index range [start, end) covered by `section` (None: before the first heading)."""
    heads = _top_headings(path, paragraphs)
    if section is None:
        return (0, heads[0][0] if heads else len(paragraphs))
    for n, (i, text) in enumerate(heads):
        if text == section:
            return (i + 1, heads[n + 1][0] if n + 1 < len(heads) else len(paragraphs))
    return None


def check(gold_path: Path, reports_dir: Path) -> list[str]:
    """All problems found (empty when the gold file is consistent with the reports)."""
    problems: list[str] = []
    seen: set[str] = set()
    for lineno, line in enumerate(gold_path.read_text(encoding="utf-8").splitlines(), 1):
        rec = json.loads(line)
        where = f"{gold_path.name}:{lineno} ({rec.get('id')})"
        if list(rec) != FIELDS:
            problems.append(f"{where}: fields {list(rec)}, expected {FIELDS}")
            continue
        if rec["id"] in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(rec["id"])
        if rec["kind"] not in KINDS:
            problems.append(f"{where}: unknown kind {rec['kind']!r}")
        if rec["kind"] == "unanswerable":
            if rec["answer_facts"] or rec["evidence"] or rec["doc"] or rec["section"]:
                problems.append(f"{where}: unanswerable must have empty facts/evidence and null doc/section")
            continue
        path = reports_dir / rec["doc"]
        if not path.is_file():
            problems.append(f"{where}: report {path} not found")
            continue
        paragraphs = load_paragraphs(path)
        whole = "\n".join(paragraphs)
        if rec["kind"] == "metadata":  # metadata lives outside the paragraphs (HTML <div class="info">)
            whole = _decode(path)
        for fact in rec["answer_facts"]:
            if fact not in whole:
                problems.append(f"{where}: answer fact {fact!r} not in {rec['doc']}")
        span = _section_span(path, paragraphs, rec["section"])
        if span is None:
            problems.append(f"{where}: section {rec['section']!r} is not a top-level heading of {rec['doc']}")
            continue
        for ev in rec["evidence"]:
            if FULLWIDTH.search(ev):
                problems.append(f"{where}: evidence {ev!r} contains full-width ASCII forms")
            hits = [i for i, p in enumerate(paragraphs) if ev in p]
            if not hits:
                problems.append(f"{where}: evidence {ev!r} not inside any one paragraph of {rec['doc']}")
            elif not any(span[0] <= i < span[1] for i in hits):
                problems.append(f"{where}: evidence {ev!r} is outside section {rec['section']!r}")
    return problems


def main() -> int:
    gold = HERE / "gold.jsonl"
    problems = check(gold, HERE / "reports")
    records = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()]
    kinds = dict(sorted(Counter(r["kind"] for r in records).items()))
    evidence = sum(len(r["evidence"]) for r in records)
    print(f"{len(records)} questions, {evidence} evidence strings; kinds: {kinds}")
    for problem in problems:
        print("PROBLEM:", problem)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
