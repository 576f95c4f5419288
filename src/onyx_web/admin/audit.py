"""``GET /api/agency/audit?limit=&before=``: the agency's audit log, newest first, owners only (``read_audit``).
``before`` is an entry id: the answer's ``next_before`` gives the next older page."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.params import QueryParameter

from onyx_core.accounts import Permission, read_audit
from onyx_web.accounts.caller import principal_of
from onyx_web.accounts.routes import Accounts
from onyx_web.admin.guards import permits
from onyx_web.admin.schemas import AuditEntryView, AuditPage
from onyx_web.errors import problem_spec

__all__ = ["MAX_PAGE", "audit_log"]

MAX_PAGE = 500


@get(
    "/api/agency/audit",
    tags=["agency"],
    summary="The agency's audit log (owners)",
    guards=[permits(Permission.READ_AUDIT)],
    responses={403: problem_spec("Owners only")},
)
async def audit_log(
    request: Request[Any, Any, Any],
    accounts: Accounts,
    limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE, description="Entries per page")] = 100,
    before: Annotated[
        int | None, QueryParameter(ge=1, le=2**63 - 1, description="Only entries older than this id")
    ] = None,  # an id is a 64-bit integer: a bigger one is a 400, not a database error
) -> AuditPage:
    entries = await read_audit(accounts, principal_of(request), limit=limit, before_id=before)
    views = [AuditEntryView.of(e) for e in entries]
    return AuditPage(views, views[-1].id if len(views) == limit else None)
