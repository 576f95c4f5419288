"""The control API's request bodies as typed, bounded models: a value of the wrong type, out of bounds or unknown is
refused at the door with a one-line reason, so nothing a client sends is ever stored to break a later request.

Parsing goes through pydantic's JSON parser, which refuses truncated JSON, invalid UTF-8, numbers it cannot hold
and runaway nesting as ordinary validation errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from onyx_fanvue.sandbox.clock import HORIZON
from onyx_fanvue.sandbox.faults import MAX_DELAY_SECONDS, STRICT, FaultSpec, fault_spec_from_json
from onyx_fanvue.sandbox.world import EARNING_SOURCES

__all__ = [
    "MAX_BODY_BYTES",
    "Advance",
    "Assignment",
    "BodyError",
    "Followers",
    "Latency",
    "NewEarning",
    "NewRefund",
    "TokenRequest",
    "parse_body",
    "parse_fault",
]

MAX_BODY_BYTES = 1024 * 1024
MAX_CENTS = 100_000_000  # USD 1M in one payment: more than any test needs, far from overflowing a sum
MAX_COUNT = 1_000_000_000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_MAX_ERRORS = 5
_MAX_NAME = 60

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class BodyError(ValueError):
    """A body the control API refuses: ``status`` (400, or 413 when too large) and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _in_range(moment: datetime) -> datetime:
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"must lie between {EARLIEST.date()} and {LATEST.date()}")
    return moment


def _known_source(source: str) -> str:
    if source not in EARNING_SOURCES:
        raise ValueError(f"must be one of {', '.join(EARNING_SOURCES)}")
    return source


Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class _Body(BaseModel):
    model_config = ConfigDict(**STRICT, frozen=True)


class Advance(_Body):
    seconds: float = Field(ge=0, le=HORIZON.total_seconds())


class Latency(_Body):
    seconds: float = Field(ge=0, le=MAX_DELAY_SECONDS)


class NewEarning(_Body):
    gross: int = Field(ge=1, le=MAX_CENTS)
    source: Annotated[str, AfterValidator(_known_source)] = "tip"
    date: Instant | None = None
    fan_uuid: Text | None = None


class NewRefund(_Body):
    transaction_order_id: Text
    date: Instant | None = None
    source: Literal["refund", "chargeback"] = "refund"
    gross: int | None = Field(None, ge=1, le=MAX_CENTS)


class Followers(_Body):
    count: int = Field(ge=0, le=MAX_COUNT)


class Assignment(_Body):
    role: Literal["ADMIN", "CHATTER"] = "CHATTER"


class TokenRequest(_Body):
    user: Text
    scopes: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(None, max_length=64)


def explain(error: ValidationError) -> str:
    """One line naming each wrong field (at most five) and what is wrong with it, never echoing the input."""
    parts = []
    for problem in error.errors(include_url=False, include_input=False, include_context=False)[:_MAX_ERRORS]:
        where = ".".join(str(p)[:_MAX_NAME] for p in problem["loc"])
        parts.append(f"{where}: {problem['msg']}" if where else problem["msg"])
    more = len(error.errors()) - _MAX_ERRORS
    return "Invalid body: " + "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def parse_body(raw: bytes, model: type[M]) -> M:
    """``raw`` as ``model`` (an empty body is ``{}``), or a :class:`BodyError`."""
    return validate(raw, model.model_validate_json)


def parse_fault(raw: bytes) -> FaultSpec:
    """``raw`` as a :class:`FaultSpec` (camelCase fields), or a :class:`BodyError`."""
    return validate(raw, fault_spec_from_json)


def validate(raw: bytes, parse: Callable[[bytes], T]) -> T:
    if len(raw) > MAX_BODY_BYTES:
        raise BodyError(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        return parse(raw or b"{}")
    except ValidationError as error:
        raise BodyError(400, explain(error)) from None
