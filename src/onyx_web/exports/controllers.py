"""``GET /api/exports/{dataset}?format=csv|json``: the ledger, daily revenue by source, stats history and top
spenders as a file, streamed.

Each request: the guard refuses a role without ``export_data`` (403); the filters are checked (422 for a range
that ends before it starts, an instant without a UTC offset, an unknown time zone); the core decides the creators
(one named creator the caller may see, else all she sees; another agency's or an out-of-scope creator: 404);
then one database snapshot counts the rows, the audit log records the export (who, dataset, format, filters, row
count), and the rows stream out of the same snapshot a chunk at a time. A refused request reads no row and writes
no audit entry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

from litestar import Controller, Request, get
from litestar.response import Stream

from onyx_adapters.sql.exports import SqlExports
from onyx_core.accounts import plan_export, record_export
from onyx_core.exports import COLUMNS, Dataset, ExportFilters
from onyx_core.ids import CreatorId
from onyx_web.accounts.caller import client_ip, principal_of
from onyx_web.accounts.routes import Accounts
from onyx_web.errors import broken_rule, problem_spec
from onyx_web.exports.formats import ExportFormat, encode
from onyx_web.exports.guards import may_export
from onyx_web.exports.schemas import (
    ROWS_HEADER,
    CreatorFilter,
    ExportOperation,
    FormatQuery,
    From,
    Limit,
    MetricFilter,
    To,
    Tz,
    export_answer,
)
from onyx_web.runtime import Web

__all__ = ["ExportsController"]

_REFUSALS = {
    403: problem_spec("Your role cannot export (viewers)"),
    404: problem_spec("No such creator that you may see"),
    422: problem_spec("The range ends before it starts, an instant has no UTC offset, or an unknown time zone"),
}
_BAD_FILTERS = "Give from and to with a UTC offset, from <= to, an IANA time zone and a limit of at least 1."


async def _export(
    request: Request[Any, Any, Any],
    accounts: Accounts,
    web: Web,
    dataset: Dataset,
    file_format: ExportFormat,
    **filters: Any,
) -> Stream:
    with broken_rule(_BAD_FILTERS):
        wanted = ExportFilters(**filters)
    principal = principal_of(request)
    scope = await plan_export(accounts, principal, dataset, wanted)
    # the snapshot stays open while the body streams: the generator below closes it (also when the client
    # goes away mid-file: the generator is then closed, or finalised, and its finally runs)
    stack = AsyncExitStack()
    try:
        cursor = await stack.enter_async_context(SqlExports(web.engine).open(scope))
        await record_export(
            accounts, principal, scope, file_format=file_format.value, rows=cursor.count, ip=client_ip(request)
        )
    except BaseException:
        await stack.aclose()
        raise

    async def body() -> AsyncIterator[bytes]:
        try:
            async for piece in encode(file_format, COLUMNS[dataset], cursor.chunks()):
                yield piece
        finally:
            await stack.aclose()

    stamp = accounts.clock.now().strftime("%Y%m%dT%H%M%SZ")
    name = f"onyx-{dataset.value}-{stamp}.{file_format.value}"
    return Stream(
        body(),
        media_type=file_format.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            ROWS_HEADER: str(cursor.count),
            "Cache-Control": "no-store",
        },
    )


class ExportsController(Controller):
    path = "/api/exports"
    tags = ["exports"]  # noqa: RUF012 (Litestar's own attribute)
    guards = [may_export]  # noqa: RUF012

    @get(
        "/ledger",
        summary="Export the ledger",
        operation_class=ExportOperation,
        responses={200: export_answer("Every ledger entry, one row each"), **_REFUSALS},
    )
    async def ledger(
        self,
        request: Request[Any, Any, Any],
        accounts: Accounts,
        web: Web,
        file_format: FormatQuery = ExportFormat.CSV,
        creator_id: CreatorFilter = None,
        start: From = None,
        end: To = None,
    ) -> Stream:
        """Every entry (earnings, refunds, chargebacks) of the creators you may see, by creator and time:
        `creator_id, key, occurred_at, kind, source, gross_cents, net_cents, currency, fan_id, reference,
        original_currency`."""
        return await _export(
            request, accounts, web, Dataset.LEDGER, file_format, creator_id=_creator(creator_id), start=start, end=end
        )

    @get(
        "/daily-revenue",
        summary="Export daily revenue by source",
        operation_class=ExportOperation,
        responses={200: export_answer("Sums per local day, creator, source and currency"), **_REFUSALS},
    )
    async def daily_revenue(
        self,
        request: Request[Any, Any, Any],
        accounts: Accounts,
        web: Web,
        file_format: FormatQuery = ExportFormat.CSV,
        creator_id: CreatorFilter = None,
        start: From = None,
        end: To = None,
        tz: Tz = "UTC",
    ) -> Stream:
        """Per calendar day in `tz`, creator, source and currency, the sums of the entries in the range:
        `day, creator_id, source, currency, gross_cents, net_cents, transactions, reversals`."""
        return await _export(
            request,
            accounts,
            web,
            Dataset.DAILY_REVENUE,
            file_format,
            creator_id=_creator(creator_id),
            start=start,
            end=end,
            tz=tz,
        )

    @get(
        "/stats-history",
        summary="Export the stats history",
        operation_class=ExportOperation,
        responses={200: export_answer("Every stats event, one row each"), **_REFUSALS},
    )
    async def stats_history(
        self,
        request: Request[Any, Any, Any],
        accounts: Accounts,
        web: Web,
        file_format: FormatQuery = ExportFormat.CSV,
        creator_id: CreatorFilter = None,
        start: From = None,
        end: To = None,
        metric: MetricFilter = None,
    ) -> Stream:
        """Every stats event (a value applied, a drop held or confirmed, a failure marked stale, ...) with the
        observation's time (`at`, which the range filters) and source: `id, creator_id, metric, kind, at,
        source, old_value, new_value, detail, recorded_at`."""
        return await _export(
            request,
            accounts,
            web,
            Dataset.STATS_HISTORY,
            file_format,
            creator_id=_creator(creator_id),
            start=start,
            end=end,
            metric=metric,
        )

    @get(
        "/top-spenders",
        summary="Export the top spenders",
        operation_class=ExportOperation,
        responses={200: export_answer("Every paying fan per creator, ranked"), **_REFUSALS},
    )
    async def top_spenders(
        self,
        request: Request[Any, Any, Any],
        accounts: Accounts,
        web: Web,
        file_format: FormatQuery = ExportFormat.CSV,
        creator_id: CreatorFilter = None,
        start: From = None,
        end: To = None,
        limit: Limit = None,
    ) -> Stream:
        """Per creator and currency, the fans with entries in the range, ranked by net then gross (then fan id),
        from the ledger; handle and display name from Fanvue's top-spenders list where the fan is in it:
        `creator_id, rank, fan_id, handle, display_name, currency, gross_cents, net_cents, transactions,
        reversals, last_paid_at`."""
        return await _export(
            request,
            accounts,
            web,
            Dataset.TOP_SPENDERS,
            file_format,
            creator_id=_creator(creator_id),
            start=start,
            end=end,
            limit=limit,
        )


def _creator(creator_id: str | None) -> CreatorId | None:
    return None if creator_id is None else CreatorId(creator_id)
