"""Who may export what, and the audit entry of each export.

A member needs :attr:`~onyx_core.accounts.rules.Permission.EXPORT_DATA` (owners, admins, managers; a viewer is
refused). Her export holds only the creators she sees: one named creator (another agency's, one outside her scope
or an unknown id is :class:`~onyx_core.errors.NotFoundError`, with no data) or all of her agency's creators within
her scope. Refused requests write nothing: no rows are read and no audit entry is made.
"""

from __future__ import annotations

from onyx_core.accounts.model import AuditAction
from onyx_core.accounts.rules import Permission
from onyx_core.accounts.usecases.audit_log import record_audit
from onyx_core.accounts.usecases.deps import AccountsDeps, Principal, require, require_creator, visible_creators
from onyx_core.exports import Dataset, ExportFilters, ExportScope

__all__ = ["plan_export", "record_export"]


async def plan_export(
    deps: AccountsDeps, principal: Principal, dataset: Dataset, filters: ExportFilters
) -> ExportScope:
    """The export the principal may run: :class:`NotPermitted` without the right, ``NotFoundError`` for a creator
    she may not see."""
    require(principal, Permission.EXPORT_DATA)
    agency_id = principal.member.agency_id
    async with deps.uow() as uow:
        if filters.creator_id is not None:
            creators = [await require_creator(principal, filters.creator_id, uow.creators)]
        else:
            creators = visible_creators(principal, await uow.creators.for_agency(agency_id))
    return ExportScope(Dataset(dataset), agency_id, tuple(sorted(c.id for c in creators)), filters)


async def record_export(
    deps: AccountsDeps, principal: Principal, scope: ExportScope, *, file_format: str, rows: int, ip: str | None
) -> None:
    """The audit entry of an export about to be sent: who (the principal), which dataset and format, which
    filters, and how many rows (counted in the snapshot the rows are read from)."""
    details = {"dataset": scope.dataset.value, "format": file_format, "rows": str(rows), **scope.filters.described()}
    await record_audit(deps, principal, AuditAction.EXPORT, target=scope.dataset.value, details=details, ip=ip)
