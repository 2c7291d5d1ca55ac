"""PolicyQA's chat page and HTTP API (one FastAPI app).

`from ui.app import create_app, serve` — kept out of this module so that
importing `ui` does not import Gradio.
"""

__all__: list[str] = []
