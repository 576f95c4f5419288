"""Base classes of the resources: a sync resource runs calls now, an async one returns awaitables."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol, TypeVar

from onyx_fanvue.resources._call import Call

T = TypeVar("T")


class SyncRunner(Protocol):
    def _run(self, call: Call[T]) -> T: ...


class AsyncRunner(Protocol):
    def _run(self, call: Call[T]) -> Awaitable[T]: ...


class SyncResource:
    def __init__(self, client: SyncRunner) -> None:
        self._client = client


class AsyncResource:
    def __init__(self, client: AsyncRunner) -> None:
        self._client = client
