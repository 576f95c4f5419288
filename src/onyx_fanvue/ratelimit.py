"""Client-side pacing for Fanvue's rate limit (fanvue-api.md §7).

Fanvue allows 200 requests per 60 s in a token bucket keyed ``clientId:userUuid``, plus ``:creatorUserUuid`` on
``/creators/{uuid}/...`` paths (one bucket per managed creator); ``/agencies/*`` and own-account endpoints share the
user's bucket. Every response carries ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (Unix seconds) and a 429 adds
``Retry-After``.

* :func:`rate_limit_key` maps a request path to the bucket it is counted in.
* :func:`parse_rate_limit_headers` reads the headers into a :class:`RateLimitInfo` (``None`` on anything odd).
* :class:`RateBudget` is the client-side bucket per key, shared by threads and asyncio tasks, that paces requests
  so that the server's bucket is never exceeded; it learns from the headers (:meth:`RateBudget.observe`) and from
  429s (:meth:`RateBudget.penalize`).
* :class:`WaitBudget` bounds how long the requests in its scope may sit out Fanvue's refusals (429s) in total; any
  :class:`WaitAllowance` can stand in for it (:func:`waiting_within`).

One :class:`RateBudget` stands for one OAuth client (the ``clientId`` part of Fanvue's key is implicit).
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import math
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal, Protocol, Self
from urllib.parse import unquote, urlsplit

from onyx_fanvue.errors import RateLimitError

__all__ = [
    "DEFAULT_CAPACITY",
    "DEFAULT_PERIOD",
    "RateBudget",
    "RateLimitInfo",
    "RefillModel",
    "WaitAllowance",
    "WaitBudget",
    "current_wait_allowance",
    "parse_rate_limit_headers",
    "parse_raw_rate_limit_headers",
    "rate_limit_key",
    "waiting_within",
]

DEFAULT_CAPACITY = 200
"""Fanvue's documented requests per bucket (raised from 100)."""
DEFAULT_PERIOD = 60.0
"""Fanvue's bucket period in seconds."""

RefillModel = Literal["rolling", "continuous", "window"]
"""How a :class:`RateBudget` bucket gets its tokens back; see :class:`RateBudget`."""

_SELF_KEY = "me"
# The first path segment that names a Fanvue resource marks the API root; anything before it is a base path.
_API_ROOTS = frozenset(
    {
        "agencies",
        "apps",
        "chats",
        "comments",
        "creators",
        "followers",
        "insights",
        "likes",
        "media",
        "notifications",
        "posts",
        "subscribers",
        "tracking-links",
        "users",
        "vault",
        "webhooks",
    }
)
# Token fractions below this count as a whole token in the continuous model, so that sleeping exactly the
# announced wait always makes progress despite float rounding. The rolling and window models compare times exactly:
# they never grant early, not even by a nanosecond.
_EPSILON = 1e-9
_MIN_SWEEP_SIZE = 1024


def rate_limit_key(user_uuid: str | None, path: str) -> str:
    """The client-side bucket key for a request to ``path`` made with ``user_uuid``'s token.

    ``"<user>"`` for own-account and ``/agencies/*`` endpoints (one shared bucket) and ``"<user>:<creator>"`` for
    ``/creators/{creatorUserUuid}/...`` (one bucket per managed creator); ``GET /creators`` itself is in the user's
    bucket. ``path`` may be a full URL, carry a base path before the API root (``/v1/creators/...``), a query string
    or a fragment. UUIDs are lower-cased so that one creator never gets two buckets. A ``None`` user (not yet known)
    maps to ``"me"``: sharing a bucket only ever throttles more, never less.
    """
    user = (user_uuid or "").strip().lower() or _SELF_KEY
    creator = _creator_from_path(path)
    return user if creator is None else f"{user}:{creator}"


def _creator_from_path(path: str) -> str | None:
    bare = re.split(r"[?#]", path.strip(), maxsplit=1)[0]
    if "://" in bare:  # a full URL: drop scheme and host (a bare "//x" stays a path, not a host)
        try:
            bare = urlsplit(bare).path
        except ValueError:  # e.g. an unbalanced "[" in the host
            bare = bare.split("://", 1)[1].partition("/")[2]
    segments = [unquote(part).strip() for part in bare.split("/")]
    segments = [part for part in segments if part]
    for index, segment in enumerate(segments):
        root = segment.lower()
        if root in _API_ROOTS:
            if root == "creators" and index + 1 < len(segments):
                return segments[index + 1].lower()
            return None
    return None


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """The ``X-RateLimit-*`` headers of one response.

    ``limit`` is the bucket size, ``remaining`` the requests left in it and ``reset_at`` (aware, UTC) when Fanvue
    refills it.
    """

    limit: int
    remaining: int
    reset_at: datetime


_INT_RE = re.compile(r"[0-9]{1,12}", re.ASCII)
_NUMBER_RE = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,9})?", re.ASCII)


def _header_value(headers: Mapping[str, str], name: str) -> str | None:
    found: str | None = None
    try:
        items = list(headers.items())
    except Exception:  # a broken mapping must not break the response path
        return None
    for key, value in items:
        raw_key: object = key
        raw_value: object = value
        if not isinstance(raw_key, str) or raw_key.strip().lower() != name:
            continue
        if isinstance(raw_value, bytes):
            raw_value = raw_value.decode("latin-1")
        elif isinstance(raw_value, int) and not isinstance(raw_value, bool):
            raw_value = str(raw_value)
        if not isinstance(raw_value, str):
            return None
        # A repeated header (or httpx's comma-joined duplicates) is only trusted when every copy agrees.
        for part in raw_value.split(","):
            text = part.strip()
            if found is not None and text != found:
                return None
            found = text
    return found


def parse_rate_limit_headers(headers: Mapping[str, str]) -> RateLimitInfo | None:
    """Read ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (Unix seconds), case-insensitively.

    Returns ``None`` when any of the three is missing or is not a plain non-negative number, or the reset time is
    out of range (e.g. milliseconds). Never raises: a bad header must not fail a good response.
    """
    return _info(
        _header_value(headers, "x-ratelimit-limit"),
        _header_value(headers, "x-ratelimit-remaining"),
        _header_value(headers, "x-ratelimit-reset"),
    )


_NAMES = {b"x-ratelimit-limit": 0, b"x-ratelimit-remaining": 1, b"x-ratelimit-reset": 2}


def parse_raw_rate_limit_headers(raw: Sequence[tuple[bytes, bytes]], encoding: str) -> RateLimitInfo | None:
    """:func:`parse_rate_limit_headers` for a response's raw ``(name, value)`` byte pairs (``httpx.Headers.raw``)
    decoded with ``encoding``: the same answer, read the way a well-formed response asks for (one look at each
    name, three values decoded). Anything it would read differently (a repeated or comma-joined value, any other
    name that mentions ``ratelimit``) goes to :func:`parse_rate_limit_headers` itself."""
    texts: list[str | None] = [None, None, None]
    others = False
    for key, value in raw:
        lowered = key.lower()
        if b"ratelimit" not in lowered:
            continue
        at = _NAMES.get(lowered)
        if at is None or texts[at] is not None or b"," in value:
            others = True
            break
        texts[at] = value.decode(encoding).strip()
    if others:
        merged: dict[str, str] = {}
        for key, value in raw:
            name, text = key.lower().decode(encoding), value.decode(encoding)
            merged[name] = f"{merged[name]}, {text}" if name in merged else text
        return parse_rate_limit_headers(merged)
    return _info(texts[0], texts[1], texts[2])


def _info(limit_text: str | None, remaining_text: str | None, reset_text: str | None) -> RateLimitInfo | None:
    if limit_text is None or remaining_text is None or reset_text is None:
        return None
    if not (_INT_RE.fullmatch(limit_text) and _INT_RE.fullmatch(remaining_text) and _NUMBER_RE.fullmatch(reset_text)):
        return None
    try:
        reset_at = datetime.fromtimestamp(float(reset_text), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return RateLimitInfo(limit=int(limit_text), remaining=int(remaining_text), reset_at=reset_at)


class WaitAllowance(Protocol):
    """Seconds that requests may still spend sitting out Fanvue's refusals: the wait before retrying a 429 and
    the wait for a bucket a 429 closed. Pacing under the rate budget (at most one period per wait) and the short
    back-off after a 5xx or a dropped connection are not refusals and are not counted."""

    def left(self) -> float:
        """Seconds still allowed (0 or more)."""
        ...

    def spend(self, seconds: float) -> None:
        """Record a wait of ``seconds`` that is about to be taken."""
        ...


_ALLOWANCE: contextvars.ContextVar[WaitAllowance | None] = contextvars.ContextVar(
    "onyx_fanvue_wait_allowance", default=None
)


def current_wait_allowance() -> WaitAllowance | None:
    """The allowance the requests made here share (see :func:`waiting_within`), if any."""
    return _ALLOWANCE.get()


@contextmanager
def waiting_within(allowance: WaitAllowance) -> Iterator[WaitAllowance]:
    """Every request made inside the block (by any client, sync or async, in this thread or task and the tasks it
    starts) spends its refusal waits from ``allowance``; a wait that does not fit in what is left raises
    :class:`~onyx_fanvue.errors.RateLimitError` at once instead of sleeping. The innermost scope applies."""
    token = _ALLOWANCE.set(allowance)
    try:
        yield allowance
    finally:
        _ALLOWANCE.reset(token)


class WaitBudget:
    """A :class:`WaitAllowance` of ``seconds`` in total, and a context manager that puts it in force::

        with WaitBudget(10) as budget:  # the calls below sit out 429s for 10 s at most, together
            client.users.me()
            client.insights.earnings(...)
        print(budget.spent)

    Thread-safe; reusable (its spending adds up)."""

    def __init__(self, seconds: float) -> None:
        raw: object = seconds
        if not (isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw) and raw >= 0):
            raise ValueError(f"a wait budget is a non-negative number of seconds, got {seconds!r}")
        self.seconds = float(seconds)
        self._spent = 0.0
        self._lock = threading.Lock()
        self._tokens: list[contextvars.Token[WaitAllowance | None]] = []

    @property
    def spent(self) -> float:
        """Seconds spent so far."""
        with self._lock:
            return self._spent

    def left(self) -> float:
        with self._lock:
            return max(0.0, self.seconds - self._spent)

    def spend(self, seconds: float) -> None:
        with self._lock:
            self._spent += max(0.0, seconds)

    def __enter__(self) -> Self:
        self._tokens.append(_ALLOWANCE.set(self))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _ALLOWANCE.reset(self._tokens.pop())

    def __repr__(self) -> str:
        return f"WaitBudget(seconds={self.seconds}, spent={self.spent:.3f})"


def _refused(key: str, wait: float, allowance: WaitAllowance) -> RateLimitError:
    return RateLimitError(
        f"not sent: Fanvue's last 429 closed bucket {key!r} for {wait:.1f} s more, longer than the "
        f"{allowance.left():.1f} s this call may still wait",
        status_code=429,
        retry_after=wait,
    )


@dataclass(slots=True)
class _Bucket:
    """One key's state. Which fields matter depends on the refill model."""

    tokens: float  # continuous, window
    refill_at: float | None = None  # window: when the bucket becomes full again (None = full, no window running)
    updated_at: float = 0.0  # continuous: when ``tokens`` was last brought up to date
    releases: list[float] = field(default_factory=list)  # rolling: heap of times at which spent tokens return
    blocked_until: float = -math.inf  # observe(remaining=0) / penalize(): nothing is granted before this
    refused_until: float = -math.inf  # penalize(): the part of the block a 429 asked for (a refusal, not pacing)


class RateBudget:
    """A client-side token bucket per key (see :func:`rate_limit_key`), shared by threads and asyncio tasks.

    Each bucket holds ``capacity`` tokens (default 200) and starts full; a request takes one token and waits while
    there is none. How tokens come back is the ``refill`` model:

    ``"rolling"`` (default)
        Every token comes back exactly ``period`` seconds after it was taken (a sliding-window log). This is the
        only model for which *no rolling window of ``period`` seconds ever holds more than ``capacity``
        acquisitions* (requirement S8), so it cannot overrun Fanvue's bucket whether Fanvue refills it all at once
        every 60 s (as documented) or continuously, and whatever the phase of Fanvue's window. It still allows the
        full burst of 200 at once. The 201st request waits until the first token returns (60 s after it).
    ``"continuous"``
        The textbook token bucket: ``capacity / period`` tokens per second (3.33/s), capped at ``capacity``. After a
        burst of 200 the 201st request waits 0.3 s. Smooth, but a full burst followed by the steady refill puts up
        to ~2x ``capacity`` requests in one rolling period, which Fanvue's documented "refills fully every 60 s"
        bucket answers with 429s.
    ``"window"``
        Mirrors Fanvue's documented bucket: the first token taken from a full bucket starts a ``period`` window at
        whose end the bucket is full again. Faithful to one server window, but the client's window need not line
        up with Fanvue's (:meth:`observe` re-aligns it to ``reset_at``), and two adjacent windows allow up to 2x
        ``capacity`` in one rolling period.

    :meth:`observe` feeds each response's headers back: the local bucket is lowered to the server's ``remaining``
    (never raised) with those tokens coming back at ``reset_at``, and ``remaining == 0`` blocks the key until then.
    :meth:`penalize` empties and blocks a key for a 429's ``Retry-After``: a *refusal*, which :meth:`acquire` sits
    out only as far as a :class:`WaitAllowance` allows. Keys are independent (one key's block never delays
    another); buckets that are idle and full (equivalent to new ones) are dropped, so a fan-out over thousands of
    creators stays bounded.

    ``clock`` (monotonic seconds), ``wall_clock`` (Unix seconds, to place ``reset_at``), ``sleep`` and
    ``async_sleep`` can be injected for tests. Network latency shifts when requests *arrive*; if a server-side
    count must hold strictly, pass a little slack, e.g. ``period=61.0``.
    """

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        period: float = DEFAULT_PERIOD,
        *,
        refill: RefillModel = "rolling",
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        raw_capacity: object = capacity
        raw_period: object = period
        if isinstance(raw_capacity, bool) or not isinstance(raw_capacity, int) or raw_capacity < 1:
            raise ValueError(f"capacity must be a positive integer, got {capacity!r}")
        if not (isinstance(raw_period, int | float) and math.isfinite(raw_period) and raw_period > 0):
            raise ValueError(f"period must be a positive number of seconds, got {period!r}")
        if refill not in ("rolling", "continuous", "window"):
            raise ValueError(f"refill must be 'rolling', 'continuous' or 'window', got {refill!r}")
        self.capacity = capacity
        """Tokens per bucket."""
        self.period = float(period)
        """Seconds for a full refill."""
        self.refill: RefillModel = refill
        """The refill model in use."""
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._async_sleep = async_sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._last_sweep = -math.inf
        self._sweep_at_size = _MIN_SWEEP_SIZE

    # ------------------------------------------------------------------ public API

    def try_acquire(self, key: str) -> float:
        """Take a token for ``key`` if one is available now and return ``0.0``; otherwise take nothing and return
        the seconds until one may be (a later call can still find it taken by someone else)."""
        with self._lock:
            now = self._clock()
            return self._try_take(key, now)[0]

    def acquire(self, key: str, allowance: WaitAllowance | None = None) -> float:
        """Block (with the injected ``sleep``) until a token for ``key`` is taken; return the seconds waited.

        Waiting for a key a 429 closed (:meth:`penalize`) is spent from ``allowance``; when that wait is longer
        than the allowance has left, :class:`~onyx_fanvue.errors.RateLimitError` (``retry_after``: the wait) is
        raised at once and nothing is taken. Pacing waits are not counted: each is at most one period."""
        with self._lock:
            start = now = self._clock()
            wait, refused = self._try_take(key, now)
        while wait > 0:
            before = now
            self._check(key, wait, allowance if refused else None)
            self._sleep(wait)
            with self._lock:
                now = self._clock()
                wait_after, refused_after = self._try_take(key, now)
            if refused and allowance is not None:
                allowance.spend(max(0.0, now - before))  # what the wait took on the budget's clock
            wait, refused = wait_after, refused_after
        return max(0.0, now - start)

    async def acquire_async(self, key: str, allowance: WaitAllowance | None = None) -> float:
        """Like :meth:`acquire`, but waits with the injected async sleep; the thread lock is never held while
        sleeping, so tasks on any event loop and plain threads can share one budget."""
        with self._lock:
            start = now = self._clock()
            wait, refused = self._try_take(key, now)
        while wait > 0:
            before = now
            self._check(key, wait, allowance if refused else None)
            await self._async_sleep(wait)
            with self._lock:
                now = self._clock()
                wait_after, refused_after = self._try_take(key, now)
            if refused and allowance is not None:
                allowance.spend(max(0.0, now - before))
            wait, refused = wait_after, refused_after
        return max(0.0, now - start)

    @staticmethod
    def _check(key: str, wait: float, allowance: WaitAllowance | None) -> None:
        """Raise when a refusal wait does not fit in ``allowance`` (``None``: not a refusal, or no bound)."""
        if allowance is not None and wait > allowance.left() + _EPSILON:
            raise _refused(key, wait, allowance)

    def seconds_until(self, at: datetime) -> float:
        """Seconds from now (on the wall clock) until ``at``; 0 when it has passed."""
        delay = at.timestamp() - self._wall_clock()
        return max(0.0, delay) if math.isfinite(delay) else 0.0

    def observe(self, key: str, info: RateLimitInfo) -> None:
        """Align ``key``'s bucket with a response's rate-limit headers.

        Tokens are lowered to ``info.remaining`` (never raised), the removed ones coming back at ``info.reset_at``;
        with ``remaining == 0`` nothing is granted before ``reset_at``. A ``reset_at`` already past is stale and
        ignored; one further away than ``period`` (clock skew, garbage) is capped at ``period``.
        """
        with self._lock:
            now = self._clock()
            delay = info.reset_at.timestamp() - self._wall_clock()
            if not math.isfinite(delay) or delay <= 0:
                return
            until = now + min(delay, self.period)
            bucket = self._bucket(key, now)
            self._lower(bucket, now, max(0, info.remaining), until)
            if info.remaining <= 0:
                bucket.blocked_until = max(bucket.blocked_until, until)

    def penalize(self, key: str, retry_after: float) -> None:
        """After a 429: empty ``key``'s bucket and grant nothing for ``retry_after`` seconds (a refusal: see
        :meth:`acquire`). A block already in force for longer stays.

        A negative value counts as 0; NaN or infinity as ``period``.
        """
        with self._lock:
            now = self._clock()
            seconds = float(retry_after)
            if not math.isfinite(seconds):
                seconds = self.period
            until = now + max(0.0, seconds)
            bucket = self._bucket(key, now)
            self._lower(bucket, now, 0, until)
            bucket.blocked_until = max(bucket.blocked_until, until)
            bucket.refused_until = max(bucket.refused_until, until)

    def available(self, key: str) -> float:
        """Tokens ``key`` could take right now (0 while blocked). Fractional only with ``"continuous"``."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                return float(self.capacity)
            self._refill(bucket, now)
            if bucket.blocked_until > now:
                return 0.0
            return self._tokens(bucket)

    def snapshot(self) -> list[float]:
        """What each tracked key could take right now (0 while blocked), in no order and without the keys: how
        much of the budget is in use, for metrics."""
        with self._lock:
            now = self._clock()
            left: list[float] = []
            for bucket in self._buckets.values():
                self._refill(bucket, now)
                left.append(0.0 if bucket.blocked_until > now else self._tokens(bucket))
            return left

    @property
    def tracked_keys(self) -> int:
        """How many keys hold state now; idle full buckets are dropped from time to time."""
        with self._lock:
            return len(self._buckets)

    # ------------------------------------------------------------------ internals (called with the lock held)

    def _bucket(self, key: str, now: float) -> _Bucket:
        if len(self._buckets) >= self._sweep_at_size or now - self._last_sweep >= self.period:
            self._sweep(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.capacity), updated_at=now)
            self._buckets[key] = bucket
        return bucket

    def _sweep(self, now: float) -> None:
        for key in [key for key, bucket in self._buckets.items() if self._idle(bucket, now)]:
            del self._buckets[key]
        self._last_sweep = now
        self._sweep_at_size = max(_MIN_SWEEP_SIZE, 2 * len(self._buckets))

    def _idle(self, bucket: _Bucket, now: float) -> bool:
        self._refill(bucket, now)
        return bucket.blocked_until <= now and self._tokens(bucket) >= self.capacity

    def _refill(self, bucket: _Bucket, now: float) -> None:
        if self.refill == "rolling":
            releases = bucket.releases
            while releases and releases[0] <= now:
                heapq.heappop(releases)
        elif self.refill == "continuous":
            elapsed = now - bucket.updated_at
            if elapsed > 0:
                bucket.tokens = min(float(self.capacity), bucket.tokens + elapsed * self.capacity / self.period)
                bucket.updated_at = now
        elif bucket.refill_at is not None and bucket.refill_at <= now:
            bucket.tokens = float(self.capacity)
            bucket.refill_at = None

    def _tokens(self, bucket: _Bucket) -> float:
        if self.refill == "rolling":
            return float(self.capacity - len(bucket.releases))
        return bucket.tokens

    def _try_take(self, key: str, now: float) -> tuple[float, bool]:
        """``(0, False)`` with a token taken, or the seconds to wait and whether a 429 (not pacing) imposes them."""
        bucket = self._bucket(key, now)
        if bucket.refused_until > now:
            return bucket.refused_until - now, True
        if bucket.blocked_until > now:
            return bucket.blocked_until - now, False
        return self._take_token(bucket, now), False

    def _take_token(self, bucket: _Bucket, now: float) -> float:
        """Take a token (``0.0``) or return the seconds until the refill model gives one back."""
        self._refill(bucket, now)
        if self.refill == "rolling":
            if len(bucket.releases) < self.capacity:
                heapq.heappush(bucket.releases, now + self.period)
                return 0.0
            return bucket.releases[0] - now
        if bucket.tokens >= 1.0 - _EPSILON:
            bucket.tokens = max(0.0, bucket.tokens - 1.0)
            if self.refill == "window" and bucket.refill_at is None:
                bucket.refill_at = now + self.period
            return 0.0
        if self.refill == "continuous":
            return max((1.0 - bucket.tokens) * self.period / self.capacity, _EPSILON)
        refill_at = bucket.refill_at if bucket.refill_at is not None else now + self.period
        return refill_at - now

    def _lower(self, bucket: _Bucket, now: float, remaining: int, until: float) -> None:
        """Lower the bucket to ``remaining`` tokens, the removed ones coming back at ``until``.

        The window model takes ``until`` as its next full refill (the server's window), earlier or later.
        """
        self._refill(bucket, now)
        if self.refill == "rolling":
            for _ in range(self.capacity - len(bucket.releases) - remaining):
                heapq.heappush(bucket.releases, until)
        elif self.refill == "continuous":
            bucket.tokens = min(bucket.tokens, float(remaining))
        else:
            # The window model mirrors Fanvue's bucket, so it adopts the server's refill time.
            bucket.tokens = min(bucket.tokens, float(remaining))
            bucket.refill_at = until if bucket.tokens < self.capacity else None
