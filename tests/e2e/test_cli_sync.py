"""`onyx connect`, `onyx sync` and `onyx schedule` against a served sandbox (real HTTP on loopback)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from onyx_adapters.cli import main
from onyx_adapters.crypto import FernetCipher

SECRET = "cli-sync-secret"  # the sandbox's made-up client secret


@pytest.fixture(scope="module")
def served() -> Iterator[dict[str, str]]:
    """`onyx sandbox --port 0` in a subprocess: its base URL and seeded users (handle -> role)."""
    command = [sys.executable, "-m", "onyx_adapters.cli", "sandbox", "--port", "0", "--seed", "3", "--creators", "2"]
    command += ["--days", "30", "--client-secret", SECRET, "--control-key", "k"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line)
            if sum(" creator " in seen for seen in lines) == 2 or len(lines) > 40:  # the last user line
                break
        banner = "".join(lines)
        base = re.search(r"at (http://\S+)", banner)
        assert base is not None, banner
        users = dict(re.findall(r"^\s{4}(\S+)\s+(.+?)\s+[0-9a-f-]{36}$", banner, re.MULTILINE))
        yield {"base": base.group(1), **{f"user:{h}": role for h, role in users.items()}}
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def env(served: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "ONYX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'onyx.db'}",
        "ONYX_CIPHER_KEYS": FernetCipher.generate_key(),
        "ONYX_FANVUE_CLIENT_ID": "onyx-sandbox-client",
        "ONYX_FANVUE_CLIENT_SECRET": SECRET,
        "ONYX_FANVUE_API_URL": served["base"],
        "ONYX_FANVUE_AUTH_URL": f"{served['base']}/oauth2",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def _handles(served: dict[str, str], role: str) -> list[str]:
    return [key.split(":", 1)[1] for key, value in served.items() if key.startswith("user:") and role in value]


def test_connect_sync_and_schedule_from_the_command_line(
    served: dict[str, str], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    admin = _handles(served, "admin")[0]
    creator = _handles(served, "creator")[0]
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
    assert "the database refused" in err
    assert "onyx migrate" in err
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
