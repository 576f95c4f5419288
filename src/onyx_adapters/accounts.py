"""The composition of the accounts use cases: SQL storage, argon2id, TOTP and the system clock, in one place for
every entry point (``onyx users``, the web service)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.runtime import SystemClock
from onyx_adapters.security import Argon2PasswordHasher, PyotpTotp
from onyx_adapters.sql.accounts import sql_accounts_unit_of_work_factory
from onyx_core.accounts import AccountsDeps, AccountsPolicy
from onyx_core.accounts.ports import PasswordHasher
from onyx_core.ports import Cipher, Clock

__all__ = ["accounts_deps"]


def accounts_deps(
    engine: AsyncEngine,
    cipher: Cipher,
    *,
    clock: Clock | None = None,
    hasher: PasswordHasher | None = None,
    policy: AccountsPolicy | None = None,
) -> AccountsDeps:
    """The accounts use cases' ports on ``engine`` (TOTP seeds and PKCE verifiers encrypted with ``cipher``);
    passwords hashed with argon2id at production parameters unless ``hasher`` is given."""
    return AccountsDeps(
        uow=sql_accounts_unit_of_work_factory(engine, cipher),
        clock=clock or SystemClock(),
        hasher=hasher or Argon2PasswordHasher(),
        totp=PyotpTotp(),
        policy=policy or AccountsPolicy(),
    )
