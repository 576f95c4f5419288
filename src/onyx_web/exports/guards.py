"""The export routes' guard: the caller's role may export (owners, admins, managers): a viewer gets 403 before
anything is read. The rule is the core's (:attr:`Permission.EXPORT_DATA`); the use case checks it again."""

from __future__ import annotations

from onyx_core.accounts import Permission
from onyx_web.admin.guards import permits

__all__ = ["may_export"]

may_export = permits(Permission.EXPORT_DATA)
