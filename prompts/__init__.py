"""The LLM prompt templates (answer_system.txt, answer_user.txt, rewrite.txt).

Installed as the package data of `rag.prompts` (pyproject.toml maps this folder
there), and read with `importlib.resources`, so a wheel carries them.
"""
