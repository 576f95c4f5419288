"""Reading the audit log (owners) and recording what the web layer does (exports, connection changes)."""

from __future__ import annotations

from collections.abc import Mapping

from onyx_core.accounts.model import AuditAction, AuditEntry
from onyx_core.accounts.rules import Permission
from onyx_core.accounts.usecases.deps import AccountsDeps, Principal, require
from onyx_core.ids import AgencyId

__all__ = ["read_audit", "record_audit"]


async def read_audit(
    deps: AccountsDeps, principal: Principal, *, limit: int = 100, before_id: int | None = None
) -> list[AuditEntry]:
    """The agency's entries, newest first (``before_id`` pages back). Owners only."""
    require(principal, Permission.READ_AUDIT)
    limit = max(1, min(limit, 1000))
    async with deps.uow() as uow:
        return await uow.audit.for_agency(principal.member.agency_id, limit=limit, before_id=before_id)


async def record_audit(
    deps: AccountsDeps,
    principal: Principal | None,
    action: AuditAction,
    *,
    target: str | None = None,
    details: Mapping[str, str] | None = None,
    ip: str | None = None,
    agency_id: AgencyId | None = None,
) -> None:
    """Record one entry in its own unit of work: by ``principal`` in her agency, or (``principal`` ``None``) an
    action of no member in ``agency_id`` (a creator connecting through an invitation)."""
    entry = AuditEntry(
        at=deps.clock.now(),
        action=AuditAction(action),
        agency_id=agency_id if principal is None else principal.member.agency_id,
        actor=None if principal is None else principal.member.id,
        target=target,
        details=dict(details or {}),
        ip=ip,
    )
    async with deps.uow() as uow:
        await uow.audit.record(entry)
        await uow.commit()
