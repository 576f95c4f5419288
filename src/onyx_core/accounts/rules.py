"""Who may do what: the role permission table, creator scope, and the rules that stop privilege escalation.

Pure functions over :mod:`onyx_core.accounts.model` values; the use cases call them with fresh rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from onyx_core.accounts.errors import LastOwnerError, NotPermitted
from onyx_core.accounts.model import Member, Role
from onyx_core.catalog import Creator

__all__ = [
    "ROLE_PERMISSIONS",
    "Permission",
    "check_assign_role",
    "check_manage_member",
    "check_role_change",
    "has_scope",
    "is_last_owner",
    "role_permits",
    "sees_creator",
]


class Permission(StrEnum):
    VIEW_CREATORS = "view_creators"
    REFRESH_STATS = "refresh_stats"
    EXPORT_DATA = "export_data"
    VIEW_CONNECTIONS = "view_connections"
    """See the health of the agency's Fanvue connections (creator connections only within a member's scope)."""
    MANAGE_CONNECTIONS = "manage_connections"
    INVITE_MEMBERS = "invite_members"
    MANAGE_MEMBERS = "manage_members"
    READ_AUDIT = "read_audit"
    MANAGE_SECURITY_POLICY = "manage_security_policy"
    OPERATE = "operate"
    """Run operations: database health, rebuilding a creator's stats floor, re-syncing a creator, connection
    health with token expiry (owners and admins)."""
    MANAGE_AGENCY_SETTINGS = "manage_agency_settings"
    """Read and change the agency's name and time zone (the days of its analytics)."""
    ENTER_LINK_COSTS = "enter_link_costs"
    """Enter what a tracking link cost (for its ROI), on links of creators within the member's scope."""


ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(Permission) - {Permission.READ_AUDIT, Permission.MANAGE_SECURITY_POLICY},
    Role.MANAGER: frozenset(
        {
            Permission.VIEW_CREATORS,
            Permission.REFRESH_STATS,
            Permission.EXPORT_DATA,
            Permission.VIEW_CONNECTIONS,
            Permission.ENTER_LINK_COSTS,
        }
    ),
    Role.VIEWER: frozenset({Permission.VIEW_CREATORS}),
}
"""Least privilege: owner > admin > manager > viewer."""


def role_permits(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def has_scope(role: Role) -> bool:
    """Whether a creator scope limits this role (managers and viewers; owners and admins see every creator)."""
    return role in (Role.MANAGER, Role.VIEWER)


def sees_creator(member: Member, creator: Creator) -> bool:
    """The creator belongs to the member's agency and, for a scoped role, to her scope."""
    if creator.agency_id != member.agency_id:
        return False
    if not has_scope(member.role) or member.creator_scope is None:
        return True
    return creator.id in member.creator_scope


def _active_owners(members: Iterable[Member]) -> int:
    return sum(1 for m in members if m.role is Role.OWNER and not m.disabled)


def is_last_owner(target: Member, members: Iterable[Member]) -> bool:
    """``target`` is an active owner and no other active owner exists in ``members`` (her agency's)."""
    return target.role is Role.OWNER and not target.disabled and _active_owners(members) <= 1


def check_assign_role(actor: Member, role: Role) -> None:
    """May ``actor`` give someone ``role`` (inviting or changing roles)? Only an owner makes owners."""
    if role is Role.OWNER and actor.role is not Role.OWNER:
        raise NotPermitted("only an owner can make someone an owner")
    if not role_permits(actor.role, Permission.MANAGE_MEMBERS) and not role_permits(
        actor.role, Permission.INVITE_MEMBERS
    ):
        raise NotPermitted("your role cannot give roles")


def check_manage_member(actor: Member, target: Member) -> None:
    """May ``actor`` change or remove ``target`` at all? Admins never touch owners."""
    if not role_permits(actor.role, Permission.MANAGE_MEMBERS):
        raise NotPermitted("your role cannot manage members")
    if target.role is Role.OWNER and actor.role is not Role.OWNER:
        raise NotPermitted("only an owner can change or remove an owner")


def check_role_change(actor: Member, target: Member, role: Role, members: Iterable[Member]) -> None:
    """Every rule of changing ``target``'s role to ``role`` (``members``: the agency's members)."""
    check_manage_member(actor, target)
    check_assign_role(actor, role)
    if role is not Role.OWNER and is_last_owner(target, members):
        raise LastOwnerError("the agency's last owner cannot be demoted")
