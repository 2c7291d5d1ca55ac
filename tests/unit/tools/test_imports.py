"""tools/imports.py: the import graph has no cycle and the library never imports its apps."""

from __future__ import annotations

from pathlib import Path

from tools.imports import find_cycle, import_graph, main, upward_imports


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_project_has_no_cycle_and_no_upward_import(capsys) -> None:
    assert main(["--check"]) == 0
    assert "no import cycle" in capsys.readouterr().out


def test_lazy_and_type_only_imports_count(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "rag/__init__.py": "",
            "rag/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import X\n",
            "rag/b.py": "def f():\n    from . import a\n    return a\n",
            "ui/__init__.py": "",
            "ui/app.py": "import rag.a\n",
        },
    )
    graph = import_graph(root)
    assert graph["rag.a"] == {"rag.b"} and graph["rag.b"] == {"rag.a"} and graph["ui.app"] == {"rag.a"}
    assert find_cycle(graph) == ["rag.a", "rag.b", "rag.a"]
    assert upward_imports(graph) == []


def test_the_library_importing_an_app_is_found(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"rag/__init__.py": "", "rag/x.py": "def serve():\n    from ui.app import run\n", "ui/__init__.py": "", "ui/app.py": "def run(): ...\n"})
    assert upward_imports(import_graph(root)) == [("rag.x", "ui.app")]
