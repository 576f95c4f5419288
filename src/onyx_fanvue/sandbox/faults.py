"""Faults the sandbox can inject, switchable per endpoint, creator and user while it runs.

A :class:`Fault` says *what* goes wrong and *which* requests it hits: a route (``/insights/earnings``, the template
``/creators/{creator}/insights/earnings`` or a glob such as ``*/insights/*``), a creator, a user, a method. Each
matching request is hit with probability ``rate`` (drawn from a seeded generator, so a run is repeatable) until the
fault has fired ``times`` times. The first matching fault in the order they were added wins.
"""

from __future__ import annotations

import fnmatch
import itertools
import random
import threading
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

__all__ = ["Fault", "FaultBoard", "FaultKind"]


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


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    route: str | None = None  # None: every API route
    creator: str | None = None  # only requests about this creator (``/creators/{it}/…`` or its own token)
    user: str | None = None  # only requests made with this user's token
    method: str | None = None
    rate: float = 1.0
    times: int | None = None  # None: until removed
    status: int = 500  # for ERROR
    seconds: float = 30.0  # for HANG and LATENCY
    retry_after: int = 30  # for RATE_LIMIT
    id: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FaultKind(self.kind))
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate is a probability between 0 and 1")
        if self.times is not None and self.times <= 0:
            raise ValueError("times must be positive (or None for until removed)")
        if self.kind is FaultKind.ERROR and self.status not in ERROR_STATUSES:
            raise ValueError(f"an error fault answers one of {sorted(ERROR_STATUSES)}")
        if self.seconds < 0 or self.retry_after < 0:
            raise ValueError("seconds and retry_after cannot be negative")

    def matches(self, method: str, route: str, path: str, creator: str | None, user: str | None) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.creator is not None and self.creator.lower() != (creator or "").lower():
            return False
        if self.user is not None and self.user != user:
            return False
        if self.route is None:
            return True
        return self.route in (route, path) or fnmatch.fnmatchcase(path, self.route)

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, FaultKind) else v) for k, v in asdict(self).items()}


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

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            stored = replace(fault, id=next(self._ids), fired=0)
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
