"""The dashboard's sections and who may open each: the pages only call :func:`sections_for` and
:func:`may_open`, so the rule of who sees what lives here, beside the permissions it rests on.

A section needs every permission of one of its alternatives: Team is open to whoever may invite or manage
members; Security (a member's own 2FA, recovery codes and API tokens) to every member who is fully logged in.
A member who still owes a second factor or an enrolment opens no section.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from onyx_core.accounts.rules import Permission
from onyx_core.accounts.usecases.deps import Principal

__all__ = ["SECTION_PERMISSIONS", "Section", "may_open", "sections_for"]


class Section(StrEnum):
    """The dashboard's sections, in the order the navigation shows them."""

    OVERVIEW = "overview"
    FINANCE = "finance"
    SOCIAL = "social"
    CREATORS = "creators"
    CONNECTIONS = "connections"
    TEAM = "team"
    SECURITY = "security"
    AUDIT = "audit"
    EXPORTS = "exports"


SECTION_PERMISSIONS: Mapping[Section, tuple[frozenset[Permission], ...]] = {
    Section.OVERVIEW: (frozenset({Permission.VIEW_CREATORS}),),
    Section.FINANCE: (frozenset({Permission.VIEW_CREATORS}),),
    Section.SOCIAL: (frozenset({Permission.VIEW_CREATORS}),),
    Section.CREATORS: (frozenset({Permission.VIEW_CREATORS}),),
    Section.CONNECTIONS: (frozenset({Permission.VIEW_CONNECTIONS}),),
    Section.TEAM: (frozenset({Permission.INVITE_MEMBERS}), frozenset({Permission.MANAGE_MEMBERS})),
    Section.SECURITY: (frozenset(),),
    Section.AUDIT: (frozenset({Permission.READ_AUDIT}),),
    Section.EXPORTS: (frozenset({Permission.EXPORT_DATA}),),
}
"""Each section's alternatives: the member's role must hold every permission of at least one."""


def may_open(principal: Principal, section: Section) -> bool:
    """Whether ``principal`` may open ``section`` (never while she owes a second factor or an enrolment)."""
    if principal.second_factor_due or principal.enrolment_required:
        return False
    return any(all(principal.can(p) for p in needed) for needed in SECTION_PERMISSIONS[section])


def sections_for(principal: Principal) -> tuple[Section, ...]:
    """The sections ``principal`` may open, in navigation order."""
    return tuple(section for section in Section if may_open(principal, section))
