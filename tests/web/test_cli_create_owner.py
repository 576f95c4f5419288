"""The first run: `onyx users create-owner` creates an agency and its owner (no default account anywhere), whose
password is stored only as an argon2id hash and then signs in; bad input is one line, a non-zero exit, and nothing
created. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import uuid

import pytest
from sqlalchemy import func, select
from web_helpers import KEY

from onyx_adapters.accounts import accounts_deps
from onyx_adapters.cli import main
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.schema import agencies, members
from onyx_core.accounts import login_password
from onyx_core.accounts.model import Role, SessionStage

PASSWORD = "a long first-run passphrase"  # pragma: allowlist secret


def _create(monkeypatch: pytest.MonkeyPatch, url: str, email: str, stdin: str, *extra: str) -> int:
    monkeypatch.setenv("ONYX_CIPHER_KEYS", KEY)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    argv = ["users", "create-owner", "--agency", "Acme", "--email", email, "--name", "Olga", "--database-url", url]
    return main([*argv, *extra])


async def _rows(url: str, email: str) -> tuple[int, str | None, str | None]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(select(members).where(members.c.email == email))).one_or_none()
            count = (await conn.execute(select(func.count()).select_from(agencies))).scalar_one()
    finally:
        await engine.dispose()
    return count, None if row is None else row.password_hash, None if row is None else row.role


async def _login(url: str, email: str, password: str) -> SessionStage:
    engine = create_engine(url)
    try:
        issued = await login_password(accounts_deps(engine, FernetCipher([KEY])), email=email, password=password)
    finally:
        await engine.dispose()
    return issued.session.stage


def test_create_owner_then_sign_in(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    email = f"olga-{uuid.uuid4().hex[:8]}@agency.test"
    code = _create(monkeypatch, database_url, email, PASSWORD + "\n", "--password-stdin")
    out = capsys.readouterr()
    assert code == 0, out.err
    assert email in out.out
    assert PASSWORD not in out.out + out.err
    _, stored_hash, role = asyncio.run(_rows(database_url, email))
    assert role == Role.OWNER
    assert stored_hash is not None
    assert stored_hash.startswith("$argon2id$")
    assert PASSWORD not in stored_hash
    assert asyncio.run(_login(database_url, email, PASSWORD)) is SessionStage.COMPLETE


@pytest.mark.parametrize(
    ("stdin", "flags", "said"),
    [
        ("short\n", ["--password-stdin"], "at least 12 characters"),
        ("\n", ["--password-stdin"], "no password given"),
        (PASSWORD + "\n", [], "no terminal"),  # not a terminal, and no --password-stdin: never a silent default
    ],
    ids=["weak password", "empty password", "no terminal"],
)
def test_bad_input_creates_nothing(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin: str,
    flags: list[str],
    said: str,
) -> None:
    email = f"olga-{uuid.uuid4().hex[:8]}@agency.test"
    before, *_ = asyncio.run(_rows(database_url, email))
    code = _create(monkeypatch, database_url, email, stdin, *flags)
    err = capsys.readouterr().err
    assert code != 0
    assert said in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert asyncio.run(_rows(database_url, email)) == (before, None, None)


def test_a_taken_email_is_refused(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    email = f"olga-{uuid.uuid4().hex[:8]}@agency.test"
    assert _create(monkeypatch, database_url, email, PASSWORD + "\n", "--password-stdin") == 0
    capsys.readouterr()
    before = asyncio.run(_rows(database_url, email))
    code = _create(monkeypatch, database_url, email.upper(), "another long passphrase\n", "--password-stdin")
    err = capsys.readouterr().err
    assert code != 0
    assert "already has an account" in err
    assert "Traceback" not in err
    assert asyncio.run(_rows(database_url, email)) == before
    assert asyncio.run(_login(database_url, email, PASSWORD)) is SessionStage.COMPLETE


async def _an_agency_without_members(url: str) -> str:
    agency_id = f"synced-{uuid.uuid4().hex[:8]}"
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:  # as `onyx demo` / `onyx connect` leave it: an agency, nobody in it
            await conn.execute(agencies.insert().values(id=agency_id, name="Synced agency"))
    finally:
        await engine.dispose()
    return agency_id


def test_the_first_owner_of_a_synced_agency(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    agency_id = asyncio.run(_an_agency_without_members(database_url))
    monkeypatch.setenv("ONYX_CIPHER_KEYS", KEY)

    def create(email: str, agency: str) -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        argv = ["users", "create-owner", "--agency-id", agency, "--email", email, "--name", "Olga"]
        return main([*argv, "--database-url", database_url, "--password-stdin"])

    email = f"olga-{uuid.uuid4().hex[:8]}@agency.test"
    before = asyncio.run(_rows(database_url, email))[0]
    assert create(email, agency_id) == 0, capsys.readouterr().err
    assert agency_id in capsys.readouterr().out
    assert asyncio.run(_rows(database_url, email))[0] == before  # she joined it: no new agency
    assert asyncio.run(_login(database_url, email, PASSWORD)) is SessionStage.COMPLETE

    intruder = f"eve-{uuid.uuid4().hex[:8]}@agency.test"
    for agency, said in ((agency_id, "already has members"), ("no-such-agency", "no agency")):
        assert create(intruder, agency) == 1
        err = capsys.readouterr().err
        assert said in err
        assert len(err.strip().splitlines()) == 1
        assert asyncio.run(_rows(database_url, intruder))[1] is None
