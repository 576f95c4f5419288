"""Faults the sandbox can inject, switchable per endpoint, creator and user while it runs.

A :class:`Fault` says *what* goes wrong and *which* requests it hits: a route (``/insights/earnings``, the template
``/creators/{creator}/insights/earnings`` or a glob such as ``*/insights/*``), a creator, a user, a method. Each
matching request is hit with probability ``rate`` (drawn from a seeded generator, so a run is repeatable) until the
fault has fired ``times`` times. The first matching fault in the order they were added wins.

What a client asks for is a :class:`FaultSpec`, validated strictly (types and bounds) when it is made, whether from
Python or from the control API's JSON, so a value that would break later requests is never stored.
"""

from __future__ import annotations

import fnmatch
import itertools
import random
import threading
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, TypeAdapter, field_validator
from pydantic.alias_generators import to_camel
from pydantic.dataclasses import dataclass as validated

__all__ = ["MAX_DELAY_SECONDS", "Fault", "FaultBoard", "FaultKind", "FaultSpec", "fault_spec_from_json"]


class FaultKind(StrEnum):
    ERROR = "error"  # answer ``status`` (500 JSON; 502/503 an HTML page from the "gateway")
    HANG = "hang"  # hold the request ``seconds`` before answering (a client timeout fires first)
    RATE_LIMIT = "rate_limit"  # a 429 storm: 429 with ``Retry-After: retry_after``
    MALFORMED = "malformed"  # 200 with a body cut off mid-JSON
    EMPTY = "empty"  # 200 with the endpoint's empty answer (how Fanvue shows some permission problems)
    LATENCY = "latency"  # answer normally after ``seconds``
    RESET = "reset"  # drop the connection after the status line
    CONNECT_TIMEOUT = "connect_timeout"  # never reach the server (in-process transport only)


ERROR_STATUSES = frozenset({500, 502, 503})
MAX_DELAY_SECONDS = 300.0
"""The longest a ``hang``/``latency`` fault (or the global latency) may hold a request: past any client timeout
worth testing, short enough that a held request still ends."""
MAX_RETRY_AFTER = 86_400
MAX_TIMES = 1_000_000_000

# Strict: a fault field of the wrong type (``route: 123``, ``status: 500.0``) is refused, never stored to break
# every later request. The control API sends the same fields in camelCase (``retryAfter``).
STRICT = ConfigDict(
    strict=True,
    extra="forbid",
    allow_inf_nan=False,
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
)


@validated(frozen=True, slots=True, config=STRICT)
class FaultSpec:
    """What goes wrong and which requests it hits; validated (types and bounds) when made."""

    kind: FaultKind
    route: str | None = Field(default=None, min_length=1, max_length=500)  # None: every API route
    creator: str | None = Field(default=None, min_length=1, max_length=200)  # about this creator, or by its token
    user: str | None = Field(default=None, min_length=1, max_length=200)  # only requests made with this user's token
    method: str | None = Field(default=None, pattern=r"^[A-Za-z]{1,16}$")
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    times: int | None = Field(default=None, ge=1, le=MAX_TIMES)  # None: until removed
    status: int = 500  # for ERROR
    seconds: float = Field(default=30.0, ge=0.0, le=MAX_DELAY_SECONDS)  # for HANG and LATENCY
    retry_after: int = Field(default=30, ge=0, le=MAX_RETRY_AFTER)  # for RATE_LIMIT

    @field_validator("status")
    @classmethod
    def _known_status(cls, status: int) -> int:
        if status not in ERROR_STATUSES:
            raise ValueError(f"an error fault answers one of {sorted(ERROR_STATUSES)}")
        return status

    @field_validator("method")
    @classmethod
    def _upper(cls, method: str | None) -> str | None:
        return None if method is None else method.upper()

    def matches(self, method: str, route: str, path: str, creator: str | None, user: str | None) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        if self.creator is not None and self.creator.lower() != (creator or "").lower():
            return False
        if self.user is not None and self.user != user:
            return False
        if self.route is None:
            return True
        return self.route in (route, path) or fnmatch.fnmatchcase(path, self.route)

    def to_json(self) -> dict[str, Any]:
        """The spec as the control API shows it (camelCase)."""
        return _SPEC.dump_python(self, mode="json", by_alias=True)  # type: ignore[no-any-return]


@validated(frozen=True, slots=True, config=STRICT)
class Fault(FaultSpec):
    """A fault switched on: its spec, the id it was given and how often it has fired."""

    id: int = Field(default=0, ge=0)
    fired: int = Field(default=0, ge=0)

    @classmethod
    def of(cls, spec: FaultSpec, fault_id: int) -> Fault:
        return cls(**{f.name: getattr(spec, f.name) for f in fields(FaultSpec)}, id=fault_id)

    def to_json(self) -> dict[str, Any]:
        """The fault as the control API shows it (camelCase, with ``id`` and ``fired``)."""
        return _FAULT.dump_python(self, mode="json", by_alias=True)  # type: ignore[no-any-return]


_SPEC: TypeAdapter[FaultSpec] = TypeAdapter(FaultSpec)
_FAULT: TypeAdapter[Fault] = TypeAdapter(Fault)


def fault_spec_from_json(raw: bytes) -> FaultSpec:
    """A :class:`FaultSpec` from a control API body (raises pydantic's ``ValidationError``, a ``ValueError``)."""
    return _SPEC.validate_json(raw)


@dataclass
class FaultBoard:
    """The faults in force. Thread-safe; draws from its own seeded generator."""

    seed: int = 0
    _faults: list[Fault] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"faults:{self.seed}")  # noqa: S311 - repeatable, not secret

    def add(self, spec: FaultSpec) -> Fault:
        with self._lock:
            stored = Fault.of(spec, next(self._ids))
            self._faults.append(stored)
            return stored

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> tuple[Fault, ...]:
        with self._lock:
            return tuple(self._faults)

    def pick(
        self,
        method: str,
        route: str,
        path: str,
        creator: str | None,
        user: str | None,
        *,
        kinds: frozenset[FaultKind] | None = None,
    ) -> Fault | None:
        """The fault that hits this request, if any (and count it). ``kinds`` limits which faults are considered."""
        with self._lock:
            for i, fault in enumerate(self._faults):
                if kinds is not None and fault.kind not in kinds:
                    continue
                if not fault.matches(method, route, path, creator, user):
                    continue
                if fault.rate < 1.0 and self._rng.random() >= fault.rate:
                    continue
                fired = replace(fault, fired=fault.fired + 1)
                if fault.times is not None and fired.fired >= fault.times:
                    del self._faults[i]
                else:
                    self._faults[i] = fired
                return fired
            return None
