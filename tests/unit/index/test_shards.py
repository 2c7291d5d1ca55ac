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
