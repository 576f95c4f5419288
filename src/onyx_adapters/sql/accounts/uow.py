"""The SQL accounts unit of work: one transaction over the accounts repositories and the catalog's.

It is a :class:`~onyx_adapters.sql.uow.SqlUnitOfWork` (the same lazy transaction, SQLite write lock and
lock-free reads) with the accounts repositories added on the same connections.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from onyx_adapters.sql.accounts.audit import SqlAuditLog
from onyx_adapters.sql.accounts.invites import SqlApiTokenRepository, SqlInviteRepository
from onyx_adapters.sql.accounts.members import (
    SqlAgencyPolicyRepository,
    SqlLoginThrottleRepository,
    SqlMemberRepository,
)
from onyx_adapters.sql.accounts.second_factor import SqlRecoveryCodeRepository, SqlTotpRepository
from onyx_adapters.sql.accounts.sessions import SqlOAuthAttemptRepository, SqlSessionRepository
from onyx_adapters.sql.uow import SqlUnitOfWork
from onyx_core.accounts.ports import (
    AccountsUnitOfWork,
    AccountsUnitOfWorkFactory,
    AgencyPolicyRepository,
    ApiTokenRepository,
    AuditLog,
    InviteRepository,
    LoginThrottleRepository,
    MemberRepository,
    OAuthAttemptRepository,
    RecoveryCodeRepository,
    SessionRepository,
    TotpRepository,
)
from onyx_core.ports import Cipher

__all__ = ["SqlAccountsUnitOfWork", "sql_accounts_unit_of_work_factory"]


class SqlAccountsUnitOfWork(SqlUnitOfWork):
    """Implements :class:`~onyx_core.accounts.ports.AccountsUnitOfWork`. ``cipher`` encrypts the TOTP seeds and
    the OAuth attempts' PKCE verifiers at rest (and the connections' tokens, as in :class:`SqlUnitOfWork`)."""

    def __init__(self, engine: AsyncEngine, cipher: Cipher) -> None:
        super().__init__(engine, cipher)
        self.members: MemberRepository = SqlMemberRepository(self)
        self.policies: AgencyPolicyRepository = SqlAgencyPolicyRepository(self)
        self.throttles: LoginThrottleRepository = SqlLoginThrottleRepository(self)
        self.sessions: SessionRepository = SqlSessionRepository(self)
        self.totp: TotpRepository = SqlTotpRepository(self, cipher)
        self.recovery_codes: RecoveryCodeRepository = SqlRecoveryCodeRepository(self)
        self.invites: InviteRepository = SqlInviteRepository(self)
        self.api_tokens: ApiTokenRepository = SqlApiTokenRepository(self)
        self.oauth_attempts: OAuthAttemptRepository = SqlOAuthAttemptRepository(self, cipher)
        self.audit: AuditLog = SqlAuditLog(self)


def sql_accounts_unit_of_work_factory(engine: AsyncEngine, cipher: Cipher) -> AccountsUnitOfWorkFactory:
    """Each call a fresh :class:`SqlAccountsUnitOfWork` on ``engine`` (a new transaction)."""

    def make() -> AccountsUnitOfWork:
        return SqlAccountsUnitOfWork(engine, cipher)

    return make


if TYPE_CHECKING:  # never runs: makes mypy prove the unit of work implements its port

    def _implements_port(engine: AsyncEngine, cipher: Cipher) -> AccountsUnitOfWork:
        return SqlAccountsUnitOfWork(engine, cipher)
