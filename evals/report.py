"""report.md and a bar chart from an evaluation's metrics and results.

`render_report` is pure (metrics + results → Markdown); `plot_chart` and
`write_report` write files. The chart uses matplotlib's Agg backend, so no
display is needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .metrics import GoldItem, SystemResult

__all__ = ["CHART_METRICS", "CHART_NAME", "SUMMARY_ROWS", "format_value", "render_report", "plot_chart", "write_report"]

SUMMARY_ROWS = (
    ("hit@1", "pct"),
    ("hit@3", "pct"),
    ("hit@5", "pct"),
    ("mrr", "num"),
    ("answer_accuracy", "pct"),
    ("citation_precision", "pct"),
    ("evidence_coverage", "pct"),
    ("refusal_accuracy", "pct"),
    ("false_refusal_rate", "pct"),
    ("latency_p50_ms", "ms"),
    ("latency_p95_ms", "ms"),
    ("answer_chars_p50", "int"),
)


def format_value(value: Any, style: str) -> str:
    """'—' for a metric with no eligible question; else percent, 3 decimals or milliseconds."""
    if value is None:
        return "—"
    if style == "pct":
        return f"{100 * value:.1f}%"
    if style == "ms":
        return f"{value:.1f}"
    if style == "int":
        return f"{value:.0f}"
    return f"{value:.3f}"


CHART_NAME = "metrics.png"
CHART_METRICS = (
    ("hit@1", "hit@1"),
    ("hit@5", "hit@5"),
    ("answer_accuracy", "answer accuracy"),
    ("citation_precision", "citation precision"),
    ("refusal_accuracy", "refusal accuracy"),
)
KIND_COLUMNS = (("hit@5", "hit@5"), ("answer_accuracy", "answer acc."), ("citation_precision", "cit. precision"))
CELL_CHARS = 90


def _cell(text: Any, limit: int = CELL_CHARS) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped, shortened."""
    value = " ".join(str(text).split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value.replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_report(
    metrics: Mapping[str, Any],
    results: Mapping[str, Sequence[SystemResult]],
    gold: Sequence[GoldItem],
    chart: str | None = CHART_NAME,
    detailed: str = "ours",
) -> str:
    """The Markdown report: summary, per-kind table, chart link, failed questions.

    Failed questions are listed in full for the `detailed` system, counted for the others.
    """
    systems = list(metrics["systems"])
    corpus = metrics["corpus"]
    where = f"index `{corpus['index']}`" if "index" in corpus else "reports " + ", ".join(f"`{p}`" for p in corpus["docs"])
    lines = [
        f"# PolicyQA evaluation: `{metrics['gold']}`",
        "",
        f"{metrics['n_questions']} questions over {where}; model `{metrics['model']}`, "
        f"LLM `{metrics['llm_provider']}`, k = {metrics['k']}; {metrics['created']}; "
        f"whole run {metrics.get('wall_s', 0):.1f}s (model load {metrics['model_load_s']:.1f}s).",
        "",
        "## Summary",
        "",
    ]
    rows = []
    for key, style in SUMMARY_ROWS:
        rows.append([key] + [format_value(metrics["systems"][s]["overall"][key], style) for s in systems])
    rows.append(["index build (s)"] + [f"{metrics['systems'][s]['build']['seconds']:.1f}" for s in systems])
    rows.append(["chunks"] + [str(metrics["systems"][s]["build"]["chunks"]) for s in systems])
    lines += _table(["metric", *systems], rows)
    first = metrics["systems"][systems[0]]["overall"]
    lines += [
        "",
        f"Retrieval metrics over the {first['n_retrieval']} questions with evidence; answer accuracy over all "
        f"{first['n']} (an unanswerable question is right iff refused); refusal accuracy over "
        f"{first['n_unanswerable']} unanswerable, false-refusal rate over {first['n_answerable']} answerable; "
        "citation precision = share of citations quoting an evidence string of the right report, "
        "evidence coverage = share of evidence strings quoted by some citation. Latency is that of one `ask` (ms). "
        "answer_chars_p50 is the median length of the answers given (refusals excluded): facts are matched "
        "literally, so a longer answer contains them by chance more often.",
        "",
    ]
    if chart:
        lines += [f"![metrics per system]({chart})", ""]

    lines += ["## Per question kind", ""]
    kinds = sorted({k for s in systems for k in metrics["systems"][s]["per_kind"]})
    header = ["kind", "n"] + [f"{label} {s}" for _, label in KIND_COLUMNS for s in systems]
    rows = []
    for kind in kinds:
        per = {s: metrics["systems"][s]["per_kind"].get(kind) for s in systems}
        n = next((p["n"] for p in per.values() if p), 0)
        cells = [kind, str(n)]
        for key, _ in KIND_COLUMNS:
            cells += [format_value(per[s][key] if per[s] else None, "pct") for s in systems]
        rows.append(cells)
    lines += _table(header, rows)
    lines.append("")

    by_id = {g.id: g for g in gold}
    for system in systems:
        failed = [item for item in metrics["systems"][system]["items"] if not item["correct"]]
        if system != detailed:
            ids = ", ".join(item["id"] for item in failed) or "none"
            lines += [f"## {system}: {len(failed)} of {len(gold)} questions failed", "", f"Failed: {ids}.", ""]
            continue
        lines += [f"## Failed questions ({system}): {len(failed)} of {len(gold)}", ""]
        if not failed:
            lines += ["None.", ""]
            continue
        answers = {r.id: r for r in results.get(system, ())}
        rows = []
        for item in failed:
            g = by_id[item["id"]]
            r = answers[item["id"]]
            expected = " + ".join(g.answer_facts) if g.answer_facts else "(refuse: not in the reports)"
            cited = "—"
            if r.citations:
                c = r.citations[0]
                cited = f"{c.doc} › {' › '.join(c.section) or '(导语)'}: {c.quote}"
            rank = "—" if item["rank"] is None else str(item["rank"])
            rows.append(
                [g.id, g.kind, _cell(g.question, 60), _cell(expected, 40), _cell(f"[{r.mode}] {r.answer}"), rank, _cell(cited)]
            )
        lines += _table(["id", "kind", "question", "expected facts", "what came back", "evidence rank", "first citation"], rows)
        lines.append("")
    return "\n".join(lines)


def plot_chart(metrics: Mapping[str, Any], path: Path) -> Path:
    """Grouped bars of the CHART_METRICS per system, as a PNG ("n/a" where not measured)."""
    import matplotlib

    matplotlib.use("Agg")  # files only; must precede pyplot's import
    import matplotlib.pyplot as plt

    systems = list(metrics["systems"])
    width = 0.8 / len(systems)
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    for i, system in enumerate(systems):
        overall = metrics["systems"][system]["overall"]
        values = [overall.get(key) for key, _ in CHART_METRICS]
        xs = [j + (i - (len(systems) - 1) / 2) * width for j in range(len(CHART_METRICS))]
        bars = ax.bar(xs, [v or 0.0 for v in values], width, label=system)
        for bar, value in zip(bars, values, strict=True):
            label = "n/a" if value is None else f"{100 * value:.0f}%"
            ax.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(CHART_METRICS)), [label for _, label in CHART_METRICS])
    ax.set_ylim(0, 1.25)  # headroom for the bar labels and the legend above the 100% line
    ax.set_ylabel("share of questions / citations")
    ax.set_title(f"PolicyQA vs baseline on {Path(metrics['gold']).name}")
    ax.legend(loc="upper center", ncol=len(systems), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(
    out_dir: Path, metrics: Mapping[str, Any], results: Mapping[str, Sequence[SystemResult]], gold: Sequence[GoldItem]
) -> Path:
    """Write report.md and the chart next to it; return the report's path."""
    plot_chart(metrics, out_dir / CHART_NAME)
    path = out_dir / "report.md"
    path.write_text(render_report(metrics, results, gold, CHART_NAME) + "\n", encoding="utf-8")
    return path
