"""`onyx demo` (the README's main job) syncs the sandbox agency into SQLite; `onyx demo --rules` shows the rules at
work under injected failures."""

from __future__ import annotations

import subprocess
import sys

import pytest

from onyx_adapters.cli import main
from onyx_adapters.crypto import FernetCipher


def test_demo_syncs_the_sandbox_agency(capsys, tmp_path):
    assert main(["demo", "--once", "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'onyx.db'}"]) == 0
    out = capsys.readouterr().out
    assert "connected jadeadmin0 (agency admin) with OAuth + PKCE" in out
    assert "imported 3 creators" in out
    assert "stored stats at" in out
    assert (tmp_path / "onyx.db").exists()
    assert "Traceback" not in out


def test_a_kept_demo_database_says_how_to_use_it_with_onyx_serve(capsys, tmp_path, monkeypatch):
    """Without ONYX_CIPHER_KEYS the demo encrypts the tokens it keeps with a throwaway key, so `onyx users
    create-owner` and `onyx serve` refuse the database later: the demo says so, and how to keep a usable one."""
    monkeypatch.delenv("ONYX_CIPHER_KEYS", raising=False)
    assert main(["demo", "--once", "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'throwaway.db'}"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "ONYX_CIPHER_KEYS is not set" in out
    assert "onyx keys generate" in out

    monkeypatch.setenv("ONYX_CIPHER_KEYS", FernetCipher.generate_key())
    assert main(["demo", "--once", "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'kept.db'}"]) == 0
    assert "ONYX_CIPHER_KEYS is not set" not in capsys.readouterr().out


def test_demo_rules_shows_stale_values_kept_a_held_cliff_and_an_adjusted_refund(capsys):
    assert main(["demo", "--rules"]) == 0
    out = capsys.readouterr().out
    assert "imported 3 creators" in out
    assert "$12,543.00*" in out, "Luna's revenue is shown stale, not zero, while Fanvue times out"
    assert "402 (held: 0)" in out, "Mika's sudden 0 is held"
    assert "cliff_dismissed" in out
    assert "decrease_held 1254300 -> 1249300" in out, "a drop no recorded refund explains is held, not applied"
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
