"""The agency's own settings: its name and its IANA time zone (the days, weeks and months of its analytics).
Owners and admins read and change them (``manage_agency_settings``); a change is audited with what it set."""

from __future__ import annotations

import dataclasses
import unicodedata

from onyx_core.accounts.model import AuditAction
from onyx_core.accounts.rules import Permission
from onyx_core.accounts.usecases.deps import AccountsDeps, Principal, audit, require, require_unrestricted
from onyx_core.catalog import Agency, require_time_zone
from onyx_core.errors import DomainValueError, NotFoundError

__all__ = ["MAX_AGENCY_NAME", "agency_settings", "agency_time_zone", "own_agency", "update_agency_settings"]

MAX_AGENCY_NAME = 200
"""The stored column's width."""


async def agency_settings(deps: AccountsDeps, principal: Principal) -> Agency:
    """The principal's agency (``manage_agency_settings``)."""
    require(principal, Permission.MANAGE_AGENCY_SETTINGS)
    async with deps.uow() as uow:
        agency = await uow.agencies.get(principal.member.agency_id)
    if agency is None:  # a member always has an agency (foreign key); never show another's
        raise NotFoundError("the member's agency is gone")
    return agency


async def own_agency(deps: AccountsDeps, principal: Principal) -> Agency:
    """The principal's own agency, for any fully logged-in member (its name heads every page she opens)."""
    require_unrestricted(principal)
    async with deps.uow() as uow:
        agency = await uow.agencies.get(principal.member.agency_id)
    if agency is None:
        raise NotFoundError("the member's agency is gone")
    return agency


async def agency_time_zone(deps: AccountsDeps, principal: Principal) -> str:
    """The time zone of the principal's agency, for any member who reads its figures (``view_creators``): the
    analytics' days are its local days."""
    require(principal, Permission.VIEW_CREATORS)
    async with deps.uow() as uow:
        agency = await uow.agencies.get(principal.member.agency_id)
    if agency is None:
        raise NotFoundError("the member's agency is gone")
    return agency.timezone


async def update_agency_settings(
    deps: AccountsDeps,
    principal: Principal,
    *,
    name: str | None = None,
    timezone: str | None = None,
    ip: str | None = None,
) -> Agency:
    """Set the agency's name and/or time zone (``None``: unchanged). A blank or too long name, or a time zone that
    is not an IANA name, is a :class:`DomainValueError` and nothing is written. Audited with the new values."""
    require(principal, Permission.MANAGE_AGENCY_SETTINGS)
    details: dict[str, str] = {}
    if name is not None:
        name = name.strip()
        if not name or len(name) > MAX_AGENCY_NAME or any(unicodedata.category(ch) == "Cc" for ch in name):
            raise DomainValueError(f"an agency's name has 1 to {MAX_AGENCY_NAME} characters, none a control one")
        details["name"] = name
    if timezone is not None:
        details["timezone"] = require_time_zone(timezone)
    async with deps.uow() as uow:
        agency = await uow.agencies.get(principal.member.agency_id)
        if agency is None:
            raise NotFoundError("the member's agency is gone")
        changed = dataclasses.replace(agency, name=name or agency.name, timezone=timezone or agency.timezone)
        if changed != agency:
            await uow.agencies.upsert(changed)
            await audit(
                uow, deps.clock.now(), AuditAction.AGENCY_SETTINGS_CHANGED, principal.member,
                target=agency.id, details=details, ip=ip,
            )  # fmt: skip
            await uow.commit()
    return changed
