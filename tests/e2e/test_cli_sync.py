"""`onyx connect`, `onyx sync` and `onyx schedule` against a served sandbox (real HTTP on loopback)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from served_sandbox import handles
from sqlalchemy.engine import make_url

from onyx_adapters.cli import main


def test_connect_sync_and_schedule_from_the_command_line(
    served: dict[str, str], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    admin = handles(served, "admin")[0]
    creator = handles(served, "creator")[0]
    assert main(["migrate"]) == 0
    assert main(["connect", "agency", "--agency-id", "acme", "--name", "Acme", "--login-hint", admin]) == 0
    assert f"connected {admin} as agency connection" in capsys.readouterr().out

    # A creator's own grant needs the creator imported first.
    assert main(["connect", "creator", "--login-hint", creator]) == 1
    assert "not an imported creator" in capsys.readouterr().err

    assert main(["sync"]) == 0
    first = capsys.readouterr().out
    assert "agency acme: imported 2 new creator(s)" in first
    assert "agency acme: syncing 2 creator(s)" in first
    assert "stored stats at" in first
    assert "Traceback" not in first

    assert main(["connect", "creator", "--login-hint", creator]) == 0
    assert main(["sync", "--agency", "acme"]) == 0
    second = capsys.readouterr().out
    assert f"{creator}: complete; ledger earnings +0, reversals +" in second, second
    assert "ledger earnings +0" in second

    assert main(["schedule", "--ticks", "2", "--tick", "0.1"]) == 0
    ticks = capsys.readouterr().out
    assert ticks.count(" tick: ") == 2
    assert "stopped after 2 tick(s)" in ticks


def test_commands_refuse_missing_settings_with_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["sync"]) == 1
    assert "no agency yet" in capsys.readouterr().err
    assert main(["sync", "--agency", "nobody"]) == 1
    assert "no agency nobody" in capsys.readouterr().err
    unmigrated = env["ONYX_DATABASE_URL"].replace("onyx.db", "never-migrated.db")
    assert main(["sync", "--database-url", unmigrated]) == 1
    err = capsys.readouterr().err
    assert "no Onyx database at" in err
    assert "onyx migrate" in err
    assert "Traceback" not in err
    assert not Path(make_url(unmigrated).database or "").exists()  # a missing file is not created by the refusal
    empty = env["ONYX_DATABASE_URL"].replace("onyx.db", "empty.db")
    sqlite3.connect(make_url(empty).database or "").close()
    assert main(["sync", "--database-url", empty]) == 1
    err = capsys.readouterr().err
    assert "has no Onyx schema: run `onyx migrate`" in err
    assert "Traceback" not in err
    monkeypatch.delenv("ONYX_CIPHER_KEYS")
    assert main(["sync"]) == 1
    assert "ONYX_CIPHER_KEYS" in capsys.readouterr().err
    monkeypatch.setenv("ONYX_CIPHER_KEYS", env["ONYX_CIPHER_KEYS"])
    monkeypatch.delenv("ONYX_FANVUE_CLIENT_SECRET")
    assert main(["sync"]) == 1
    err = capsys.readouterr().err
    assert "ONYX_FANVUE_CLIENT_SECRET" in err
    assert "Traceback" not in err


def test_sync_rejects_unknown_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sync", "--jobs", "stats,payouts"])
    assert "jobs are stats, ledger" in capsys.readouterr().err
