"""Every command against a table of bad settings: one line naming the problem, exit code 1, no traceback, no
password in the output, and the stored data byte for byte as it was.

The commands run in-process through ``main()`` (the same entry point the ``onyx`` script calls; stdout and stderr
captured); test_cli_errors.py runs the real script in subprocesses for a few of the same cases.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from onyx_adapters.cli import main
from onyx_adapters.crypto import FernetCipher
from onyx_adapters.sql.engine import create_engine
from onyx_adapters.sql.migrate import upgrade
from onyx_adapters.sql.uow import sql_unit_of_work_factory
from onyx_core.catalog import Agency, Creator
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, ConnectionId, CreatorId
from onyx_core.tokens import TokenSet

PASSWORD = "hunter2-never-shown"
KEY = FernetCipher.generate_key()
AT = datetime(2026, 5, 1, 12, tzinfo=UTC)

COMMANDS: dict[str, list[str]] = {
    "migrate": ["migrate"],
    "sync": ["sync"],
    "schedule": ["schedule", "--ticks", "1", "--tick", "0.01"],
    "connect-agency": [
        "connect",
        "agency",
        "--agency-id",
        "acme",
        "--name",
        "Acme",
        "--login-hint",
        "boss",
        "--timeout",
        "1",
    ],
    "connect-creator": ["connect", "creator", "--login-hint", "luna", "--timeout", "1"],
    "keys-rotate": ["keys", "rotate"],
    "enqueue": ["enqueue", "sync", "--agency", "acme"],
    "worker": ["worker", "--burst"],
    "users-create-owner": ["users", "create-owner", "--agency", "A", "--email", "o@a.test", "--name", "O"],
}
ALL = tuple(COMMANDS)
BUT_MIGRATE = tuple(name for name in COMMANDS if name != "migrate")
USING_KEYS = ("sync", "schedule", "connect-agency", "connect-creator", "keys-rotate", "users-create-owner")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


DEAD = _closed_port()


@dataclass(frozen=True)
class Bad:
    """A bad setting: how to make it, which commands must refuse it, and what their one line must say."""

    says: str
    commands: tuple[str, ...] = ALL
    url: str | None = None
    """The URL as given; ``{file}`` is the test's SQLite file, ``{pg}`` its PostgreSQL database."""
    engine: str = "none"
    """What to prepare: "none", "sqlite-seeded", "sqlite-damaged", "sqlite-corrupt", "sqlite-missing", "pg-empty",
    "pg-seeded", "pg-read-only"."""
    keys: str | None = KEY
    on_queue_says: str | None = None
    """What ``worker`` / ``enqueue`` say instead (SQLite cases: the queue needs PostgreSQL)."""
    env: dict[str, str] = field(default_factory=dict)


SQLITE_QUEUE = "needs PostgreSQL"
CASES: dict[str, Bad] = {
    "port-not-a-number": Bad("port is not a number", url=f"postgresql://onyx:{PASSWORD}@127.0.0.1:abc/onyx"),
    "mysql": Bad("not 'mysql'", url=f"mysql://onyx:{PASSWORD}@127.0.0.1/onyx"),
    "garbage": Bad("not a database URL", url=f"{PASSWORD} is no url"),
    "postgres-alias-dead-port": Bad("cannot connect", url=f"postgres://onyx:{PASSWORD}@127.0.0.1:{DEAD}/onyx"),
    "postgresql-server-down": Bad("cannot connect", url=f"postgresql://onyx:{PASSWORD}@127.0.0.1:{DEAD}/onyx"),
    "sqlite-in-memory": Bad("in-memory", url="sqlite://", on_queue_says=SQLITE_QUEUE),
    "sqlite-in-memory-named": Bad("in-memory", url="sqlite+aiosqlite:///:memory:", on_queue_says=SQLITE_QUEUE),
    "sqlite-missing-file": Bad(
        "onyx migrate", BUT_MIGRATE, url="sqlite:///{file}", engine="sqlite-missing", on_queue_says=SQLITE_QUEUE
    ),
    "sqlite-corrupt": Bad(
        "not a database", url="sqlite:///{file}", engine="sqlite-corrupt", on_queue_says=SQLITE_QUEUE
    ),
    # a damaged page only a full read finds: migrate and the long-running schedule read every page first
    "sqlite-damaged-page": Bad("damaged", ("migrate", "schedule"), url="sqlite:///{file}", engine="sqlite-damaged"),
    "postgresql-not-migrated": Bad("onyx migrate", BUT_MIGRATE, url="{pg}", engine="pg-empty"),
    "postgresql-read-only": Bad("read-only", url="{pg}", engine="pg-read-only"),
    "keys-missing": Bad("ONYX_CIPHER_KEYS", USING_KEYS, url="sqlite:///{file}", engine="sqlite-seeded", keys=None),
    "keys-garbage": Bad(
        "not a Fernet key", USING_KEYS, url="sqlite:///{file}", engine="sqlite-seeded", keys=f"{PASSWORD},x"
    ),
    "keys-wrong": Bad(
        "ONYX_CIPHER_KEYS",
        USING_KEYS,
        url="sqlite:///{file}",
        engine="sqlite-seeded",
        keys=FernetCipher.generate_key(),
    ),
    "keys-wrong-postgresql": Bad(
        "ONYX_CIPHER_KEYS",
        (*USING_KEYS, "worker"),
        url="{pg}",
        engine="pg-seeded",
        keys=FernetCipher.generate_key(),
    ),
}


def _table() -> Iterator[object]:
    for name, bad in CASES.items():
        for command in bad.commands:
            yield pytest.param(name, command, id=f"{name}:{command}")


async def _seed(url: str) -> None:
    """An agency with a creator, and both their connections with tokens encrypted under KEY."""
    engine = create_engine(url)
    uow = sql_unit_of_work_factory(engine, FernetCipher([KEY]))
    tokens = TokenSet("access-1", "refresh-1", AT + timedelta(days=3650), frozenset({"read:self"}))
    agency, creator = AgencyId("acme"), CreatorId("11111111-1111-4111-8111-111111111111")
    try:
        async with uow() as work:
            await work.agencies.upsert(Agency(agency, "Acme", "boss-uuid"))
            await work.creators.upsert(Creator(creator, agency, "luna", "Luna", AT))
            for connection in (
                Connection(
                    ConnectionId("agency-boss-uuid"),
                    ConnectionKind.AGENCY,
                    agency,
                    None,
                    "boss-uuid",
                    ConnectionStatus.ACTIVE,
                    tokens,
                ),
                Connection(
                    ConnectionId(f"creator-{creator}"),
                    ConnectionKind.CREATOR,
                    agency,
                    creator,
                    creator,
                    ConnectionStatus.ACTIVE,
                    tokens,
                ),
            ):
                await work.connections.save(connection)
            await work.commit()
    finally:
        await engine.dispose()


def _damage_a_page(database: Path, table: str) -> None:
    """Overwrite the root page of ``table`` (one nothing reads before it syncs) with a byte pattern."""
    with closing(sqlite3.connect(database)) as db:  # closed, so no -wal/-shm stay behind
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    with database.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xab" * page_size)


@dataclass
class Prepared:
    url: str
    snapshot: Callable[[], object]


def _files(folder: Path) -> Callable[[], object]:
    def snapshot() -> dict[str, bytes]:
        return {
            str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()
        }

    return snapshot


def _rows(url: str) -> Callable[[], object]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    def snapshot() -> dict[str, list[tuple[object, ...]]]:
        with psycopg.connect(dsn) as conn:
            names = [row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
            return {
                name: sorted(map(repr, conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(name)))))
                for name in sorted(names)
            }

    return snapshot


@pytest.fixture
def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new empty PostgreSQL database of its own (dropped at the end)."""
    admin: str = request.getfixturevalue("postgres_url")
    name = f"onyx_cli_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(drivername="postgresql+psycopg", database=name).render_as_string(False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(bad: Bad, folder: Path, request: pytest.FixtureRequest) -> Prepared:
    database = folder / "data" / "onyx.db"
    if bad.engine == "none":
        return Prepared(bad.url or "", _files(folder))
    if bad.engine.startswith("sqlite"):
        url = (bad.url or "").format(file=database)
        if bad.engine in ("sqlite-seeded", "sqlite-damaged"):
            upgrade(url)
            asyncio.run(_seed(url))
        if bad.engine == "sqlite-damaged":
            _damage_a_page(database, "ledger_entries")
        elif bad.engine == "sqlite-corrupt":
            database.parent.mkdir()
            database.write_bytes(b"\x00not sqlite\xff" * 700)
        return Prepared(url, _files(folder))
    url = request.getfixturevalue("pg_database")
    if bad.engine in ("pg-seeded", "pg-read-only"):
        upgrade(url)
        asyncio.run(_seed(url))
    if bad.engine == "pg-read-only":
        name = make_url(url).database
        with psycopg.connect(request.getfixturevalue("postgres_url"), autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    given = (bad.url or "").format(pg=url)
    return Prepared(given, _rows(url))


@pytest.fixture
def fanvue_nowhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings that would work, with Fanvue at a closed port: a command that refuses never gets that far."""
    monkeypatch.setenv("ONYX_FANVUE_CLIENT_ID", "onyx")
    monkeypatch.setenv("ONYX_FANVUE_CLIENT_SECRET", PASSWORD)
    monkeypatch.setenv("ONYX_FANVUE_API_URL", f"http://127.0.0.1:{DEAD}")
    monkeypatch.setenv("ONYX_FANVUE_AUTH_URL", f"http://127.0.0.1:{DEAD}/oauth2")
    monkeypatch.setenv("ONYX_FANVUE_REDIRECT_URI", f"http://127.0.0.1:{_closed_port()}/callback")
    monkeypatch.delenv("ONYX_DATABASE_URL", raising=False)


@pytest.mark.parametrize(("case", "command"), list(_table()))
@pytest.mark.usefixtures("fanvue_nowhere")
def test_every_command_refuses_a_bad_setting_in_one_line_and_changes_nothing(
    case: str,
    command: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = CASES[case]
    prepared = prepare(bad, tmp_path, request)
    if bad.keys is None:
        monkeypatch.delenv("ONYX_CIPHER_KEYS", raising=False)
    else:
        monkeypatch.setenv("ONYX_CIPHER_KEYS", bad.keys)
    before = prepared.snapshot()
    capsys.readouterr()

    code = main([*COMMANDS[command], "--database-url", prepared.url])

    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, err
    assert PASSWORD not in out + err
    assert code == 1, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    says = bad.on_queue_says if command in ("worker", "enqueue") and bad.on_queue_says else bad.says
    assert lines[0].startswith(f"onyx {COMMANDS[command][0]}"), lines[0]
    assert says in lines[0], lines[0]
    assert prepared.snapshot() == before, "the stored data changed"


@pytest.mark.usefixtures("fanvue_nowhere")
def test_a_postgres_url_as_hosting_services_write_it_works_for_every_command(
    pg_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    alias = "postgres://" + pg_database.split("://", 1)[1]
    monkeypatch.setenv("ONYX_DATABASE_URL", alias)
    monkeypatch.setenv("ONYX_CIPHER_KEYS", KEY)
    assert main(["migrate"]) == 0
    assert "job queue: installed" in capsys.readouterr().out
    assert main(["keys", "rotate"]) == 0
    assert main(["worker", "--burst"]) == 0
    capsys.readouterr()
    assert main(["sync"]) == 1  # it reached the database, which has no agency yet
    assert capsys.readouterr().err == "onyx sync: no agency yet: connect one with `onyx connect agency`\n"
