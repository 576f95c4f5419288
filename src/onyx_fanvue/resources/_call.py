"""One description of an endpoint call, executed by either client: the sync and async resources share it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import TypeAdapter

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """``method path?params`` with an optional JSON body, and how to parse a 2xx answer into ``T``."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None


class JsonParser:
    """Validates a 2xx answer as one pydantic-understood type: straight from the response bytes
    (:meth:`from_json`, pydantic's JSON validator, no ``json.loads`` and no intermediate dicts) or, called, from
    already-parsed JSON. The ``TypeAdapter`` (the compiled validator) is built once per type: see :func:`parse_as`.
    """

    __slots__ = ("_from_json", "_from_python")

    def __init__(self, model: Any) -> None:
        adapter: TypeAdapter[Any] = TypeAdapter(model)
        self._from_python = adapter.validate_python
        self._from_json = adapter.validate_json

    def __call__(self, value: Any) -> Any:
        return self._from_python(value)

    def from_json(self, raw: bytes) -> Any:
        return self._from_json(raw)


@functools.cache
def parse_as(model: Any) -> Callable[[Any], Any]:
    """A parser for any pydantic-understood type (a model, ``list[Model]``, ``Page[Model]``...). Cached per type:
    building a ``TypeAdapter`` costs more than most of the requests it parses."""
    return JsonParser(model)


@functools.cache
def parse_page(envelope: Any, item: Any) -> Callable[[Any], Any]:
    """``parse_as(envelope[item])`` (``Page[Post]``, ``CursorPage[EarningRow]``...), cached on the pair: writing
    ``CursorPage[EarningRow]`` looks up pydantic's parametrized class, which costs more per call than the lookup
    of the pair."""
    return parse_as(envelope[item])


def no_content(_: Any) -> None:
    return None


@functools.lru_cache(maxsize=4096)
def segment(value: str) -> str:
    """A path segment from a caller's value: a uuid cannot smuggle ``/`` or ``?`` into the URL. Remembered per
    value: paging asks for the same creator's path again and again, and ``quote`` is most of building a call."""
    if not value:
        raise ValueError("an id in a path cannot be empty")
    return quote(value, safe="")


def scoped(creator_uuid: str | None, path: str) -> str:
    """``/insights/earnings`` for the caller, ``/creators/{uuid}/insights/earnings`` for a managed creator."""
    return path if creator_uuid is None else f"/creators/{segment(creator_uuid)}{path}"


def as_list(values: str | Sequence[str] | None, *, limit: int | None = None, what: str = "values") -> list[str] | None:
    """A list parameter from the caller: a bare string is one value (never split into characters); an empty
    sequence is "not given"; more than ``limit`` values is refused before any request is sent."""
    if values is None:
        return None
    items = [values] if isinstance(values, str) else list(values)
    if limit is not None and len(items) > limit:
        raise ValueError(f"Fanvue takes at most {limit} {what} per call, got {len(items)}")
    return items or None


def iso(value: datetime | date | str | None) -> str | None:
    """Fanvue takes ISO 8601 date-times (with offset) in queries; a ``date`` is sent as ``YYYY-MM-DD``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("pass a timezone-aware datetime; Fanvue buckets by the offset you send")
        return value.isoformat()
    return value.isoformat()
