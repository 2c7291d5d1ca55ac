"""PolicyQA evaluation: gold questions → results, metrics, report, CI gate.

`python -m evals.run` (or `policyqa eval`) runs it; `evals.metrics` holds the
pure metric functions; `evals.baseline` the LangChain baseline.
"""

__all__: list[str] = []
