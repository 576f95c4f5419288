"""`onyx demo` (the README's main job) runs and shows the rules at work."""

from __future__ import annotations

import subprocess
import sys

import pytest

from onyx_adapters.cli import main


def test_demo_shows_stale_values_kept_a_held_cliff_and_an_adjusted_refund(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "imported 3 creators" in out
    assert "$12,543.00*" in out, "Luna's revenue is shown stale, not zero, while Fanvue times out"
    assert "402 (held: 0)" in out, "Mika's sudden 0 is held"
    assert "cliff_dismissed" in out
    assert "regression_rejected 1254300 -> 1249300" in out
    assert "adjusted 1254300 -> 1249300" in out
    assert "ava.north=creator" in out, "Ava falls back to her own connection when unassigned"
    assert "Traceback" not in out


def test_cli_rejects_unknown_commands_with_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_the_installed_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "onyx_adapters.cli", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("onyx ")
