"""The Fanvue gateway: the core's :class:`~onyx_core.ports.FanvuePort` on the async SDK.

Every failure becomes a reason, never a number: ``fetch_stats`` answers a :class:`~onyx_core.stats.Missing` per
metric it could not read, every other method raises :class:`~onyx_core.ports.SourceUnavailableError`.

How SDK failures map to :class:`~onyx_core.stats.MissingReason` (see :func:`reason_for`):

==========================================================  ==================
SDK error                                                   reason
==========================================================  ==================
``TimeoutError`` (connect/read timeout), ``TransportError``  ``TIMEOUT``
(reset, refused, DNS, TLS)
``RateLimitError`` (429 left after the SDK's own retries)   ``RATE_LIMITED``
``ServerError`` (5xx), ``MalformedResponseError``, other    ``ERROR``
4xx, ``NotFoundError`` that is not "not assigned"
``AuthenticationError`` (401), ``PermissionDeniedError``    ``PERMISSION``
(403), ``InvalidClientError`` and other OAuth refusals
while refreshing the token
``InvalidGrantError`` (the grant is dead)                   ``GrantRefusedError``
                                                            (``PERMISSION``), raised
                                                            even by ``fetch_stats``
``CreatorNotAssignedError`` (404 "not assigned")            ``NOT_ASSIGNED``
``OAuthServerError`` (token endpoint down)                  ``ERROR`` (429: ``RATE_LIMITED``)
``MissingTokenError``, a connection that is not ACTIVE      ``NO_CONNECTION``
==========================================================  ==================

Which endpoint answers what:

* AGENCY connection: ``/creators/{uuid}/account`` (followers, subscribers, lifetime earnings, payable balance),
  ``/creators/{uuid}/insights/earnings``, ``/creators/{uuid}/insights/subscribers``,
  ``/creators/{uuid}/insights/top-spenders``, ``/creators/{uuid}/tracking-links``. Posts and likes exist only on
  ``/users/me`` with the creator's own token, so they are ``Missing(PERMISSION)``; reversals exist only on the
  caller's own ``/insights/spending``, so ``Stream.REVERSALS`` raises ``SourceUnavailableError(PERMISSION)``.
* CREATOR connection (the creator's own grant): ``/users/me`` (``fanCounts``, ``likesCount``,
  ``contentCounts.postCount``), ``/users/account`` (lifetime earnings, payable balance) and the own-account
  insights paths.

**The all-zero rule.** Fanvue shows some permission problems as a well-formed answer full of zeros (the
sandbox's ``empty`` fault on an account: ``followers = subscribers = earnings.total = 0``). A real account can
have 0 followers, or 0 earnings, but an account with *no* followers, *no* subscribers and *no* lifetime earnings
at once is indistinguishable from that disguised failure, so all three are reported ``Missing(EMPTY)``. As soon as
any one of them is non-zero the answer is trusted and a zero among the others is an honest ``Ok(0)`` (the core's
merge still quarantines a sudden drop to 0 until it is confirmed). The cost: a brand-new creator with nothing at
all shows "unknown" rather than 0 until the first follower. Absent count blocks on ``/users/me`` are
``Missing(EMPTY)``, and so is a chat count of 0 (an empty chat list).

**Chats** are counted from ``/chats`` pages (``/creators/{uuid}/chats`` for the agency) without walking them all:
see :meth:`FanvueGateway._chat_count`.

**Empty lists.** An empty ``/creators`` roster is ``SourceUnavailableError(EMPTY)`` (an importer must not read it
as "the agency has no creators"). An empty ledger, trend or link page is passed on as it is: a quiet day looks the
same as Fanvue's disguised empty answer, so consumers must never delete or zero anything because a page was empty.

The gateway never closes the clients ``client_for`` returns: the factory owns them (and may cache one per
connection so the SDK's rate budget is shared across calls).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Generic, TypeVar

import httpx

from onyx_core.analytics import SubscriberDay
from onyx_core.budget import current_job_budget
from onyx_core.catalog import ChatterDay, Creator, CreatorProfile, RankedSpender, TrackingLink
from onyx_core.connections import Connection, ConnectionKind, ConnectionStatus
from onyx_core.ids import AgencyId, CreatorId, FanId, TrackingLinkId
from onyx_core.ledger import EntryKind, LedgerEntry, ledger_key
from onyx_core.money import Money
from onyx_core.ports import CursorRejectedError, GrantRefusedError, LedgerPage, SourceUnavailableError
from onyx_core.reconciliation import ZERO, DayTotals, EarningsDays
from onyx_core.stats import Metric, Missing, MissingReason, Observation, Ok
from onyx_core.sync import Stream
from onyx_fanvue import AsyncFanvueClient
from onyx_fanvue import Money as SdkMoney
from onyx_fanvue.errors import (
    AuthenticationError,
    BadRequestError,
    CreatorNotAssignedError,
    FanvueError,
    InvalidGrantError,
    MissingTokenError,
    OAuthError,
    OAuthServerError,
    PermissionDeniedError,
    RateLimitError,
    TransportError,
)
from onyx_fanvue.models.insights import EarningRow, SpendingRow, TopSpenderRow
from onyx_fanvue.models.users import Account, User
from onyx_fanvue.ratelimit import parse_rate_limit_headers, waiting_within
from onyx_fanvue.redaction import scrub

__all__ = ["SOURCE", "ClientFactory", "FanvueGateway", "reason_for"]

SOURCE = "fanvue"
"""Prefix of every observation's ``source`` (e.g. ``fanvue:/users/me``)."""

ClientFactory = Callable[[Connection], AsyncFanvueClient]
"""Gives the SDK client that acts with ``connection``'s grant (sandbox clients in tests, token-store-backed ones
in production)."""

_T = TypeVar("_T")

_STATS_METRICS: tuple[Metric, ...] = (
    Metric.REVENUE_TOTAL,
    Metric.SUBSCRIBERS,
    Metric.FOLLOWERS,
    Metric.POSTS,
    Metric.LIKES,
    Metric.CHATS,
    Metric.AVAILABLE_BALANCE,
)
_ACCOUNT_METRICS = frozenset({Metric.REVENUE_TOTAL, Metric.AVAILABLE_BALANCE})
"""What an account answer gives whichever grant reads it (lifetime earnings and the payable balance)."""
_CHAT_PAGE = 50
_MAX_CHAT_PAGE = 1 << 20

_REVERSAL_KINDS = {"refund": EntryKind.REFUND, "chargeback": EntryKind.CHARGEBACK}


_REASONS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], MissingReason], ...] = (
    (CreatorNotAssignedError, MissingReason.NOT_ASSIGNED),
    ((AuthenticationError, PermissionDeniedError), MissingReason.PERMISSION),
    (RateLimitError, MissingReason.RATE_LIMITED),
    ((TransportError, httpx.TransportError), MissingReason.TIMEOUT),
    (MissingTokenError, MissingReason.NO_CONNECTION),
)


def reason_for(error: BaseException) -> MissingReason:
    """The reason an SDK (or transport) failure is reported with. Never "zero"."""
    for kinds, reason in _REASONS:
        if isinstance(error, kinds):
            return reason
    if isinstance(error, OAuthServerError):
        return MissingReason.RATE_LIMITED if error.status_code == 429 else MissingReason.ERROR
    if isinstance(error, OAuthError):
        return MissingReason.PERMISSION
    return MissingReason.ERROR  # ServerError, MalformedResponseError, other 4xx, anything unexpected


def _detail(error: BaseException) -> str:
    """What a failure is stored as (a stale metric's detail, a refused grant's ``last_error``): scrubbed of every
    secret the process holds, whatever the error's text, since the server's words are in it and are kept."""
    status = getattr(error, "status_code", None)
    text = str(error) or type(error).__name__
    detail = f"{type(error).__name__}({status}): {text}" if status is not None else f"{type(error).__name__}: {text}"
    return scrub(detail)


def _as_money(amount: SdkMoney, *, negative: bool = False) -> Money:
    cents = -abs(amount.cents) if negative else amount.cents
    return Money(cents, amount.currency)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Read(Generic[_T]):
    """What a stats read produced: the parsed answer, or why there is none."""

    path: str
    value: _T | None
    failure: tuple[MissingReason, str] = (MissingReason.ERROR, "")


class FanvueGateway:
    """Implements :class:`~onyx_core.ports.FanvuePort` with the async SDK.

    ``client_for`` gives the client for a connection; ``page_size`` is the cursor page size asked of Fanvue
    (1-50); ``top_spenders`` how many spenders a list keeps.
    """

    def __init__(self, client_for: ClientFactory, *, page_size: int = 50, top_spenders: int = 50) -> None:
        if not 1 <= page_size <= 50:
            raise ValueError("page_size must be between 1 and 50 (Fanvue's limit)")
        if not 1 <= top_spenders <= 50:
            raise ValueError("top_spenders must be between 1 and 50")
        self._client_for = client_for
        self._page_size = page_size
        self._top = top_spenders

    # ------------------------------------------------------------------ plumbing

    def _client(self, connection: Connection) -> AsyncFanvueClient:
        if connection.status is not ConnectionStatus.ACTIVE:
            raise SourceUnavailableError(
                MissingReason.NO_CONNECTION, f"connection {connection.id} is {connection.status.value}"
            )
        try:
            return self._client_for(connection)
        except FanvueError as error:
            raise SourceUnavailableError(reason_for(error), _detail(error)) from error

    @staticmethod
    async def _guard(call: Awaitable[_T]) -> _T:
        """Await an SDK call; any failure becomes :class:`SourceUnavailableError` with its reason, a refused grant
        :class:`GrantRefusedError` (the use cases then mark the connection needs-reauth).

        Inside a job (:func:`~onyx_core.budget.current_job_budget`) the SDK sits out 429s only as long as the
        job's budget has left, and a call refused for good tells the budget when Fanvue takes calls again."""
        budget = current_job_budget()
        try:
            if budget is None:
                return await call
            with waiting_within(budget):
                return await call
        except InvalidGrantError as error:
            raise GrantRefusedError(_detail(error)) from error
        except (FanvueError, httpx.HTTPError) as error:
            if budget is not None and isinstance(error, RateLimitError):
                info = parse_rate_limit_headers(error.headers)
                budget.refused(error.retry_after, info.reset_at if info is not None and info.remaining <= 0 else None)
            raise SourceUnavailableError(reason_for(error), _detail(error)) from error

    @staticmethod
    def _scope(connection: Connection, creator: Creator) -> str | None:
        """``creator_uuid=`` for the SDK: the creator for an AGENCY connection, ``None`` (own account) for the
        creator's own connection, which reads nobody else."""
        if connection.kind is ConnectionKind.AGENCY:
            return str(creator.id)
        if connection.creator_id != creator.id:
            raise SourceUnavailableError(
                MissingReason.PERMISSION,
                f"connection {connection.id} is {connection.creator_id}'s own, not {creator.id}'s",
            )
        return None

    # ------------------------------------------------------------------ creators

    async def list_creators(self, connection: Connection) -> list[CreatorProfile]:
        """Every creator the agency connection manages (``GET /creators``, all pages); an empty roster raises
        ``SourceUnavailableError(EMPTY)``. A creator's own connection lists just that creator (``/users/me``)."""
        client = self._client(connection)
        if connection.kind is ConnectionKind.CREATOR:
            me = await self._guard(client.users.me())
            return [CreatorProfile(me.uuid, me.handle, me.display_name)]
        profiles: list[CreatorProfile] = []
        seen: set[str] = set()
        page = 1
        while True:
            answer = await self._guard(client.creators.list(page=page, size=50))
            for row in answer.data:
                if row.uuid not in seen:
                    seen.add(row.uuid)
                    profiles.append(CreatorProfile(row.uuid, row.handle, row.display_name))
            if not answer.pagination.has_more or not answer.data:
                break
            page += 1
        if not profiles:
            # Fanvue shows a missing permission as an empty roster; an importer acting on "no creators" could
            # retire every creator, so an empty list is never presented as data.
            raise SourceUnavailableError(MissingReason.EMPTY, "GET /creators answered no creators")
        return profiles

    # ------------------------------------------------------------------ stats

    async def _read(self, path: str, call: Awaitable[_T]) -> _Read[_T]:
        try:
            return _Read(path, await self._guard(call))
        except GrantRefusedError:
            raise  # not a missing metric: the connection is dead, and the caller must know
        except SourceUnavailableError as failure:
            return _Read(path, None, (failure.reason, failure.detail))

    async def fetch_stats(
        self, connection: Connection, creator: Creator, at: datetime, metrics: frozenset[str] | None = None
    ) -> list[Observation]:
        """One observation per metric of :data:`_STATS_METRICS` (or of ``metrics``), ``Ok`` or ``Missing``,
        observed ``at``. Endpoints whose metrics are not wanted are not called."""
        wanted = [m for m in _STATS_METRICS if metrics is None or m in metrics]
        try:
            client = self._client(connection)
            scope = self._scope(connection, creator)
        except SourceUnavailableError as failure:
            return [Missing(m, failure.reason, at, SOURCE, failure.detail) for m in wanted]
        found: dict[Metric, Observation] = {}
        if scope is not None:  # the agency reads a managed creator
            path = f"/creators/{scope}/account"
            if {*_ACCOUNT_METRICS, Metric.SUBSCRIBERS, Metric.FOLLOWERS} & set(wanted):
                account = await self._read(path, client.users.account(creator_uuid=scope))
                found.update(self._from_account(account, at, with_fans=True))
            why = "only /users/me with the creator's own token has likes and post counts"
            for metric in (Metric.POSTS, Metric.LIKES):
                found[metric] = Missing(metric, MissingReason.PERMISSION, at, f"{SOURCE}:{path}", why)
        else:  # the creator's own grant
            if {Metric.SUBSCRIBERS, Metric.FOLLOWERS, Metric.POSTS, Metric.LIKES} & set(wanted):
                found.update(self._from_me(await self._read("/users/me", client.users.me()), at))
            if _ACCOUNT_METRICS & set(wanted):
                account = await self._read("/users/account", client.users.account())
                found.update(self._from_account(account, at, with_fans=False))
        if Metric.CHATS in wanted:
            found[Metric.CHATS] = await self._chats(client, scope, at)
        return [found[m] for m in wanted]

    async def _chats(self, client: AsyncFanvueClient, scope: str | None, at: datetime) -> Observation:
        path = "/chats" if scope is None else f"/creators/{scope}/chats"
        chats = await self._read(path, self._chat_count(client, scope))
        if chats.value is None:
            reason, detail = chats.failure
            return Missing(Metric.CHATS, reason, at, f"{SOURCE}:{path}", detail)
        if chats.value == 0:  # an empty chat list looks exactly like Fanvue's disguised permission problem
            why = "no chats listed: indistinguishable from an empty answer"
            return Missing(Metric.CHATS, MissingReason.EMPTY, at, f"{SOURCE}:{path}", why)
        return Ok(Metric.CHATS, chats.value, at, f"{SOURCE}:{path}")

    async def _chat_count(self, client: AsyncFanvueClient, scope: str | None) -> int:
        """The exact number of chats in O(log pages) requests: Fanvue's page envelope has no total, so instead of
        walking every page this reads page 1, then doubles the page number until a page is the last, then
        bisects for the last non-empty page. 120 chats: 3 requests; 10,000: about 16."""

        async def page(number: int) -> tuple[bool, int]:
            answer = await self._guard(client.chats.list(creator_uuid=scope, page=number, size=_CHAT_PAGE))
            return answer.pagination.has_more, len(answer.data)

        more, rows = await page(1)
        if not more:
            return rows
        full, beyond = 1, 2  # page ``full`` has more after it; ``beyond`` is the next page to try
        while True:
            more, rows = await page(beyond)
            if more:
                full, beyond = beyond, beyond * 2
                if beyond > _MAX_CHAT_PAGE:
                    raise SourceUnavailableError(MissingReason.ERROR, "/chats never ends")
                continue
            if rows:
                return (beyond - 1) * _CHAT_PAGE + rows
            break
        while beyond - full > 1:  # the last non-empty page lies strictly between
            middle = (full + beyond) // 2
            more, rows = await page(middle)
            if more:
                full = middle
            elif rows:
                return (middle - 1) * _CHAT_PAGE + rows
            else:
                beyond = middle
        # page ``full`` is full and the one after it empty: the list ends exactly there ("more" was said of a
        # full last page, or chats went away while counting; either way this is the count now)
        return full * _CHAT_PAGE

    @staticmethod
    def _from_account(read: _Read[Account], at: datetime, *, with_fans: bool) -> dict[Metric, Observation]:
        source = f"{SOURCE}:{read.path}"
        fans_too = (Metric.SUBSCRIBERS, Metric.FOLLOWERS) if with_fans else ()
        metrics = (Metric.REVENUE_TOTAL, *fans_too, Metric.AVAILABLE_BALANCE)
        account = read.value
        if account is None:
            reason, detail = read.failure
            return {m: Missing(m, reason, at, source, detail) for m in metrics}
        fans, earnings = account.account.fans, account.account.earnings
        values = {
            Metric.REVENUE_TOTAL: earnings.total.cents,
            Metric.SUBSCRIBERS: fans.subscribers,
            Metric.FOLLOWERS: fans.followers,
        }
        if not any(values.values()):  # the balance is often 0 (just paid out): it cannot vouch for the answer
            detail = "all-zero account (no fans, no earnings): indistinguishable from an empty answer"
            return {m: Missing(m, MissingReason.EMPTY, at, source, detail) for m in metrics}
        values[Metric.AVAILABLE_BALANCE] = earnings.available_balance.cents
        out: dict[Metric, Observation] = {}
        for metric in metrics:
            value = values[metric]
            if value < 0:
                out[metric] = Missing(metric, MissingReason.ERROR, at, source, f"negative value {value}")
            else:
                out[metric] = Ok(metric, value, at, source)
        return out

    @staticmethod
    def _from_me(read: _Read[User], at: datetime) -> dict[Metric, Observation]:
        source = f"{SOURCE}:{read.path}"
        metrics = (Metric.SUBSCRIBERS, Metric.FOLLOWERS, Metric.POSTS, Metric.LIKES)
        me = read.value
        if me is None:
            reason, detail = read.failure
            return {m: Missing(m, reason, at, source, detail) for m in metrics}
        values: dict[Metric, int | None] = {
            Metric.SUBSCRIBERS: None if me.fan_counts is None else me.fan_counts.subscribers_count,
            Metric.FOLLOWERS: None if me.fan_counts is None else me.fan_counts.followers_count,
            Metric.POSTS: None if me.content_counts is None else me.content_counts.post_count,
            Metric.LIKES: me.likes_count,
        }
        out: dict[Metric, Observation] = {}
        for metric in metrics:
            value = values[metric]
            if value is None:
                out[metric] = Missing(metric, MissingReason.EMPTY, at, source, "count block absent from /users/me")
            elif value < 0:
                out[metric] = Missing(metric, MissingReason.ERROR, at, source, f"negative value {value}")
            else:
                out[metric] = Ok(metric, value, at, source)
        return out

    # ------------------------------------------------------------------ ledger

    async def fetch_ledger_page(
        self,
        connection: Connection,
        creator: Creator,
        stream: Stream,
        start: datetime,
        end: datetime,
        cursor: str | None,
    ) -> LedgerPage:
        """One cursor page of earnings or reversals in ``[start, end)``. Reversals exist only on the caller's own
        ``/insights/spending``: an agency connection gets ``SourceUnavailableError(PERMISSION)``."""
        client = self._client(connection)
        scope = self._scope(connection, creator)
        try:
            return await self._ledger_page(client, scope, creator, stream, start, end, cursor)
        except SourceUnavailableError as failure:
            if cursor is not None and isinstance(failure.__cause__, BadRequestError):
                raise CursorRejectedError(f"the page cursor was refused: {failure.detail}") from failure.__cause__
            raise

    async def _ledger_page(
        self,
        client: AsyncFanvueClient,
        scope: str | None,
        creator: Creator,
        stream: Stream,
        start: datetime,
        end: datetime,
        cursor: str | None,
    ) -> LedgerPage:
        if stream is Stream.EARNINGS:
            earned = await self._guard(
                client.insights.earnings(
                    creator_uuid=scope, start_date=start, end_date=end, cursor=cursor, size=self._page_size
                )
            )
            entries = tuple(self._earning(creator.id, row) for row in earned.data)
            return LedgerPage(entries, earned.next_cursor)
        if stream is Stream.REVERSALS:
            if scope is not None:
                raise SourceUnavailableError(
                    MissingReason.PERMISSION,
                    "reversals are only on /insights/spending with the creator's own token (no creator scope)",
                )
            spent = await self._guard(
                client.insights.spending(start_date=start, end_date=end, cursor=cursor, size=self._page_size)
            )
            return LedgerPage(tuple(self._reversal(creator.id, row) for row in spent.data), spent.next_cursor)
        raise SourceUnavailableError(MissingReason.ERROR, f"no Fanvue ledger for stream {stream!r}")

    @staticmethod
    def _earning(creator_id: CreatorId, row: EarningRow) -> LedgerEntry:
        """An earnings row. A row with negative amounts (a reversal reported inline, as some API copies do, with
        ``reversedTransactionOrderId``) becomes a reversal entry."""
        reversal = row.gross.cents < 0 or row.net.cents < 0 or row.reversed_transaction_order_id is not None
        kind = _REVERSAL_KINDS.get(row.source, EntryKind.REFUND) if reversal else EntryKind.EARNING
        return _entry(
            creator_id,
            kind,
            order_id=row.transaction_order_id,
            occurred_at=row.date,
            source=row.source,
            gross=_as_money(row.gross, negative=reversal),
            net=_as_money(row.net, negative=reversal),
            fan=row.user.uuid if row.user is not None else None,
            reference=row.message_uuid or row.post_uuid,
            currency=row.currency,
        )

    @staticmethod
    def _reversal(creator_id: CreatorId, row: SpendingRow) -> LedgerEntry:
        """A spending row (refund or chargeback). Fanvue may render the amount taken back as a positive
        magnitude or a negative number; either way the entry is negative."""
        return _entry(
            creator_id,
            _REVERSAL_KINDS.get(row.source, EntryKind.REFUND),
            order_id=None,
            occurred_at=row.date,
            source=row.source,
            gross=_as_money(row.gross, negative=True),
            net=_as_money(row.net, negative=True),
            fan=row.user.uuid if row.user is not None else None,
            reference=row.message_uuid or row.post_uuid,
            currency=row.currency,
        )

    # ------------------------------------------------------------------ history, spenders, links

    async def fetch_earnings_days(
        self, connection: Connection, creator: Creator, start: date, end: date
    ) -> EarningsDays:
        """The earnings summary's UTC daily series (``granularity=day``, ``timezone=UTC``) and lifetime total, in
        one request. An all-zero summary is how Fanvue answers a permission problem too: ``EMPTY``, never zeros."""
        client = self._client(connection)
        summary = await self._guard(
            client.insights.earnings_summary(
                creator_uuid=self._scope(connection, creator),
                start_date=_day_start(start),
                end_date=_day_start(end),
                granularity="day",
                timezone="UTC",
            )
        )
        all_time = DayTotals(summary.totals.all_time.gross.cents, summary.totals.all_time.net.cents)
        if all_time == ZERO:
            raise SourceUnavailableError(MissingReason.EMPTY, "an all-zero earnings summary: no earnings, or no access")
        days: dict[date, DayTotals] = {}
        for point in summary.over_time:
            day = point.period_start.astimezone(UTC).date()
            if start <= day < end and (point.gross.cents or point.net.cents):
                days[day] = days.get(day, ZERO) + DayTotals(point.gross.cents, point.net.cents)
        return EarningsDays(start, end, days, all_time)

    async def fetch_subscriber_days(
        self, connection: Connection, creator: Creator, start: date, end: date
    ) -> list[SubscriberDay]:
        """Per-day new/cancelled counts from ``/insights/subscribers`` (all pages) for days in ``[start, end)``."""
        if end <= start:
            return []
        client = self._client(connection)
        scope = self._scope(connection, creator)
        days: dict[date, SubscriberDay] = {}
        cursor: str | None = None
        while True:
            page = await self._guard(
                client.insights.subscribers(
                    creator_uuid=scope,
                    start_date=_day_start(start),
                    end_date=_day_start(end),
                    cursor=cursor,
                    size=self._page_size,
                )
            )
            for row in page.data:
                day = row.date.astimezone(UTC).date()
                if not start <= day < end:
                    continue
                if row.new_subscribers_count < 0 or row.cancelled_subscribers_count < 0:
                    raise SourceUnavailableError(MissingReason.ERROR, f"negative subscriber counts on {day}")
                days[day] = SubscriberDay(creator.id, day, row.new_subscribers_count, row.cancelled_subscribers_count)
            cursor = self._next(page.next_cursor, cursor, "/insights/subscribers")
            if cursor is None:
                return [days[d] for d in sorted(days)]

    async def fetch_top_spenders(self, connection: Connection, creator: Creator) -> list[RankedSpender]:
        """The creator's top spenders (at most ``top_spenders``), ranked by gross. Fanvue ranks per creator only:
        the agency-wide list is combined from these by the core (``combine_rankings``)."""
        client = self._client(connection)
        rows = await self._spenders(client, self._scope(connection, creator))
        return [
            RankedSpender(
                rank,
                FanId(row.user.uuid),
                row.user.handle,
                row.user.display_name,
                _as_money(row.gross),
                _as_money(row.net),
                row.messages,
                creator_id=creator.id,
            )
            for rank, row in enumerate(rows, start=1)
        ]

    async def _spenders(self, client: AsyncFanvueClient, scope: str | None) -> list[TopSpenderRow]:
        page = await self._guard(client.insights.top_spenders(creator_uuid=scope, page=1, size=self._top))
        return sorted(page.data, key=lambda r: -r.gross.cents)[: self._top]

    async def fetch_chatter_days(self, connection: Connection, day: date) -> list[ChatterDay]:
        """The chatter leaderboard of one UTC ``day`` (Fanvue's daily aggregate, agency-wide). Only the agency's
        own grant reads it (``read:agency``); a creator's own connection is refused without a call."""
        if connection.kind is not ConnectionKind.AGENCY:
            raise SourceUnavailableError(MissingReason.PERMISSION, "the chatter leaderboard needs the agency's grant")
        client = self._client(connection)
        start = _day_start(day)
        board = await self._guard(
            client.agencies.chatter_leaderboard(start_date=start, end_date=_day_start(day + timedelta(days=1)))
        )
        return [
            ChatterDay(
                AgencyId(connection.agency_id),
                day,
                row.chatter_uuid,
                row.chatter_name,
                row.messages,
                row.ppvs_sent,
                row.ppvs_unlocked,
                _as_money(row.revenue),
            )
            for row in board.data
        ]

    async def count_chatter_messages(self, connection: Connection, start: date, end: date) -> int:
        """The chatters' messages over the UTC days ``[start, end)``: the leaderboard of the whole range (one
        request; the agency's grant only, like :meth:`fetch_chatter_days`)."""
        if connection.kind is not ConnectionKind.AGENCY:
            raise SourceUnavailableError(MissingReason.PERMISSION, "the chatter leaderboard needs the agency's grant")
        client = self._client(connection)
        board = await self._guard(
            client.agencies.chatter_leaderboard(start_date=_day_start(start), end_date=_day_start(end))
        )
        return sum(row.messages for row in board.data)

    async def fetch_tracking_links(self, connection: Connection, creator: Creator) -> list[TrackingLink]:
        """Every tracking link of the creator (all cursor pages). A link that never earned has no earnings."""
        client = self._client(connection)
        scope = self._scope(connection, creator)
        links: dict[str, TrackingLink] = {}
        cursor: str | None = None
        while True:
            page = await self._guard(
                client.tracking_links.list(creator_uuid=scope, cursor=cursor, limit=self._page_size)
            )
            for row in page.data:
                engagement = row.engagement
                links[row.uuid] = TrackingLink(
                    TrackingLinkId(row.uuid),
                    creator.id,
                    row.name,
                    row.link_url,
                    row.external_social_platform,
                    row.created_at,
                    row.clicks,
                    # ``engagement`` is absent only from older API snapshots; the counters then start at 0
                    engagement.acquired_subscribers if engagement is not None else 0,
                    engagement.acquired_followers if engagement is not None else 0,
                    None if row.earnings is None else _as_money(row.earnings.total_gross),
                    None if row.earnings is None else _as_money(row.earnings.total_net),
                )
            cursor = self._next(page.next_cursor, cursor, "/tracking-links")
            if cursor is None:
                return list(links.values())

    @staticmethod
    def _next(next_cursor: str | None, current: str | None, path: str) -> str | None:
        """The cursor to ask for next; a cursor that does not move would loop forever, so it is an error."""
        if next_cursor is not None and next_cursor == current:
            raise SourceUnavailableError(MissingReason.ERROR, f"{path}: the cursor did not advance")
        return next_cursor


def _entry(
    creator_id: CreatorId,
    kind: EntryKind,
    *,
    order_id: str | None,
    occurred_at: datetime,
    source: str,
    gross: Money,
    net: Money,
    fan: str | None,
    reference: str | None,
    currency: str | None,
) -> LedgerEntry:
    key = ledger_key(
        kind=kind,
        transaction_order_id=order_id,
        occurred_at=occurred_at,
        source=source,
        gross_cents=gross.cents,
        net_cents=net.cents,
        fan_id=fan,
        reference=reference,
    )
    try:
        return LedgerEntry(
            creator_id,
            key,
            occurred_at,
            source,
            gross,
            net,
            kind=kind,
            fan_id=None if fan is None else FanId(fan),
            reference=reference,
            original_currency=currency,
        )
    except ValueError as error:  # DomainValueError: e.g. an "earning" with a negative net only
        raise SourceUnavailableError(MissingReason.ERROR, f"unusable ledger row: {error}") from error
