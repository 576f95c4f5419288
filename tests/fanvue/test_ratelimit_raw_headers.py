"""parse_raw_rate_limit_headers (the SDK's per-response reader, over httpx's raw header bytes) answers exactly what
parse_rate_limit_headers answers for the same response's headers, whatever they hold."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from onyx_fanvue.ratelimit import RateLimitInfo, parse_rate_limit_headers, parse_raw_rate_limit_headers

NAMES = [
    b"X-RateLimit-Limit",
    b"x-ratelimit-remaining",
    b"X-RATELIMIT-RESET",
    b"X-RateLimit-Policy",
    b" x-ratelimit-limit",
    b"Content-Type",
    b"Retry-After",
]
VALUES = st.one_of(
    st.sampled_from([b"200", b"0", b"199", b"1700000000", b"1700000000.5", b"", b" 5 ", b"5, 5", b"5,6", b"-1"]),
    st.binary(max_size=12),
    st.integers(min_value=0, max_value=10**16).map(lambda n: str(n).encode()),
)
HEADERS = st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=8)
GOOD = [(b"X-RateLimit-Limit", b"200"), (b"X-RateLimit-Remaining", b"5"), (b"X-RateLimit-Reset", b"1700000000")]


def both(pairs: list[tuple[bytes, bytes]]) -> tuple[RateLimitInfo | None, RateLimitInfo | None]:
    headers = httpx.Headers(pairs)
    return parse_raw_rate_limit_headers(headers.raw, headers.encoding), parse_rate_limit_headers(headers)


def test_a_well_formed_response_is_read() -> None:
    fast, slow = both([*GOOD, (b"Content-Type", b"application/json")])
    assert fast == slow == RateLimitInfo(200, 5, datetime.fromtimestamp(1_700_000_000, tz=UTC))


def test_no_rate_limit_headers_is_none() -> None:
    assert both([(b"Content-Type", b"application/json")]) == (None, None)


@given(HEADERS)
@example([*GOOD, (b"X-RateLimit-Remaining", b"5")])  # an agreeing duplicate: read
@example([*GOOD, (b"X-RateLimit-Remaining", b"4")])  # a disagreeing one: None
@example([*GOOD[:2], (b"X-RateLimit-Reset", b"1700000000, 1700000000")])  # comma-joined and agreeing
@example([*GOOD[:2], (b"X-RateLimit-Reset", b"1700000000,1")])
@example([*GOOD[1:], (b" x-ratelimit-limit", b"200")])  # a name only the old reader's strip() matches
@example([*GOOD[:2], (b"X-RateLimit-Reset", b"1700000000\xc2\xa0")])  # a UTF-8 no-break space, stripped
def test_the_raw_reader_agrees_with_the_mapping_reader(pairs: list[tuple[bytes, bytes]]) -> None:
    fast, slow = both(pairs)
    assert fast == slow
