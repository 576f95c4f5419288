"""Encryption at rest: the MultiFernet cipher (round trips, tampering, key ring order, no key in sight), key
rotation over the connections table on both engines (T13), no token bytes in the SQLite file or the PostgreSQL
column (T12), and the ``onyx keys`` commands.

Rotation walks the whole table, so these tests get a fresh database each (cheap: ~0.1 s on PostgreSQL) instead of
the session-shared one, where other tests keep tokens encrypted with keys these tests don't have.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from onyx_adapters.cli import main
from onyx_adapters.crypto import (
    CipherKeyError,
    FernetCipher,
    UndecryptableTokensError,
    rotate_connection_tokens,
)
from onyx_adapters.settings import OnyxSettings
from onyx_adapters.sql.engine import create_engine, sqlite_file
from onyx_adapters.sql.migrate import upgrade
from onyx_adapters.sql.schema import agencies, connections
from onyx_core.errors import InvalidCiphertextError
from onyx_core.ports import Cipher

KEY_A = FernetCipher.generate_key()
KEY_B = FernetCipher.generate_key()

# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new database migrated to head, for this test alone."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'onyx.db'}"
        upgrade(url)
        yield url
        return
    admin_url = str(request.getfixturevalue("postgres_url"))
    name = f"onyx_keys_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1).rsplit("/", 1)[0] + f"/{name}"
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _token_json() -> tuple[bytes, list[str]]:
    access, refresh = f"at_{secrets.token_urlsafe(32)}", f"rt_{secrets.token_urlsafe(32)}"
    payload = {"access_token": access, "refresh_token": refresh, "expires_at": "2026-01-01T00:00:00+00:00"}
    return json.dumps(payload).encode(), [access, refresh]


async def _seed(url: str, cipher: FernetCipher, rows: int, *, empty: int = 0) -> dict[str, bytes]:
    """An agency and ``rows`` connections holding ``cipher``'s ciphertexts (plus ``empty`` without tokens);
    returns connection id -> plaintext."""
    agency_id = f"ag_{uuid.uuid4().hex}"
    plaintexts = {f"cn_{uuid.uuid4().hex}": _token_json()[0] for _ in range(rows)}
    values = [
        {
            "id": connection_id,
            "kind": "creator",
            "agency_id": agency_id,
            "creator_id": f"cr_{connection_id}",
            "fanvue_user_uuid": str(uuid.uuid4()),
            "status": "active",
            "tokens": cipher.encrypt(plain),
            "token_version": 7,
            "expires_at": datetime(2026, 1, 1, tzinfo=UTC),
        }
        for connection_id, plain in plaintexts.items()
    ]
    values += [{**values[0], "id": f"cn_{uuid.uuid4().hex}", "tokens": None, "status": "revoked"} for _ in range(empty)]
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(agencies).values(id=agency_id, name="Rotation Agency"))
            await conn.execute(insert(connections), values)
    finally:
        await engine.dispose()
    return plaintexts


async def _stored(url: str) -> dict[str, tuple[bytes | None, int]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(select(connections.c.id, connections.c.tokens, connections.c.token_version))
            ).all()
    finally:
        await engine.dispose()
    return {row.id: (None if row.tokens is None else bytes(row.tokens), row.token_version) for row in rows}


async def _rotate(url: str, cipher: FernetCipher, **options: int) -> int:
    engine = create_engine(url)
    try:
        return await rotate_connection_tokens(engine, cipher, **options)
    finally:
        await engine.dispose()


def _undecryptable(cipher: FernetCipher, stored: dict[str, tuple[bytes | None, int]]) -> int:
    bad = 0
    for tokens, _ in stored.values():
        if tokens is None:
            continue
        try:
            cipher.decrypt(tokens)
        except InvalidCiphertextError:
            bad += 1
    return bad


# ----------------------------------------------------------------------------- the cipher


def test_it_is_a_cipher_and_round_trips() -> None:
    cipher: Cipher = FernetCipher([FernetCipher.generate_key()])
    secret = b'{"access_token": "at_123"}'
    first, second = cipher.encrypt(secret), cipher.encrypt(secret)
    assert first != second  # random IV: equal plaintexts are not recognisable
    assert b"at_123" not in first
    assert cipher.decrypt(first) == cipher.decrypt(second) == secret
    assert cipher.decrypt(cipher.encrypt(b"")) == b""


@settings(max_examples=100)
@given(st.binary(max_size=2048))
def test_any_bytes_round_trip(plaintext: bytes) -> None:
    cipher = FernetCipher([KEY_A, KEY_B])
    assert cipher.decrypt(cipher.encrypt(plaintext)) == plaintext


def test_tampering_is_detected() -> None:
    cipher = FernetCipher([KEY_A])
    token = bytearray(cipher.encrypt(b"secret"))
    for position in (0, 10, len(token) // 2, len(token) - 1):
        altered = bytearray(token)
        altered[position] = ord("A") if altered[position] != ord("A") else ord("B")
        with pytest.raises(InvalidCiphertextError):
            cipher.decrypt(bytes(altered))
    for junk in (b"", b"not a token", bytes(token[:-5])):
        with pytest.raises(InvalidCiphertextError):
            cipher.decrypt(junk)
    with pytest.raises(InvalidCiphertextError):
        cipher.rotate(b"not a token")


def test_a_ciphertext_of_another_key_is_not_authentic() -> None:
    with pytest.raises(InvalidCiphertextError):
        FernetCipher([KEY_A]).decrypt(FernetCipher([KEY_B]).encrypt(b"secret"))


def test_the_first_key_encrypts_and_every_key_decrypts() -> None:
    old_only, ring = FernetCipher([KEY_A]), FernetCipher([KEY_B, KEY_A])
    old_ciphertext = old_only.encrypt(b"old")
    assert ring.decrypt(old_ciphertext) == b"old"  # the old key still decrypts
    new_ciphertext = ring.encrypt(b"new")
    assert Fernet(KEY_B).decrypt(new_ciphertext) == b"new"  # made with the first key...
    with pytest.raises(InvalidCiphertextError):
        old_only.decrypt(new_ciphertext)  # ...not the old one
    assert not ring.is_current(old_ciphertext)
    assert ring.is_current(new_ciphertext)

    rotated = ring.rotate(old_ciphertext)
    assert FernetCipher([KEY_B]).decrypt(rotated) == b"old"
    assert ring.is_current(rotated)

    reversed_ring = FernetCipher([KEY_A, KEY_B])  # order matters: now the old key encrypts
    assert old_only.decrypt(reversed_ring.encrypt(b"x")) == b"x"


def test_keys_come_from_settings_and_never_show() -> None:
    cipher = FernetCipher.from_settings(OnyxSettings(cipher_keys=f" {KEY_B} , {KEY_A},"))
    assert cipher.key_count == 2
    assert cipher.decrypt(FernetCipher([KEY_A]).encrypt(b"x")) == b"x"
    assert Fernet(KEY_B).decrypt(cipher.encrypt(b"y")) == b"y"
    assert repr(cipher) == "FernetCipher(<2 key(s)>)"
    for shown in (repr(cipher), str(cipher)):
        assert KEY_A not in shown
        assert KEY_B not in shown


@pytest.mark.parametrize("value", [None, "", " , "])
def test_no_configured_key_is_a_clear_error(value: str | None) -> None:
    with pytest.raises(CipherKeyError, match="ONYX_CIPHER_KEYS"):
        FernetCipher.from_settings(OnyxSettings(cipher_keys=value))


def test_a_malformed_key_is_refused_without_quoting_it() -> None:
    bad = "definitely-not-a-fernet-key-but-secret"
    with pytest.raises(CipherKeyError, match="#2") as error:
        FernetCipher([KEY_A, bad])
    assert bad not in str(error.value)
    assert error.value.__cause__ is None
    assert error.value.__suppress_context__
    with pytest.raises(CipherKeyError):
        FernetCipher([])
    with pytest.raises(CipherKeyError, match="list"):
        FernetCipher(KEY_A)


def test_generated_keys_are_fresh_fernet_keys() -> None:
    keys = {FernetCipher.generate_key() for _ in range(20)}
    assert len(keys) == 20
    for key in keys:
        Fernet(key)  # valid


# ----------------------------------------------------------------------------- T13: rotation


async def test_t13_rotation_moves_every_row_to_the_new_key(fresh_database_url: str) -> None:
    old_key, new_key = FernetCipher.generate_key(), FernetCipher.generate_key()
    plaintexts = await _seed(fresh_database_url, FernetCipher([old_key]), rows=250, empty=3)
    before = await _stored(fresh_database_url)
    new_alone = FernetCipher([new_key])
    assert _undecryptable(new_alone, before) == 250

    ring = FernetCipher([new_key, old_key])  # the new key added in front
    assert await _rotate(fresh_database_url, ring, batch_size=64) == 250

    after = await _stored(fresh_database_url)
    assert _undecryptable(new_alone, after) == 0  # 100 % decrypt with the new key alone
    for connection_id, plain in plaintexts.items():
        tokens, version = after[connection_id]
        assert tokens is not None
        assert new_alone.decrypt(tokens) == plain
        assert version == 7  # the tokens did not change, so the refresh fence did not move
    assert sum(tokens is None for tokens, _ in after.values()) == 3  # rows without tokens stay without

    # re-running rotates nothing new and changes no byte
    assert await _rotate(fresh_database_url, ring) == 0
    assert await _stored(fresh_database_url) == after
    # the old key can go: the new key alone finds nothing to do and nothing it cannot read
    assert await _rotate(fresh_database_url, new_alone) == 0


async def test_rotation_reports_rows_no_key_decrypts_after_rotating_the_rest(fresh_database_url: str) -> None:
    old_key, new_key = FernetCipher.generate_key(), FernetCipher.generate_key()
    plaintexts = await _seed(fresh_database_url, FernetCipher([old_key]), rows=5)
    lost = await _seed(fresh_database_url, FernetCipher([FernetCipher.generate_key()]), rows=2)
    ring = FernetCipher([new_key, old_key])
    with pytest.raises(UndecryptableTokensError) as error:
        await _rotate(fresh_database_url, ring, batch_size=2)
    assert sorted(error.value.connection_ids) == sorted(lost)
    assert error.value.rotated == 5
    assert isinstance(error.value, InvalidCiphertextError)
    after = await _stored(fresh_database_url)
    assert all(FernetCipher([new_key]).decrypt(after[cid][0] or b"") == plain for cid, plain in plaintexts.items())


class _ProbingCipher(FernetCipher):
    """Rotates, but first checks from another connection that the row being rotated is locked against writers
    (so a token refresh cannot commit between the read and the rewrite)."""

    def __init__(self, keys: list[str], url: str) -> None:
        super().__init__(keys)
        self.url = url
        self.probes: list[bool] = []

    def rotate(self, ciphertext: bytes) -> bytes:
        self.probes.append(self._locked(ciphertext))
        return super().rotate(ciphertext)

    def _locked(self, ciphertext: bytes) -> bool:
        path = sqlite_file(self.url)
        if path is not None:
            with closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as db:
                try:
                    db.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as error:
                    return "locked" in str(error)
                db.execute("ROLLBACK")
                return False
        dsn = self.url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(dsn, autocommit=True) as other:
            try:
                other.execute("SELECT id FROM connections WHERE tokens = %s FOR UPDATE NOWAIT", (ciphertext,))
            except psycopg.errors.LockNotAvailable:
                return True
            return False


async def test_rotation_holds_each_batch_against_concurrent_writers(fresh_database_url: str) -> None:
    old_key, new_key = FernetCipher.generate_key(), FernetCipher.generate_key()
    await _seed(fresh_database_url, FernetCipher([old_key]), rows=3)
    probing = _ProbingCipher([new_key, old_key], fresh_database_url)
    assert await _rotate(fresh_database_url, probing, batch_size=2) == 3
    assert probing.probes == [True, True, True]


# ----------------------------------------------------------------------------- T12: nothing in clear at rest


async def test_t12_no_token_text_in_the_database(fresh_database_url: str) -> None:
    cipher = FernetCipher([FernetCipher.generate_key()])
    issued: list[str] = []
    plaintexts = await _seed(fresh_database_url, cipher, rows=20)
    for plain in plaintexts.values():
        payload = json.loads(plain)
        issued += [payload["access_token"], payload["refresh_token"]]
    stored = await _stored(fresh_database_url)
    column = b"".join(tokens or b"" for tokens, _ in stored.values())
    assert column
    assert [t for t in issued if t.encode() in column] == []

    path = sqlite_file(fresh_database_url)
    if path is not None:  # the raw bytes of the file and its WAL, before and after a checkpoint
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        with closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw += path.read_bytes()
        assert all(tokens is not None and tokens in raw for tokens, _ in stored.values())  # the check can see
        assert [t for t in issued if t.encode() in raw] == []
        assert b"access_token" not in raw


# ----------------------------------------------------------------------------- onyx keys


def test_cli_generate_prints_one_new_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "generate"]) == 0
    first = capsys.readouterr().out
    assert main(["keys", "generate"]) == 0
    second = capsys.readouterr().out
    assert first.endswith("\n")
    assert first.count("\n") == 1
    Fernet(first.strip())
    assert first != second


def test_cli_rotate_rotates_and_shows_no_key(
    fresh_database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    old_key, new_key = FernetCipher.generate_key(), FernetCipher.generate_key()
    asyncio.run(_seed(fresh_database_url, FernetCipher([old_key]), rows=4))
    monkeypatch.setenv("ONYX_CIPHER_KEYS", f"{new_key},{old_key}")
    monkeypatch.setenv("ONYX_DATABASE_URL", "sqlite+aiosqlite:////nonexistent/never/used.db")

    assert main(["keys", "rotate", "--database-url", fresh_database_url]) == 0
    out, err = capsys.readouterr()
    assert out == "rotated 4 connection token(s) to the newest of 2 key(s)\n"
    assert main(["keys", "rotate", "--database-url", fresh_database_url]) == 0
    out2, err2 = capsys.readouterr()
    assert out2.startswith("rotated 0 ")
    for shown in (out, err, out2, err2):
        assert old_key not in shown
        assert new_key not in shown
    stored = asyncio.run(_stored(fresh_database_url))
    assert _undecryptable(FernetCipher([new_key]), stored) == 0


def test_cli_rotate_uses_the_database_url_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'onyx.db'}"
    upgrade(url)
    key = FernetCipher.generate_key()
    asyncio.run(_seed(url, FernetCipher([FernetCipher.generate_key()]), rows=1))  # a key we then "lose"
    monkeypatch.setenv("ONYX_CIPHER_KEYS", key)
    monkeypatch.setenv("ONYX_DATABASE_URL", url)
    assert main(["keys", "rotate"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    # the ring reads none of the stored tokens: it is the wrong ring, and nothing was rotated
    assert "none of the 1 stored connection token(s) decrypts with the keys in ONYX_CIPHER_KEYS" in err
    assert key not in err


def test_cli_rotate_without_a_key_explains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ONYX_CIPHER_KEYS", raising=False)
    assert main(["keys", "rotate", "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "no cipher key configured" in err
    assert "ONYX_CIPHER_KEYS" in err


def test_cli_rotate_on_an_unmigrated_database_explains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONYX_CIPHER_KEYS", KEY_A)
    assert main(["keys", "rotate", "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "onyx migrate" in err
    assert KEY_A not in err
