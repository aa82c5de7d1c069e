"""The examples in the benchmark scripts' docstrings run (``bench/`` is outside pytest's doctest paths: its scripts
set up ``sys.path`` when run as files, so they are imported here as modules)."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("name", sorted(p.stem for p in BENCH.glob("*.py") if ">>>" in p.read_text()))
def test_bench_doctests(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
