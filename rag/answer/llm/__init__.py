"""LLM answer mode: chat model clients, prompts, the streamed and checked answer."""
