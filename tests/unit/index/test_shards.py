"""Shards: every file in exactly one of n, named the same on every machine; bad specs refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.index.shards import Shard, shard_name


def test_every_file_is_in_exactly_one_shard_and_shards_share_the_work():
    names = [f"provincial-2025/{i:03d}.docx" for i in range(300)]
    for count in (1, 2, 3, 4):
        owners = [[s for s in range(1, count + 1) if Shard(s, count).holds(n)] for n in names]
        assert all(len(o) == 1 for o in owners)
        sizes = [sum(1 for o in owners if o == [s]) for s in range(1, count + 1)]
        assert min(sizes) > 0.6 * len(names) / count  # roughly even


@pytest.mark.parametrize("spec", ["0/2", "3/2", "a/b", "1", "1/0", ""])
def test_bad_shard_specs_are_refused(spec: str):
    with pytest.raises(ConfigError, match="i/n|1 <= i <= n"):
        Shard.parse(spec)


def test_a_shard_name_does_not_depend_on_where_the_reports_are_mounted():
    assert shard_name(Path("/mnt/a/reports/x/r.txt"), [Path("/mnt/a/reports")]) == shard_name(
        Path("/srv/reports/x/r.txt"), [Path("/srv/reports")]
    )
    assert Shard.parse(" 2 / 4 ") == Shard(2, 4)


def test_the_cli_refuses_shards_for_a_folder_index(tmp_path, monkeypatch, capsys):
    from cli import main

    monkeypatch.delenv("POLICYQA_DATABASE_URL", raising=False)
    assert main(["index", str(tmp_path), "--index", str(tmp_path / "idx"), "--shard", "1/2"]) == 2
    assert "PostgreSQL" in capsys.readouterr().err


@pytest.mark.parametrize("order", [(1, 2), (2, 1)])
def test_a_report_moved_between_shards_ends_at_its_new_path_whichever_shard_runs_first(tmp_path, order):
    import shutil

    from rag.config import Settings
    from rag.index.folder.store import FolderIndex
    from rag.model.hashing import HashEmbedder
    from tests.conftest import ROOT

    sources = sorted((ROOT / "tests" / "data" / "distractors").glob("*.txt"))[:3]
    folder = tmp_path / "reports"
    for sub in ("a", "b"):
        (folder / sub).mkdir(parents=True)
    moved = next(s for s in sources if Shard(1, 2).holds(f"a/{s.name}") != Shard(1, 2).holds(f"b/{s.name}"))
    for source in sources:
        shutil.copy(source, folder / "a" / source.name)
    index = FolderIndex.create(tmp_path / "idx", settings=Settings(model="hash-ngram-64"), embedder=HashEmbedder(64))
    for number in order:
        index.add([folder], shard=Shard(number, 2))
    before = {d: index._origins[d] for d in index.documents}

    (folder / "a" / moved.name).rename(folder / "b" / moved.name)
    summaries = [index.add([folder], shard=Shard(number, 2)) for number in order]
    after = index._origins
    assert set(after) == set(before)  # nothing lost, nothing doubled
    # When the old path's shard runs first it sees a deleted file and drops the report, which the new
    # path's shard then adds again (its vectors from the checkpoints): at most once, whichever order.
    assert sum(s.removed for s in summaries) <= 1 and sum(s.added for s in summaries) == sum(s.removed for s in summaries)
    (doc_id,) = [d for d, o in before.items() if any(p.endswith(f"a/{moved.name}") for _, p in o)]
    assert [p for _, p in after[doc_id]] == [str((folder / "b" / moved.name).resolve())]
