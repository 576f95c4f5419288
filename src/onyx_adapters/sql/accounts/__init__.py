"""SQL implementations of the accounts ports (:mod:`onyx_core.accounts.ports`) and their unit of work.

Secrets are never stored in clear: sessions, invitations, OAuth states and API tokens by the SHA-256 digest of
their secret, passwords and recovery codes as argon2id hashes, TOTP seeds and PKCE verifiers encrypted with the
:class:`~onyx_core.ports.Cipher`.
"""

from onyx_adapters.sql.accounts.audit import SqlAuditLog
from onyx_adapters.sql.accounts.invites import SqlApiTokenRepository, SqlInviteRepository
from onyx_adapters.sql.accounts.members import (
    SqlAgencyPolicyRepository,
    SqlLoginThrottleRepository,
    SqlMemberRepository,
)
from onyx_adapters.sql.accounts.second_factor import SqlRecoveryCodeRepository, SqlTotpRepository
from onyx_adapters.sql.accounts.sessions import SqlOAuthAttemptRepository, SqlSessionRepository
from onyx_adapters.sql.accounts.uow import SqlAccountsUnitOfWork, sql_accounts_unit_of_work_factory

__all__ = [
    "SqlAccountsUnitOfWork",
    "SqlAgencyPolicyRepository",
    "SqlApiTokenRepository",
    "SqlAuditLog",
    "SqlInviteRepository",
    "SqlLoginThrottleRepository",
    "SqlMemberRepository",
    "SqlOAuthAttemptRepository",
    "SqlRecoveryCodeRepository",
    "SqlSessionRepository",
    "SqlTotpRepository",
    "sql_accounts_unit_of_work_factory",
]
