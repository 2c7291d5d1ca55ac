"""Answer: extractive composition or a checked LLM answer, with citations; the Assistant
that runs question → retrieval → answer."""
