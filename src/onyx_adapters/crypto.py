"""Encryption at rest: a MultiFernet key ring behind the core's :class:`~onyx_core.ports.Cipher` port, and the
key rotation that re-encrypts every stored connection token with the newest key.

Fernet is AES-128-CBC + HMAC-SHA256 with a random IV, so equal plaintexts give different ciphertexts and any
altered byte is detected. Keys are never logged, shown or put in an error message: a key ring only ever says how
many keys it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.settings import ConfigurationError, OnyxSettings
from onyx_adapters.sql.engine import READ_ONLY
from onyx_adapters.sql.schema import connections
from onyx_core.errors import InvalidCiphertextError
from onyx_core.ports import Cipher

__all__ = [
    "DEFAULT_ROTATION_BATCH",
    "CipherKeyError",
    "FernetCipher",
    "UndecryptableTokensError",
    "UnreadableTokensError",
    "check_stored_tokens",
    "rotate_connection_tokens",
    "unreadable_connections",
]

DEFAULT_ROTATION_BATCH = 200


class CipherKeyError(ConfigurationError, ValueError):
    """No cipher key is configured, or a configured key is not a Fernet key (the message never quotes it)."""


class UndecryptableTokensError(InvalidCiphertextError):
    """Rotation met stored tokens that no key of the ring decrypts: dropping an old key now would lose them."""

    def __init__(self, connection_ids: Sequence[str], rotated: int) -> None:
        self.connection_ids = list(connection_ids)
        self.rotated = rotated
        shown = ", ".join(self.connection_ids[:10]) + (" …" if len(self.connection_ids) > 10 else "")
        super().__init__(
            f"{len(self.connection_ids)} connection(s) hold tokens that no configured key decrypts ({shown}); "
            f"{rotated} other row(s) were rotated. Keep the old keys in ONYX_CIPHER_KEYS until these are "
            "reconnected or the missing key is found."
        )


class UnreadableTokensError(InvalidCiphertextError):
    """Stored connection tokens that no key of the configured ring decrypts: the ring is not the one they were
    stored with, or it lacks an old key. Nothing may run on them, and nothing should overwrite them unasked."""

    def __init__(self, connection_ids: Sequence[str], stored: int) -> None:
        self.connection_ids = list(connection_ids)
        self.stored = stored
        if len(self.connection_ids) == stored:
            message = (
                f"none of the {stored} stored connection token(s) decrypts with the keys in ONYX_CIPHER_KEYS: "
                "this is not the key ring they were stored with; set ONYX_CIPHER_KEYS to that ring (newest first)"
            )
        else:
            shown = ", ".join(self.connection_ids[:10]) + (" …" if len(self.connection_ids) > 10 else "")
            message = (
                f"{len(self.connection_ids)} of {stored} stored connection tokens ({shown}) decrypt with no key in "
                "ONYX_CIPHER_KEYS: add the key they were stored with, or reconnect those accounts "
                "(`onyx connect … --replace`)"
            )
        super().__init__(message)


class FernetCipher:
    """Implements :class:`~onyx_core.ports.Cipher` with a key ring, newest key first: the first key encrypts,
    every key decrypts, so a new key can be put in front before old ciphertexts are rotated."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if isinstance(keys, str | bytes):  # one key passed bare would be iterated character by character
            raise CipherKeyError("pass a list of keys (newest first), not a single key")
        if not keys:
            raise CipherKeyError("a cipher needs at least one key")
        fernets: list[Fernet] = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                # cryptography's message does not quote the key; ours must not either
                raise CipherKeyError(
                    f"cipher key #{position} is not a Fernet key (32 url-safe base64-encoded bytes); "
                    "make one with `onyx keys generate`"
                ) from None
        self._primary = fernets[0]
        self._ring = MultiFernet(fernets)
        self._size = len(fernets)

    @classmethod
    def from_settings(cls, settings: OnyxSettings) -> FernetCipher:
        """The key ring of ``ONYX_CIPHER_KEYS``; :class:`CipherKeyError` when none is set (tokens must never be
        stored in clear, so there is no unencrypted fallback)."""
        keys = settings.cipher_key_list()
        if not keys:
            raise CipherKeyError(
                "no cipher key configured: set ONYX_CIPHER_KEYS to one or more Fernet keys, newest first "
                "(make one with `onyx keys generate`)"
            )
        return cls(keys)

    @staticmethod
    def generate_key() -> str:
        """A new random Fernet key, as text for ``ONYX_CIPHER_KEYS``."""
        return Fernet.generate_key().decode("ascii")

    @property
    def key_count(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"FernetCipher(<{self._size} key(s)>)"

    def encrypt(self, plaintext: bytes) -> bytes:
        """``plaintext`` encrypted with the newest key."""
        return self._ring.encrypt(plaintext)

    def decrypt(self, ciphertext: bytes) -> bytes:
        """The plaintext, by whichever key of the ring made it; :class:`InvalidCiphertextError` if none did or the
        bytes were altered."""
        try:
            return self._ring.decrypt(ciphertext)
        except (InvalidToken, TypeError):
            raise InvalidCiphertextError("ciphertext altered, or not made by any configured key") from None

    def rotate(self, ciphertext: bytes) -> bytes:
        """``ciphertext`` re-encrypted with the newest key (the plaintext never leaves this call)."""
        try:
            return self._ring.rotate(ciphertext)
        except (InvalidToken, TypeError):
            raise InvalidCiphertextError("ciphertext altered, or not made by any configured key") from None

    def is_current(self, ciphertext: bytes) -> bool:
        """Whether the newest key alone decrypts ``ciphertext`` (so rotating it would change nothing)."""
        try:
            self._primary.decrypt(ciphertext)
        except (InvalidToken, TypeError):
            return False
        return True


async def unreadable_connections(engine: AsyncEngine, cipher: Cipher) -> tuple[list[str], int]:
    """The ids of stored connections whose tokens ``cipher`` cannot decrypt, and how many hold tokens at all.
    Reads only (the plaintexts are dropped at once)."""
    query = select(connections.c.id, connections.c.tokens).where(connections.c.tokens.is_not(None))
    unreadable: list[str] = []
    stored = 0
    async with engine.connect() as conn:
        await conn.execution_options(**READ_ONLY)
        for connection_id, tokens in await conn.execute(query.order_by(connections.c.id)):
            stored += 1
            try:
                cipher.decrypt(bytes(tokens))
            except InvalidCiphertextError:
                unreadable.append(connection_id)
    return unreadable, stored


async def check_stored_tokens(engine: AsyncEngine, cipher: Cipher, *, only_if_none_decrypts: bool = False) -> None:
    """Raise :class:`UnreadableTokensError` when a stored token does not decrypt with ``cipher`` (with
    ``only_if_none_decrypts``: only when none does, i.e. the key ring is plainly the wrong one)."""
    unreadable, stored = await unreadable_connections(engine, cipher)
    if unreadable and (not only_if_none_decrypts or len(unreadable) == stored):
        raise UnreadableTokensError(unreadable, stored)


async def rotate_connection_tokens(
    engine: AsyncEngine, cipher: FernetCipher, *, batch_size: int = DEFAULT_ROTATION_BATCH
) -> int:
    """Re-encrypt with the newest key every stored ``connections.tokens`` not already under it; returns how many
    rows were rewritten (0 on a re-run, so it is safe to repeat after an interruption).

    Rows are walked by id in batches, one transaction per batch. Each batch locks its rows (``FOR UPDATE`` on
    PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite already holds the write lock) and the update is fenced on the
    ciphertext read, so a token refresh committed meanwhile is never overwritten with the old tokens.
    ``token_version`` is left alone: the tokens are the same, only their encryption changed.

    Rows that no key decrypts are left as they are and reported at the end by :class:`UndecryptableTokensError`,
    after every other row was rotated.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    rotated = 0
    undecryptable: list[str] = []
    after: str | None = None
    while True:
        query = (
            select(connections.c.id, connections.c.tokens)
            .where(connections.c.tokens.is_not(None))
            .order_by(connections.c.id)
            .limit(batch_size)
            .with_for_update()
        )
        if after is not None:
            query = query.where(connections.c.id > after)
        async with engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            for connection_id, tokens in rows:
                stored = bytes(tokens)
                if cipher.is_current(stored):
                    continue
                try:
                    fresh = cipher.rotate(stored)
                except InvalidCiphertextError:
                    undecryptable.append(connection_id)
                    continue
                result = await conn.execute(
                    update(connections)
                    .where(connections.c.id == connection_id, connections.c.tokens == stored)
                    .values(tokens=fresh)
                )
                rotated += result.rowcount
        if len(rows) < batch_size:
            break
        after = rows[-1][0]
    if undecryptable:
        raise UndecryptableTokensError(undecryptable, rotated)
    return rotated
