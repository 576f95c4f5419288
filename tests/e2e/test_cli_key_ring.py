"""A key ring that cannot read what is stored never overwrites it: `onyx connect` refuses unless told `--replace`,
and `sync`/`schedule` refuse to start. Against a served sandbox, so the refusal comes after a real OAuth flow."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from served_sandbox import handles
from sqlalchemy.engine import make_url

from onyx_adapters.cli import main
from onyx_adapters.crypto import FernetCipher, unreadable_connections
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId
from onyx_core.tokens import TokenSet


def _files(env: dict[str, str]) -> dict[str, bytes]:
    folder = Path(make_url(env["ONYX_DATABASE_URL"]).database or "").parent
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


async def _store_under(url: str, key: str) -> None:
    """A second agency connection, stored by a process whose ring was only ``key``."""
    engine = create_engine(url)
    tokens = TokenSet("other-access", "other-refresh", datetime.now(UTC) + timedelta(days=30), frozenset({"read:self"}))
    try:
        async with sql_unit_of_work_factory(engine, FernetCipher([key]))() as work:
            await work.connections.save(
                Connection(
                    ConnectionId("agency-someone-else"),
                    ConnectionKind.AGENCY,
                    AgencyId("acme"),
                    None,
                    "someone-else",
                    ConnectionStatus.ACTIVE,
                    tokens,
                )
            )
            await work.commit()
    finally:
        await engine.dispose()


async def _unreadable(url: str, key: str) -> tuple[list[str], int]:
    engine = create_engine(url)
    try:
        return await unreadable_connections(engine, FernetCipher([key]))
    finally:
        await engine.dispose()


def test_connect_never_overwrites_tokens_it_cannot_read_unless_asked(
    served: dict[str, str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = handles(served, "admin")[0]
    connect = ["connect", "agency", "--agency-id", "acme", "--name", "Acme", "--login-hint", admin]
    assert main(["migrate"]) == 0
    assert main(connect) == 0
    url, first_key, other_key = env["ONYX_DATABASE_URL"], env["ONYX_CIPHER_KEYS"], FernetCipher.generate_key()
    asyncio.run(_store_under(url, other_key))
    capsys.readouterr()

    # The ring holds only the other key: it reads one stored connection, not the admin's.
    monkeypatch.setenv("ONYX_CIPHER_KEYS", other_key)
    before = _files(env)
    assert main(connect) == 1
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1, err
    assert "no key in ONYX_CIPHER_KEYS decrypts" in err
    assert "--replace" in err
    assert _files(env) == before, "the unreadable tokens were overwritten"
    assert asyncio.run(_unreadable(url, first_key)) == (["agency-someone-else"], 2)  # the admin's still read

    # sync and schedule will not start on a store they cannot fully read
    for command in (["sync"], ["schedule", "--ticks", "1"]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert "1 of 2 stored connection tokens" in err
        assert _files(env) == before

    # Replacing is a deliberate act.
    assert main([*connect, "--replace"]) == 0
    out = capsys.readouterr().out
    assert "replaced the stored tokens of agency-" in out
    assert asyncio.run(_unreadable(url, other_key)) == ([], 2)


def test_connect_with_a_ring_that_reads_nothing_stops_before_the_browser(
    served: dict[str, str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = handles(served, "admin")[0]
    connect = ["connect", "agency", "--agency-id", "acme", "--name", "Acme", "--login-hint", admin]
    assert main(["migrate"]) == 0
    assert main(connect) == 0
    capsys.readouterr()
    monkeypatch.setenv("ONYX_CIPHER_KEYS", FernetCipher.generate_key())
    monkeypatch.setenv("ONYX_FANVUE_AUTH_URL", "http://127.0.0.1:9/oauth2")  # had the flow started, it would fail
    before = _files(env)
    assert main([*connect, "--timeout", "1"]) == 1
    err = capsys.readouterr().err
    assert "not the key ring they were stored with" in err, err
    assert _files(env) == before
