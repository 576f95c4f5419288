"""The benchmarks run (at a tiny size: the figures mean nothing here, only that the code works), so they cannot
rot between the runs that measure. Speed is never asserted in tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.run import load_cases, main, markdown

CASES = (1, 2, 3, 4, 5, 6, 8, 9)
OWN_TESTS = {10: "tests/benchmarks/test_scale_simulation.py"}
"""Cases whose smoke run has a test module of its own (with sharper assertions than the generic ones here)."""


def test_every_case_is_smoke_tested() -> None:
    assert {case.number for case in load_cases()} == set(CASES) | set(OWN_TESTS)
    for module in OWN_TESTS.values():
        assert (Path(__file__).parents[2] / module).is_file(), module


@pytest.mark.parametrize("number", CASES)
def test_the_case_runs_at_the_smoke_size_and_reports_complete_rows(number: int, tmp_path: Path) -> None:
    """One test per case, so that the workers share them out (together they are minutes of the suite)."""
    assert main(["--size", "smoke", "--cases", str(number), "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "latest.json").read_text())
    assert result["size"] == "smoke"
    assert result["rows"]
    assert {int(row["case"].split(" ", 1)[0]) for row in result["rows"]} == {number}
    for row in result["rows"]:
        assert row["onyx"] > 0, row
        assert row["n"] > 0, row
        assert isinstance(row["met"], bool)


def test_the_markdown_table_has_a_row_per_result(tmp_path: Path) -> None:
    from bench.harness import Row, time_ratio  # noqa: PLC0415

    rows: list[Row] = [time_ratio("1 SDK overhead", "async page", 0.0012, 0.0010, 1.15, 1000)]
    text = markdown(
        rows,
        {
            "date": "d",
            "size": "quick",
            "seconds": 1.0,
            "machine": {"cpus": 2, "platform": "p", "python": "3", "commit": "c"},
        },
    )
    assert "| 1 | SDK overhead | async page | 1.2 ms | 1.0 ms | 1.20x | <= 1.15x | **no** | 1,000 |" in text


@pytest.mark.parametrize("size", ["quick", "full"])
def test_sizes_are_accepted(size: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--size", size, "--cases", "0", "--help"])
    assert exited.value.code == 0
