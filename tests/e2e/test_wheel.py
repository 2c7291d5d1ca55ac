"""PolicyQA installed from a wheel (no editable install) answers in LLM mode: the prompts ship inside.

The wheel is built from a copy of the source files, installed into a fresh
virtual environment that sees the project's dependencies but not its source
tree, and run from an empty folder: whatever the wheel lacks, this test lacks.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE

pytestmark = pytest.mark.slow

SOURCES = ("pyproject.toml", "README.md", "cli.py", "rag", "ui", "evals", "prompts")

# Run inside the fresh environment: index the sample with the model-free embedder, answer with a
# scripted chat model that cites the passage holding the fact, as a real LLM would.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    import rag
    from rag import Assistant, Settings, build_index, search
    from rag.answer.llm.prompts import MAX_PASSAGES, prompt_text
    from rag.model.hashing import HashEmbedder

    report, work = Path(sys.argv[1]), Path(sys.argv[2])
    embedder = HashEmbedder(64)
    settings = Settings(model=embedder.name, llm_provider="none")
    index = build_index([report], work / "index", embedder=embedder, settings=settings)
    question = "2024年检查吴江区科技型中小企业入库登记多少家？"
    hits = search(index, question, k=8)[:MAX_PASSAGES]
    number = next(i for i, h in enumerate(hits, start=1) if "入库登记54家" in h.chunk.text)
    model = FakeListChatModel(responses=[f"检查吴江区科技型中小企业入库登记54家[{number}]。"])
    answer = Assistant(index, settings, chat_model=model).ask(question)
    print(json.dumps({
        "rag": rag.__file__,
        "mode": answer.mode,
        "text": answer.text,
        "quote": answer.citations[0].quote if answer.citations else None,
        "prompt_starts": prompt_text("answer_system.txt")[:10],
    }, ensure_ascii=False))
    """
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the fresh venv, its site-packages) with the wheel installed: `policyqa` on its bin/."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, source / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(source)],
        check=True,
        capture_output=True,
        text=True,
    )
    [wheel] = dist.glob("policyqa-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    fresh_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )  # fmt: skip
    # The dependencies come from the project's environment; its own source tree does not (a path
    # line in a .pth file does not run that folder's .pth files, so the editable install stays out).
    (fresh_site / "project-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    subprocess.run(  # pip --python: the venv's own install, console script included
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert (fresh_site / "rag" / "prompts" / "answer_system.txt").is_file()
    assert (venv / "bin" / "policyqa").is_file()
    return venv, fresh_site


def test_wheel_install_answers_in_llm_mode_with_its_own_prompts(tmp_path: Path, installed: tuple[Path, Path]) -> None:
    venv, fresh_site = installed
    python = venv / "bin" / "python"
    work = tmp_path / "work"
    work.mkdir()
    report = work / SAMPLE.name
    shutil.copy2(SAMPLE, report)
    run = subprocess.run(
        [str(python), "-c", SCRIPT, str(report), str(work)], cwd=work, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    import json

    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert Path(result["rag"]).is_relative_to(fresh_site)  # the wheel's code, not the source tree
    assert result["mode"] == "llm" and "54家" in result["text"] and "入库登记54家" in result["quote"]
    assert result["prompt_starts"] == (ROOT / "prompts" / "answer_system.txt").read_text(encoding="utf-8")[:10]


def test_wheel_command_line_sets_up_indexes_and_answers(tmp_path: Path, installed: tuple[Path, Path]) -> None:
    """What a new user types after `pip install policyqa-*.whl`: setup (the model, cold), index, ask."""
    venv, _ = installed
    policyqa = str(venv / "bin" / "policyqa")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy2(SAMPLE, work / SAMPLE.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    env.update(POLICYQA_CACHE_DIR=str(tmp_path / "cache"), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONPATH="")  # nothing of the source tree on the path

    def run(*args: str) -> str:
        done = subprocess.run([policyqa, *args], cwd=work, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (args, done.stdout[-1000:], done.stderr[-2000:])
        return done.stdout

    assert "ready" in run("setup")
    assert "1 added" in run("index", SAMPLE.name, "--index", "idx")
    answer = run("ask", "2024年检查吴江区科技型中小企业入库登记多少家？", "--index", "idx")
    assert "54家" in answer and "[1]" in answer
    assert not (work / "index").exists() and (work / "idx" / "CURRENT").is_file()  # wrote where told, nothing else
