"""CI gate: fail when a metric of our system falls below its threshold.

    python -m evals.gate evals/out/dev/metrics.json evals/thresholds.json

thresholds.json: {"system": "ours", "minimums": {"answer_accuracy": 0.8, "hit@5": 0.9, ...}}
(any key of metrics.json's "overall" block may be given). Exit codes: 0 pass,
1 a metric is below its minimum or was not measured, 2 unreadable input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["Thresholds", "GateInputError", "check", "load_thresholds", "main"]

Thresholds = Mapping[str, Any]


class GateInputError(ValueError):
    """A metrics or thresholds file is missing, not JSON, or not in the expected shape."""


def load_thresholds(path: Path | str) -> dict[str, Any]:
    """Read and validate a thresholds file (raises GateInputError naming the problem)."""
    raw = _read_json(Path(path), "thresholds")
    minimums = raw.get("minimums") if isinstance(raw, dict) else None
    if not isinstance(minimums, dict) or not minimums:
        raise GateInputError(
            f'{path}: expected {{"system": "ours", "minimums": {{"answer_accuracy": 0.8, ...}}}}, '
            f"found keys {sorted(raw) if isinstance(raw, dict) else type(raw).__name__}"
        )
    for key, value in minimums.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            raise GateInputError(f"{path}: minimum for {key!r} must be a number in (0, 1], found {value!r}")
    return {"system": raw.get("system", "ours"), "minimums": dict(minimums)}


def check(metrics: Mapping[str, Any], thresholds: Thresholds) -> list[str]:
    """One message per failed threshold (empty list: the gate passes)."""
    system = thresholds.get("system", "ours")
    systems = metrics.get("systems", {})
    if system not in systems:
        return [f"metrics hold no results for system {system!r} (found {sorted(systems)}); run evals.run with --system {system}"]
    overall = systems[system]["overall"]
    failures = []
    for key, minimum in thresholds["minimums"].items():
        if key not in overall:
            failures.append(f"{system}: unknown metric {key!r} in thresholds; known: {', '.join(sorted(overall))}")
            continue
        value = overall[key]
        if value is None:
            failures.append(f"{system}: {key} was not measured (no gold question it applies to); cannot check >= {minimum}")
        elif value < minimum:
            failures.append(f"{system}: {key} = {value:.3f} is below the threshold {minimum:.3f}")
    return failures


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GateInputError(f"cannot read {what} file {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise GateInputError(f"{what} file {path} is not valid JSON: {exc}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m evals.gate METRICS.json THRESHOLDS.json", file=sys.stderr)
        return 2
    try:
        metrics = _read_json(Path(args[0]), "metrics")
        if not isinstance(metrics, dict) or not isinstance(metrics.get("systems"), dict):
            raise GateInputError(f"{args[0]} is not an evals.run metrics.json (no 'systems' object)")
        thresholds = load_thresholds(args[1])
    except GateInputError as exc:
        print(f"evals.gate: error: {exc}", file=sys.stderr)
        return 2
    failures = check(metrics, thresholds)
    for failure in failures:
        print(f"GATE FAILED: {failure}", file=sys.stderr)
    if failures:
        return 1
    overall = metrics["systems"][thresholds["system"]]["overall"]
    passed = ", ".join(f"{k} {overall[k]:.3f} >= {v:.3f}" for k, v in thresholds["minimums"].items())
    print(f"gate passed: {passed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
